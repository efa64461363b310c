"""Recording a session from running cameras: a writer thread fed by the capture, pairing and pipeline threads.

:class:`SessionRecorder` subscribes to every frame of both camera sources, every pair of the live synchroniser
(``LiveSynchronizer.subscribe``) and every processed :class:`core.pipeline.PoseResult`
(``LivePipeline.subscribe``), and writes them to a session folder (format: :mod:`core.session`,
``docs/session-format.md``) from ONE writer thread:

- The capture threads never wait for the disk. Their callbacks only put items in a queue; at most
  ``max_queued_frames`` frames may wait there. When the disk is too slow and the queue is full, new frames are
  DROPPED and counted per camera (pairs that refer to a dropped frame are skipped and counted too).
- Crash safety: every frame, timestamp row, pair row and live result goes straight to the OS as it is written
  (append-only, unbuffered); ``session.json`` says "recording" from the start and is rewritten atomically every
  ``meta_interval_s``; the folder is locked (``flock``) while the writer lives. A kill, a crash or a camera
  unplug leaves a session that is readable up to the last frame written, which
  :func:`core.session.recovery.find_unfinished` / :func:`core.session.recovery.recover` finalise.
- A write error (a full disk above all) stops the recording with a :class:`core.errors.SessionError` that says
  what happened and how much was saved (:attr:`SessionRecorder.error`, ``on_error``); what was written stays
  readable. The capture and the live pipeline keep running.

No Qt here: the GUI polls :meth:`SessionRecorder.stats` and gets errors through ``on_error`` (any thread).
Units: seconds, nanoseconds (capture times), bytes, pixels, metres.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.calibration_io import CalibrationFile, infer_world_up, save_calibration
from core.camera import CameraGroup
from core.capture import CameraSource, Frame
from core.errors import CrossViewError, SessionError
from core.session.avi import MjpegAviWriter, load_av
from core.session.journal import JournalWriter
from core.session.layout import (
    CALIBRATION_FILE,
    JOURNAL_FILE,
    JPEG_QUALITY,
    PAIRS_FILE,
    SESSION_FILE,
    STATUS_COMPLETE,
    STATUS_RECORDING,
    TIMESTAMPS_FILE,
    VIDEO_SUFFIX,
    CameraInfo,
    Opener,
    SessionMeta,
    is_disk_full,
    now_iso,
    open_append,
    safe_file_stem,
    session_folder_is_free,
    sources_description,
    write_json_atomic,
)
from core.session.lock import WriterLock
from core.session.people import PEOPLE_JOURNAL_FILE, PeopleJournal
from core.session.recovery import finalize_files
from core.session.session import Session
from core.session.tables import TIMESTAMPS_HEADER, csv_line, pairs_header
from core.sync import FramePair, FrameSynchronizer, LiveSynchronizer, default_tolerance_ns

log = logging.getLogger(__name__)

__all__ = ["RecorderState", "RecorderStats", "SessionRecorder"]

_STOP = object()
#: Frames older than this behind a camera's newest frame can no longer be part of a new pair (ns).
_INDEX_HORIZON_NS = 10_000_000_000
_WAIT = -1
_GONE = -2


class RecorderState(enum.StrEnum):
    """Where a recorder is: idle (not started), recording, stopping (writing what is queued), stopped, failed."""

    IDLE = "idle"
    RECORDING = "recording"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class RecorderStats:
    """A snapshot for the GUI. Per-camera tuples follow the session's camera order."""

    state: RecorderState
    elapsed_s: float
    cameras: tuple[str, str]
    frames_written: tuple[int, int]
    frames_dropped: tuple[int, int]
    pairs_written: int
    pairs_skipped: int
    results_written: int
    queued_frames: int
    bytes_on_disk: int
    error: str | None = None


@dataclass
class _Cam:
    name: str
    info: CameraInfo
    writer: MjpegAviWriter | None = None
    written: int = 0
    dropped: int = 0
    last_t: int | None = None
    finished: bool = False
    index: deque[tuple[int, int]] = field(default_factory=deque)  # (t_ns, frame position), increasing


class SessionRecorder:
    """Writes a session while cameras run. Create, :meth:`start`, later :meth:`stop` (returns the :class:`Session`).

    ``folder``: a new or empty folder. ``calibration``: the cameras' calibration (a :class:`CalibrationFile`
    keeps its metadata, e.g. ``world_up``) whose two cameras, in source order, name the session's cameras; None
    uses the source names and writes no calibration. ``sources``: the two camera sources. ``sync``: the live
    synchroniser whose pairs are recorded (None with no ``pipeline``: the recorder pairs the written frames
    itself with the same rule). ``pipeline``: a :class:`core.pipeline.LivePipeline` whose results are journaled.
    ``opener(path)`` creates each append-only file (tests inject failing files). ``on_error(SessionError)`` is
    called once, from the writer thread, when writing fails.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        calibration: CalibrationFile | CameraGroup | None,
        sources: Sequence[CameraSource],
        *,
        sync: LiveSynchronizer | None = None,
        pipeline: Any = None,
        max_queued_frames: int = 64,
        jpeg_quality: int = JPEG_QUALITY,
        model_id: str = "",
        opener: Opener | None = None,
        on_error: Callable[[SessionError], None] | None = None,
        meta_interval_s: float = 2.0,
        fsync_interval_s: float = 5.0,
    ) -> None:
        if len(sources) != 2:
            raise SessionError(f"a session records exactly two cameras, got {len(sources)}.")
        self.folder = Path(folder)
        self.sources = list(sources)
        self.sync = sync if sync is not None else (pipeline.sync if pipeline is not None else None)
        self.pipeline = pipeline
        self.max_queued_frames = max(1, int(max_queued_frames))
        self.jpeg_quality = int(jpeg_quality)
        self.model_id = model_id
        self.on_error = on_error
        self.meta_interval_s = meta_interval_s
        self.fsync_interval_s = fsync_interval_s
        self._opener: Opener = opener or open_append
        self._calibration = calibration
        group = calibration.group if isinstance(calibration, CalibrationFile) else calibration
        self.names = self._session_names(group)
        self._group = group.subset(self.names) if group is not None else None

        self.error: SessionError | None = None
        self._state = RecorderState.IDLE
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued = 0
        self._accepting = False
        self._detach: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self._t_start = 0.0
        self._t_stop: float | None = None
        self._cams: list[_Cam] = []
        self._files: list[Any] = []
        self._ts_file: Any = None
        self._pairs_file: Any = None
        self._journal: JournalWriter | None = None
        self._people: PeopleJournal | None = None
        self._writer_lock: WriterLock | None = None
        self._meta: SessionMeta | None = None
        self._pending: deque[tuple[int, int, int, float]] = deque()  # (sync index, t_a, t_b, skew_ms)
        self._pending_ids: set[int] = set()
        self._stash: dict[int, tuple] = {}
        self._sync_to_pair: OrderedDict[int, int] = OrderedDict()
        self._own_sync: FrameSynchronizer | None = None
        self._pairs_written = 0
        self._pairs_skipped = 0
        self._results = 0
        self._last_meta = 0.0
        self._last_fsync = 0.0
        self._size_notes: set[str] = set()

    @classmethod
    def attach(
        cls,
        pipeline: Any,
        folder: str | os.PathLike,
        calibration: CalibrationFile | None = None,
        **kwargs: Any,
    ) -> SessionRecorder:
        """Start recording a running (or about to start) :class:`core.pipeline.LivePipeline`: every frame of its
        sources, every pair of its synchroniser and every result. ``calibration`` only adds its metadata; the
        cameras are the pipeline's. Returns the started recorder."""
        group: CameraGroup = pipeline.processor.calibrated
        cal: CalibrationFile | CameraGroup = group
        if calibration is not None:
            cal = replace(calibration, group=group)
        rec = cls(folder, cal, pipeline.sources, sync=pipeline.sync, pipeline=pipeline, **kwargs)
        rec.start()
        return rec

    def _session_names(self, group: CameraGroup | None) -> list[str]:
        source_names = [s.name for s in self.sources]
        if group is None:
            if source_names[0] == source_names[1]:
                raise SessionError(f"the two cameras have the same name {source_names[0]!r}; rename one.")
            return source_names
        if len(group) == 2:
            return group.names
        if all(n in group.names for n in source_names):
            return source_names
        raise SessionError(
            f"the calibration holds {len(group)} cameras ({', '.join(group.names)}) and none match the sources "
            f"{source_names}; pass the calibration of the two recorded cameras."
        )

    # ------------------------------------------------------------------------------------------ control
    @property
    def path(self) -> Path:
        return self.folder

    @property
    def state(self) -> RecorderState:
        return self._state

    def start(self) -> None:
        """Create the session folder and files, subscribe to the sources/synchroniser/pipeline, start writing."""
        if self._state != RecorderState.IDLE:
            raise SessionError("this recorder was already started; create a new one for another recording.")
        session_folder_is_free(self.folder)
        load_av()  # import it now, not in the writer thread while the cameras run
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._writer_lock = WriterLock(self.folder)
            self._open_files()
        except OSError as exc:
            self._close_files()
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise SessionError(self._write_error_text(exc, started=False)) from None
        self._t_start = time.monotonic()
        self._state = RecorderState.RECORDING
        self._accepting = True
        for i, src in enumerate(self.sources):
            self._detach.append(src.subscribe(lambda f, i=i: self._on_frame(i, f)))
        if self.sync is not None:
            self._detach.append(self.sync.subscribe(self._on_pair))
        else:
            fps = tuple(s.nominal_fps for s in self.sources)
            self._own_sync = FrameSynchronizer(self.names, nominal_fps=fps, max_pending=None)  # type: ignore[arg-type]
        if self.pipeline is not None:
            self._detach.append(self.pipeline.subscribe(self._on_result))
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()

    def _open_files(self) -> None:
        descs = sources_description(self.sources)
        videos: list[str] = []
        for i, n in enumerate(self.names):
            stem = safe_file_stem(n)
            videos.append(stem + VIDEO_SUFFIX if stem + VIDEO_SUFFIX not in videos else f"{stem}_{i}{VIDEO_SUFFIX}")
        cams = [
            CameraInfo(name=n, video=v, fps=float(s.nominal_fps), source=d)
            for n, v, s, d in zip(self.names, videos, self.sources, descs, strict=True)
        ]
        self._cams = [_Cam(c.name, c) for c in cams]
        tol = (
            self.sync.tolerance_ns
            if self.sync is not None
            else default_tolerance_ns(self.sources[0].nominal_fps, self.sources[1].nominal_fps)
        )
        world_up = None
        if self._group is not None:
            cal = self._calibration if isinstance(self._calibration, CalibrationFile) else None
            world_up = infer_world_up(cal, self._group)[0]
            meta = dict(cal.metadata) if cal is not None else {}
            save_calibration(self.folder / CALIBRATION_FILE, self._group, metadata=meta)
        self._meta = SessionMeta(
            cameras=cams,
            fps=float(min(s.nominal_fps for s in self.sources)),
            status=STATUS_RECORDING,
            origin="recorded",
            pairing={"method": "live" if self.sync is not None else "recorded frames", "tolerance_ms": tol / 1e6},
            calibration=CALIBRATION_FILE,
            recorder={
                "max_queued_frames": self.max_queued_frames,
                "jpeg_quality": self.jpeg_quality,
                "model": self.model_id,
                "pid": os.getpid(),
                "world_up": world_up,
            },
        )
        self._ts_file = self._open(TIMESTAMPS_FILE)
        self._ts_file.write(csv_line(TIMESTAMPS_HEADER))
        self._pairs_file = self._open(PAIRS_FILE)
        self._pairs_file.write(csv_line(pairs_header(self.names)))
        if self.pipeline is not None:
            self._journal = JournalWriter(self.folder / JOURNAL_FILE, self.names, opener=self._opener)
            self._files.append(self._journal._file)
            self._people = PeopleJournal(self.folder / PEOPLE_JOURNAL_FILE, opener=self._opener)
            self._files.append(self._people.file)
        write_json_atomic(self.folder / SESSION_FILE, self._meta.to_dict())

    def _open(self, name: str) -> Any:
        f = self._opener(self.folder / name)
        self._files.append(f)
        return f

    def stop(self, timeout: float = 30.0) -> Session:
        """Stop recording: detach, write what is queued, close the files and finalise the session.

        Returns the finalised :class:`Session`. After a write failure the session is finalised as far as the
        disk allows (a session left "recording" is offered for recovery later). SessionError when the writer
        does not finish within ``timeout`` s (the session then stays "recording", recoverable).
        """
        if self._state == RecorderState.IDLE:
            raise SessionError("the recorder was never started.")
        if self._state in (RecorderState.RECORDING, RecorderState.FAILED) and self._thread is not None:
            if self._state == RecorderState.RECORDING:
                self._state = RecorderState.STOPPING
            self._detach_all()
            self._q.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise SessionError(
                    f"the session writer did not finish within {timeout:.0f} s (the disk is very slow?). The "
                    f"recording in '{self.folder}' stays readable and will be offered for recovery."
                )
            self._thread = None
            if self.error is None:
                self._finish(STATUS_COMPLETE)
        return Session.open(self.folder)

    # ------------------------------------------------------------------------------------------ callbacks
    def _on_frame(self, i: int, frame: Frame) -> None:
        """In a capture thread: queue the frame, or drop and count it when the queue is full. Never blocks."""
        if not self._accepting:
            return
        with self._lock:
            if self._queued >= self.max_queued_frames:
                self._cams[i].dropped += 1
                return
            self._queued += 1
        self._q.put(("frame", i, frame))

    def _on_pair(self, pair: FramePair) -> None:
        if self._accepting:
            a, b = pair.frames
            self._q.put(("pair", pair.index, a.t_ns, b.t_ns, pair.skew_ms))

    def _on_result(self, r: Any) -> None:
        if self._accepting:
            self._q.put(
                (
                    "result",
                    r.pair_index,
                    r.status,
                    r.keypoints2d,
                    r.coarse,
                    r.refined,
                    r.reprojection_error_px,
                    getattr(r, "people", None),
                )
            )

    def _detach_all(self) -> None:
        self._accepting = False
        for d in self._detach:
            with contextlib.suppress(Exception):
                d()
        self._detach = []

    # ------------------------------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self._q.get(timeout=0.25)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    self._handle(item)
                self._periodic()
            for c in self._cams:
                c.finished = True
            if self._own_sync is not None:
                self._write_own_pairs(self._own_sync.flush())
            self._resolve_pairs()
        except Exception as exc:  # a write failure (disk full...) or a bug: stop cleanly, keep what was written
            self._fail(exc)

    def _handle(self, item: tuple) -> None:
        kind = item[0]
        if kind == "frame":
            with self._lock:
                self._queued -= 1
            self._write_frame(item[1], item[2])
        elif kind == "pair":
            _, idx, ta, tb, skew = item
            self._pending.append((idx, ta, tb, skew))
            self._pending_ids.add(idx)
            self._resolve_pairs()
        elif kind == "result":
            idx = item[1]
            if idx in self._sync_to_pair:
                self._write_result(self._sync_to_pair[idx], item)
            elif idx in self._pending_ids:
                self._stash[idx] = item

    def _write_frame(self, i: int, frame: Frame) -> None:
        cam = self._cams[i]
        img = frame.image
        h, w = img.shape[:2]
        if cam.last_t is not None and frame.t_ns <= cam.last_t:
            cam.dropped += 1  # not after the previous frame: cannot be stored in order
            return
        if cam.writer is None:
            cam.info.width, cam.info.height = w, h
            cam.writer = MjpegAviWriter(
                self.folder / cam.info.video,
                w,
                h,
                cam.info.fps,
                quality=self.jpeg_quality,
                opener=self._opener,
            )
            self._files.append(cam.writer._file)
            if self._meta is not None:
                t0 = self._meta.t0_ns
                self._meta.t0_ns = frame.t_ns if t0 is None else min(t0, frame.t_ns)
        elif (w, h) != cam.writer.size:
            cam.dropped += 1
            cam.last_t = frame.t_ns
            note = f"camera '{cam.name}' changed resolution to {w}x{h} during the recording; those frames were dropped."
            if note not in self._size_notes:
                self._size_notes.add(note)
                log.warning(note)
            return
        cam.writer.write(img)
        pos = cam.written
        cam.written += 1
        assert self._ts_file is not None
        self._ts_file.write(f"{csv_line([cam.name])[:-1].decode()},{pos},{frame.t_ns}\n".encode())
        cam.index.append((frame.t_ns, pos))
        cam.last_t = frame.t_ns
        if self._own_sync is not None:
            pairs = self._own_sync.push(Frame(cam.name, pos, frame.t_ns, _EMPTY))
            self._write_own_pairs(pairs)
            while len(cam.index) > 4096:  # own pairing never looks the index up
                cam.index.popleft()
        else:
            # a pair is published within the synchroniser's latency bound of its frames: older entries are dead
            while cam.index and cam.index[0][0] < frame.t_ns - _INDEX_HORIZON_NS:
                cam.index.popleft()
            self._resolve_pairs()

    def _write_own_pairs(self, pairs: list[FramePair]) -> None:
        for p in pairs:
            self._write_pair(p.frames[0].index, p.frames[1].index, p.skew_ms)

    def _write_pair(self, pos_a: int, pos_b: int, skew_ms: float) -> int:
        n = self._pairs_written
        assert self._pairs_file is not None
        self._pairs_file.write(f"{n},{pos_a},{pos_b},{skew_ms:.3f}\n".encode())
        self._pairs_written += 1
        return n

    def _lookup(self, i: int, t_ns: int) -> int:
        """Position of camera i's frame at t_ns, or _WAIT (not written yet) / _GONE (dropped or not recorded)."""
        cam = self._cams[i]
        while cam.index and cam.index[0][0] < t_ns:  # older frames can no longer be part of a pair
            cam.index.popleft()
        if cam.index and cam.index[0][0] == t_ns:
            return cam.index[0][1]
        if cam.finished or (cam.last_t is not None and cam.last_t >= t_ns):
            return _GONE
        return _WAIT

    def _resolve_pairs(self) -> None:
        while self._pending:
            idx, ta, tb, skew = self._pending[0]
            pa, pb = self._lookup(0, ta), self._lookup(1, tb)
            if _GONE in (pa, pb):
                self._pairs_skipped += 1
            elif _WAIT in (pa, pb):
                return
            else:
                n = self._write_pair(pa, pb, skew)
                self._sync_to_pair[idx] = n
                while len(self._sync_to_pair) > 10000:
                    self._sync_to_pair.popitem(last=False)
            self._pending.popleft()
            self._pending_ids.discard(idx)
            stashed = self._stash.pop(idx, None)
            if stashed is not None and idx in self._sync_to_pair:
                self._write_result(self._sync_to_pair[idx], stashed)

    def _write_result(self, pair_index: int, item: tuple) -> None:
        if self._journal is None:
            return
        _, _, status, kp, coarse, refined, err, people = item
        self._journal.append(pair_index, status, kp, coarse, refined, err)
        if self._people is not None:
            self._people.append(pair_index, people)
        self._results += 1

    def _periodic(self) -> None:
        now = time.monotonic()
        if now - self._last_meta >= self.meta_interval_s:
            self._last_meta = now
            self._write_meta(STATUS_RECORDING)
        if now - self._last_fsync >= self.fsync_interval_s:
            self._last_fsync = now
            for f in self._files:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    os.fsync(f.fileno())

    def _write_meta(self, status: str) -> None:
        meta = self._meta
        if meta is None:
            return
        for c in self._cams:
            c.info.frames, c.info.dropped = c.written, c.dropped
        meta.status = status
        meta.pairs = self._pairs_written
        meta.duration_s = self.elapsed_s()
        meta.updated = now_iso()
        meta.notes = sorted(self._size_notes)
        write_json_atomic(self.folder / SESSION_FILE, meta.to_dict())

    # ------------------------------------------------------------------------------------------ ending
    def _close_files(self) -> list[str]:
        problems = []
        for c in self._cams:
            if c.writer is not None:
                try:
                    c.writer.close()
                except Exception as exc:  # the index could not be written: readable without it
                    problems.append(f"{c.name}: {exc}")
        if self._journal is not None:
            self._journal.close()
        if self._people is not None:
            self._people.close()
        for f in self._files:
            with contextlib.suppress(Exception):
                f.close()
        return problems

    def _finish(self, status: str) -> None:
        """Close every file and finalise the session (counts, results from the journal, session.json)."""
        self._t_stop = time.monotonic()
        self._close_files()
        meta = self._meta
        try:
            if meta is not None:
                for c in self._cams:
                    c.info.frames, c.info.dropped = c.written, c.dropped
                meta.duration_s = self.elapsed_s()
                meta.recorder.update(
                    {
                        "frames_dropped": {c.name: c.dropped for c in self._cams},
                        "pairs_skipped": self._pairs_skipped,
                        "results": self._results,
                    }
                )
                meta.notes = sorted(self._size_notes)
                if self.error is not None:
                    meta.error = str(self.error)
                finalize_files(self.folder, meta, status, remux=False, model=self.model_id)
        except OSError as exc:
            log.warning("session %s could not be finalised (%s); it will be offered for recovery", self.folder, exc)
        finally:
            if self._writer_lock is not None:
                self._writer_lock.release()
                self._writer_lock = None
            if self.error is None:
                self._state = RecorderState.STOPPED

    def _write_error_text(self, exc: BaseException, started: bool = True) -> str:
        saved = ", ".join(f"{c.written} frames of '{c.name}'" for c in self._cams) or "nothing"
        mb = self._bytes() / 1e6
        if is_disk_full(exc):
            what = f"The disk is full: the recording to '{self.folder}'"
            todo = "Free disk space (or choose a folder on another drive) before recording again."
        else:
            what = f"Writing the recording to '{self.folder}' failed ({getattr(exc, 'strerror', None) or exc}): it"
            todo = "Check the drive (is it still connected and writable?) before recording again."
        if not started:
            return f"{what} could not start. {todo}"
        return (
            f"{what} stopped after {self.elapsed_s():.1f} s. What was recorded until then is saved and readable: "
            f"{saved} ({mb:.1f} MB). {todo}"
        )

    def _fail(self, exc: BaseException) -> None:
        if not isinstance(exc, OSError | CrossViewError):
            log.exception("session writer failed")
        self._detach_all()
        err = SessionError(self._write_error_text(exc))
        self.error = err
        self._state = RecorderState.FAILED
        try:
            self._finish(STATUS_COMPLETE)
        except Exception:  # finalising is best effort on a failing disk
            log.exception("finalising %s after a write failure", self.folder)
        self._state = RecorderState.FAILED
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:
                log.exception("recorder on_error callback failed")

    # ------------------------------------------------------------------------------------------ stats
    def elapsed_s(self) -> float:
        if self._t_start == 0.0:
            return 0.0
        end = self._t_stop if self._t_stop is not None else time.monotonic()
        return end - self._t_start

    def _bytes(self) -> int:
        total = 0
        with contextlib.suppress(OSError):
            for e in os.scandir(self.folder):
                with contextlib.suppress(OSError):
                    if e.is_file():
                        total += e.stat().st_size
        return total

    def stats(self) -> RecorderStats:
        cams = self._cams or [_Cam(n, CameraInfo(n, "")) for n in self.names]
        return RecorderStats(
            state=self._state,
            elapsed_s=self.elapsed_s(),
            cameras=(cams[0].name, cams[1].name),
            frames_written=(cams[0].written, cams[1].written),
            frames_dropped=(cams[0].dropped, cams[1].dropped),
            pairs_written=self._pairs_written,
            pairs_skipped=self._pairs_skipped,
            results_written=self._results,
            queued_frames=self._queued,
            bytes_on_disk=self._bytes(),
            error=str(self.error) if self.error is not None else None,
        )


_EMPTY = np.zeros((1, 1, 3), np.uint8)
