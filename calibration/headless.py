"""The headless ``calibrate`` command: two videos or two image folders in, a calibration TOML out.

:func:`calibrate_from_paths` opens both inputs, pairs their frames (by file-name number, capture
timestamps or frame rate), detects the board in at most ``max_scan`` pairs spread over the footage,
keeps every sharp non-duplicate view, thins them to the most diverse ``max_views``/``max_pairs``,
solves, grades, and writes the TOML (metres). Every failure is a :class:`~core.errors.CrossViewError`
whose message says what to do.

Frame synchronisation check (videos): software timestamps of unsynchronised webcams can be off by a
whole frame (a camera buffering one frame more than the other). With a moving board that shows up as
a large stereo error, so the stereo pose is also solved with camera 1's frames shifted by up to
``max_frame_offset`` frames; a shift is adopted only when it lowers the stereo RMS by at least 15 %
(reported as ``info["frame_offset"]``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from calibration.boards import Board
from calibration.detect import BoardDetector, Detection
from calibration.engine import CalibrationResult, CalibrationSession, Cancel, Progress, check_cancel
from calibration.intrinsics import load_intrinsics
from calibration.io import resolve_board
from calibration.sources import FrameSource, PairPlan, iter_pairs, open_source, pair_sources
from calibration.stereo import pair_consistency_rms
from core.errors import CalibrationError, InputError

IntrinsicsSource = str | os.PathLike | tuple[str | os.PathLike, str | int] | None

#: Most frame pairs examined per run (spread evenly over the footage).
MAX_SCAN = 400
#: A frame shift must lower the stereo RMS by this factor to be adopted.
_OFFSET_GAIN = 0.85


def _diagnose_missing(src: FrameSource, board: Board, n: int = 6) -> str:
    """Explain why a camera never saw the board, from a full diagnosis of a few frames."""
    det = BoardDetector(board, thorough=True)
    idx = np.unique(np.linspace(0, src.n_frames - 1, n).round().astype(int))
    codes: Counter[str] = Counter()
    texts: dict[str, str] = {}
    for _, img in src.iter_frames(idx.tolist()):
        d = det.detect(img, diagnose="full")
        if d.found:
            continue
        for c, r in zip(d.codes, d.reasons):
            codes[c] += 1
            texts.setdefault(c, r)
    order = ("wrong_dictionary", "wrong_size", "inverted", "not_inverted", "legacy", "partial", "too_small")
    for code in order + tuple(c for c, _ in codes.most_common()):
        if code in codes:
            return texts[code]
    return "No board was found: check that it is in view and that the board definition matches the print."


def _never_seen(board: Board, cam: int, path: Path, why: str) -> CalibrationError:
    return CalibrationError(
        f"the board ({board.describe()}) was never found in camera {cam} ('{path}'). {why} "
        "If the board definition is right, show the whole board to the camera, flat, well lit and closer."
    )


def _detect_frames(src: FrameSource, detector: BoardDetector, frames: list[int], cache: dict[int, Detection]) -> None:
    """Detect the board in ``frames`` of ``src`` that are not cached yet."""
    todo = sorted(set(frames) - set(cache))
    for i, img in src.iter_frames(todo):
        cache[i] = detector.detect(img, diagnose="none")


def _frame_offset(
    session: CalibrationSession,
    src1: FrameSource,
    plan: PairPlan,
    det0: dict[int, Detection],
    det1: dict[int, Detection],
    intr: tuple,
    max_offset: int,
    cancel: Cancel | None,
) -> tuple[int, dict[int, float]]:
    """The camera-1 frame shift (frames) that makes the kept pairs most consistent, and the RMS per shift."""
    frame_of = {id(d): i for i, d in det0.items()}
    i0_to_i1 = dict(zip(plan.idx0.tolist(), plan.idx1.tolist()))
    kept_i0 = [frame_of[id(a)] for a, _ in session.pairs() if id(a) in frame_of]
    if len(kept_i0) < 5:
        return 0, {}
    need = [i0_to_i1[i] + o for i in kept_i0 for o in range(-max_offset, max_offset + 1)]
    _detect_frames(src1, session.detectors[1], [f for f in need if 0 <= f < src1.n_frames], det1)
    check_cancel(cancel)
    scores: dict[int, float] = {}
    for o in range(-max_offset, max_offset + 1):
        pairs = [(det0[i], det1[i0_to_i1[i] + o]) for i in kept_i0 if i0_to_i1[i] + o in det1]
        scores[o] = pair_consistency_rms(pairs, intr[0].camera, intr[1].camera)
    finite = {o: v for o, v in scores.items() if np.isfinite(v)}
    if 0 not in finite or not finite:
        return 0, scores
    best = min(finite, key=finite.get)  # type: ignore[arg-type]
    if best != 0 and finite[best] < _OFFSET_GAIN * finite[0]:
        return best, scores
    return 0, scores


def calibrate_from_paths(
    cam0: str | os.PathLike,
    cam1: str | os.PathLike | None,
    board: Board | str | os.PathLike,
    out: str | os.PathLike | None,
    timestamps: str | os.PathLike | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    *,
    intrinsics: tuple[IntrinsicsSource, IntrinsicsSource] | None = None,
    floor_frame: int | None = None,
    names: tuple[str, str] = ("cam_0", "cam_1"),
    max_scan: int = MAX_SCAN,
    max_views: int = 40,
    max_pairs: int = 40,
    refine: bool | str = "auto",
    max_frame_offset: int = 2,
    allow_different_resolutions: bool = False,
) -> CalibrationResult:
    """Calibrate a stereo pair from footage and save it.

    ``cam0``/``cam1``: a video file, a folder of images or a glob (``folder/left*.jpg``) each; two folders
    pair by the number in the file names (left07.jpg <-> right07.jpg), two videos by ``timestamps`` or by
    frame rate. ``board``: a :class:`Board`, a board TOML (CrossView's or Caliscope's charuco.toml) or a
    spec such as ``chessboard:9x6:0.025``. ``out``: the calibration TOML to write (None: do not write).
    ``timestamps``: capture-time CSV for two videos (``sync_index, cam_id, frame_time`` seconds).
    ``progress(fraction, message)``; ``cancel``: a callable returning True or a ``threading.Event``
    (raises :class:`~calibration.engine.CalibrationCancelledError`; nothing is written).
    ``intrinsics``: per camera, None (calibrate it), a calibration TOML (its camera of the same index) or
    ``(toml, camera name or index)``: known intrinsics instead of calibrating them.
    ``floor_frame``: index of a camera-0 frame in which the board lies on the floor -> Z-up floor frame.
    ``max_frame_offset``: largest camera-1 frame shift tried by the synchronisation check (videos; 0: off).
    ``max_scan``: most frame pairs examined (evenly spread); ``max_views``/``max_pairs``: kept per camera /
    as pairs after diversity thinning. Returns a :class:`CalibrationResult` (``.to_json()``, ``.summary()``).
    """
    report = progress or (lambda f, m: None)
    t_start = time.perf_counter()
    board = resolve_board(board)
    if cam1 is None or str(cam1).strip() == "":
        raise InputError(
            "a stereo calibration needs TWO cameras but only one input was given. Pass the second camera's "
            "video or image folder as well (--cam1)."
        )
    if Path(cam0).resolve() == Path(cam1).resolve():
        raise InputError(
            f"both inputs are the same path ('{cam0}'): a stereo calibration needs footage from two different cameras."
        )
    src0 = open_source(cam0, "camera 0")
    src1 = open_source(cam1, "camera 1")
    if src0.image_size != src1.image_size and not allow_different_resolutions:
        raise InputError(
            f"the two inputs have different resolutions: '{src0.path}' is {src0.image_size[0]}x{src0.image_size[1]} "
            f"and '{src1.path}' is {src1.image_size[0]}x{src1.image_size[1]}. Record both cameras at the same "
            "resolution (set it in the capture settings) and calibrate again."
        )
    stills = src0.kind == "images"
    session = CalibrationSession(
        board,
        (src0.image_size, src1.image_size),
        names=names,
        max_views=max(max_scan, max_views),
        max_pairs=max(max_scan, max_pairs),
        min_views=3,
        min_pairs=3,
        require_novelty=False,
        duplicate_fraction=0.005,
        max_motion_px=None,  # frames may be subsampled; the frame-offset check handles sync instead
        thorough=stills,
    )
    if intrinsics is not None:
        for cam, spec in enumerate(intrinsics):
            if spec is not None:
                path, which = spec if isinstance(spec, tuple) else (spec, cam)
                src = (src0, src1)[cam]
                session.set_intrinsics(cam, load_intrinsics(path, which, image_size=src.image_size, name=names[cam]))
    plan_all = pair_sources(src0, src1, timestamps)
    plan = plan_all.subsample(max_scan)
    report(0.0, f"{len(plan_all)} frame pairs ({plan_all.method}); examining {len(plan)}")
    det0: dict[int, Detection] = {}
    det1: dict[int, Detection] = {}
    for k, (i0, i1, img0, img1) in enumerate(iter_pairs(src0, src1, plan)):
        check_cancel(cancel)
        d0, d1 = session.detect(0, img0, "none"), session.detect(1, img1, "none")
        det0[i0], det1[i1] = d0, d1
        fb = session.add_pair(d0, d1)
        if k % 10 == 0:
            kept = fb.state.pairs.views_kept if fb.state.pairs else 0
            report(0.5 * (k + 1) / max(len(plan), 1), f"frame {k + 1}/{len(plan)}: {kept} pairs usable")
    found = [sum(d.found for d in det0.values()), sum(d.found for d in det1.values())]
    for cam, src in ((0, src0), (1, src1)):
        if found[cam] == 0:
            report(0.5, f"the board was never found in camera {cam}: diagnosing")
            raise _never_seen(board, cam, src.path, _diagnose_missing(src, board))
    check_cancel(cancel)
    session.thin(max_views, max_pairs)
    n_pairs = len(session.pairs())
    if n_pairs < 3:
        raise CalibrationError(
            f"the board was seen by both cameras at the same instant in only {n_pairs} usable frame pair(s) "
            f"(camera 0 saw it in {found[0]}, camera 1 in {found[1]} of {len(plan)} frames examined); at least 3 "
            "are needed (10-20 recommended). Record again holding the board where BOTH cameras see all of it, at "
            "several places and angles" + (", and check the timestamps file." if timestamps else ".")
        )

    def sub(lo: float, hi: float):
        return lambda f, m: report(lo + (hi - lo) * f, m)

    intr = session.solve_intrinsics(sub(0.5, 0.6), cancel)
    offset, offset_scores = 0, {}
    if not stills and max_frame_offset > 0:
        report(0.6, "checking the frame synchronisation")
        offset, offset_scores = _frame_offset(session, src1, plan, det0, det1, intr, max_frame_offset, cancel)
        if offset:
            report(0.7, f"camera 1's frames are shifted by {offset:+d} frame(s): re-pairing")
            shifted = [int(i) + offset for i in plan.idx1]
            _detect_frames(src1, session.detectors[1], [f for f in shifted if 0 <= f < src1.n_frames], det1)
            pairs = [
                (det0[i0], det1[i1 + offset])
                for i0, i1 in zip(plan.idx0.tolist(), plan.idx1.tolist())
                if i0 in det0 and i1 + offset in det1
            ]
            session.replace_pairs(pairs)
            session.thin(max_views, max_pairs)
    result = session.solve(progress=sub(0.75, 0.95), cancel=cancel, refine=refine, intrinsics=intr)
    if floor_frame is not None:
        fd0, fd1 = _floor_detections(src0, src1, plan_all, floor_frame, offset, session)
        if not fd0.found:
            raise CalibrationError(
                f"the floor frame {floor_frame} does not show the board in camera 0. Pick a frame where the board "
                "lies flat on the floor in view of both cameras."
            )
        result = result.with_floor(fd0, fd1 if fd1 is not None and fd1.found else None)
    info = dict(result.info)
    info.update(
        inputs={
            "cam0": str(src0.path),
            "cam1": str(src1.path),
            "timestamps": None if timestamps is None else str(timestamps),
        },
        pairing=plan_all.method,
        frame_pairs=len(plan_all),
        frame_pairs_examined=len(plan),
        board_found=found,
        median_skew_ms=float(np.median(np.abs(plan_all.skew_s)) * 1000) if len(plan_all) else None,
        frame_offset=offset,
        frame_offset_rms_px={str(k): v for k, v in offset_scores.items()},
    )
    if board.orientation_ambiguous:
        info["warnings"] = [
            f"a {board.cols}x{board.rows} chessboard looks the same turned by 180 degrees, so the two cameras may "
            "number its corners differently; prefer a chessboard with an odd cols + rows (e.g. 9x6) or ChArUco."
        ]
    info.setdefault("timings", {})["total_s"] = time.perf_counter() - t_start
    result = replace(result, info=info)
    check_cancel(cancel)
    if out is not None:
        result = result.save(out)
        report(1.0, f"saved {result.path}")
    return result


def _floor_detections(
    src0: FrameSource, src1: FrameSource, plan: PairPlan, frame: int, offset: int, session: CalibrationSession
) -> tuple[Detection, Detection | None]:
    hit = np.nonzero(plan.idx0 == frame)[0]
    if not len(hit):
        raise InputError(f"floor frame {frame} has no matching frame in camera 1; pick another frame of camera 0.")
    i1 = int(plan.idx1[hit[0]]) + offset
    img0 = next(src0.iter_frames([frame]), (None, None))[1]
    img1 = next(src1.iter_frames([i1]), (None, None))[1]
    if img0 is None:
        raise InputError(f"floor frame {frame} could not be read from '{src0.path}'.")
    d1 = None if img1 is None else session.detect(1, img1, "none")
    return session.detect(0, img0, "none"), d1
