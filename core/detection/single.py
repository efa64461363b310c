"""2D human pose detection with MediaPipe Pose, mapped to H36M-17.

MediaPipe works offline only as ``mediapipe==0.10.21`` through ``mp.solutions.pose`` with
``model_complexity=1`` (the model bundled in the wheel). One :class:`PoseDetector` holds one
tracker state: use one per camera. ``process()`` releases the GIL, so two detectors in two
threads run in parallel.

MediaPipe Pose finds one person per image. To follow a chosen person when several are in
view, :class:`PersonFollower` runs the detector on a crop around that person and moves the
crop with them; by default it locks onto the person nearest the image centre.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from core import skeleton
from core.errors import CrossViewError

MODEL_COMPLEXITY = 1


class DetectorError(CrossViewError):
    """MediaPipe could not be loaded or run."""


@dataclass
class Detection:
    """One view's 2D pose.

    keypoints: ``(17, 3)`` ``[x_px, y_px, confidence]`` in full-image pixels (NaN, 0 when not found).
    landmarks: ``(33, 4)`` MediaPipe ``[x_px, y_px, z_rel, visibility]`` or None.
    """

    keypoints: np.ndarray
    landmarks: np.ndarray | None = None
    found: bool = False
    box: tuple[float, float, float, float] | None = None
    """Bounding box ``(x0, y0, x1, y1)`` px of the confident keypoints."""
    reason: str = ""
    """Why nothing was found (empty when found)."""

    @staticmethod
    def empty(reason: str = "no person detected") -> Detection:
        kp = np.full((skeleton.NUM_JOINTS, 3), np.nan)
        kp[:, 2] = 0.0
        return Detection(keypoints=kp, found=False, reason=reason)


def _box(points: np.ndarray, conf: np.ndarray, min_conf: float = 0.3) -> tuple[float, float, float, float] | None:
    ok = (conf >= min_conf) & np.isfinite(points).all(axis=-1)
    if ok.sum() < 4:
        return None
    lo = points[ok].min(axis=0)
    hi = points[ok].max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


class PoseDetector:
    """A MediaPipe Pose instance (one tracker state) returning H36M-17 keypoints in pixels.

    Not thread-safe: use each instance from one thread at a time (one per camera).
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
    ) -> None:
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DetectorError(
                f"MediaPipe is not installed ({exc}). Install the pinned stack: pip install -r requirements.txt"
            ) from None
        try:
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=static_image_mode,
                model_complexity=MODEL_COMPLEXITY,
                smooth_landmarks=smooth_landmarks,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
        except Exception as exc:  # MediaPipe raises plain RuntimeError on model problems
            raise DetectorError(
                f"MediaPipe Pose could not start ({exc}). CrossView needs mediapipe==0.10.21 with its bundled "
                "model (complexity 1); reinstall with: pip install -r requirements.txt"
            ) from None
        self._lock = threading.Lock()
        self._closed = False

    def detect(self, image_bgr: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> Detection:
        """Detect the pose in a BGR ``(H, W, 3)`` uint8 image; ``offset`` is added to pixel coordinates."""
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
            return Detection.empty("invalid image")
        h, w = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        with self._lock:
            if self._closed:
                return Detection.empty("detector closed")
            result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return Detection.empty("no person detected")
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float64)
        lm[:, 0] = lm[:, 0] * w + offset[0]
        lm[:, 1] = lm[:, 1] * h + offset[1]
        lm[:, 2] *= w
        h36 = skeleton.from_mediapipe(lm[:, [0, 1, 3]])
        return Detection(keypoints=h36, landmarks=lm, found=True, box=_box(lm[:, :2], lm[:, 3]))

    def reset(self) -> None:
        """Forget the tracking state (the next image is searched from scratch)."""
        with self._lock:
            if not self._closed:
                self._pose.reset()

    def close(self) -> None:
        """Release MediaPipe's graph."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pose.close()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class PersonFollower:
    """Keeps one camera's detector on one person when several are in view.

    With no target yet, the full frame is searched; when the person found is off-centre, or
    nobody is found, the central half of the image is also searched, so that by default
    CrossView locks onto the person nearest the centre. Once locked, the detector runs on a crop around
    the target that moves with them. :meth:`select` retargets to the person at a clicked point.
    After ``lost_after`` frames without a detection the lock is released.
    """

    detector: PoseDetector
    margin: float = 0.35
    lost_after: int = 15
    _box: tuple[float, float, float, float] | None = field(default=None, init=False)
    _misses: int = field(default=0, init=False)
    _searches: int = field(default=0, init=False)
    _probe: PoseDetector | None = field(default=None, init=False)

    @property
    def target_box(self) -> tuple[float, float, float, float] | None:
        """The followed person's box ``(x0, y0, x1, y1)`` px, or None when not locked."""
        return self._box

    def select(self, x: float, y: float, image_size: tuple[int, int]) -> None:
        """Follow the person at pixel ``(x, y)`` (a click on that camera's view)."""
        _, h = image_size
        bw, bh = 0.3 * h, 0.8 * h  # a standing adult's box, before the first detection refines it
        self._box = (x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2)
        self._misses = 0
        self.detector.reset()  # its tracking state belongs to the previous person

    def release(self) -> None:
        """Go back to the default (nearest the centre)."""
        self._box = None
        self._misses = 0
        self._searches = 0
        self.detector.reset()

    def _crop(self, image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int]]:
        """The image region around ``box``, grown by ``margin`` of its size on each side."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = box
        mx = max((x1 - x0) * self.margin, 0.1 * h)
        my = max((y1 - y0) * self.margin, 0.1 * h)
        X0, Y0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
        X1, Y1 = int(min(w, x1 + mx)), int(min(h, y1 + my))
        return image[Y0:Y1, X0:X1], (X0, Y0)

    def _probe_detector(self) -> PoseDetector:
        if self._probe is None:
            self._probe = PoseDetector(static_image_mode=True)
        return self._probe

    def detect(self, image: np.ndarray) -> Detection:
        """Detect the followed person in a BGR image."""
        h, w = image.shape[:2]
        if self._box is None:
            det = self.detector.detect(image)
            off_centre = det.found and det.box is not None and abs((det.box[0] + det.box[2]) / 2 - w / 2) > 0.2 * w
            # Nobody found (several people can confuse the full-frame detector) or someone off-centre:
            # look for a person in the central half. When nobody is in view, only every 5th frame pays for it.
            self._searches += 1
            if off_centre or (not det.found and self._searches % 5 == 1):
                alt = self._probe_detector().detect(image[:, w // 4 : 3 * w // 4], offset=(w // 4, 0))
                if alt.found and alt.box is not None:
                    acx = (alt.box[0] + alt.box[2]) / 2
                    if not det.found or abs(acx - w / 2) < abs((det.box[0] + det.box[2]) / 2 - w / 2) - 0.05 * w:
                        det = alt
            if det.found:
                self._box = det.box
                self._searches = 0
            return det
        crop, off = self._crop(image, self._box)
        det = self.detector.detect(crop, offset=off)
        if det.found and det.box is not None:
            self._box = det.box
            self._misses = 0
        else:
            self._misses += 1
            if self._misses >= self.lost_after:
                self.release()
        return det

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
