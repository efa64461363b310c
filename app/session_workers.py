"""Workers of the Sessions tab and the Record button: every long session job runs off the GUI thread. Qt, no widgets.

- :class:`Task`: runs ``fn(progress, cancel)`` in a :class:`QtCore.QThread` and reports by signals
  (``progressed`` throttled to ~20 Hz, then exactly one of ``succeeded`` / ``failed`` / ``cancelled``, then
  ``ended``). :func:`import_task`, :func:`process_task`, :func:`export_task`, :func:`recover_task`,
  :func:`scan_task` and :func:`load_replay_task` wrap ``core.session_ops`` / ``core.session``.
- :class:`PairDecoder`: decodes the two videos of a session for replay in its own thread (both cameras in
  parallel), keeps a small LRU cache of downscaled frame pairs and always serves the NEWEST request, so
  scrubbing never queues up work and the GUI never waits for a decoder.
- :func:`scan_sessions`: the rows of the sessions list (date, duration, cameras, counts, 3D / refined).
- The sessions root folder setting (:func:`sessions_root`), shared by the Sessions tab and the Record button.

Units: seconds (durations, times), pixels (frames), metres (3D), bytes (sizes).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6 import QtCore

from core.capture import Frame
from core.errors import CrossViewError, SessionError
from core.session import (
    POSES_FILE,
    SESSION_FILE,
    STATUS_RECORDING,
    Poses,
    Session,
    find_unfinished,
    is_recording_live,
    recover,
)

log = logging.getLogger(__name__)

#: QSettings key of the folder that holds the sessions.
SESSIONS_ROOT_KEY = "sessions/root"
#: How often a task reports progress to the GUI at most, seconds.
PROGRESS_INTERVAL_S = 0.05

Progress = Callable[[int, int, str], None]


# ================================================================================================ settings


def default_sessions_root() -> Path:
    """``~/CrossView/sessions``."""
    return Path.home() / "CrossView" / "sessions"


def sessions_root(settings: QtCore.QSettings) -> Path:
    """The sessions folder chosen by the user (QSettings ``sessions/root``), else :func:`default_sessions_root`."""
    value = settings.value(SESSIONS_ROOT_KEY)
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    return default_sessions_root()


def set_sessions_root(settings: QtCore.QSettings, path: str | os.PathLike) -> None:
    settings.setValue(SESSIONS_ROOT_KEY, str(Path(path).expanduser()))
    settings.sync()


# ================================================================================================ tasks


class Task(QtCore.QThread):
    """Runs ``fn(progress, cancel)`` in a thread. ``progress(done, total, message)`` may be called as often as
    the job likes (it is throttled); ``cancel`` is a :class:`threading.Event` the job checks.

    A result that is a dict with ``"cancelled": True`` counts as cancelled. Signals reach the GUI thread queued.
    ``stop()`` cancels and waits (for :meth:`app.main_window.MainWindow.register_closeable`).
    """

    #: done, total, message
    progressed = QtCore.Signal(int, int, str)
    #: the job's result
    succeeded = QtCore.Signal(object)
    #: the exception that ended the job
    failed = QtCore.Signal(object)
    #: the job stopped because it was cancelled (nothing was written)
    cancelled = QtCore.Signal()
    #: always emitted last, after one of the three above
    ended = QtCore.Signal()

    def __init__(
        self,
        fn: Callable[[Progress, threading.Event], Any],
        name: str,
        title: str = "",
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = title or name
        self._fn = fn
        self._cancel = threading.Event()
        self._last_report = 0.0
        self.result: Any = None
        self.error: BaseException | None = None
        self.was_cancelled = False

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def stop(self, timeout_ms: int = 15000) -> bool:
        """Cancel and wait for the thread; False when it did not end in time."""
        self._cancel.set()
        return self.wait(timeout_ms) if self.isRunning() else True

    def _report(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        self.progressed.emit(int(done), int(total), str(message))

    def run(self) -> None:
        try:
            self.result = self._fn(self._report, self._cancel)
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            if not isinstance(exc, CrossViewError):
                log.exception("%s failed", self.objectName())
            self.error = exc
            self.failed.emit(exc)
        else:
            r = self.result
            if (isinstance(r, dict) and r.get("cancelled")) or (r is None and self._cancel.is_set()):
                self.was_cancelled = True
                self.cancelled.emit()
            else:
                self.succeeded.emit(r)
        self.ended.emit()


def import_task(
    video_a: str,
    video_b: str,
    calibration: str,
    out: str,
    cameras: Sequence[str] | None,
    timestamps: str | None = None,
    reencode: bool = False,
) -> Task:
    """:func:`core.session_ops.import_videos` in a :class:`Task` (result: its summary)."""
    from core.session_ops import import_videos

    def run(progress: Progress, cancel: threading.Event) -> Any:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        return import_videos(
            video_a,
            video_b,
            calibration,
            out,
            cameras=list(cameras) if cameras else None,
            timestamps=timestamps or None,
            reencode=reencode,
            progress=progress,
            cancel=cancel,
        )

    return Task(run, "session-import", f"Importing {Path(out).name}")


def process_task(
    session: str | os.PathLike,
    refine: bool,
    refine_hook: Any = None,
    model_id: str = "",
    detector_factory: Callable[[], Any] | None = None,
) -> Task:
    """:func:`core.session_ops.process_session` in a :class:`Task` (result: its summary)."""
    from core.session_ops import process_session

    def run(progress: Progress, cancel: threading.Event) -> Any:
        return process_session(
            session,
            refine=refine,
            progress=progress,
            cancel=cancel,
            refine_hook=refine_hook if refine else None,
            model_id=model_id,
            detector_factory=detector_factory,
        )

    return Task(run, "session-process", f"Processing {Path(session).name}")


def export_task(session: str | os.PathLike, fmt: str, out: str | os.PathLike, which: str | None, **kw: Any) -> Task:
    """:func:`core.session_ops.export_session` in a :class:`Task` (result: its summary, ``out`` the file)."""
    from core.session_ops import export_session

    def run(progress: Progress, cancel: threading.Event) -> Any:
        progress(0, 1, f"writing {Path(out).name}")
        summary = export_session(session, fmt, out, which, **kw)
        progress(1, 1, "done")
        return summary

    return Task(run, "session-export", f"Exporting {Path(session).name}")


def recover_task(paths: Sequence[str | os.PathLike]) -> Task:
    """:func:`core.session.recover` each session in turn. Result: ``{"recovered": [path...], "failed": {path:
    message}}`` (one unrecoverable session does not stop the others)."""

    def run(progress: Progress, cancel: threading.Event) -> Any:
        done: list[str] = []
        failed: dict[str, str] = {}
        for i, p in enumerate(paths):
            if cancel.is_set():
                break
            progress(i, len(paths), f"recovering {Path(p).name}")
            try:
                recover(p)
                done.append(str(p))
            except CrossViewError as exc:
                failed[str(p)] = str(exc)
        progress(len(paths), len(paths), "done")
        return {"recovered": done, "failed": failed}

    return Task(run, "session-recover", "Recovering sessions")


# ================================================================================================ listing


@dataclass
class SessionRow:
    """One line of the sessions list. ``status``: complete / recovered / recording (being written now) /
    unfinished (a crashed recording) / unreadable (``error`` says why)."""

    path: Path
    name: str
    status: str
    created: _dt.datetime | None = None
    origin: str = ""
    duration_s: float = 0.0
    cameras: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    pairs: int = 0
    fps: float = 0.0
    has_3d: bool = False
    has_refined: bool = False
    results_source: str = ""  # "live" | "processed" | ""
    size_bytes: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    processing: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        """Readable and finished (can be replayed, processed, exported)."""
        return self.status in ("complete", "recovered")


def _folder_size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for e in os.scandir(folder):
            with contextlib.suppress(OSError):
                if e.is_file(follow_symlinks=False):
                    total += e.stat().st_size
    return total


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def session_row(folder: Path) -> SessionRow:
    """The list row of one session folder (never raises for a bad session: its row says 'unreadable')."""
    try:
        s = Session.open(folder)
    except CrossViewError as exc:
        mtime = None
        with contextlib.suppress(OSError):
            mtime = _dt.datetime.fromtimestamp((folder / SESSION_FILE).stat().st_mtime).astimezone()
        size = _folder_size(folder)
        return SessionRow(folder, folder.name, "unreadable", created=mtime, error=str(exc), size_bytes=size)
    m = s.meta
    status = m.status
    if status == STATUS_RECORDING:
        status = "recording" if is_recording_live(folder) else "unfinished"
    has_3d = has_refined = False
    source = ""
    poses_path = folder / POSES_FILE
    if poses_path.is_file():
        try:
            with np.load(poses_path, allow_pickle=False) as z:  # reads the zip directory only
                files = set(z.files)
                has_3d = "coarse" in files
                has_refined = "refined" in files
                source = str(z["source"]) if "source" in files else "processed"
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable: %s", poses_path, exc)
    return SessionRow(
        path=folder,
        name=folder.name,
        status=status,
        created=_parse_time(m.created),
        origin=m.origin,
        duration_s=float(m.duration_s or 0.0),
        cameras=m.camera_names,
        frames={c.name: c.frames for c in m.cameras},
        pairs=int(m.pairs),
        fps=float(m.fps),
        has_3d=has_3d,
        has_refined=has_refined,
        results_source=source,
        size_bytes=_folder_size(folder),
        error=m.error,
        notes=list(m.notes),
        processing=m.processing,
    )


def scan_sessions(root: str | os.PathLike) -> list[SessionRow]:
    """Every session folder directly under ``root`` (hidden folders skipped), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    rows = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or not (entry / SESSION_FILE).is_file():
            continue
        rows.append(session_row(entry))
    epoch = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    rows.sort(key=lambda r: (r.created or epoch, r.name), reverse=True)
    return rows


def scan_task(root: str | os.PathLike) -> Task:
    return Task(lambda _p, _c: scan_sessions(root), "session-scan", "Listing sessions")


def unfinished_task(root: str | os.PathLike) -> Task:
    """:func:`core.session.find_unfinished` in a thread (result: list of paths)."""
    return Task(lambda _p, _c: find_unfinished(root), "session-find-unfinished", "Looking for unfinished sessions")


# ================================================================================================ replay data


@dataclass
class ReplayData:
    """What the replay view shows, loaded off the GUI thread.

    ``frame_a``/``frame_b`` ``(P,)``: each pair's frame index in each video; ``t_a``/``t_b`` ``(P,)`` ns capture
    times; ``time_s`` ``(P,)`` seconds from the session's start; ``keypoints`` ``{camera: (P, 17, 3)}`` px or
    None; ``poses``: the 3D results or None; ``group``: the calibrated cameras (world frame, metres).
    """

    session: Session
    names: list[str]
    frame_a: np.ndarray
    frame_b: np.ndarray
    t_a: np.ndarray
    t_b: np.ndarray
    time_s: np.ndarray
    keypoints: dict[str, np.ndarray] | None
    poses: Poses | None
    group: Any
    world_up: str
    world_up_reason: str
    sizes: list[tuple[int, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_pairs(self) -> int:
        return len(self.time_s)

    @property
    def has_refined(self) -> bool:
        return self.poses is not None and self.poses.refined is not None


def load_replay_data(path: str | os.PathLike, allowed_up: Sequence[str] = ("+z", "-y", "+y")) -> ReplayData:
    """Open and check a session and read everything the replay view needs. SessionError when it cannot be shown."""
    from core.calibration_io import infer_world_up

    s = Session.open(path)
    if s.meta.status == STATUS_RECORDING:
        if is_recording_live(s.path):
            raise SessionError(f"session '{s.path.name}' is still being recorded; stop the recording to replay it.")
        raise SessionError(
            f"session '{s.path.name}' was not finished (the app stopped while recording). Recover it first "
            "(Sessions tab ▸ the recovery offer, or Refresh)."
        )
    ts = s.check(count_frames=False)
    pairs = s.pairs()
    a, b = s.names
    t_a = ts[a][pairs.index_a]
    t_b = ts[b][pairs.index_b]
    t0 = s.time_origin_ns(ts)
    time_s = ((t_a + t_b) // 2 - t0) / 1e9
    kps = s.keypoints()
    poses = s.poses()
    warnings: list[str] = []
    P = len(pairs)
    if poses is not None and len(poses.time_s) != P:
        warnings.append(f"poses3d.npz holds {len(poses.time_s)} pairs, the session {P}: process the session again.")
        poses = None
    if kps is not None and any(len(v) != P for v in kps.values()):
        warnings.append("keypoints2d.npz does not match the session's pairs: process the session again.")
        kps = None
    group = None
    up, why = "+z", "assumed (no calibration)"
    try:
        cal = s.calibration()
        group = cal.group
        up, why = infer_world_up(cal, cal.group, allowed=tuple(allowed_up))
    except CrossViewError as exc:
        warnings.append(str(exc))
    return ReplayData(
        session=s,
        names=[a, b],
        frame_a=pairs.index_a,
        frame_b=pairs.index_b,
        t_a=t_a,
        t_b=t_b,
        time_s=np.asarray(time_s, np.float64),
        keypoints=kps,
        poses=poses,
        group=group,
        world_up=up,
        world_up_reason=why,
        sizes=s.frame_sizes(),
        warnings=warnings,
    )


def load_replay_task(path: str | os.PathLike) -> Task:
    return Task(lambda _p, _c: load_replay_data(path), "session-load", f"Opening {Path(path).name}")


# ================================================================================================ decoding


#: Forward jumps up to this many frames are decoded through (grab) rather than seeked: cheaper for videos
#: with few keyframes (H.264), and exact.
FORWARD_GRAB_MAX = 30


class VideoReader:
    """Random access to the frames of one video (cv2): sequential reads are cheap, short forward jumps grab
    through, other jumps seek. Not thread-safe: one thread at a time."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SessionError(f"the video '{self.path}' cannot be opened; is the file still there?")
        self._next = 0
        self.seeks = 0

    def read(self, k: int) -> np.ndarray | None:
        """Frame ``k`` (BGR ``(H, W, 3)`` uint8) or None when it cannot be decoded."""
        if k < self._next or k - self._next > FORWARD_GRAB_MAX:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, float(k))
            self.seeks += 1
            self._next = k
        while self._next < k:
            if not self._cap.grab():
                self._next = -(10**9)  # force a seek next time
                return None
            self._next += 1
        ok, img = self._cap.read()
        if not ok or img is None:
            self._next = -(10**9)
            return None
        self._next = k + 1
        return img

    def close(self) -> None:
        self._cap.release()


@dataclass(frozen=True)
class DecodedPair:
    """Pair ``pair_index``'s two frames, downscaled by ``scales`` (shown px per video px) from ``sizes`` (w, h).
    A frame is None when its video could not be decoded there."""

    pair_index: int
    frames: tuple[Frame | None, Frame | None]
    scales: tuple[float, float]
    sizes: tuple[tuple[int, int], tuple[int, int]]
    #: which decoder made it (:attr:`PairDecoder.token`): pairs of a previous session are ignored
    token: int = 0


_TOKENS = itertools.count(1)


class PairDecoder(QtCore.QObject):
    """Decodes session frame pairs in a background thread for the replay view.

    :meth:`request` never blocks: it returns the pair at once when cached, else queues it (replacing any
    request not yet started: the newest wins) and :attr:`pairReady` follows. With ``ahead=True`` (playback)
    the next ``prefetch`` pairs are decoded into the cache while no new request waits. Both videos decode in
    parallel. Frames are downscaled so their longer side is at most ``max_side`` px (memory: the cache holds
    ``cache_pairs`` pairs). Call :meth:`stop` before dropping it.
    """

    #: a :class:`DecodedPair` (queued to the GUI thread)
    pairReady = QtCore.Signal(object)

    def __init__(
        self,
        videos: Sequence[str | os.PathLike],
        names: Sequence[str],
        frame_a: np.ndarray,
        frame_b: np.ndarray,
        t_a: np.ndarray,
        t_b: np.ndarray,
        *,
        max_side: int = 960,
        cache_pairs: int = 24,
        prefetch: int = 6,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.videos = [Path(v) for v in videos]
        self.names = list(names)
        self._index = (np.asarray(frame_a, np.int64), np.asarray(frame_b, np.int64))
        self._t = (np.asarray(t_a, np.int64), np.asarray(t_b, np.int64))
        self.n_pairs = len(self._index[0])
        self.token = next(_TOKENS)
        self.max_side = int(max_side)
        self.cache_pairs = max(2, int(cache_pairs))
        self.prefetch = max(0, int(prefetch))
        self._cache: OrderedDict[int, DecodedPair] = OrderedDict()
        self._cond = threading.Condition()
        self._target: int | None = None
        self._ahead = False
        self._stopped = False
        self._busy = False
        self._last_requested: int | None = None
        self.decoded_pairs = 0
        self.cache_hits = 0
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="replay-decode")
        self._readers: list[VideoReader | None] = [None, None]
        self._thread = threading.Thread(target=self._run, name="replay-decoder", daemon=True)
        self._thread.start()

    # --- GUI thread -----------------------------------------------------------------------------------------
    def request(self, p: int, ahead: bool = False) -> DecodedPair | None:
        """Ask for pair ``p``: the cached pair now, or None and :attr:`pairReady` later."""
        p = int(np.clip(p, 0, max(self.n_pairs - 1, 0)))
        with self._cond:
            hit = self._cache.get(p)
            if hit is not None:
                self._cache.move_to_end(p)
                self.cache_hits += 1
            self._target = None if hit is not None else p
            self._ahead = ahead
            self._last_requested = p
            self._cond.notify()
        return hit

    def cached(self, p: int) -> DecodedPair | None:
        with self._cond:
            return self._cache.get(int(p))

    def idle(self) -> bool:
        """Nothing requested and nothing being decoded (for tests)."""
        with self._cond:
            return self._target is None and not self._busy

    def stop(self) -> None:
        """Stop the decoder thread and release the videos (waits for the frame being decoded)."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(10.0)
        self._pool.shutdown(wait=True)
        for r in self._readers:
            if r is not None:
                r.close()
        self._readers = [None, None]

    # --- decoder thread -------------------------------------------------------------------------------------
    def _read(self, cam: int, p: int) -> tuple[Frame | None, float, tuple[int, int]]:
        reader = self._readers[cam]
        if reader is None:
            reader = self._readers[cam] = VideoReader(self.videos[cam])
        k = int(self._index[cam][p])
        img = reader.read(k)
        if img is None:
            return None, 1.0, (0, 0)
        h, w = img.shape[:2]
        s = min(1.0, self.max_side / max(w, h))
        if s < 1.0:
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        return Frame(self.names[cam], k, int(self._t[cam][p]), img), s, (w, h)

    def _decode(self, p: int) -> DecodedPair:
        futures = [self._pool.submit(self._read, cam, p) for cam in (0, 1)]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except Exception as exc:  # a vanished or damaged file: show the other camera, say nothing twice
                log.warning("replay: decoding pair %d failed: %s", p, exc)
                out.append((None, 1.0, (0, 0)))
        self.decoded_pairs += 1
        return DecodedPair(p, (out[0][0], out[1][0]), (out[0][1], out[1][1]), (out[0][2], out[1][2]), token=self.token)

    def _store(self, d: DecodedPair) -> None:
        self._cache[d.pair_index] = d
        self._cache.move_to_end(d.pair_index)
        while len(self._cache) > self.cache_pairs:
            self._cache.popitem(last=False)

    def _next_prefetch(self) -> int | None:
        if not self._ahead or self.prefetch == 0 or self._last_requested is None:
            return None
        base = self._last_requested
        for q in range(base + 1, min(base + 1 + self.prefetch, self.n_pairs)):
            if q not in self._cache:
                return q
        return None

    def _run(self) -> None:
        while True:
            hit: DecodedPair | None = None
            with self._cond:
                while not self._stopped and self._target is None and self._next_prefetch() is None:
                    self._cond.wait()
                if self._stopped:
                    return
                if self._target is not None:
                    p, emit = self._target, True
                    self._target = None
                    hit = self._cache.get(p)
                else:
                    p, emit = self._next_prefetch(), False
                    assert p is not None
                self._busy = hit is None
            if hit is not None:
                self.pairReady.emit(hit)
                continue
            try:
                d = self._decode(p)
            except BaseException:
                with self._cond:
                    self._busy = False
                raise
            with self._cond:
                self._busy = False
                if self._stopped:
                    return
                self._store(d)
                if self._target == p:  # asked for while it was being prefetched
                    self._target = None
                    emit = True
            if emit:
                self.pairReady.emit(d)
