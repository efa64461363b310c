"""What a replay shows, read off the GUI thread: :func:`load_replay_data`, and random access to a video's
frames (:class:`VideoReader`). No Qt.

Units: seconds (``time_s``), nanoseconds (capture times), pixels (frames), metres (3D).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import CrossViewError, SessionError
from core.session import STATUS_RECORDING, Poses, Session, is_recording_live


@dataclass
class ReplayData:
    """What the replay view shows, loaded off the GUI thread.

    ``frame_a``/``frame_b`` ``(P,)``: each pair's frame index in each video; ``t_a``/``t_b`` ``(P,)`` ns capture
    times; ``time_s`` ``(P,)`` seconds from the session's start; ``keypoints`` ``{camera: (P, 17, 3)}`` px or
    None; ``poses``: the 3D results or None; ``group``: the calibrated cameras (world frame, metres).
    """

    session: Session
    names: list[str]
    frame_a: np.ndarray
    frame_b: np.ndarray
    t_a: np.ndarray
    t_b: np.ndarray
    time_s: np.ndarray
    keypoints: dict[str, np.ndarray] | None
    poses: Poses | None
    group: Any
    world_up: str
    world_up_reason: str
    sizes: list[tuple[int, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_pairs(self) -> int:
        return len(self.time_s)

    @property
    def has_refined(self) -> bool:
        return self.poses is not None and self.poses.refined is not None


def load_replay_data(path: str | os.PathLike, allowed_up: Sequence[str] = ("+z", "-y", "+y")) -> ReplayData:
    """Open and check a session and read everything the replay view needs. SessionError when it cannot be shown."""
    from core.calibration_io import infer_world_up

    s = Session.open(path)
    if s.meta.status == STATUS_RECORDING:
        if is_recording_live(s.path):
            raise SessionError(f"session '{s.path.name}' is still being recorded; stop the recording to replay it.")
        raise SessionError(
            f"session '{s.path.name}' was not finished (the app stopped while recording). Recover it first "
            "(Sessions tab ▸ the recovery offer, or Refresh)."
        )
    ts = s.check(count_frames=False)
    pairs = s.pairs()
    a, b = s.names
    t_a = ts[a][pairs.index_a]
    t_b = ts[b][pairs.index_b]
    t0 = s.time_origin_ns(ts)
    time_s = ((t_a + t_b) // 2 - t0) / 1e9
    kps = s.keypoints()
    poses = s.poses()
    warnings: list[str] = []
    P = len(pairs)
    if poses is not None and len(poses.time_s) != P:
        warnings.append(f"poses3d.npz holds {len(poses.time_s)} pairs, the session {P}: process the session again.")
        poses = None
    if kps is not None and any(len(v) != P for v in kps.values()):
        warnings.append("keypoints2d.npz does not match the session's pairs: process the session again.")
        kps = None
    group = None
    up, why = "+z", "assumed (no calibration)"
    try:
        cal = s.calibration()
        group = cal.group
        up, why = infer_world_up(cal, cal.group, allowed=tuple(allowed_up))
    except CrossViewError as exc:
        warnings.append(str(exc))
    return ReplayData(
        session=s,
        names=[a, b],
        frame_a=pairs.index_a,
        frame_b=pairs.index_b,
        t_a=t_a,
        t_b=t_b,
        time_s=np.asarray(time_s, np.float64),
        keypoints=kps,
        poses=poses,
        group=group,
        world_up=up,
        world_up_reason=why,
        sizes=s.frame_sizes(),
        warnings=warnings,
    )


#: Forward jumps up to this many frames are decoded through (grab) rather than seeked: cheaper for videos
#: with few keyframes (H.264), and exact.
FORWARD_GRAB_MAX = 30


class VideoReader:
    """Random access to the frames of one video (cv2): sequential reads are cheap, short forward jumps grab
    through, other jumps seek. Not thread-safe: one thread at a time."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SessionError(f"the video '{self.path}' cannot be opened; is the file still there?")
        self._next = 0
        self.seeks = 0

    def read(self, k: int) -> np.ndarray | None:
        """Frame ``k`` (BGR ``(H, W, 3)`` uint8) or None when it cannot be decoded."""
        if k < self._next or k - self._next > FORWARD_GRAB_MAX:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, float(k))
            self.seeks += 1
            self._next = k
        while self._next < k:
            if not self._cap.grab():
                self._next = -(10**9)  # force a seek next time
                return None
            self._next += 1
        ok, img = self._cap.read()
        if not ok or img is None:
            self._next = -(10**9)
            return None
        self._next = k + 1
        return img

    def close(self) -> None:
        self._cap.release()
