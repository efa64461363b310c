"""What a stream sends: :class:`StreamFrame` (one person's 3D at one instant, world metres, Z up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError
from core.up_axis import rotation_to_z_up

if TYPE_CHECKING:
    from core.pipeline import PoseResult

#: Which 3D a stream sends: the triangulated ("raw"), the refined (coarse where refinement is off) or the
#: display-smoothed one (what the 3D view shows).
SOURCES: tuple[str, ...] = ("raw", "refined", "smoothed")


@dataclass(frozen=True)
class StreamFrame:
    """One frame to stream.

    ``t_s`` seconds (capture time, or the session's time on replay); ``joints`` ``(17, 3)`` m, H36M-17, world
    frame with Z up (:func:`core.up_axis.rotation_to_z_up`), NaN where unknown; ``confidence`` ``(17,)`` in
    ``[0, 1]`` (the lower of the two views' 2D confidences); ``person`` the 3D track id (None: unknown);
    ``refined``: the joints went through the learned refinement.
    """

    t_s: float
    joints: np.ndarray
    confidence: np.ndarray
    person: int | None = None
    refined: bool = False


def check_source(source: str) -> str:
    """``source`` checked against :data:`SOURCES`."""
    if source not in SOURCES:
        raise InputError(f"unknown stream source {source!r}; choose one of: {', '.join(SOURCES)}.")
    return source


def frame_from_result(result: PoseResult, source: str, world_up: str) -> StreamFrame | None:
    """The :class:`StreamFrame` of a live result (None when it has no 3D).

    ``source``: one of :data:`SOURCES`; ``world_up``: the calibration world's up axis.
    """
    if result.coarse is None:
        return None
    refined = source != "raw" and result.refined is not None
    if source == "smoothed" and result.display is not None:
        pts = result.display
    else:
        pts = result.refined if refined else result.coarse
    joints = np.asarray(pts, dtype=np.float64) @ rotation_to_z_up(world_up).T
    conf = np.clip(np.min(np.asarray(result.keypoints2d)[..., 2], axis=0), 0.0, 1.0)
    track = int(result.people.followed) if result.people is not None else -1
    return StreamFrame(
        t_s=result.t_ns / 1e9, joints=joints, confidence=conf, person=track if track >= 0 else None, refined=refined
    )
