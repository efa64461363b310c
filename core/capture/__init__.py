"""Camera sources: one threaded interface for real webcams, video files, simulated and replayed cameras.

Every source is a :class:`CameraSource`. It runs its own daemon thread, stamps each frame with the
clock at ``grab()`` (``time.monotonic_ns()`` for the real clock, before the frame is decoded), keeps
a small ring buffer of recent frames and pushes every frame to its subscribers (callbacks run in the
capture thread) and to any frame queues. A source never crashes or hangs on a dropout: it reports
``DISCONNECTED`` with a reason, retries with exponential backoff, and ``stop()`` always returns
within a bounded time, even when a driver read is stuck.

Sources (one module each; the base class and its thread are in :mod:`.base`, frames and states in
:mod:`.frame`, clocks in :mod:`.clock`):

- :class:`DeviceSource` (:mod:`.device`): a webcam through ``cv2.VideoCapture`` (V4L2 / DirectShow /
  AVFoundation), with an injectable *opener* so tests can use a fake capture that fails and recovers.
- :class:`VideoFileSource` (:mod:`.video`): a video file played at its own frame rate as if it were a camera
  (or as fast as possible, with timestamps on the file's own timeline).
- :class:`SimulatedCamera` (:mod:`.simulated`): deterministic synthetic frames with jitter, drift, drops and
  disconnects; with a :class:`VirtualClock` it runs without any real waiting.
- :class:`IterableSource` (:mod:`.iterable`): any iterable of ``(t_ns, image)`` or :class:`Frame` (session
  replay), which keeps the ORIGINAL timestamps and optionally paces them in real time.

Units: timestamps are integer nanoseconds of the source's clock (``time.monotonic_ns()`` by default),
durations given to constructors are seconds, frame rates are frames per second, images are
``(H, W, 3)`` BGR ``uint8``.
"""

from __future__ import annotations

from core.capture.base import CameraSource, FrameCallback, StatusCallback
from core.capture.clock import Clock, MonotonicClock, VirtualClock
from core.capture.device import (
    DeviceInfo,
    DeviceSource,
    Opener,
    VideoCaptureLike,
    backend_name,
    default_backend,
    list_devices,
)
from core.capture.frame import (
    DeviceLostError,
    EndOfStream,
    Frame,
    FrameReadError,
    ReconnectPolicy,
    SourceState,
    SourceStatus,
)
from core.capture.iterable import IterableSource
from core.capture.simulated import SimulatedCamera
from core.capture.video import SharedEpoch, VideoFileSource, synchronized_videos

__all__ = [
    "CameraSource",
    "Clock",
    "DeviceInfo",
    "DeviceLostError",
    "DeviceSource",
    "EndOfStream",
    "Frame",
    "FrameCallback",
    "FrameReadError",
    "IterableSource",
    "MonotonicClock",
    "Opener",
    "ReconnectPolicy",
    "SharedEpoch",
    "SimulatedCamera",
    "SourceState",
    "SourceStatus",
    "StatusCallback",
    "VideoCaptureLike",
    "VideoFileSource",
    "VirtualClock",
    "backend_name",
    "default_backend",
    "list_devices",
    "synchronized_videos",
]
