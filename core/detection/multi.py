"""Several people per frame: MediaPipe Tasks ``PoseLandmarker`` on the bundled full model, offline.

:class:`MultiPoseDetector` returns every person found, as :class:`core.detection.single.Detection` objects in
full-image pixels, after :func:`suppress_duplicates` (the landmarker sometimes reports one person twice). In
VIDEO mode (the default, for live use and offline processing of a recording in order) the landmarker tracks the
people from frame to frame; IMAGE mode treats every image on its own.

MediaPipe's person detector itself seldom reports a second person who overlaps the first (on the composited
bystander of ``tools.composite_bystander``, 1 person in about 90 % of frames, in either mode; searching again with
the found people painted out found nobody more). Who is who is therefore settled in 3D, across the two views.

**Speed.** In VIDEO mode the landmarker runs its person detector on every frame in which it tracks fewer people
than ``num_poses``. Measured on the demo video (1080x1920, this 2-core CPU): ``num_poses=1`` 22.7 ms per frame,
``num_poses=2`` or 3 with one person in view 33 ms (``mp.solutions.pose``: 20.7 ms). So a VIDEO-mode detector keeps
one landmarker per head-count, runs the one for as many people as it currently tracks (no detector run while all
stay tracked), and searches the whole frame with ``num_poses`` every ``search_every`` frames (and as soon as it
tracks nobody; losing one of several drops to the smaller head-count); a newcomer is found within that many
frames. Counting frames, not seconds, keeps the result a function of the frames alone (live and offline runs of
the same frames agree).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from core import skeleton
from core.detection.bundle import pose_bundle
from core.detection.single import Detection, DetectorError, _box

#: Most people one frame returns (each costs one landmark-model run, about 15 ms here).
DEFAULT_NUM_POSES = 3
#: VIDEO mode searches the whole frame for newcomers every this many frames (0.5 s at 30 fps).
DEFAULT_SEARCH_EVERY = 15
#: Two detections are one person when their boxes overlap this much (intersection over union) ...
NMS_IOU = 0.5
#: ... or when their confident landmarks lie within this fraction of the box height of each other (median).
NMS_KEYPOINT_FRACTION = 0.08


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``(N, 4)`` and ``(M, 4)`` ``x0, y0, x1, y1`` px -> ``(N, M)``."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def suppress_duplicates(
    dets: list[Detection], iou: float = NMS_IOU, keypoint_fraction: float = NMS_KEYPOINT_FRACTION
) -> list[Detection]:
    """Non-maximum suppression: drop a detection that repeats a more confident one (box IoU or landmarks).

    Confidence is the mean keypoint confidence. Order of the result: most confident first.
    """
    found = [d for d in dets if d.found and d.box is not None]
    if len(found) < 2:
        return found
    score = np.array([np.nanmean(d.keypoints[:, 2]) for d in found])
    order = np.argsort(-score)
    found = [found[i] for i in order]
    boxes = np.array([d.box for d in found], dtype=np.float64)
    kp = np.stack([d.keypoints for d in found])  # (N, J, 3)
    overlap = _iou(boxes, boxes)
    both = (kp[:, None, :, 2] > 0.5) & (kp[None, :, :, 2] > 0.5)
    dist = np.linalg.norm(kp[:, None, :, :2] - kp[None, :, :, :2], axis=-1)
    med = np.nanmedian(np.where(both, dist, np.nan), axis=-1) if both.any() else np.full(overlap.shape, np.nan)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    same = (overlap > iou) | (np.nan_to_num(med, nan=np.inf) < keypoint_fraction * height[:, None])
    keep: list[int] = []
    for i in range(len(found)):  # N <= num_poses: a handful
        if not any(same[i, k] for k in keep):
            keep.append(i)
    return [found[i] for i in keep]


class MultiPoseDetector:
    """A Tasks ``PoseLandmarker`` (one tracker state) returning every person as H36M-17 keypoints in pixels.

    Not thread-safe: use each instance from one thread (one per camera). ``video=True`` uses VIDEO mode, which
    needs increasing timestamps: :meth:`detect_all` takes the frame time in seconds (or counts frames at 30 fps).
    """

    kind = "multi"

    def __init__(
        self,
        num_poses: int = DEFAULT_NUM_POSES,
        video: bool = True,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        search_every: int = DEFAULT_SEARCH_EVERY,
    ) -> None:
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError as exc:  # pragma: no cover - depends on the install
            msg = f"MediaPipe is not installed ({exc}). Install: pip install -r requirements.txt"
            raise DetectorError(msg) from None
        self._mp = mp
        self.video = bool(video)
        self.num_poses = max(1, int(num_poses))
        self.search_every = max(1, int(search_every))

        def create(n: int):
            options = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(pose_bundle())),
                running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
                num_poses=n,
                min_pose_detection_confidence=min_detection_confidence,
                min_pose_presence_confidence=min_presence_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
            return vision.PoseLandmarker.create_from_options(options)

        self._create = create
        self._landmarkers: dict[int, object] = {}
        try:
            self._landmarker_for(self.num_poses)
        except Exception as exc:  # MediaPipe raises plain RuntimeError on model problems
            raise DetectorError(
                f"MediaPipe's PoseLandmarker could not start ({exc}). Delete the cached bundle in "
                f"'{pose_bundle().parent}' and retry, or choose the 'single' detector."
            ) from None
        self._lock = threading.Lock()
        self._closed = False
        self._last_ms = -1
        self._t0_s: float | None = None
        self._tracked = 0  # people the head-count landmarker follows (0: search next frame)
        self._since_search = 0  # frames since the last full search

    def _close_landmarkers(self) -> None:
        for lm in self._landmarkers.values():
            lm.close()  # type: ignore[attr-defined]
        self._landmarkers.clear()

    def _landmarker_for(self, n: int):
        """The landmarker for ``n`` people (made on first use; VIDEO mode keeps one per head-count)."""
        if n not in self._landmarkers:
            self._landmarkers[n] = self._create(n)
        return self._landmarkers[n]

    def _timestamp_ms(self, t_s: float | None) -> int:
        """MediaPipe's frame time (ms), counted from the first frame: the landmarker smooths over these times, so
        the same frames give the same landmarks whatever the clock's origin (a live clock, a file's times)."""
        if t_s is not None and self._t0_s is None:
            self._t0_s = float(t_s)
        ms = self._last_ms + 33 if t_s is None else int(round((t_s - (self._t0_s or 0.0)) * 1000.0))
        ms = max(ms, self._last_ms + 1)  # VIDEO mode refuses a timestamp that does not increase
        self._last_ms = ms
        return ms

    def _video_people(self, image, ms: int) -> list[Detection]:
        """VIDEO mode: the head-count landmarker, or a full search when it is due or nobody is tracked."""
        search = self._tracked == 0 or self._since_search + 1 >= self.search_every
        n = self.num_poses if search else self._tracked
        result = self._landmarker_for(n).detect_for_video(image, ms)  # type: ignore[attr-defined]
        people = suppress_duplicates(self._people(result, (image.height, image.width)))
        self._since_search = 0 if search else self._since_search + 1
        if search or len(people) < self._tracked:
            self._tracked = min(len(people), self.num_poses)
        return people

    def detect_all(self, image_bgr: np.ndarray, t_s: float | None = None) -> list[Detection]:
        """Every person in a BGR ``(H, W, 3)`` uint8 image, most confident first (empty when none)."""
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
            return []
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        with self._lock:
            if self._closed:
                return []
            image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
            if self.video:
                return self._video_people(image, self._timestamp_ms(t_s))
            result = self._landmarker_for(self.num_poses).detect(image)  # type: ignore[attr-defined]
        return suppress_duplicates(self._people(result, rgb.shape))

    @staticmethod
    def _people(result, shape: tuple[int, ...]) -> list[Detection]:
        """The landmarker's people as Detections in pixels of an image of ``shape``."""
        h, w = shape[:2]
        out = []
        for person in result.pose_landmarks:
            lm = np.array([(p.x * w, p.y * h, p.z * w, p.visibility) for p in person], dtype=np.float64)
            h36 = skeleton.from_mediapipe(lm[:, [0, 1, 3]])
            out.append(Detection(keypoints=h36, landmarks=lm, found=True, box=_box(lm[:, :2], lm[:, 3])))
        return out

    def detect(self, image_bgr: np.ndarray, t_s: float | None = None) -> Detection:
        """The most confident person only (the single-person interface)."""
        dets = self.detect_all(image_bgr, t_s)
        return dets[0] if dets else Detection.empty("no person detected")

    def reset(self) -> None:
        """Forget the tracking state (VIDEO mode restarts from a full-frame search)."""
        if not self.video:
            return
        with self._lock:
            if self._closed:
                return
            self._close_landmarkers()
            self._tracked = 0

    def close(self) -> None:
        """Release MediaPipe's graphs."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close_landmarkers()

    def __enter__(self) -> MultiPoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
