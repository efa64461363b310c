"""Camera sources: one threaded interface for real webcams, video files, simulated and replayed cameras.

Every source is a :class:`CameraSource`. It runs its own daemon thread, stamps each frame with the
clock at ``grab()`` (``time.monotonic_ns()`` for the real clock, before the frame is decoded), keeps
a small ring buffer of recent frames and pushes every frame to its subscribers (callbacks run in the
capture thread) and to any frame queues. A source never crashes or hangs on a dropout: it reports
``DISCONNECTED`` with a reason, retries with exponential backoff, and ``stop()`` always returns
within a bounded time, even when a driver read is stuck.

Sources:

- :class:`DeviceSource`: a webcam through ``cv2.VideoCapture`` (V4L2 / DirectShow / AVFoundation),
  with an injectable *opener* so tests can use a fake capture that fails and recovers.
- :class:`VideoFileSource`: a video file played at its own frame rate as if it were a camera
  (or as fast as possible, with timestamps on the file's own timeline).
- :class:`SimulatedCamera`: deterministic synthetic frames with jitter, drift, drops and disconnects;
  with a :class:`VirtualClock` it runs without any real waiting.
- :class:`IterableSource`: any iterable of ``(t_ns, image)`` or :class:`Frame` (session replay), which keeps
  the ORIGINAL timestamps and optionally paces them in real time.

Units: timestamps are integer nanoseconds of the source's clock (``time.monotonic_ns()`` by default),
durations given to constructors are seconds, frame rates are frames per second, images are
``(H, W, 3)`` BGR ``uint8``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import os
import queue
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from core.errors import CameraError, InputError

log = logging.getLogger(__name__)

__all__ = [
    "CameraSource",
    "Clock",
    "DeviceInfo",
    "DeviceLostError",
    "DeviceSource",
    "EndOfStream",
    "Frame",
    "IterableSource",
    "MonotonicClock",
    "FrameReadError",
    "ReconnectPolicy",
    "SimulatedCamera",
    "SourceState",
    "SourceStatus",
    "VideoCaptureLike",
    "VideoFileSource",
    "VirtualClock",
    "backend_name",
    "default_backend",
    "list_devices",
]


# --------------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image.

    ``camera``: name of the source; ``index``: frame number within that source (gaps mean frames the
    camera itself dropped, where the source knows them); ``t_ns``: capture time, integer nanoseconds of
    the source clock, taken at ``grab()``; ``image``: ``(H, W, 3)`` BGR ``uint8``; ``exact_index``: True
    when the index is the source's own frame number (files, replays, the simulator), so that only index
    gaps mean dropped frames; False for devices, whose frames are numbered as they arrive.
    """

    camera: str
    index: int
    t_ns: int
    image: np.ndarray
    exact_index: bool = False


class SourceState(enum.Enum):
    """Life cycle of a source: IDLE -> CONNECTING -> CONNECTED <-> DISCONNECTED/RECONNECTING -> ENDED/STOPPED."""

    IDLE = "idle"  # created, not started
    CONNECTING = "connecting"  # first open attempt in progress
    CONNECTED = "connected"  # delivering frames
    DISCONNECTED = "disconnected"  # lost or not openable; waiting before the next attempt (see reason)
    RECONNECTING = "reconnecting"  # an open attempt after a loss is in progress
    ENDED = "ended"  # a finite source (file without loop, replay) delivered its last frame
    STOPPED = "stopped"  # stopped by stop(), or failed for good (then ``error`` is set)


@dataclass(frozen=True)
class SourceStatus:
    """Snapshot of a source. ``fps`` is measured over a sliding window (frames/s of the source clock)."""

    camera: str
    state: SourceState
    reason: str  # why it is not CONNECTED ("" when connected)
    fps: float
    frames_delivered: int
    failed_reads: int
    reconnect_attempts: int
    last_t_ns: int | None  # timestamp of the last delivered frame
    error: CameraError | None = None  # the last error since the last successful open (None once connected)

    @property
    def connected(self) -> bool:
        return self.state is SourceState.CONNECTED


@dataclass(frozen=True)
class DeviceInfo:
    """A camera device that can be opened with ``DeviceSource(index)``; ``backend`` is the OpenCV backend name."""

    index: int
    name: str
    backend: str


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff between open attempts: ``initial_s * factor**(n-1)``, capped at ``max_s`` (seconds)."""

    initial_s: float = 0.1
    factor: float = 2.0
    max_s: float = 2.0

    def delay_s(self, attempt: int) -> float:
        """Delay before open attempt number ``attempt + 1`` (attempt >= 1 failed attempts so far)."""
        return min(self.max_s, self.initial_s * self.factor ** max(0, attempt - 1))


class EndOfStream(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``CameraSource._read`` when a finite source has no more frames."""


class FrameReadError(CameraError):
    """One read failed (transient); after ``max_failed_reads`` in a row the source counts as disconnected."""


class DeviceLostError(CameraError):
    """The device is gone (unplugged); the source disconnects at once and tries to reopen it."""


# --------------------------------------------------------------------------------------------------
# Clocks
# --------------------------------------------------------------------------------------------------


class Clock(Protocol):
    """Time base of a source: ``now_ns()`` and an interruptible ``sleep_until``."""

    def now_ns(self) -> int: ...

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        """Wait until ``now_ns() >= t_ns``; return False at once when ``stop`` is set."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic_ns()``; sleeping waits on the stop event so ``stop()`` is prompt."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        while True:
            if stop.is_set():
                return False
            remaining = (t_ns - time.monotonic_ns()) / 1e9
            if remaining <= 0:
                return True
            stop.wait(remaining)


class VirtualClock:
    """Virtual time for tests and offline runs: sleeping jumps the time forward and never waits.

    Thread-safe; time never goes backwards. ``now_ns`` starts at ``start_ns``.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._t = int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._t

    def advance_to(self, t_ns: int) -> None:
        with self._lock:
            self._t = max(self._t, int(t_ns))

    def advance(self, dt_ns: int) -> None:
        with self._lock:
            self._t += max(0, int(dt_ns))

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        if stop.is_set():
            return False
        self.advance_to(t_ns)
        return True


_REAL_CLOCK = MonotonicClock()


# --------------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------------

FrameCallback = Callable[[Frame], None]
StatusCallback = Callable[[SourceStatus], None]


class _DropOldestQueue(queue.Queue):
    """A bounded queue whose ``put`` never blocks: when full, the oldest item is dropped (counted)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.dropped = 0

    def put_latest(self, item: object) -> None:
        while True:
            try:
                self.put_nowait(item)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.get_nowait()
                    self.dropped += 1


class CameraSource(ABC):
    """Base of every camera source (threaded; one frame stream; status; subscribers; ring buffer).

    Subclasses implement three hooks, all called only from the capture thread:

    - ``_open()``: acquire the device/file; raise :class:`~core.errors.CameraError` on failure.
    - ``_read() -> (t_ns, image, index | None) | None``: wait for and return the next frame, stamping
      ``t_ns`` at grab time; ``index=None`` lets the base number frames 0, 1, 2...; return None to
      skip (e.g. stop requested while pacing); raise :class:`FrameReadError` (transient),
      :class:`DeviceLostError` (disconnect now) or :class:`EndOfStream`.
    - ``_close()``: release everything (must not raise).

    ``retry_open`` (class attribute): when False, a failure to open is final (state STOPPED with
    ``error``), as for a file that cannot be decoded.
    """

    retry_open: bool = True

    def __init__(
        self,
        name: str,
        *,
        nominal_fps: float,
        ring_size: int = 8,
        clock: Clock | None = None,
        reconnect: ReconnectPolicy | None = None,
        max_failed_reads: int = 5,
        fps_window_s: float = 1.0,
        stall_timeout_s: float | None = None,
    ) -> None:
        if not name:
            raise InputError("A camera source needs a non-empty name (e.g. 'cam0').")
        if not (nominal_fps > 0 and math.isfinite(nominal_fps)):
            raise InputError(
                f"Camera '{name}': nominal frame rate must be a positive number of fps, got {nominal_fps}."
            )
        self.name = name
        self.nominal_fps = float(nominal_fps)
        self.clock: Clock = clock if clock is not None else _REAL_CLOCK
        self.reconnect = reconnect if reconnect is not None else ReconnectPolicy()
        self.max_failed_reads = max(1, int(max_failed_reads))
        self._fps_window_ns = int(fps_window_s * 1e9)
        self._stall_ns = None if stall_timeout_s is None else int(stall_timeout_s * 1e9)

        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ring: deque[Frame] = deque(maxlen=max(1, int(ring_size)))
        self._subscribers: list[FrameCallback] = []
        self._status_subscribers: list[StatusCallback] = []
        self._queues: list[_DropOldestQueue] = []
        self._emit_times: deque[int] = deque()

        self._state = SourceState.IDLE
        self._reason = "not started"
        self._error: CameraError | None = None
        self._delivered = 0
        self._failed_reads = 0
        self._reconnect_attempts = 0
        self._last_t: int | None = None
        self._last_emit: int | None = None
        self._next_index = 0
        self.callback_errors = 0

    # ----- public API ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the capture thread (returns at once; watch ``status()`` or ``wait_connected``)."""
        if self._thread is not None and self._thread.is_alive():
            raise CameraError(f"Camera '{self.name}' is already running; stop() it before starting it again.")
        self._stop = threading.Event()
        with self._cond:
            self._state = SourceState.IDLE  # allow a restart after stop()
        self._set_state(SourceState.CONNECTING, "opening")
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to stop and wait at most ``timeout`` s. True if it exited; never blocks longer.

        A thread stuck in a driver call is abandoned (it is a daemon and exits when the call returns).
        """
        self._stop.set()
        thread = self._thread
        exited = True
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            exited = not thread.is_alive()
        if not exited:
            self._set_state(
                SourceState.STOPPED,
                f"stopped; the capture thread did not exit within {timeout:.1f} s and was abandoned",
            )
        elif self._state not in (SourceState.STOPPED, SourceState.ENDED):
            self._set_state(SourceState.STOPPED, "stopped")
        return exited

    def __enter__(self) -> CameraSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def status(self) -> SourceStatus:
        """A consistent snapshot of state, reason, measured fps and counters."""
        with self._cond:
            now = self.clock.now_ns()
            state, reason = self._state, self._reason
            if (
                state is SourceState.CONNECTED
                and self._stall_ns is not None
                and self._last_emit is not None
                and now - self._last_emit > self._stall_ns
            ):
                state = SourceState.DISCONNECTED
                reason = f"no frame for {(now - self._last_emit) / 1e9:.1f} s (the camera stalled)"
            return SourceStatus(
                camera=self.name,
                state=state,
                reason=reason,
                fps=self._measured_fps(now),
                frames_delivered=self._delivered,
                failed_reads=self._failed_reads,
                reconnect_attempts=self._reconnect_attempts,
                last_t_ns=self._last_t,
                error=self._error,
            )

    def subscribe(self, callback: FrameCallback) -> Callable[[], None]:
        """Call ``callback(frame)`` in the capture thread for every frame; returns an unsubscribe function.

        Callbacks must be quick (hand the frame over and return); an exception in one is logged and counted
        in ``callback_errors`` and never stops the capture.
        """
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def subscribe_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(status)`` (in the thread that changed it) on every state change."""
        with self._cond:
            self._status_subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._status_subscribers.remove(callback)

        return unsubscribe

    def frame_queue(self, maxsize: int = 2) -> queue.Queue:
        """A queue that receives every frame; when the consumer is slow the OLDEST frames are dropped.

        The returned queue has a ``dropped`` attribute (frames dropped for lack of room).
        """
        q = _DropOldestQueue(max(1, int(maxsize)))
        with self._cond:
            self._queues.append(q)
        return q

    def latest(self) -> Frame | None:
        """The most recent frame, or None."""
        with self._cond:
            return self._ring[-1] if self._ring else None

    def recent(self) -> list[Frame]:
        """The ring buffer's frames, oldest first."""
        with self._cond:
            return list(self._ring)

    def wait_until(self, predicate: Callable[[SourceStatus], bool], timeout: float) -> bool:
        """Block until ``predicate(status())`` holds or ``timeout`` s passed (real time); returns whether it held."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self.status()):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))

    def wait_for_state(self, *states: SourceState, timeout: float) -> bool:
        """Block until the state is one of ``states`` (or timeout); returns whether it was reached."""
        return self.wait_until(lambda s: s.state in states, timeout)

    def wait_for_frames(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` frames were delivered in total (or timeout)."""
        return self.wait_until(lambda s: s.frames_delivered >= n, timeout)

    def wait_connected(self, timeout: float) -> None:
        """Block until CONNECTED; raise :class:`CameraError` with the reason when it is not within ``timeout`` s."""
        ok = self.wait_until(lambda s: s.state in (SourceState.CONNECTED, SourceState.ENDED), timeout)
        if not ok or (self._state is not SourceState.CONNECTED and self._delivered == 0):
            st = self.status()
            if st.error is not None:
                raise CameraError(str(st.error))
            raise CameraError(
                f"Camera '{self.name}' is not delivering frames after {timeout:.1f} s ({st.state.value}: {st.reason})."
                " Check that it is plugged in and not used by another program."
            )

    # ----- hooks ----------------------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> tuple[int, np.ndarray, int | None] | None: ...

    def _close(self) -> None:  # noqa: B027 - optional hook
        """Release the device (default: nothing)."""

    # ----- thread ---------------------------------------------------------------------------------

    def _measured_fps(self, now: int) -> float:
        cutoff = now - self._fps_window_ns
        while self._emit_times and self._emit_times[0] < cutoff:
            self._emit_times.popleft()
        n = len(self._emit_times)
        if n < 2:
            return 0.0
        span = self._emit_times[-1] - self._emit_times[0]
        return (n - 1) * 1e9 / span if span > 0 else 0.0

    def _set_state(self, state: SourceState, reason: str = "", error: CameraError | None = None) -> None:
        with self._cond:
            if self._state is SourceState.STOPPED and state is not SourceState.STOPPED:
                return  # stop() already decided; a late thread must not resurrect the source
            changed = state is not self._state or reason != self._reason
            self._state, self._reason = state, reason
            if error is not None:
                self._error = error
            elif state is SourceState.CONNECTED:
                self._error = None
            self._cond.notify_all()
            subscribers = list(self._status_subscribers) if changed else []
        if subscribers:
            st = self.status()
            for cb in subscribers:
                try:
                    cb(st)
                except Exception:  # a UI callback must never kill the capture
                    self.callback_errors += 1
                    log.exception("status callback of camera %s failed", self.name)

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception:
            log.exception("closing camera %s failed", self.name)

    def _deliver(self, t_ns: int, image: np.ndarray, index: int | None) -> None:
        exact = index is not None
        if index is None:
            index = self._next_index
        self._next_index = index + 1
        frame = Frame(camera=self.name, index=int(index), t_ns=int(t_ns), image=image, exact_index=exact)
        now = self.clock.now_ns()
        with self._cond:
            self._ring.append(frame)
            self._delivered += 1
            self._last_t = frame.t_ns
            self._last_emit = now
            self._emit_times.append(now)
            self._measured_fps(now)
            subscribers = list(self._subscribers)
            queues = list(self._queues)
            self._cond.notify_all()
        for cb in subscribers:
            try:
                cb(frame)
            except Exception:
                self.callback_errors += 1
                log.exception("frame callback of camera %s failed", self.name)
        for q in queues:
            q.put_latest(frame)

    def _backoff(self, attempt: int) -> bool:
        """Wait before the next open attempt; False when stop was requested."""
        delay_ns = int(self.reconnect.delay_s(attempt) * 1e9)
        return self.clock.sleep_until(self.clock.now_ns() + delay_ns, self._stop)

    def _run(self) -> None:
        opened = False
        first = True
        attempt = 0  # failed open attempts since the last successful open
        consecutive = 0
        final: tuple[SourceState, str, CameraError | None] = (SourceState.STOPPED, "stopped", None)
        try:
            while not self._stop.is_set():
                if not opened:
                    if not first:
                        with self._cond:
                            self._reconnect_attempts += 1
                        self._set_state(SourceState.RECONNECTING, self._reason)
                    try:
                        self._open()
                    except Exception as exc:  # any driver error becomes a status
                        err = exc if isinstance(exc, CameraError) else CameraError(f"Camera '{self.name}': {exc}")
                        self._safe_close()
                        if not self.retry_open:
                            final = (SourceState.STOPPED, str(err), err)
                            return
                        attempt += 1
                        first = False
                        self._set_state(SourceState.DISCONNECTED, str(err), err)
                        if not self._backoff(attempt):
                            return
                        continue
                    opened, first, attempt, consecutive = True, False, 0, 0
                    self._set_state(SourceState.CONNECTED, "")
                try:
                    got = self._read()
                except EndOfStream:
                    final = (SourceState.ENDED, "end of stream", None)
                    return
                except DeviceLostError as exc:
                    with self._cond:
                        self._failed_reads += 1
                    self._safe_close()
                    opened = False
                    if not self.retry_open:  # a file or replay is not reopened (it would start over)
                        final = (SourceState.STOPPED, str(exc), exc)
                        return
                    self._set_state(SourceState.DISCONNECTED, str(exc), exc)
                    continue
                except Exception as exc:  # FrameReadError or any driver error
                    if self._stop.is_set():
                        return
                    with self._cond:
                        self._failed_reads += 1
                    consecutive += 1
                    if consecutive >= self.max_failed_reads:
                        err = CameraError(
                            f"Camera '{self.name}' stopped delivering frames ({consecutive} failed reads in a row:"
                            f" {exc}). It may have been unplugged; retrying."
                        )
                        self._safe_close()
                        opened = False
                        if not self.retry_open:
                            final = (SourceState.STOPPED, str(err), err)
                            return
                        self._set_state(SourceState.DISCONNECTED, str(err), err)
                    continue
                if got is None:
                    continue
                consecutive = 0
                t_ns, image, index = got
                if self._stop.is_set():
                    return
                self._deliver(t_ns, image, index)
        finally:
            self._safe_close()
            if self._stop.is_set():
                final = (SourceState.STOPPED, "stopped", None) if final[2] is None else final
            self._set_state(*final)


# --------------------------------------------------------------------------------------------------
# Real devices
# --------------------------------------------------------------------------------------------------


class VideoCaptureLike(Protocol):
    """The subset of ``cv2.VideoCapture`` used by :class:`DeviceSource` (fakes implement this in tests)."""

    def isOpened(self) -> bool: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


Opener = Callable[[int, int], VideoCaptureLike]

_BACKEND_NAMES = {
    cv2.CAP_ANY: "ANY",
    cv2.CAP_V4L2: "V4L2",
    cv2.CAP_DSHOW: "DSHOW",
    cv2.CAP_MSMF: "MSMF",
    cv2.CAP_AVFOUNDATION: "AVFOUNDATION",
}


def default_backend(platform: str | None = None) -> int:
    """Best OpenCV capture backend for the platform: V4L2 (Linux), DirectShow (Windows), AVFoundation (macOS).

    DirectShow is preferred to MSMF on Windows: it opens much faster and honours MJPG + resolution settings.
    """
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return cv2.CAP_V4L2
    if platform.startswith("win"):
        return cv2.CAP_DSHOW
    if platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def backend_name(backend: int) -> str:
    return _BACKEND_NAMES.get(backend, str(backend))


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log lines (e.g. 'can't open camera by index') while probing devices."""
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)
    try:
        yield
    finally:
        cv2.setLogLevel(level)


def _cv2_opener(index: int, backend: int) -> VideoCaptureLike:
    return cv2.VideoCapture(index, backend)


def list_devices(max_index: int = 8, *, sysfs: str | os.PathLike = "/sys/class/video4linux") -> list[DeviceInfo]:
    """Cameras present, ``[DeviceInfo(index, name, backend)]``, sorted by index (only indices < max_index).

    Linux: read from sysfs without opening anything (metadata nodes are skipped); no sysfs -> ``[]``.
    Other platforms: probe indices 0..max_index-1 with OpenCV, quietly (names are "Camera N").
    Returns ``[]`` quickly when there is no camera.
    """
    if sys.platform.startswith("linux"):
        root = Path(sysfs)
        if not root.is_dir():
            return []
        found = []
        for entry in root.glob("video*"):
            try:
                index = int(entry.name[len("video") :])
            except ValueError:
                continue
            if index >= max_index:
                continue
            idx_file = entry / "index"  # 0 = the capture node; >0 = metadata nodes of the same camera
            with contextlib.suppress(OSError, ValueError):
                if int(idx_file.read_text().strip()) != 0:
                    continue
            try:
                name = (entry / "name").read_text().strip() or f"Camera {index}"
            except OSError:
                name = f"Camera {index}"
            found.append(DeviceInfo(index, name, "V4L2"))
        return sorted(found, key=lambda d: d.index)
    backend = default_backend()
    found = []
    with _quiet_opencv():
        for index in range(max_index):
            cap = cv2.VideoCapture(index, backend)
            try:
                if cap.isOpened():
                    found.append(DeviceInfo(index, f"Camera {index}", backend_name(backend)))
            finally:
                cap.release()
    return found


class DeviceSource(CameraSource):
    """A webcam by index through ``cv2.VideoCapture`` with the platform's best backend.

    Requested settings (``width``, ``height`` pixels, ``fps``, ``fourcc``, optional ``exposure`` in the
    driver's units) are applied on every (re)open; what the driver actually gave is in ``actual_size``
    and ``actual_fps`` after connecting. ``opener(index, backend)`` replaces ``cv2.VideoCapture`` in tests.
    """

    def __init__(
        self,
        index: int,
        name: str | None = None,
        *,
        width: int | None = 1280,
        height: int | None = 720,
        fps: float = 30.0,
        fourcc: str | None = "MJPG",
        exposure: float | None = None,
        backend: int | None = None,
        opener: Opener | None = None,
        **kwargs: object,
    ) -> None:
        if fourcc is not None and len(fourcc) != 4:
            raise InputError(f"fourcc must be 4 characters such as 'MJPG' or 'YUYV', got {fourcc!r}.")
        kwargs.setdefault("stall_timeout_s", 2.0)
        super().__init__(name or f"cam{index}", nominal_fps=fps, **kwargs)  # type: ignore[arg-type]
        self.index = int(index)
        self.width, self.height, self.fps = width, height, fps
        self.fourcc, self.exposure = fourcc, exposure
        self.backend = default_backend() if backend is None else backend
        self._opener: Opener = opener or _cv2_opener
        self._cap: VideoCaptureLike | None = None
        self.actual_size: tuple[int, int] | None = None
        self.actual_fps: float | None = None

    def _open(self) -> None:
        with _quiet_opencv():
            cap = self._opener(self.index, self.backend)
        if cap is None or not cap.isOpened():
            if cap is not None:
                with contextlib.suppress(Exception):
                    cap.release()
            raise CameraError(
                f"Camera {self.index} ({backend_name(self.backend)}) could not be opened: it is not connected, was"
                " unplugged, or another program is using it. Plug it in, close other video apps, or choose another"
                f" camera index{_found_hint()}."
            )
        if self.fourcc is not None:  # before the size: V4L2 picks the size list of the format
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(self.width))
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self.height))
        if self.fps:
            cap.set(cv2.CAP_PROP_FPS, float(self.fps))
        if self.exposure is not None:
            manual = 1.0 if self.backend == cv2.CAP_V4L2 else 0.25  # V4L2: 1 = manual; DSHOW/MSMF: 0.25 = manual
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, manual)
            cap.set(cv2.CAP_PROP_EXPOSURE, float(self.exposure))
        self.actual_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        got_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.actual_fps = got_fps if got_fps > 0 else None
        self._cap = cap

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        cap = self._cap
        if cap is None:
            raise DeviceLostError(f"Camera {self.index} is not open.")
        if not cap.grab():
            raise FrameReadError(f"camera {self.index}: grab() failed")
        t_ns = self.clock.now_ns()  # stamp at grab, before decoding
        ok, image = cap.retrieve()
        if not ok or image is None:
            raise FrameReadError(f"camera {self.index}: the frame could not be decoded")
        return t_ns, _as_bgr(image), None

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


def _found_hint() -> str:
    """' (cameras found: ...)' on Linux, where listing is free; '' elsewhere (probing would disturb devices)."""
    if not sys.platform.startswith("linux"):
        return ""
    found = list_devices()
    return f" (cameras found: {', '.join(f'{d.index} {d.name}' for d in found) if found else 'none'})"


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Make any decoded image ``(H, W, 3)`` BGR uint8."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# --------------------------------------------------------------------------------------------------
# Video files
# --------------------------------------------------------------------------------------------------


def _probe_fps(path: Path) -> float:
    with _quiet_opencv():
        cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(
                f"Video file {path} could not be decoded (unsupported codec or corrupt file)."
                " Re-encode it as H.264 MP4, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`."
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps


class VideoFileSource(CameraSource):
    """A video file played as if it were a camera.

    Paced mode (default): frame k is emitted at ``start + k / fps`` on the clock and stamped at grab
    (if decoding falls behind by more than two frames, the schedule re-anchors instead of bursting).
    ``as_fast_as_possible=True``: no pacing; frame k is stamped ``start + round(k * 1e9 / fps)`` ns, i.e.
    the file's own timeline, so two files still pair frame by frame (benchmarks, batch processing).
    ``loop=True`` rewinds at the end (indices and timestamps keep increasing); otherwise the source ENDS.
    ``fps`` overrides the file's frame rate (needed when the file does not state one).
    ``epoch`` plays the file as one camera of a SYNCHRONISED rig: frame k is due at
    ``epoch + k / fps`` and stamped with exactly that time. When decoding falls behind, the shared
    epoch slips so that all files of the rig slow down together. Files recorded together and played
    with the same epoch pair frame by frame (see :func:`synchronized_videos`).
    """

    retry_open = False

    def __init__(
        self,
        path: str | os.PathLike,
        name: str | None = None,
        *,
        loop: bool = False,
        as_fast_as_possible: bool = False,
        fps: float | None = None,
        epoch: SharedEpoch | None = None,
        **kwargs: object,
    ) -> None:
        self.path = Path(path)
        self.epoch = epoch
        if not self.path.is_file():
            raise InputError(f"Video file {self.path} does not exist. Check the path.")
        file_fps = _probe_fps(self.path)
        if fps is None:
            if not (file_fps > 0 and math.isfinite(file_fps)):
                raise InputError(f"Video file {self.path} does not state its frame rate; pass fps=... explicitly.")
            fps = file_fps
        super().__init__(name or self.path.stem, nominal_fps=fps, **kwargs)  # type: ignore[arg-type]
        self.loop = loop
        self.as_fast_as_possible = as_fast_as_possible
        self._period_ns = 1e9 / self.nominal_fps
        self._cap: cv2.VideoCapture | None = None
        self._k = 0  # frames emitted since open (across loops)
        self._anchor_ns = 0  # clock time of frame 0 (re-anchored when late)
        self._anchor_k = 0

    def _open(self) -> None:
        with _quiet_opencv():
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(
                f"Video file {self.path} could not be opened for decoding. Re-encode it as H.264 MP4"
                " (ffmpeg -i IN -c:v libx264 OUT.mp4)."
            )
        self._cap = cap
        self._k = 0
        now = self.clock.now_ns()
        self._anchor_ns = now if self.epoch is None else self.epoch.resolve(now)  # resolves the shared epoch
        self._anchor_k = 0

    def _grab(self) -> bool:
        assert self._cap is not None
        if self._cap.grab():
            return True
        if not self.loop:
            return False
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        return bool(self._cap.grab())

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        if self._cap is None:
            raise DeviceLostError(f"Video file {self.path} is not open.")
        k = self._k
        if self.as_fast_as_possible:
            if not self._grab():
                raise EndOfStream
            t_ns = self._anchor_ns + round(k * self._period_ns)
        elif self.epoch is not None:
            t_line = self._anchor_ns + round(k * self._period_ns)
            due = self.epoch.stamp(t_line)
            if self.clock.now_ns() - due > 2 * self._period_ns:
                # Decoding cannot keep up (a slow machine): slow the whole rig down together
                # rather than skipping frames, whose decoding would cost as much as showing them.
                self.epoch.fall_behind(t_line, self.clock.now_ns())
                due = self.epoch.stamp(t_line)
            if not self.clock.sleep_until(due, self._stop):
                return None
            if not self._grab():
                raise EndOfStream
            self.epoch.emitted(t_line)
            t_ns = due
        else:
            due = self._anchor_ns + round((k - self._anchor_k) * self._period_ns)
            now = self.clock.now_ns()
            if now > due + 2 * self._period_ns:  # decoding is too slow: do not burst to catch up
                self._anchor_ns, self._anchor_k, due = now, k, now
            if not self.clock.sleep_until(due, self._stop):
                return None
            if not self._grab():
                raise EndOfStream
            t_ns = self.clock.now_ns()
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            if k == 0:
                raise CameraError(f"Video file {self.path}: the first frame could not be decoded (corrupt file?).")
            raise EndOfStream
        self._k = k + 1
        return t_ns, _as_bgr(image), k

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


class SharedEpoch:
    """The common timeline of video files played as one synchronised rig.

    Frame k of a file is due, and stamped, at ``t0 + k / fps`` plus the slip in force at that point
    of the timeline. ``t0`` is fixed by the first file to open (``now + lead_s``, so every file has
    time to open). When a file cannot decode fast enough, the rig slows down as a whole: the slip
    grows, but only for timeline points no file has emitted yet, so every file stamps the same
    moment with the same time and the files keep pairing frame by frame.
    """

    def __init__(self, lead_s: float = 0.15) -> None:
        self.lead_ns = int(lead_s * 1e9)
        self._t0: int | None = None
        self._slips: list[tuple[int, int]] = [(-(2**62), 0)]  # (timeline point from, slip ns), increasing
        self._last_emitted = -(2**62)
        self._lock = threading.Lock()

    def resolve(self, now_ns: int) -> int:
        """Fix ``t0`` on first use (``now + lead``) and return it."""
        with self._lock:
            if self._t0 is None:
                self._t0 = now_ns + self.lead_ns
            return self._t0

    def _slip_at(self, t_line: int) -> int:
        slip = 0
        for start, value in self._slips:
            if start > t_line:
                break
            slip = value
        return slip

    def stamp(self, t_line: int) -> int:
        """The clock time of timeline point ``t_line`` (ns)."""
        with self._lock:
            return t_line + self._slip_at(t_line)

    def emitted(self, t_line: int) -> None:
        """A file emitted its frame at timeline point ``t_line``."""
        with self._lock:
            self._last_emitted = max(self._last_emitted, t_line)

    def fall_behind(self, t_line: int, now_ns: int) -> None:
        """A file's frame at ``t_line`` is late at ``now_ns``: slip the rest of the timeline."""
        with self._lock:
            needed = now_ns - (t_line + self._slip_at(t_line))
            if needed <= 0:
                return
            start = max(t_line, self._last_emitted + 1)
            self._slips.append((start, self._slip_at(start) + needed))
            if len(self._slips) > 64:  # keep the search short; old segments are behind every file
                self._slips = self._slips[-32:]


def synchronized_videos(
    paths: Sequence[str | os.PathLike],
    names: Sequence[str] | None = None,
    *,
    loop: bool = False,
    clock: Clock | None = None,
) -> list[VideoFileSource]:
    """Video files recorded together, played back as a synchronised rig (shared epoch, frame-exact pairs)."""
    epoch = SharedEpoch()
    names = list(names) if names is not None else [Path(p).stem for p in paths]
    return [VideoFileSource(p, name=n, loop=loop, epoch=epoch, clock=clock) for p, n in zip(paths, names, strict=True)]


# --------------------------------------------------------------------------------------------------
# Generic iterable (session replay)
# --------------------------------------------------------------------------------------------------


class IterableSource(CameraSource):
    """Frames from any iterable, keeping their ORIGINAL timestamps (the base for session replay).

    Items are ``(t_ns, image)`` or :class:`Frame` (its index and ``t_ns`` are kept; the camera name becomes
    this source's name). ``t_ns`` must increase. With ``pace=True`` item k is emitted when
    ``clock >= start + (t_k - t_0)`` (real-time replay); with ``pace=False`` as fast as possible.
    ``frames`` may be a callable returning a fresh iterable (it is called at each open).
    """

    retry_open = False

    def __init__(
        self,
        name: str,
        frames: Iterable[tuple[int, np.ndarray] | Frame] | Callable[[], Iterable[tuple[int, np.ndarray] | Frame]],
        *,
        nominal_fps: float,
        pace: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(name, nominal_fps=nominal_fps, **kwargs)  # type: ignore[arg-type]
        self._frames = frames
        self.pace = pace
        self._it: Iterator[tuple[int, np.ndarray] | Frame] | None = None
        self._t0: int | None = None
        self._start_ns = 0
        self._prev_t: int | None = None

    def _open(self) -> None:
        source = self._frames() if callable(self._frames) else self._frames
        self._it = iter(source)
        self._t0 = None
        self._prev_t = None
        self._start_ns = self.clock.now_ns()

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        assert self._it is not None
        try:
            item = next(self._it)
        except StopIteration:
            raise EndOfStream from None
        if isinstance(item, Frame):
            t_ns, image, index = item.t_ns, item.image, item.index
        else:
            t_ns, image = item
            index = None
        t_ns = int(t_ns)
        if self._prev_t is not None and t_ns <= self._prev_t:
            raise FrameReadError(f"replayed frame at t={t_ns} ns is not after the previous one ({self._prev_t} ns)")
        self._prev_t = t_ns
        if self._t0 is None:
            self._t0 = t_ns
        if self.pace and not self.clock.sleep_until(self._start_ns + (t_ns - self._t0), self._stop):
            return None
        return t_ns, image, index


# --------------------------------------------------------------------------------------------------
# Simulated camera
# --------------------------------------------------------------------------------------------------

_CHUNK = 1024


class SimulatedCamera(CameraSource):
    """A deterministic synthetic camera for tests (seeded; exact with a :class:`VirtualClock`).

    Frame k is nominally due at ``t0 + offset + k * period * (1 + drift_ppm * 1e-6)`` ns, plus Gaussian
    timestamp jitter (``jitter_ms`` standard deviation, clipped to +-0.45 period so timestamps still
    increase). Frames are not delivered when dropped by the camera (``drop_prob`` per frame, or
    ``drop_indices``) or when their nominal time falls in a ``disconnects`` window ``(start_s, end_s)``
    (seconds after t0), during which the camera reports DISCONNECTED and cannot be reopened. Indices are
    the nominal k, so gaps show what the camera dropped. ``n_frames`` or ``duration_s`` makes it finite
    (then it ENDS). ``t0`` is the clock time at start (threaded) or the ``t0_ns`` argument (``generate``).

    Images are ``(h, w, 3)`` uint8 with ``image[..., 0] == k % 256``, ``image[..., 1] == (k // 256) % 256``
    and ``image[..., 2] == camera_id``.
    """

    def __init__(
        self,
        name: str = "sim",
        *,
        fps: float = 30.0,
        n_frames: int | None = None,
        duration_s: float | None = None,
        size: tuple[int, int] = (32, 24),
        jitter_ms: float = 0.0,
        drift_ppm: float = 0.0,
        offset_ms: float = 0.0,
        drop_prob: float = 0.0,
        drop_indices: Iterable[int] = (),
        disconnects: Sequence[tuple[float, float]] = (),
        seed: int = 0,
        camera_id: int = 0,
        **kwargs: object,
    ) -> None:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial_s=0.005, factor=1.0, max_s=0.005))
        super().__init__(name, nominal_fps=fps, **kwargs)  # type: ignore[arg-type]
        if not 0.0 <= drop_prob < 1.0:
            raise InputError(f"drop_prob must be in [0, 1), got {drop_prob}.")
        for a, b in disconnects:
            if not b > a:
                raise InputError(f"A disconnect window must be (start_s, end_s) with end > start, got {(a, b)}.")
        self.fps = float(fps)
        self.n_frames = n_frames
        self.duration_s = duration_s
        self.size = size
        self.jitter_ms = jitter_ms
        self.drift_ppm = drift_ppm
        self.offset_ms = offset_ms
        self.drop_prob = drop_prob
        self.drop_indices = frozenset(int(i) for i in drop_indices)
        self.disconnects = [(int(a * 1e9), int(b * 1e9)) for a, b in sorted(disconnects)]
        self.seed = seed
        self.camera_id = camera_id
        self._chunk_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._t0 = 0
        self._k = 0
        self._open_once = False

    # ----- pure schedule ----------------------------------------------------------------------------

    def _chunk(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(jitter_ns (CHUNK,), dropped (CHUNK,) bool) for frames c*CHUNK .. (c+1)*CHUNK-1."""
        if c not in self._chunk_cache:
            rng = np.random.default_rng([self.seed, self.camera_id, c])
            period = 1e9 / self.fps
            jitter = rng.normal(0.0, self.jitter_ms * 1e6, _CHUNK) if self.jitter_ms > 0 else np.zeros(_CHUNK)
            jitter = np.clip(jitter, -0.45 * period, 0.45 * period)
            u = rng.random(_CHUNK)
            if len(self._chunk_cache) > 64:
                self._chunk_cache.clear()
            self._chunk_cache[c] = (np.round(jitter).astype(np.int64), u < self.drop_prob)
        return self._chunk_cache[c]

    def _limit(self) -> int | None:
        """Number of nominal frames (None = infinite)."""
        limits = []
        if self.n_frames is not None:
            limits.append(int(self.n_frames))
        if self.duration_s is not None:  # frames whose nominal time is < duration_s
            d_ns = int(round(self.duration_s * 1e9))
            period = 1e9 / self.fps * (1 + self.drift_ppm * 1e-6)
            k = max(0, math.ceil((d_ns - self.offset_ms * 1e6) / period))
            while k > 0 and int(self.nominal_time_ns(k - 1)) >= d_ns:
                k -= 1
            while int(self.nominal_time_ns(k)) < d_ns:
                k += 1
            limits.append(k)
        return min(limits) if limits else None

    def nominal_time_ns(self, k: np.ndarray | int, t0_ns: int = 0) -> np.ndarray:
        """Nominal times ``(N,)`` ns of frames k (without jitter)."""
        k = np.asarray(k, dtype=np.int64)
        period = 1e9 / self.fps * (1 + self.drift_ppm * 1e-6)
        return t0_ns + np.round(self.offset_ms * 1e6 + k * period).astype(np.int64)

    def schedule(self, t0_ns: int = 0, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Delivered frames of the first ``n`` nominal frames (default: all, needs a finite camera).

        Returns ``(index (M,) int64, t_ns (M,) int64)`` of the frames the camera delivers.
        """
        n = self._limit() if n is None else n
        if n is None:
            raise InputError("This simulated camera is infinite; pass n=... or create it with n_frames/duration_s.")
        k = np.arange(n, dtype=np.int64)
        nominal = self.nominal_time_ns(k, t0_ns)
        n_chunks = (n + _CHUNK - 1) // _CHUNK
        jit = np.concatenate([self._chunk(c)[0] for c in range(n_chunks)])[:n] if n else np.zeros(0, np.int64)
        drop = np.concatenate([self._chunk(c)[1] for c in range(n_chunks)])[:n] if n else np.zeros(0, bool)
        if self.drop_indices:
            drop |= np.isin(k, list(self.drop_indices))
        for a, b in self.disconnects:
            rel = nominal - t0_ns
            drop |= (rel >= a) & (rel < b)
        keep = ~drop
        return k[keep], (nominal + jit)[keep]

    def image(self, k: int) -> np.ndarray:
        """The synthetic image of frame k, ``(h, w, 3)`` uint8."""
        w, h = self.size
        img = np.empty((h, w, 3), np.uint8)
        img[..., 0] = k % 256
        img[..., 1] = (k // 256) % 256
        img[..., 2] = self.camera_id % 256
        return img

    def generate(self, t0_ns: int = 0, n: int | None = None) -> list[Frame]:
        """All delivered frames as a list, without any thread or clock (for unit tests / offline use)."""
        idx, t = self.schedule(t0_ns, n)
        return [Frame(self.name, int(i), int(ti), self.image(int(i))) for i, ti in zip(idx, t)]

    # ----- threaded hooks -----------------------------------------------------------------------------

    def _in_disconnect(self, t_ns: int) -> tuple[int, int] | None:
        rel = t_ns - self._t0
        for a, b in self.disconnects:
            if a <= rel < b:
                return a, b
        return None

    def start(self) -> None:
        self._open_once = False
        super().start()

    def _open(self) -> None:
        now = self.clock.now_ns()
        if not self._open_once:
            self._t0, self._k, self._open_once = now, 0, True
        window = self._in_disconnect(now)
        if window is not None:
            raise CameraError(
                f"Simulated camera '{self.name}' is unplugged (disconnect window {window[0] / 1e9:.3f}-"
                f"{window[1] / 1e9:.3f} s)."
            )
        # frames whose time passed while the camera was away are gone
        limit = self._limit()
        k = self._k
        while True:
            if limit is not None and k >= limit:
                break
            if int(self.nominal_time_ns(k, self._t0)) >= now or k == 0:
                break
            k += 1
        self._k = k

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        limit = self._limit()
        while True:
            k = self._k
            if limit is not None and k >= limit:
                raise EndOfStream
            nominal = int(self.nominal_time_ns(k, self._t0))
            jitter_c, drop_c = self._chunk(k // _CHUNK)
            t_ns = nominal + int(jitter_c[k % _CHUNK])
            window = self._in_disconnect(nominal)
            if window is not None:
                if not self.clock.sleep_until(nominal, self._stop):
                    return None
                raise DeviceLostError(
                    f"Simulated camera '{self.name}' was unplugged at {(nominal - self._t0) / 1e9:.3f} s."
                )
            self._k = k + 1
            if drop_c[k % _CHUNK] or k in self.drop_indices:
                continue
            if not self.clock.sleep_until(t_ns, self._stop):
                return None
            return t_ns, self.image(k), k
