"""The time base of a source: the real clock (``time.monotonic_ns()``) or virtual time for tests and offline runs."""

from __future__ import annotations

import threading
import time
from typing import Protocol


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


REAL_CLOCK = MonotonicClock()
