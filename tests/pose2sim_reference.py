"""The Pose2Sim balancing trial's 4-camera reference, as the 12 joints H36M shares exactly with BODY_25B."""

from __future__ import annotations

import numpy as np

from core import skeleton as sk
from tests.paths import POSE2SIM
from tests.trc_reader import read_trc

# reference TRC marker for each of the 12 joints H36M shares exactly with BODY_25B
TRC_NAMES = {
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


def reference12() -> np.ndarray:
    """The reference ``(100, 12, 3)`` m in the calibration's world frame, joints in ``core.skeleton.SHARED_12``."""
    names, _, ref, _ = read_trc(POSE2SIM / "reference_pose2sim_4cam.trc")
    ref_world = ref[..., [2, 0, 1]]  # the TRC's X, Y, Z are the calibration frame's Y, Z, X
    return ref_world[:, [names.index(TRC_NAMES[j]) for j in sk.SHARED_12]]
