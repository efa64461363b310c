"""Where the shared real data lives, for benchmarks, tests and tools: ``../shared/data`` beside the checkout, or
``$CROSSVIEW_SHARED_DATA``. Nothing here needs the data to exist; callers say what is missing."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSVIEW_SHARED_DATA", str(REPO.parent / "shared" / "data"))).expanduser()
SESSIONS = SHARED_DATA / "sessions"
POSE2SIM = SESSIONS / "pose2sim_balancing"
CALISCOPE = SESSIONS / "caliscope_2cam_charuco"

#: The Pose2Sim balancing trial's 4-camera reference TRC marker for each of the 12 joints H36M shares exactly with
#: OpenPose BODY_25B (``core.skeleton.SHARED_12``), by H36M joint index.
POSE2SIM_TRC_NAMES = {
    1: "RHip",
    2: "RKnee",
    3: "RAnkle",
    4: "LHip",
    5: "LKnee",
    6: "LAnkle",
    11: "LShoulder",
    12: "LElbow",
    13: "LWrist",
    14: "RShoulder",
    15: "RElbow",
    16: "RWrist",
}


def pose2sim_reference12():
    """The 4-camera reference ``(100, 12, 3)`` m in the calibration's world frame, joints in ``SHARED_12`` order."""
    from core import skeleton
    from core.export.trc import read_trc

    trc = read_trc(POSE2SIM / "reference_pose2sim_4cam.trc")
    ref_world = trc.points[..., [2, 0, 1]]  # the TRC's X, Y, Z are the calibration frame's Y, Z, X
    return ref_world[:, [trc.marker_names.index(POSE2SIM_TRC_NAMES[j]) for j in skeleton.SHARED_12]]
