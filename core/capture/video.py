"""Video files played as cameras: :class:`VideoFileSource`, and several files as one synchronised rig
(:class:`SharedEpoch`, :func:`synchronized_videos`)."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from core.capture.base import CameraSource
from core.capture.clock import Clock
from core.capture.frame import DeviceLostError, EndOfStream, as_bgr, quiet_opencv
from core.errors import CameraError, InputError


def _file_fps(path: Path) -> float:
    """The frame rate a video file states (0 when it states none); InputError when it cannot be decoded."""
    from core.video_io import probe_video  # here: core.video_io builds core.capture Frames

    try:
        with quiet_opencv():
            return probe_video(path).fps
    except InputError:
        raise InputError(
            f"Video file {path} could not be decoded (unsupported codec or corrupt file)."
            " Re-encode it as H.264 MP4, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`."
        ) from None


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
        file_fps = _file_fps(self.path)
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
        with quiet_opencv():
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
        self._take += 1  # the scene jumps back to the start: trackers restart
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
        return t_ns, as_bgr(image), k

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
