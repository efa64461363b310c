"""The Pose2Sim balancing trial's 4-camera reference, as the 12 joints H36M shares exactly with BODY_25B."""

from __future__ import annotations

import numpy as np

from bench.shared import POSE2SIM_TRC_NAMES
from core import skeleton as sk
from tests.paths import POSE2SIM
from tests.trc_reader import read_trc

# reference TRC marker for each of the 12 joints H36M shares exactly with BODY_25B (one definition)
TRC_NAMES = POSE2SIM_TRC_NAMES


def reference12() -> np.ndarray:
    """The reference ``(100, 12, 3)`` m in the calibration's world frame, joints in ``core.skeleton.SHARED_12``."""
    names, _, ref, _ = read_trc(POSE2SIM / "reference_pose2sim_4cam.trc")
    ref_world = ref[..., [2, 0, 1]]  # the TRC's X, Y, Z are the calibration frame's Y, Z, X
    return ref_world[:, [names.index(TRC_NAMES[j]) for j in sk.SHARED_12]]
