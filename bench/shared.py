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


#: Caliscope's own bundle-adjusted calibration of the two-webcam ChArUco session (``CALISCOPE``), from the public
#: caliscope project's ``tests/sessions/charuco_calibration_2_cam/config.toml`` (BSD-2-Clause): per camera K (px),
#: distortion (k1, k2, p1, p2, k3) and the world-to-camera rotation matrix and translation (metres).
CALISCOPE_REFERENCE = {
    "cam_0": {
        "K": [[903.550124089999, 0.0, 618.3086297620227], [0.0, 907.8788668762852, 394.213230569746], [0, 0, 1]],
        "dist": [
            -0.3320992998866297,
            0.04641968621160267,
            -0.004295771569519648,
            0.004113240100199701,
            0.0665682301495769,
        ],
        "R": [
            [0.5302040555527485, -0.8353410787251668, -0.14522032113203856],
            [-0.13087387636468498, 0.08859307015233471, -0.9874326794299774],
            [0.8377085937011143, 0.5425463575725654, -0.06235191997078319],
        ],
        "t": [0.12300856355436324, -0.20907747237613664, 0.6679490544839296],
    },
    "cam_1": {
        "K": [[760.3305587590094, 0.0, 630.0834586308533], [0.0, 761.0214920664032, 372.2111850875609], [0, 0, 1]],
        "dist": [
            0.09857460999203672,
            -0.2196844398091716,
            0.0004112118034431541,
            -0.0026048045376547454,
            0.08066364623684687,
        ],
        "R": [
            [-0.720246286828973, -0.6528906505179072, 0.23447619234237946],
            [-0.3098376306753893, 0.00033990280789523346, -0.9507894231024774],
            [0.6206818258387603, -0.7574520994309704, -0.20253490598185134],
        ],
        "t": [0.30872148305699454, -0.14760639347661925, 0.8486976063733689],
    },
}


def caliscope_reference():
    """Caliscope's calibration of its session as a ``core.camera.CameraGroup`` (1280x720, metres)."""
    from core.camera import Camera, CameraGroup

    cams = [Camera(n, c["K"], c["dist"], c["R"], c["t"], (1280, 720)) for n, c in CALISCOPE_REFERENCE.items()]
    return CameraGroup(cams)


def relative_pose_error(group_a, group_b) -> tuple[float, float]:
    """How far camera 1's pose relative to camera 0 differs between two groups: ``(rotation deg, translation m)``."""
    import numpy as np

    from core.camera import relative_pose

    Ra, ta = relative_pose(group_a[0], group_a[1])
    Rb, tb = relative_pose(group_b[0], group_b[1])
    angle = np.degrees(np.arccos(np.clip((np.trace(Ra @ Rb.T) - 1) / 2, -1.0, 1.0)))
    return float(angle), float(np.linalg.norm(ta - tb))
