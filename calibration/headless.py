"""The headless ``calibrate`` command: two videos or two image folders in, a calibration TOML out.

:func:`calibrate_from_paths` opens both inputs, pairs their frames (by file-name number, capture
timestamps or frame rate), detects the board in at most ``max_scan`` pairs spread over the footage,
keeps every sharp non-duplicate view, thins them to the most diverse ``max_views``/``max_pairs``,
solves, grades, and writes the TOML (metres). Every failure is a :class:`~core.errors.CrossViewError`
whose message says what to do.

Frame synchronisation check (videos): software timestamps of unsynchronised webcams can be off by a
frame or a fraction of one. With a moving board that shows up as pairs that disagree with one rigid rig, so
the pairs are also scored with camera 1 shifted by up to ``max_frame_offset`` frames in quarter frames (its
corners interpolated between neighbouring frames); a shift is adopted only when it lowers the bundle-adjusted
held-out error by at least 15 % (:func:`calibration.frame_offset.best_frame_offset`; reported as
``info["frame_offset"]`` and ``info["frame_offset_scores_px"]``).
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
from calibration.engine import STEPS, CalibrationResult, CalibrationSession, check_cancel, report_at
from calibration.frame_offset import MAX_FRAME_OFFSET, FrameOffset, best_frame_offset, frames_needed, shifted_pairs
from calibration.intrinsics import IntrinsicsResult, load_intrinsics
from calibration.io import resolve_board
from calibration.sources import FrameSource, PairPlan, iter_pairs, open_source, pair_sources
from core.errors import CalibrationError, InputError
from core.jobs import CancelLike, Progress, scaled_progress

IntrinsicsSource = str | os.PathLike | tuple[str | os.PathLike, str | int] | None

#: Most frame pairs examined per run (spread evenly over the footage).
MAX_SCAN = 400


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


def _open_inputs(
    cam0: str | os.PathLike, cam1: str | os.PathLike | None, allow_different_resolutions: bool
) -> tuple[FrameSource, FrameSource]:
    """Open both inputs; an :class:`InputError` that says what to do when they cannot make a stereo pair."""
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
    return src0, src1


def _new_session(
    board: Board,
    sources: tuple[FrameSource, FrameSource],
    names: tuple[str, str],
    max_scan: int,
    max_views: int,
    max_pairs: int,
    intrinsics: tuple[IntrinsicsSource, IntrinsicsSource] | None,
) -> CalibrationSession:
    """A session that keeps every sharp non-duplicate view (thinned later), with the known intrinsics loaded."""
    session = CalibrationSession(
        board,
        (sources[0].image_size, sources[1].image_size),
        names=names,
        max_views=max(max_scan, max_views),
        max_pairs=max(max_scan, max_pairs),
        min_views=3,
        min_pairs=3,
        require_novelty=False,
        duplicate_fraction=0.001,
        max_motion_px=None,  # frames may be subsampled; the frame-offset check handles sync instead
        thorough=sources[0].kind == "images",
    )
    for cam, spec in enumerate(intrinsics or ()):
        if spec is not None:
            path, which = spec if isinstance(spec, tuple) else (spec, cam)
            size = sources[cam].image_size
            session.set_intrinsics(cam, load_intrinsics(path, which, image_size=size, name=names[cam]))
    return session


def _scan_pairs(
    session: CalibrationSession,
    sources: tuple[FrameSource, FrameSource],
    plan: PairPlan,
    progress: Progress | None,
    cancel: CancelLike,
) -> tuple[dict[int, Detection], dict[int, Detection]]:
    """Detect the board in every planned pair and offer the pair to the session (the first half of the
    progress); each camera's detections by frame index."""
    det0: dict[int, Detection] = {}
    det1: dict[int, Detection] = {}
    scan = scaled_progress(progress, 0.0, 0.5, STEPS)
    for k, (i0, i1, img0, img1) in enumerate(iter_pairs(sources[0], sources[1], plan)):
        check_cancel(cancel)
        d0, d1 = session.detect(0, img0, "none"), session.detect(1, img1, "none")
        det0[i0], det1[i1] = d0, d1
        fb = session.add_pair(d0, d1)
        if k % 10 == 0:
            kept = fb.state.pairs.views_kept if fb.state.pairs else 0
            scan(k + 1, max(len(plan), 1), f"frame {k + 1}/{len(plan)}: {kept} pairs usable")
    return det0, det1


def _require_board(
    board: Board,
    sources: tuple[FrameSource, FrameSource],
    dets: tuple[dict[int, Detection], dict[int, Detection]],
    progress: Progress | None,
) -> list[int]:
    """How many frames of each camera show the board; a :class:`CalibrationError` when one never does."""
    found = [sum(d.found for d in dets[0].values()), sum(d.found for d in dets[1].values())]
    for cam, src in enumerate(sources):
        if found[cam] == 0:
            report_at(progress, 0.5, f"the board was never found in camera {cam}: diagnosing")
            raise _never_seen(board, cam, src.path, _diagnose_missing(src, board))
    return found


def _require_pairs(n_pairs: int, found: list[int], n_examined: int, timestamps: object) -> None:
    if n_pairs < 3:
        raise CalibrationError(
            f"the board was seen by both cameras at the same instant in only {n_pairs} usable frame pair(s) "
            f"(camera 0 saw it in {found[0]}, camera 1 in {found[1]} of {n_examined} frames examined); at least 3 "
            "are needed (10-20 recommended). Record again holding the board where BOTH cameras see all of it, at "
            "several places and angles" + (", and check the timestamps file." if timestamps else ".")
        )


def _sync_check(
    session: CalibrationSession,
    src1: FrameSource,
    plan: PairPlan,
    dets: tuple[dict[int, Detection], dict[int, Detection]],
    intr: tuple[IntrinsicsResult, IntrinsicsResult],
    max_offset: float,
    progress: Progress | None,
    cancel: CancelLike,
) -> FrameOffset:
    """Find camera 1's frame shift (:func:`~calibration.frame_offset.best_frame_offset`) on the kept pairs and,
    when one is adopted, pair every planned frame again with it (the session's pairs are replaced)."""
    report_at(progress, 0.6, "checking the frame synchronisation")
    det0, det1 = dets

    def detect1(frames: list[int]) -> dict[int, Detection]:
        _detect_frames(src1, session.detectors[1], frames, det1)
        check_cancel(cancel)
        return det1

    frame_of = {id(d): i for i, d in det0.items()}
    i0_to_i1 = dict(zip(plan.idx0.tolist(), plan.idx1.tolist()))
    kept = [(frame_of[id(a)], i0_to_i1[frame_of[id(a)]]) for a, _ in session.pairs() if id(a) in frame_of]
    search = best_frame_offset(
        kept, det0, detect1, intr[0].camera, intr[1].camera, src1.n_frames, max_offset=max_offset
    )
    if search.offset:
        report_at(progress, 0.7, f"camera 1's frames are shifted by {search.offset:+g} frame(s): re-pairing")
        frames = list(zip(plan.idx0.tolist(), plan.idx1.tolist()))
        detect1(sorted({f for _, b in frames for f in frames_needed(b, search.offset) if 0 <= f < src1.n_frames}))
        session.replace_pairs([(d0, d1) for _, _, d0, d1 in shifted_pairs(frames, det0, det1, search.offset)])
    return search


def _run_info(
    result: CalibrationResult,
    sources: tuple[FrameSource, FrameSource],
    timestamps: str | os.PathLike | None,
    plans: tuple[PairPlan, PairPlan],
    found: list[int],
    search: FrameOffset,
) -> dict:
    """The result's ``info`` with the inputs, the pairing and the synchronisation check added."""
    plan_all, plan = plans
    info = dict(result.info)
    info.update(
        inputs={
            "cam0": str(sources[0].path),
            "cam1": str(sources[1].path),
            "timestamps": None if timestamps is None else str(timestamps),
        },
        pairing=plan_all.method,
        frame_pairs=len(plan_all),
        frame_pairs_examined=len(plan),
        board_found=found,
        median_skew_ms=float(np.median(np.abs(plan_all.skew_s)) * 1000) if len(plan_all) else None,
        frame_offset=search.offset,
        frame_offset_scores_px={f"{k:g}": v for k, v in search.scores.items()},
    )
    if result.board.orientation_ambiguous:
        b = result.board
        info["warnings"] = [
            f"a {b.cols}x{b.rows} chessboard looks the same turned by 180 degrees, so the two cameras may "
            "number its corners differently; prefer a chessboard with an odd cols + rows (e.g. 9x6) or ChArUco."
        ]
    return info


def calibrate_from_paths(
    cam0: str | os.PathLike,
    cam1: str | os.PathLike | None,
    board: Board | str | os.PathLike,
    out: str | os.PathLike | None,
    timestamps: str | os.PathLike | None = None,
    progress: Progress | None = None,
    cancel: CancelLike = None,
    *,
    intrinsics: tuple[IntrinsicsSource, IntrinsicsSource] | None = None,
    floor_frame: int | None = None,
    names: tuple[str, str] = ("cam_0", "cam_1"),
    max_scan: int = MAX_SCAN,
    max_views: int = 40,
    max_pairs: int = 40,
    refine: bool | str = "auto",
    bundle: bool | str = "auto",
    max_frame_offset: float = MAX_FRAME_OFFSET,
    allow_different_resolutions: bool = False,
) -> CalibrationResult:
    """Calibrate a stereo pair from footage and save it.

    ``cam0``/``cam1``: a video file, a folder of images or a glob (``folder/left*.jpg``) each; two folders
    pair by the number in the file names (left07.jpg <-> right07.jpg), two videos by ``timestamps`` or by
    frame rate. ``board``: a :class:`Board`, a board TOML (CrossView's or Caliscope's charuco.toml) or a
    spec such as ``chessboard:9x6:0.025``. ``out``: the calibration TOML to write (None: do not write).
    ``timestamps``: capture-time CSV for two videos (``sync_index, cam_id, frame_time`` seconds).
    ``progress(done, total, message)`` (:class:`core.jobs.Progress`, thousandths); ``cancel``: a
    :class:`core.jobs.CancelToken` (any ``threading.Event``) or a callable returning True (raises
    :class:`~calibration.engine.CalibrationCancelledError`, a :class:`core.jobs.Cancelled`; nothing is written).
    ``intrinsics``: per camera, None (calibrate it), a calibration TOML (its camera of the same index) or
    ``(toml, camera name or index)``: known intrinsics instead of calibrating them.
    ``floor_frame``: index of a camera-0 frame in which the board lies on the floor -> Z-up floor frame.
    ``bundle``: the bundle adjustment's policy ("auto": kept when held-out pairs agree better; True; False), see
    :meth:`~calibration.engine.CalibrationSession.solve`.
    ``max_frame_offset``: largest camera-1 frame shift tried by the synchronisation check (videos; 0: off).
    ``max_scan``: most frame pairs examined (evenly spread); ``max_views``/``max_pairs``: kept per camera /
    as pairs after diversity thinning. Returns a :class:`CalibrationResult` (``.to_json()``, ``.summary()``).
    """
    t_start = time.perf_counter()
    board = resolve_board(board)
    sources = _open_inputs(cam0, cam1, allow_different_resolutions)
    session = _new_session(board, sources, names, max_scan, max_views, max_pairs, intrinsics)
    plan_all = pair_sources(sources[0], sources[1], timestamps)
    plan = plan_all.subsample(max_scan)
    report_at(progress, 0.0, f"{len(plan_all)} frame pairs ({plan_all.method}); examining {len(plan)}")
    dets = _scan_pairs(session, sources, plan, progress, cancel)
    found = _require_board(board, sources, dets, progress)
    check_cancel(cancel)
    session.thin(max_views, max_pairs)
    _require_pairs(len(session.pairs()), found, len(plan), timestamps)
    intr = session.solve_intrinsics(scaled_progress(progress, 0.5, 0.6, STEPS), cancel)
    search = FrameOffset()
    if sources[0].kind != "images" and max_frame_offset > 0:
        search = _sync_check(session, sources[1], plan, dets, intr, max_frame_offset, progress, cancel)
        if search.offset:
            session.thin(max_views, max_pairs)
    result = session.solve(
        progress=scaled_progress(progress, 0.75, 0.95, STEPS),
        cancel=cancel,
        refine=refine,
        intrinsics=intr,
        bundle=bundle,
    )
    if floor_frame is not None:
        result = _with_floor(result, sources, plan_all, floor_frame, search.frames, session)
    info = _run_info(result, sources, timestamps, (plan_all, plan), found, search)
    info.setdefault("timings", {})["total_s"] = time.perf_counter() - t_start
    result = replace(result, info=info)
    check_cancel(cancel)
    if out is not None:
        result = result.save(out)
        report_at(progress, 1.0, f"saved {result.path}")
    return result


def _with_floor(
    result: CalibrationResult,
    sources: tuple[FrameSource, FrameSource],
    plan: PairPlan,
    frame: int,
    offset: int,
    session: CalibrationSession,
) -> CalibrationResult:
    """``result`` in the floor frame of the board seen in camera-0 frame ``frame`` (Z up)."""
    fd0, fd1 = _floor_detections(sources[0], sources[1], plan, frame, offset, session)
    if not fd0.found:
        raise CalibrationError(
            f"the floor frame {frame} does not show the board in camera 0. Pick a frame where the board "
            "lies flat on the floor in view of both cameras."
        )
    return result.with_floor(fd0, fd1 if fd1 is not None and fd1.found else None)


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
