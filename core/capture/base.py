"""The base of every camera source: one capture thread, status, subscribers, frame queues and a ring buffer.

A source never crashes or hangs on a dropout: it reports ``DISCONNECTED`` with a reason, retries with
exponential backoff, and ``stop()`` always returns within a bounded time, even when a driver read is stuck.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.capture.clock import REAL_CLOCK, Clock
from core.capture.frame import (
    DeviceLostError,
    EndOfStream,
    Frame,
    ReconnectPolicy,
    SourceState,
    SourceStatus,
)
from core.errors import CameraError, InputError

log = logging.getLogger(__name__)

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


@dataclass
class _Run:
    """The capture thread's loop state (see :meth:`CameraSource._run`)."""

    opened: bool = False
    first: bool = True  # no open attempt yet
    attempt: int = 0  # failed open attempts since the last successful open
    consecutive: int = 0  # failed reads in a row
    final: tuple[SourceState, str, CameraError | None] = (SourceState.STOPPED, "stopped", None)
    done: bool = False  # the thread ends with ``final``

    def end(self, state: SourceState, reason: str, error: CameraError | None = None) -> None:
        self.final = (state, reason, error)
        self.done = True


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
        self.clock: Clock = clock if clock is not None else REAL_CLOCK
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
        #: restarts of the timeline (a looping file's rewinds), stamped on every frame as ``Frame.take``
        self._take = 0
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
        frame = Frame(
            camera=self.name, index=int(index), t_ns=int(t_ns), image=image, exact_index=exact, take=self._take
        )
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
        """The capture thread: open (with backoff), read and deliver until stopped, ended or failed for good."""
        run = _Run()
        try:
            while not self._stop.is_set():
                if not run.opened and not self._open_step(run):
                    if run.done:
                        return
                    continue
                got = self._read_step(run)
                if run.done:
                    return
                if got is None:
                    continue
                t_ns, image, index = got
                if self._stop.is_set():
                    return
                self._deliver(t_ns, image, index)
        finally:
            self._safe_close()
            final = run.final
            if self._stop.is_set():
                final = (SourceState.STOPPED, "stopped", None) if final[2] is None else final
            self._set_state(*final)

    def _open_step(self, run: _Run) -> bool:
        """One open attempt (after the first, a reconnection); True when the source is open."""
        if not run.first:
            with self._cond:
                self._reconnect_attempts += 1
            self._set_state(SourceState.RECONNECTING, self._reason)
        try:
            self._open()
        except Exception as exc:  # any driver error becomes a status
            err = exc if isinstance(exc, CameraError) else CameraError(f"Camera '{self.name}': {exc}")
            self._safe_close()
            if not self.retry_open:
                run.end(SourceState.STOPPED, str(err), err)
                return False
            run.attempt += 1
            run.first = False
            self._set_state(SourceState.DISCONNECTED, str(err), err)
            if not self._backoff(run.attempt):
                run.done = True
            return False
        run.opened, run.first, run.attempt, run.consecutive = True, False, 0, 0
        self._set_state(SourceState.CONNECTED, "")
        return True

    def _read_step(self, run: _Run) -> tuple[int, np.ndarray, int | None] | None:
        """One ``_read``: the frame, or None when there is none to deliver (skipped, failed, lost or ended)."""
        try:
            got = self._read()
        except EndOfStream:
            run.end(SourceState.ENDED, "end of stream")
            return None
        except DeviceLostError as exc:
            with self._cond:
                self._failed_reads += 1
            self._safe_close()
            run.opened = False
            if not self.retry_open:  # a file or replay is not reopened (it would start over)
                run.end(SourceState.STOPPED, str(exc), exc)
                return None
            self._set_state(SourceState.DISCONNECTED, str(exc), exc)
            return None
        except Exception as exc:  # FrameReadError or any driver error
            if self._stop.is_set():
                run.done = True
            else:
                self._read_failed(run, exc)
            return None
        if got is not None:
            run.consecutive = 0
        return got

    def _read_failed(self, run: _Run, exc: Exception) -> None:
        """Count a failed read; after ``max_failed_reads`` in a row the source is disconnected (or stopped)."""
        with self._cond:
            self._failed_reads += 1
        run.consecutive += 1
        if run.consecutive < self.max_failed_reads:
            return
        err = CameraError(
            f"Camera '{self.name}' stopped delivering frames ({run.consecutive} failed reads in a row:"
            f" {exc}). It may have been unplugged; retrying."
        )
        self._safe_close()
        run.opened = False
        if not self.retry_open:
            run.end(SourceState.STOPPED, str(err), err)
            return
        self._set_state(SourceState.DISCONNECTED, str(err), err)
