"""2D human pose detection, mapped to H36M-17.

Two backends run the MediaPipe Pose model that ships in ``mediapipe==0.10.21`` (offline, complexity 1):

- ``"multi"`` (:class:`MultiPoseDetector`, ``multi.py``): the Tasks ``PoseLandmarker`` with several people per
  frame, on a ``.task`` bundle built once from the installed wheel (``bundle.py``), duplicates removed by
  non-maximum suppression. Who is followed is decided later, in 3D (``core.association``, ``core.tracking``).
- ``"single"`` (:class:`PoseDetector`, ``single.py``): the legacy ``mp.solutions.pose``, one person per frame,
  kept on a person by :class:`PersonFollower`'s moving crop.

:func:`detector_factory` makes one detector of a backend (one per camera: each keeps its own tracking state).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from core.detection.multi import MultiPoseDetector, suppress_duplicates
from core.detection.single import Detection, DetectorError, PersonFollower, PoseDetector


class DetectorKind(StrEnum):
    """Which 2D detector backend runs."""

    MULTI = "multi"
    SINGLE = "single"


#: The backend used when none is chosen.
DEFAULT_DETECTOR = DetectorKind.MULTI

#: What the UI shows for each backend.
DETECTOR_LABELS = {
    DetectorKind.MULTI: "MediaPipe Tasks, several people",
    DetectorKind.SINGLE: "MediaPipe solutions, one person",
}


def detector_kind(value: str | DetectorKind) -> DetectorKind:
    """Parse a backend name ("multi" or "single"); raises DetectorError naming the choices."""
    try:
        return DetectorKind(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in DetectorKind)
        raise DetectorError(f"unknown detector '{value}': choose one of {choices}.") from None


def detector_factory(
    kind: str | DetectorKind = DetectorKind.MULTI, offline: bool = False
) -> Callable[[], PoseDetector | MultiPoseDetector]:
    """A zero-argument factory of one detector of ``kind`` (call it on the thread that will use it).

    ``offline`` (Process): the several-people detector searches every frame afresh instead of tracking between
    searches; 10 ms more per frame, measured more accurate on the real pairs (``bench.people``).
    """
    if detector_kind(kind) is not DetectorKind.MULTI:
        return PoseDetector
    if offline:
        return lambda: MultiPoseDetector(search_every=1)
    return MultiPoseDetector


__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTOR_LABELS",
    "Detection",
    "DetectorError",
    "DetectorKind",
    "MultiPoseDetector",
    "PersonFollower",
    "PoseDetector",
    "detector_factory",
    "detector_kind",
    "suppress_duplicates",
]
