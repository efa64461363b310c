"""What a camera source delivers and reports: :class:`Frame`, :class:`SourceState`, :class:`SourceStatus`, the
signals a source's ``_read`` raises, its reconnect policy, and the OpenCV image conventions of every source.

Units: ``t_ns`` integer nanoseconds of the source clock; images ``(H, W, 3)`` BGR ``uint8``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import CameraError


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image.

    ``camera``: name of the source; ``index``: frame number within that source (gaps mean frames the
    camera itself dropped, where the source knows them); ``t_ns``: capture time, integer nanoseconds of
    the source clock, taken at ``grab()``; ``image``: ``(H, W, 3)`` BGR ``uint8``; ``exact_index``: True
    when the index is the source's own frame number (files, replays, the simulator), so that only index
    gaps mean dropped frames; False for devices, whose frames are numbered as they arrive. ``take``: how many
    times the source's timeline restarted (a looping file's rewinds): a change means the scene jumped, so whoever
    tracks people over time starts afresh.
    """

    camera: str
    index: int
    t_ns: int
    image: np.ndarray
    exact_index: bool = False
    take: int = 0


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


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log lines (e.g. 'can't open camera by index') while probing devices."""
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)
    try:
        yield
    finally:
        cv2.setLogLevel(level)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Make any decoded image ``(H, W, 3)`` BGR uint8."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
