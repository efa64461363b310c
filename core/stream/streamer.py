"""The sending side of a stream: :class:`Streamer` rate-limits frames and sends them from its own thread.

``push`` never blocks the caller (the pipeline's thread): a frame arriving sooner than the chosen rate allows
is skipped (``rate_skipped``); a frame arriving while the sender is still busy and ``max_waiting`` frames already
wait replaces the oldest, which is counted as ``dropped``. Every output encodes and sends the same frames.
Units: seconds, µs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.errors import InputError
from core.stream.frame import StreamFrame

#: Frames within this fraction of a period before their due time still go out (clock jitter).
RATE_TOLERANCE = 0.2


class Encoder(Protocol):
    name: str

    def encode(self, frame: StreamFrame) -> bytes | None: ...


class Target(Protocol):
    errors: int
    last_error: str

    def send(self, data: bytes) -> bool: ...

    def close(self) -> None: ...


@dataclass
class StreamOutput:
    """One protocol to one receiver: an encoder (VMC, JSON) and where its datagrams go."""

    encoder: Encoder
    target: Target
    label: str = ""


@dataclass(frozen=True)
class StreamStats:
    """What a stream did so far.

    ``pushed`` frames offered; ``rate_skipped`` refused by the rate limit; ``dropped`` replaced while waiting
    (the sender could not keep up); ``sent`` frames every output sent; ``no_pose`` frames an encoder had nothing
    for; ``send_errors`` datagrams the network refused (a receiver not running); ``cost_us`` mean CPU time of
    the sending thread to encode and send one frame to all outputs (µs); ``rate_hz`` frames sent per second over
    the last 2 s.
    """

    pushed: int = 0
    rate_skipped: int = 0
    dropped: int = 0
    sent: int = 0
    no_pose: int = 0
    send_errors: int = 0
    cost_us: float = 0.0
    rate_hz: float = 0.0
    last_error: str = ""
    targets: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for a status bar."""
        text = f"{self.sent} frames sent at {self.rate_hz:.0f} fps"
        if self.dropped:
            text += f", {self.dropped} dropped"
        if self.send_errors:
            text += f", {self.send_errors} not delivered ({self.last_error})"
        return text


def check_fps(fps: object) -> float:
    """A stream rate in frames per second, 1..240."""
    try:
        value = float(fps)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"the stream rate must be a number of frames per second, got {fps!r}.") from None
    if not 1.0 <= value <= 240.0:
        raise InputError(f"the stream rate must be from 1 to 240 fps, got {fps!r}.")
    return value


class Streamer:
    """Sends frames to every :class:`StreamOutput` at most ``fps`` times a second, from a thread of its own.

    ``max_waiting`` frames may wait while the sender is busy (1 live: only the newest matters; a replay allows
    more, so a brief stall of the machine drops nothing). ``clock`` (monotonic seconds) is injectable for tests.
    Use :meth:`start` / :meth:`stop`, or as a context
    manager.
    """

    def __init__(
        self,
        outputs: Sequence[StreamOutput],
        fps: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_waiting: int = 1,
    ) -> None:
        if not outputs:
            raise InputError("nothing to stream to: give at least one receiver (VMC or JSON).")
        self.outputs = list(outputs)
        self.fps = check_fps(fps)
        self._period = 1.0 / self.fps
        self._clock = clock
        self._max_waiting = max(1, int(max_waiting))
        self._next_due = -float("inf")
        self._queue: deque[StreamFrame] = deque()
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counts = {"pushed": 0, "rate_skipped": 0, "dropped": 0, "sent": 0, "no_pose": 0}
        self._cost_total_us = 0.0
        self._cost_n = 0
        self._sent_times: deque[float] = deque(maxlen=2000)
        self._idle = threading.Event()
        self._idle.set()

    def __enter__(self) -> Streamer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stream-sender", daemon=True)
            self._thread.start()

    def push(self, frame: StreamFrame | None) -> bool:
        """Offer a frame (never blocks); True when it was queued for sending."""
        now = self._clock()
        with self._cv:
            self._counts["pushed"] += 1
            if frame is None:
                self._counts["no_pose"] += 1
                return False
            if now < self._next_due - RATE_TOLERANCE * self._period:
                self._counts["rate_skipped"] += 1
                return False
            late = now - self._next_due
            self._next_due = now + self._period if late > self._period else self._next_due + self._period
            if len(self._queue) >= self._max_waiting:
                self._queue.popleft()
                self._counts["dropped"] += 1
            self._queue.append(frame)
            self._idle.clear()
            self._cv.notify()
        return True

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued frame is sent (tests, the end of a replay)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop.is_set():
                    self._idle.set()
                    self._cv.wait(0.1)
                if not self._queue:
                    self._idle.set()
                    return
                frame = self._queue.popleft()
            self._send(frame)

    def _send(self, frame: StreamFrame) -> None:
        t0 = time.thread_time()
        nothing = False
        for out in self.outputs:
            try:
                data = out.encoder.encode(frame)
            except Exception as exc:  # a bad frame must not end the stream
                out.target.errors += 1
                out.target.last_error = f"{out.encoder.name}: {exc}"
                continue
            if data is None:
                nothing = True
                continue
            out.target.send(data)
        cost = (time.thread_time() - t0) * 1e6
        with self._cv:
            self._counts["no_pose" if nothing else "sent"] += 1
            self._cost_total_us += cost
            self._cost_n += 1
            self._sent_times.append(time.monotonic())

    def stop(self, timeout: float = 2.0) -> None:
        """Send what is queued, then end the thread and close the sockets."""
        self._stop.set()
        with self._cv:
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        for out in self.outputs:
            out.target.close()

    def stats(self) -> StreamStats:
        with self._cv:
            c = dict(self._counts)
            cost = self._cost_total_us / self._cost_n if self._cost_n else 0.0
            now = time.monotonic()
            recent = [t for t in self._sent_times if now - t <= 2.0]
        rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
        errors = [o.target for o in self.outputs if o.target.errors]
        return StreamStats(
            **c,
            send_errors=sum(t.errors for t in errors),
            cost_us=cost,
            rate_hz=rate,
            last_error=errors[-1].last_error if errors else "",
            targets=tuple(o.label for o in self.outputs),
        )
