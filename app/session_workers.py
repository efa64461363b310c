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

import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6 import QtCore

from core.capture import Frame
from core.errors import CrossViewError
from core.session import (
    find_unfinished,
    recover,
)
from core.session.listing import SessionRow, scan_sessions, session_row  # noqa: F401 - re-exported for the tabs
from core.session.replay import ReplayData, VideoReader, load_replay_data  # noqa: F401

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


def scan_task(root: str | os.PathLike) -> Task:
    return Task(lambda _p, _c: scan_sessions(root), "session-scan", "Listing sessions")


def unfinished_task(root: str | os.PathLike) -> Task:
    """:func:`core.session.find_unfinished` in a thread (result: list of paths)."""
    return Task(lambda _p, _c: find_unfinished(root), "session-find-unfinished", "Looking for unfinished sessions")


# ================================================================================================ replay data


def load_replay_task(path: str | os.PathLike) -> Task:
    return Task(lambda _p, _c: load_replay_data(path), "session-load", f"Opening {Path(path).name}")


# ================================================================================================ decoding


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
