"""Session operations for the command line and the GUI: import two videos, process, export.

- :func:`import_videos`: two videos + a calibration (+ optional capture-time CSV) -> a new session folder.
- :func:`process_session`: MediaPipe on both views in parallel for EVERY pair, triangulation, optional
  CV-UGCN refinement -> ``keypoints2d.npz`` and ``poses3d.npz``.
- :func:`export_session`: a session's 3D motion -> TRC / C3D / CSV / JSON / BVH (core/export.py), with the
  world's up axis from the session's calibration (:func:`core.calibration_io.infer_world_up`).

Each returns a JSON-able summary, reports progress through ``progress(done, total, message)`` (called from
the calling thread), stops early when the ``cancel`` event is set (then nothing is written and the summary says
``"cancelled": true``), and raises a :class:`core.errors.CrossViewError` subclass on bad input, never deleting
anything the user made.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import skeleton
from core.calibration_io import load_calibration, save_calibration
from core.errors import InputError, SessionError
from core.export import FORMATS, ExportError, export
from core.jobs import Progress
from core.pipeline import PairProcessor, RefineHook, cameras_for_frames, process_pairs
from core.session import (
    CALIBRATION_FILE,
    KEYPOINTS_FILE,
    PAIRS_FILE,
    POSES_FILE,
    SESSION_FILE,
    STATUS_COMPLETE,
    STATUS_RECORDING,
    TIMESTAMPS_FILE,
    VIDEO_CODEC,
    VIDEO_SUFFIX,
    CameraInfo,
    MjpegAviWriter,
    PairTable,
    Poses,
    Session,
    SessionMeta,
    count_video_frames,
    is_recording_live,
    load_av,
    now_iso,
    pairs_bytes,
    safe_file_stem,
    session_folder_is_free,
    timestamps_bytes,
    write_json_atomic,
    write_npz,
)
from core.sync import default_tolerance_ns, pair_timestamps
from core.triangulation import DEFAULT_MIN_CONFIDENCE
from core.video_io import probe_video

__all__ = [
    "export_session",
    "import_videos",
    "load_refine_hook",
    "process_session",
    "read_timestamps_csv",
]


def _noop(done: int, total: int, message: str) -> None:
    pass


# ============================================================================================ timestamps CSV


def _timestamps_error(path: Path, msg: str) -> InputError:
    return InputError(
        f"timestamps file '{path}': {msg} Supported layouts: CrossView's `camera,frame_index,t_ns` (ns) and "
        "Caliscope's `sync_index,cam_id,frame_time` (seconds)."
    )


def read_timestamps_csv(path: str | os.PathLike, names: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Capture times of each frame of two videos from a CSV: ``({name: t_ns (N,) int64 in frame order}, notes)``.

    Layouts: CrossView's ``camera, frame_index, t_ns`` (cameras matched by name; when the names differ and
    the file holds exactly two cameras, in order of first appearance) and Caliscope's ``sync_index, cam_id,
    frame_time`` seconds, optionally with ``frame_index`` (the lower ``cam_id`` is the first video). Frames of
    a camera are in ``frame_index`` order, else in time order.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"timestamps file '{path}' does not exist. Check the path.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"timestamps file '{path}' cannot be read ({exc}).") from None
    if len(rows) < 2:
        raise _timestamps_error(path, "it holds no rows.")
    header = [h.strip().lower() for h in rows[0]]
    body = rows[1:]
    notes: list[str] = []

    def col(name: str) -> int:
        return header.index(name)

    try:
        if {"camera", "frame_index", "t_ns"} <= set(header):
            ic, ik, it = col("camera"), col("frame_index"), col("t_ns")
            cams = [r[ic].strip() for r in body]
            order = [int(r[ik]) for r in body]
            times = [int(r[it]) for r in body]
            present = list(dict.fromkeys(cams))
            if all(n in present for n in names):
                mapping = {n: n for n in names}
            elif len(present) == 2:
                mapping = dict(zip(names, present, strict=True))
                notes.append(f"timestamps cameras {present} taken as {list(names)} (in order of appearance).")
            else:
                raise _timestamps_error(path, f"it names cameras {present}, not {list(names)}.")
        elif {"cam_id", "frame_time"} <= set(header):
            ic, it = col("cam_id"), col("frame_time")
            cam_ids = [int(float(r[ic])) for r in body]
            ids = sorted(set(cam_ids))
            if len(ids) != 2:
                raise _timestamps_error(path, f"it holds {len(ids)} cameras (cam_id {ids}); exactly two are needed.")
            cams = [str(c) for c in cam_ids]
            mapping = {names[0]: str(ids[0]), names[1]: str(ids[1])}
            times = [int(round(float(r[it]) * 1e9)) for r in body]
            order = [int(float(r[col("frame_index")])) for r in body] if "frame_index" in header else times
            notes.append(f"Caliscope timestamps: cam_id {ids[0]} -> '{names[0]}', cam_id {ids[1]} -> '{names[1]}'.")
        else:
            raise _timestamps_error(path, f"unknown columns {rows[0]}.")
    except (IndexError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _timestamps_error(path, f"a row is malformed ({exc}).") from None
    cams_a = np.asarray(cams)
    order_a = np.asarray(order, dtype=np.int64)
    times_a = np.asarray(times, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for n in names:
        sel = cams_a == mapping[n]
        o = np.argsort(order_a[sel], kind="stable")
        t = times_a[sel][o]
        if len(t) == 0:
            raise _timestamps_error(path, f"it has no rows for camera '{n}'.")
        if np.any(np.diff(t) <= 0):
            raise _timestamps_error(path, f"the times of camera '{n}' do not increase frame after frame.")
        out[n] = t
    return out, notes


# ============================================================================================ import


def _video_codec(path: Path) -> str:
    av = load_av()
    try:
        with av.open(str(path)) as c:
            return str(c.streams.video[0].codec_context.name)
    except Exception:
        return "unknown"


def _check_cancel(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _copy_file(src: Path, dst: Path, report: Callable[[int], None], cancel: threading.Event | None) -> bool:
    """Copy in chunks with progress; False when cancelled."""
    with open(src, "rb") as fi, open(dst, "xb") as fo:
        while True:
            if _check_cancel(cancel):
                return False
            chunk = fi.read(8 << 20)
            if not chunk:
                break
            fo.write(chunk)
            report(len(chunk))
        fo.flush()
        os.fsync(fo.fileno())
    shutil.copystat(src, dst)
    return True


def _reencode(src: Path, dst: Path, fps: float, n: int, report: Callable[[int], None], cancel: threading.Event | None):
    import cv2

    cap = cv2.VideoCapture(str(src))
    writer: MjpegAviWriter | None = None
    try:
        for _ in range(n):
            if _check_cancel(cancel):
                return False
            ok, img = cap.read()
            if not ok:
                raise InputError(f"video '{src}' could not be decoded to the end; re-encode it with ffmpeg first.")
            if writer is None:
                writer = MjpegAviWriter(dst, img.shape[1], img.shape[0], fps)
            writer.write(img)
            report(1)
    finally:
        cap.release()
        if writer is not None:
            writer.close()
    return True


def import_videos(
    video_a: str | os.PathLike,
    video_b: str | os.PathLike,
    calib: str | os.PathLike,
    out: str | os.PathLike,
    cameras: Sequence[str] | None = None,
    timestamps: str | os.PathLike | None = None,
    *,
    reencode: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Make a session from two videos of the same scene and the calibration of their cameras.

    ``cameras``: the calibration's names of the two cameras, in video order (default: the calibration's two
    cameras). ``timestamps``: a capture-time CSV (:func:`read_timestamps_csv`); frames are then paired by time
    with :func:`core.sync.pair_timestamps` (tolerance: half the shorter frame period). Without it, frame k of A
    pairs with frame k of B at the videos' frame rate (the videos must have the same length).
    The videos are copied byte for byte (no quality loss, no time; any codec OpenCV reads), or re-encoded to
    the recording codec (MJPEG/AVI) with ``reencode=True``. The session is built in a hidden sibling folder
    and renamed to ``out`` when complete, so a failed or cancelled import leaves nothing behind.
    Returns a summary (frames, pairs, pairing method, median |skew|, warnings).
    """
    t_start = time.perf_counter()
    report = progress or _noop
    out = Path(out)
    session_folder_is_free(out)
    paths = [Path(video_a), Path(video_b)]
    for p in paths:
        if not p.is_file():
            raise InputError(f"video '{p}' does not exist. Check the path.")
    if paths[0].resolve() == paths[1].resolve():
        raise InputError(f"both videos are the same file ('{paths[0]}'); give one video per camera.")
    infos = [probe_video(p) for p in paths]
    cal = load_calibration(calib)
    if cameras is None:
        if len(cal.group) != 2:
            raise InputError(
                f"calibration '{calib}' holds {len(cal.group)} cameras ({', '.join(cal.group.names)}); say which two "
                "filmed the videos, in video order, with --cameras NAME_A,NAME_B."
            )
        names = cal.group.names
    else:
        names = [str(n) for n in cameras]
    if len(names) != 2 or names[0] == names[1]:
        raise InputError(f"give two different camera names, one per video; got {names}.")
    missing = [n for n in names if n not in cal.group.names]
    if missing:
        raise InputError(
            f"calibration '{calib}' is for other cameras: it holds {cal.group.names}, not "
            f"{', '.join(map(repr, missing))}. Pass --cameras with two of its names (in video order), or use the "
            "calibration made for these cameras."
        )
    group = cal.group.subset(names)
    sizes = [(i.width, i.height) for i in infos]
    _, warnings = cameras_for_frames(group, sizes)
    counts = [count_video_frames(p, check_last=False) for p in paths]
    for p, n in zip(paths, counts, strict=True):
        if n == 0:
            raise InputError(f"video '{p}' holds no frames.")
    fps = [i.fps if i.fps > 0 else 30.0 for i in infos]
    if timestamps is None:
        if counts[0] != counts[1]:
            raise InputError(
                f"the videos have different lengths: '{paths[0].name}' has {counts[0]} frames and '{paths[1].name}' "
                f"has {counts[1]}. Without timestamps, frames are paired by index, so both need the same number of "
                "frames. Pass --timestamps with the capture times of every frame, or trim the longer video."
            )
        t = {n: np.round(np.arange(c) * 1e9 / f).astype(np.int64) for n, c, f in zip(names, counts, fps, strict=True)}
        idx = np.arange(counts[0], dtype=np.int64)
        pairs = PairTable(idx, idx.copy(), (t[names[1]] - t[names[0]]) / 1e6)
        pairing: dict[str, Any] = {"method": "index", "fps": fps}
        session_fps = fps[0]
    else:
        t, notes = read_timestamps_csv(timestamps, names)
        warnings += notes
        for n, p, c in zip(names, paths, counts, strict=True):
            if len(t[n]) != c:
                raise InputError(
                    f"timestamps file '{timestamps}' lists {len(t[n])} frames for camera '{n}' but its video "
                    f"'{p.name}' holds {c}. Use the timestamps recorded with these videos."
                )
        rate = [1e9 / float(np.median(np.diff(t[n]))) if len(t[n]) > 1 else f for n, f in zip(names, fps, strict=True)]
        tol = default_tolerance_ns(*rate)
        ia, ib, skew = pair_timestamps(t[names[0]], t[names[1]], tol)
        if len(ia) == 0:
            raise InputError(
                f"no frame of '{paths[0].name}' was taken within {tol / 1e6:.1f} ms of a frame of '{paths[1].name}' "
                f"according to '{timestamps}'. Were the two videos recorded at the same time?"
            )
        pairs = PairTable(ia, ib, skew / 1e6)
        pairing = {"method": "timestamps", "tolerance_ms": tol / 1e6, "timestamps_file": str(timestamps)}
        session_fps = float(min(rate))
        fps = rate
    firsts = [int(t[n][0]) for n in names]
    lasts = [int(t[n][-1]) for n in names]

    tmp = out.with_name(f".{out.name}.importing-{os.getpid()}")
    total = sum(counts) if reencode else sum(p.stat().st_size for p in paths)
    done = [0]

    def step(k: int) -> None:
        done[0] += k
        report(done[0], total, "re-encoding videos" if reencode else "copying videos")

    try:
        tmp.mkdir(parents=True)
        cams: list[CameraInfo] = []
        for n, p, info, c, f in zip(names, paths, infos, counts, fps, strict=True):
            ext = VIDEO_SUFFIX if reencode else p.suffix.lower()
            video = safe_file_stem(n) + ext
            if any(cam.video == video for cam in cams):
                video = f"{safe_file_stem(n)}_1{ext}"
            dst = tmp / video
            ok = _reencode(p, dst, f, c, step, cancel) if reencode else _copy_file(p, dst, step, cancel)
            if not ok:
                shutil.rmtree(tmp, ignore_errors=True)
                return {"cancelled": True, "session": str(out)}
            cams.append(
                CameraInfo(
                    name=n,
                    video=video,
                    width=info.width,
                    height=info.height,
                    fps=float(f),
                    frames=int(c),
                    codec=VIDEO_CODEC if reencode else _video_codec(p),
                    source={"kind": "file", "path": str(p.resolve()), "reencoded": reencode},
                )
            )
        meta_extra = {k: v for k, v in cal.metadata.items() if k not in ("units",)}
        meta_extra["imported_from"] = str(Path(calib).resolve())
        save_calibration(tmp / CALIBRATION_FILE, group, metadata=meta_extra)
        (tmp / TIMESTAMPS_FILE).write_bytes(timestamps_bytes(names, t))
        (tmp / PAIRS_FILE).write_bytes(pairs_bytes(names, pairs))
        meta = SessionMeta(
            cameras=cams,
            fps=float(session_fps),
            status=STATUS_COMPLETE,
            origin="imported",
            pairs=len(pairs),
            pairing=pairing,
            t0_ns=min(firsts),
            duration_s=(max(lasts) - min(firsts)) / 1e9,
            ended=now_iso(),
            notes=list(warnings),
        )
        write_json_atomic(tmp / SESSION_FILE, meta.to_dict())
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SessionError(f"could not write the session to '{out}': {exc.strerror or exc}.") from None
        raise
    return {
        "session": str(out),
        "cameras": names,
        "frames": dict(zip(names, counts, strict=True)),
        "pairs": len(pairs),
        "pairing": pairing["method"],
        "tolerance_ms": pairing.get("tolerance_ms"),
        "median_abs_skew_ms": float(np.median(np.abs(pairs.skew_ms))) if len(pairs) else None,
        "fps": session_fps,
        "videos": "re-encoded to MJPEG/AVI" if reencode else "copied unchanged",
        "warnings": warnings,
        "seconds": time.perf_counter() - t_start,
    }


# ============================================================================================ process


def load_refine_hook() -> tuple[RefineHook | None, str, str]:
    """The default CV-UGCN refinement hook: ``(hook or None, a sentence saying what is used or why not, model id)``.

    Uses ``models.refiner.default_refine_hook()`` (returning ``(hook, label)`` or a hook); when it cannot be
    imported or loaded, refinement is skipped and the sentence says why.
    """
    try:
        from models.refiner import default_refine_hook  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, f"skipped: no refinement model is available (models.refiner.default_refine_hook: {exc})", ""
    try:
        made = default_refine_hook()
    except Exception as exc:
        return None, f"skipped: the refinement model could not be loaded ({exc})", ""
    hook, label = (made[0], str(made[1])) if isinstance(made, tuple) else (made, "CV-UGCN")
    if hook is None:
        return None, f"skipped: {label}", ""
    model = getattr(hook, "model_id", None) or getattr(hook, "id", None) or label
    return hook, label, str(model)


def process_session(
    session: str | os.PathLike | Session,
    refine: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    refine_hook: RefineHook | None = None,
    model_id: str = "",
    detector_factory: Callable[[], Any] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    prefetch: int = 4,
) -> dict[str, Any]:
    """Detect, triangulate (and refine) EVERY pair of a session; write ``keypoints2d.npz`` and ``poses3d.npz``.

    Both cameras' MediaPipe detectors run in parallel (:class:`core.pipeline.PairProcessor`), the videos decode
    ahead in their own threads and the refinement of pair N overlaps the detection of pair N + 1
    (:func:`core.pipeline.process_pairs`). ``refine``: use ``refine_hook`` (default: :func:`load_refine_hook`;
    skipped with a note when no model is available). ``detector_factory`` replaces MediaPipe (tests).
    Returns ``{frames, frames_with_3d, percent_with_3d, median_reprojection_error_px, refined, refinement,
    model, seconds, seconds_per_100_frames, warnings, ...}``; ``{"cancelled": true}`` when cancelled (nothing
    written).
    """
    t_start = time.perf_counter()
    report = progress or _noop
    s = Session.open(session)
    if s.meta.status == STATUS_RECORDING:
        if is_recording_live(s.path):
            raise SessionError(f"session '{s.path}' is still being recorded; stop the recording first.")
        raise SessionError(
            f"session '{s.path}' was not finished (the app or the computer stopped while recording). Recover it "
            "first (the app offers it on start; or core.session.recover), then process it."
        )
    s.check()
    cal = s.calibration()
    _, warnings = cameras_for_frames(cal.group, s.frame_sizes())
    pairs = s.pairs()
    P = len(pairs)
    hook: RefineHook | None = None
    note, model = "disabled", ""
    if refine:
        if refine_hook is not None:
            hook, note, model = refine_hook, "refinement hook given by the caller", model_id
        else:
            hook, note, model = load_refine_hook()
    report(0, P, "starting the detectors")
    factory = detector_factory
    if factory is None:
        from core.detection import PoseDetector

        factory = PoseDetector
    J = skeleton.NUM_JOINTS
    kp = np.full((2, P, J, 3), np.nan, np.float32)
    kp[..., 2] = 0.0
    coarse = np.full((P, J, 3), np.nan)
    refined = np.full((P, J, 3), np.nan)
    has_refined = False
    err = np.full((P, J), np.nan)
    status = np.full(P, "skipped", dtype="U16")
    reasons: dict[str, int] = {}
    done = 0
    proc = PairProcessor(cal.group, refine_hook=hook, min_confidence=min_confidence, detector_factory=factory)
    frames = s.iter_pairs(prefetch=prefetch)
    try:
        for r in process_pairs(frames, proc, cancel=cancel):
            p = r.pair_index
            kp[:, p] = r.keypoints2d
            err[p] = r.reprojection_error_px
            status[p] = r.status
            if r.coarse is not None:
                coarse[p] = r.coarse
            if r.refined is not None:
                refined[p] = r.refined
                has_refined = True
            if r.reason:
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
            done += 1
            report(done, P, f"pair {done}/{P}")
    finally:
        with contextlib.suppress(Exception):
            frames.close()  # type: ignore[attr-defined]
        proc.close()
    seconds = time.perf_counter() - t_start
    if done < P:
        return {"cancelled": True, "session": str(s.path), "frames_done": done, "frames": P, "seconds": seconds}
    for w in proc.warnings:
        if w not in warnings:
            warnings.append(w)
    if refine and hook is not None and not has_refined:
        warnings.append("the refinement hook ran but produced no refined pose (see the log).")
    time_s = s.time_s()
    kp_arrays = {
        s.names[0]: kp[0],
        s.names[1]: kp[1],
        "time_s": time_s,
        "units": np.array("px"),
        "joint_names": np.array(skeleton.JOINT_NAMES),
    }
    poses = Poses(time_s, coarse, refined if has_refined else None, err, status, model=model if has_refined else "")
    try:
        write_npz(s.path / KEYPOINTS_FILE, kp_arrays)
        write_npz(s.path / POSES_FILE, poses.to_arrays())
    except OSError as exc:
        raise SessionError(f"could not write the results into '{s.path}': {exc.strerror or exc}.") from None
    ok = status == "ok"
    finite_err = err[ok][np.isfinite(err[ok])]
    summary: dict[str, Any] = {
        "session": str(s.path),
        "frames": P,
        "frames_with_3d": int(ok.sum()),
        "percent_with_3d": float(100.0 * ok.mean()) if P else 0.0,
        "median_reprojection_error_px": float(np.median(finite_err)) if finite_err.size else None,
        "refined": has_refined,
        "refinement": note,
        "model": model if has_refined else "",
        "seconds": seconds,
        "seconds_per_100_frames": 100.0 * seconds / P if P else None,
        "no_3d_reasons": reasons,
        "warnings": warnings,
        "outputs": [str(s.path / KEYPOINTS_FILE), str(s.path / POSES_FILE)],
    }
    s.meta.processing = {k: summary[k] for k in summary if k not in ("session", "outputs")}
    s.meta.processing["when"] = now_iso()
    s.save_meta()
    return summary


# ============================================================================================ export


def export_session(
    session: str | os.PathLike | Session,
    fmt: str,
    out: str | os.PathLike,
    which: str | None = None,
    *,
    bvh_units: str = "m",
) -> dict[str, Any]:
    """Export a processed session's 3D motion to ``out`` in ``fmt`` (one of :data:`core.export.FORMATS`).

    ``which``: "refined" or "coarse" (default: refined when the session has it, else coarse). The world's up
    axis comes from the session's calibration (:meth:`Session.world_up`). Returns a summary.
    """
    s = Session.open(session)
    key = str(fmt).lower().lstrip(".")
    if key not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    poses = s.poses()
    if poses is None:
        raise SessionError(
            f"session '{s.path}' has no 3D results yet; run `python main.py process {s.path}` first, then export."
        )
    if which is None:
        which = "refined" if poses.refined is not None else "coarse"
    if which not in ("coarse", "refined"):
        raise InputError(f"--which must be 'coarse' or 'refined', got {which!r}.")
    points = poses.refined if which == "refined" else poses.coarse
    if points is None:
        raise SessionError(
            f"session '{s.path}' has no refined poses (it was processed without refinement); export --which coarse, "
            "or process it again with a refinement model installed."
        )
    up, why = s.world_up()
    fps = s.meta.fps if s.meta.fps > 0 else None
    path = export(
        points,
        poses.time_s,
        out,
        key,
        up_axis=up,
        fps=fps,
        reprojection_error_px=poses.reprojection_error_px,
        bvh_units=bvh_units,
    )
    valid = np.isfinite(points).all(axis=-1).any(axis=-1)
    return {
        "out": str(path),
        "format": key,
        "which": which,
        "frames": int(len(points)),
        "frames_with_3d": int(valid.sum()),
        "up_axis": up,
        "up_axis_reason": why,
        "fps": fps,
    }
