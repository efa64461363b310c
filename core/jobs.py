"""The one contract of long work (no Qt): a progress callback, a cancel token and the ``Cancelled`` error.

Every long job in ``core``, ``calibration`` and ``models`` has the signature::

    def job(..., progress: Progress | None = None, cancel: CancelToken | threading.Event | None = None) -> Summary

- ``progress(done, total, message)`` reports ``done`` of ``total`` steps (``total`` 0: unknown) with a short
  sentence; it may be called as often as the job likes (the caller throttles).
- ``cancel`` is checked between steps; a job that sees it set raises :class:`Cancelled` after cleaning up, so
  that nothing half-written is left behind. Never return a "cancelled" flag instead.
- The result is a frozen dataclass (a summary), not a ``dict``.

``app.tasks.Task`` runs such a job in a QThread and turns the three outcomes (a result, an error,
``Cancelled``) into signals; the CLI runs it in the main thread with :func:`text_progress`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

__all__ = [
    "Cancelled",
    "CancelToken",
    "Progress",
    "check_cancel",
    "is_cancelled",
    "null_progress",
    "scaled_progress",
    "text_progress",
    "throttled",
]


class Progress(Protocol):
    """``progress(done, total, message)``: ``done`` of ``total`` steps (``total`` 0 when unknown)."""

    def __call__(self, done: int, total: int, message: str = "") -> None: ...


class Cancelled(Exception):  # noqa: N818 - an outcome, not an error
    """The job stopped because it was cancelled; what it was writing was removed (nothing half-done is left)."""

    def __init__(self, message: str = "cancelled; nothing was written.") -> None:
        super().__init__(message)


class CancelToken(threading.Event):
    """A cancel flag shared by the caller and the job (thread-safe).

    It is a :class:`threading.Event`, so code that takes an event keeps working; ``cancel()`` sets it and
    :meth:`raise_if_cancelled` turns it into :class:`Cancelled`.
    """

    def cancel(self) -> None:
        self.set()

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def raise_if_cancelled(self, message: str = "cancelled; nothing was written.") -> None:
        if self.is_set():
            raise Cancelled(message)


#: What a job accepts as a cancel flag: a token (or any ``threading.Event``), a callable returning True, or None.
CancelLike = threading.Event | Callable[[], bool] | None


def is_cancelled(cancel: CancelLike) -> bool:
    """True when ``cancel`` (an event, a callable returning bool, or None) is set."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def check_cancel(cancel: CancelLike, message: str = "cancelled; nothing was written.") -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set."""
    if is_cancelled(cancel):
        raise Cancelled(message)


def null_progress(done: int, total: int, message: str = "") -> None:
    """A progress callback that ignores everything."""


def scaled_progress(progress: Progress | None, lo: float, hi: float, steps: int = 1000) -> Progress:
    """A callback for a sub-job that fills the fraction ``[lo, hi]`` of the parent's ``steps``.

    The sub-job reports ``(done, total, message)`` of its own; the parent sees ``(round(steps * f), steps,
    message)`` with ``f = lo + (hi - lo) * done / total``.
    """
    if progress is None:
        return null_progress

    def report(done: int, total: int, message: str = "") -> None:
        frac = lo + (hi - lo) * (min(max(done / total, 0.0), 1.0) if total > 0 else 0.0)
        progress(int(round(steps * frac)), steps, message)

    return report


def throttled(progress: Progress, every_s: float, clock: Callable[[], float] = time.monotonic) -> Progress:
    """``progress`` called at most once per ``every_s`` seconds; the first and the final report always pass."""
    last = [-1e18]

    def report(done: int, total: int, message: str = "") -> None:
        now = clock()
        final = total > 0 and done >= total
        if not final and now - last[0] < every_s:
            return
        last[0] = now
        progress(int(done), int(total), str(message))

    return report


def text_progress(stream: TextIO | None = None, width: int = 30, every_s: float = 0.1) -> Progress:
    """A plain-text progress bar for the command line (``\\r``-updated line on stderr by default)."""
    out = stream if stream is not None else sys.stderr

    def draw(done: int, total: int, message: str = "") -> None:
        frac = min(1.0, done / total) if total > 0 else 0.0
        filled = int(round(frac * width))
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message[:48]:<48}")
        if total > 0 and done >= total:
            out.write("\n")
        out.flush()

    return throttled(draw, every_s)
