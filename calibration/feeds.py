"""Where a calibration capture reads its frames: a recording (:class:`RecordingFeed`) or running cameras
(:class:`DeviceFeed`). No Qt.

A feed's :meth:`get(timeout) <RecordingFeed.get>` returns the next :class:`FeedItem` (one image, or a pair),
None when nothing arrived in time, and raises :class:`FeedEnded` at the end of a recording. Images are BGR
``(H, W, 3)`` uint8; times seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from calibration.run import RecordingSet
from calibration.sources import iter_pairs
from core.capture import CameraSource, Frame, SourceState

#: Seconds per photo when an image folder is played "at recorded speed".
PHOTO_PERIOD_S = 0.5


@dataclass
class FeedItem:
    """Frames for one step: one image (one camera) or two (a pair), their frame indices and a label."""

    images: list[np.ndarray]
    frames: list[int | None]
    label: str
    progress: tuple[int, int] | None = None


class FeedEnded(Exception):  # noqa: N818 - a signal, not an error
    """A recording has no more frames."""


class RecordingFeed:
    """Frames of a recording for one camera (``cam`` 0/1) or pairs (``cam`` None), paced or as fast as possible.

    ``pace``: play at the recorded speed (photos: :data:`PHOTO_PERIOD_S` apart); ``stop``: an event (the job's
    cancel token) that ends a paced wait early; ``offset``: camera 2's frame shift (pairs).
    """

    def __init__(self, rec: RecordingSet, cam: int | None, pace: bool, stop: threading.Event, offset: int = 0) -> None:
        self.stop = stop
        self.pace = pace
        self.rec = rec
        if cam is None:
            plan = rec.plan.shifted(offset, rec.sources[1].n_frames)
            self.total = len(plan)
            src = rec.sources[0]
            self._times = plan.idx0 / (src.fps or (1.0 / PHOTO_PERIOD_S))
            self._it: Iterator = ((i0, i1, a, b) for i0, i1, a, b in iter_pairs(rec.sources[0], rec.sources[1], plan))
        else:
            src = rec.sources[cam]
            self.total = src.n_frames
            self._times = np.arange(src.n_frames) / (src.fps or (1.0 / PHOTO_PERIOD_S))
            self._it = ((i, img) for i, img in src.iter_frames(range(src.n_frames)))
        self.cam = cam
        self._k = 0
        self._anchor = time.monotonic()
        self._anchor_k = 0

    def reanchor(self) -> None:
        """Restart the pacing clock (after a pause)."""
        self._anchor = time.monotonic()
        self._anchor_k = self._k

    def get(self, timeout: float) -> FeedItem | None:
        if self.pace and self._k < len(self._times):
            due = self._anchor + float(self._times[self._k] - self._times[min(self._anchor_k, len(self._times) - 1)])
            wait = due - time.monotonic()
            if wait > 0 and (self.stop.wait(min(wait, timeout)) or wait > timeout):
                return None
        try:
            item = next(self._it)
        except StopIteration:
            raise FeedEnded from None
        self._k += 1
        if self.cam is None:
            i0, i1, a, b = item
            return FeedItem([a, b], [int(i0), int(i1)], f"frames {i0} / {i1}", (self._k, self.total))
        i, img = item
        name = self.rec.sources[self.cam].label(int(i))
        return FeedItem([img], [int(i)], name, (self._k, self.total))

    def problem(self) -> str:
        return ""

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if callable(close):
            close()


class DeviceFeed:
    """Live frames of one camera (``cam``) or synchronised pairs of both (``cam`` None) from running sources
    (paired by capture time with :class:`core.sync.LiveSynchronizer`)."""

    def __init__(self, sources: Sequence[CameraSource], cam: int | None) -> None:
        self.sources = list(sources)
        self.cam = cam
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._detach: list[Callable[[], None]] = []
        self._sync = None
        self.total = None
        if cam is None:
            from core.sync import LiveSynchronizer

            self._sync = LiveSynchronizer.for_sources(self.sources[0], self.sources[1])
        else:
            self._detach.append(self.sources[cam].subscribe(self._on_frame))

    def _on_frame(self, frame: Frame) -> None:
        with self._cond:
            self._latest = frame
            self._cond.notify_all()

    def reanchor(self) -> None:
        pass

    def get(self, timeout: float) -> FeedItem | None:
        if self._sync is not None:
            pair = self._sync.get_latest(timeout)
            if pair is None:
                return None
            a, b = pair.frames
            return FeedItem([a.image, b.image], [a.index, b.index], f"pair {pair.index} · skew {pair.skew_ms:+.1f} ms")
        with self._cond:
            if self._latest is None:
                self._cond.wait(timeout)
            frame, self._latest = self._latest, None
        if frame is None:
            return None
        return FeedItem([frame.image], [frame.index], f"frame {frame.index}")

    def problem(self) -> str:
        """Why a camera is not delivering ('' when all are fine)."""
        cams = range(2) if self.cam is None else [self.cam]
        for c in cams:
            st = self.sources[c].status()
            if st.state in (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.STOPPED):
                reason = st.reason or "not delivering frames"
                return (
                    f"Camera {c + 1} ({st.camera}) is not delivering frames: {reason}. Check its cable (was it "
                    "unplugged?) and that no other program uses it; capture resumes when it is back."
                )
        return ""

    def close(self) -> None:
        for d in self._detach:
            d()
        self._detach = []
        if self._sync is not None:
            self._sync.close()
