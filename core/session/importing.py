"""Importing two existing videos as a session: :func:`import_videos` (and :func:`guess_camera`, which names the
camera a video file shows). No Qt.

The session is built in a hidden sibling folder and renamed when complete, so a failed or cancelled import
leaves nothing behind. Units: nanoseconds (capture times), milliseconds (skews, tolerance), seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.calibration_io import CalibrationFile, load_calibration, save_calibration
from core.camera import CameraGroup, cameras_for_frames
from core.errors import InputError, SessionError
from core.jobs import CancelLike, Progress, check_cancel, null_progress
from core.session.avi import MjpegAviWriter, count_video_frames, video_codec
from core.session.layout import (
    CALIBRATION_FILE,
    PAIRS_FILE,
    SESSION_FILE,
    STATUS_COMPLETE,
    TIMESTAMPS_FILE,
    VIDEO_CODEC,
    VIDEO_SUFFIX,
    CameraInfo,
    SessionMeta,
    now_iso,
    safe_file_stem,
    session_folder_is_free,
    write_json_atomic,
)
from core.session.tables import PairTable, pairs_bytes, read_timestamps_csv, timestamps_bytes
from core.sync import default_tolerance_ns, pair_timestamps
from core.video_io import VideoInfo, probe_video

__all__ = ["ImportSummary", "guess_camera", "import_videos"]


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_videos` made. ``frames`` per camera; ``pairing`` "index" or "timestamps";
    ``tolerance_ms`` (timestamps pairing) and ``median_abs_skew_ms`` in ms; ``fps`` the session's rate."""

    session: str
    cameras: list[str]
    frames: dict[str, int]
    pairs: int
    pairing: str
    tolerance_ms: float | None
    median_abs_skew_ms: float | None
    fps: float
    videos: str
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary (``python main.py import --json``)."""
        return {
            "session": self.session,
            "cameras": list(self.cameras),
            "frames": dict(self.frames),
            "pairs": self.pairs,
            "pairing": self.pairing,
            "tolerance_ms": self.tolerance_ms,
            "median_abs_skew_ms": self.median_abs_skew_ms,
            "fps": self.fps,
            "videos": self.videos,
            "warnings": list(self.warnings),
            "seconds": self.seconds,
        }


@dataclass
class _Timing:
    """How the frames of the two videos are timed and paired."""

    t: dict[str, np.ndarray]  # {camera: t_ns (N,)}
    pairs: PairTable
    pairing: dict[str, Any]
    fps: list[float]  # per camera
    session_fps: float


@dataclass
class _Plan:
    """Everything an import writes, checked before anything is written."""

    out: Path
    paths: list[Path]
    names: list[str]
    infos: list[VideoInfo]
    counts: list[int]
    timing: _Timing
    calibration: CalibrationFile
    group: CameraGroup
    calib_path: Path
    warnings: list[str]
    reencode: bool


def guess_camera(video: str | Path, names: list[str]) -> str | None:
    """The calibration camera whose number matches the video's file name (``cam01.mp4`` -> ``cam_01``)."""
    digits = re.findall(r"\d+", Path(video).stem)
    if not digits:
        return None
    n = int(digits[-1])
    hits = [c for c in names if re.findall(r"\d+", c) and int(re.findall(r"\d+", c)[-1]) == n]
    return hits[0] if len(hits) == 1 else None


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
    cancel: CancelLike = None,
) -> ImportSummary:
    """Make a session from two videos of the same scene and the calibration of their cameras.

    ``cameras``: the calibration's names of the two cameras, in video order (default: the calibration's two
    cameras). ``timestamps``: a capture-time CSV (:func:`core.session.tables.read_timestamps_csv`); frames are
    then paired by time with :func:`core.sync.pair_timestamps` (tolerance: half the shorter frame period).
    Without it, frame k of A pairs with frame k of B at the videos' frame rate (the videos must have the same
    length). The videos are copied byte for byte (no quality loss, no time; any codec OpenCV reads), or
    re-encoded to the recording codec (MJPEG/AVI) with ``reencode=True``. The session is built in a hidden
    sibling folder and renamed to ``out`` when complete, so a failed or cancelled import leaves nothing behind.
    Raises :class:`core.jobs.Cancelled` when cancelled (after removing what it wrote).
    """
    t_start = time.perf_counter()
    out = Path(out)
    session_folder_is_free(out)
    paths = _videos(video_a, video_b)
    infos = [probe_video(p) for p in paths]
    cal = load_calibration(calib)
    names = _camera_names(cal, calib, cameras)
    group = cal.group.subset(names)
    _, warnings = cameras_for_frames(group, [(i.width, i.height) for i in infos])
    counts = [count_video_frames(p, check_last=False) for p in paths]
    for p, n in zip(paths, counts, strict=True):
        if n == 0:
            raise InputError(f"video '{p}' holds no frames.")
    fps = [i.fps if i.fps > 0 else 30.0 for i in infos]
    if timestamps is None:
        timing = _index_timing(names, paths, counts, fps)
    else:
        timing = _timestamps_timing(names, paths, counts, fps, timestamps, warnings)
    plan = _Plan(out, paths, names, infos, counts, timing, cal, group, Path(calib), warnings, reencode)
    _build(plan, progress, cancel)
    pairs = timing.pairs
    return ImportSummary(
        session=str(out),
        cameras=names,
        frames=dict(zip(names, counts, strict=True)),
        pairs=len(pairs),
        pairing=timing.pairing["method"],
        tolerance_ms=timing.pairing.get("tolerance_ms"),
        median_abs_skew_ms=float(np.median(np.abs(pairs.skew_ms))) if len(pairs) else None,
        fps=timing.session_fps,
        videos="re-encoded to MJPEG/AVI" if reencode else "copied unchanged",
        warnings=warnings,
        seconds=time.perf_counter() - t_start,
    )


def _videos(video_a: str | os.PathLike, video_b: str | os.PathLike) -> list[Path]:
    paths = [Path(video_a), Path(video_b)]
    for p in paths:
        if not p.is_file():
            raise InputError(f"video '{p}' does not exist. Check the path.")
    if paths[0].resolve() == paths[1].resolve():
        raise InputError(f"both videos are the same file ('{paths[0]}'); give one video per camera.")
    return paths


def _camera_names(cal: CalibrationFile, calib: str | os.PathLike, cameras: Sequence[str] | None) -> list[str]:
    """The calibration's names of the two cameras, in video order; InputError when they do not fit."""
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
    return names


def _index_timing(names: list[str], paths: list[Path], counts: list[int], fps: list[float]) -> _Timing:
    """Frame k of A with frame k of B, timed at each video's frame rate (both need the same length)."""
    if counts[0] != counts[1]:
        raise InputError(
            f"the videos have different lengths: '{paths[0].name}' has {counts[0]} frames and '{paths[1].name}' "
            f"has {counts[1]}. Without timestamps, frames are paired by index, so both need the same number of "
            "frames. Pass --timestamps with the capture times of every frame, or trim the longer video."
        )
    t = {n: np.round(np.arange(c) * 1e9 / f).astype(np.int64) for n, c, f in zip(names, counts, fps, strict=True)}
    idx = np.arange(counts[0], dtype=np.int64)
    pairs = PairTable(idx, idx.copy(), (t[names[1]] - t[names[0]]) / 1e6)
    return _Timing(t, pairs, {"method": "index", "fps": fps}, fps, fps[0])


def _timestamps_timing(
    names: list[str],
    paths: list[Path],
    counts: list[int],
    fps: list[float],
    timestamps: str | os.PathLike,
    warnings: list[str],
) -> _Timing:
    """Frames paired by the capture times of a CSV (tolerance: half the shorter frame period)."""
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
    pairing = {"method": "timestamps", "tolerance_ms": tol / 1e6, "timestamps_file": str(timestamps)}
    return _Timing(t, PairTable(ia, ib, skew / 1e6), pairing, rate, float(min(rate)))


def _build(plan: _Plan, progress: Progress | None, cancel: CancelLike) -> None:
    """Write the session into a hidden sibling folder, then rename it to ``out`` (removed on any failure)."""
    report = progress or null_progress
    out, names, timing = plan.out, plan.names, plan.timing
    tmp = out.with_name(f".{out.name}.importing-{os.getpid()}")
    total = sum(plan.counts) if plan.reencode else sum(p.stat().st_size for p in plan.paths)
    done = [0]

    def step(k: int) -> None:
        done[0] += k
        report(done[0], total, "re-encoding videos" if plan.reencode else "copying videos")

    try:
        tmp.mkdir(parents=True)
        cams = _write_videos(tmp, plan, step, cancel)
        meta_extra = {k: v for k, v in plan.calibration.metadata.items() if k not in ("units",)}
        meta_extra["imported_from"] = str(plan.calib_path.resolve())
        save_calibration(tmp / CALIBRATION_FILE, plan.group, metadata=meta_extra)
        (tmp / TIMESTAMPS_FILE).write_bytes(timestamps_bytes(names, timing.t))
        (tmp / PAIRS_FILE).write_bytes(pairs_bytes(names, timing.pairs))
        firsts = [int(timing.t[n][0]) for n in names]
        lasts = [int(timing.t[n][-1]) for n in names]
        meta = SessionMeta(
            cameras=cams,
            fps=float(timing.session_fps),
            status=STATUS_COMPLETE,
            origin="imported",
            pairs=len(timing.pairs),
            pairing=timing.pairing,
            t0_ns=min(firsts),
            duration_s=(max(lasts) - min(firsts)) / 1e9,
            ended=now_iso(),
            notes=list(plan.warnings),
        )
        write_json_atomic(tmp / SESSION_FILE, meta.to_dict())
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException as exc:  # a cancel too: nothing half-imported is left
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SessionError(f"could not write the session to '{out}': {exc.strerror or exc}.") from None
        raise


def _write_videos(tmp: Path, plan: _Plan, step: Callable[[int], None], cancel: CancelLike) -> list[CameraInfo]:
    """Copy (or re-encode) each video into the session folder; its :class:`CameraInfo`."""
    cams: list[CameraInfo] = []
    reencode = plan.reencode
    for n, p, info, c, f in zip(plan.names, plan.paths, plan.infos, plan.counts, plan.timing.fps, strict=True):
        ext = VIDEO_SUFFIX if reencode else p.suffix.lower()
        video = safe_file_stem(n) + ext
        if any(cam.video == video for cam in cams):
            video = f"{safe_file_stem(n)}_1{ext}"
        dst = tmp / video
        if reencode:
            _reencode(p, dst, f, c, step, cancel)
        else:
            _copy_file(p, dst, step, cancel)
        cams.append(
            CameraInfo(
                name=n,
                video=video,
                width=info.width,
                height=info.height,
                fps=float(f),
                frames=int(c),
                codec=VIDEO_CODEC if reencode else video_codec(p),
                source={"kind": "file", "path": str(p.resolve()), "reencoded": reencode},
            )
        )
    return cams


def _copy_file(src: Path, dst: Path, report: Callable[[int], None], cancel: CancelLike) -> None:
    """Copy in chunks with progress; :class:`core.jobs.Cancelled` when cancelled."""
    with open(src, "rb") as fi, open(dst, "xb") as fo:
        while True:
            check_cancel(cancel)
            chunk = fi.read(8 << 20)
            if not chunk:
                break
            fo.write(chunk)
            report(len(chunk))
        fo.flush()
        os.fsync(fo.fileno())
    shutil.copystat(src, dst)


def _reencode(src: Path, dst: Path, fps: float, n: int, report: Callable[[int], None], cancel: CancelLike) -> None:
    """Decode ``n`` frames of ``src`` and write them as MJPEG/AVI; :class:`core.jobs.Cancelled` when cancelled."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    writer: MjpegAviWriter | None = None
    try:
        for _ in range(n):
            check_cancel(cancel)
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
