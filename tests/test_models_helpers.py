"""Helpers (no tests) for the tests of models/: real mocap and real 2D from the shared data, skip when absent."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from core import skeleton
from tests.conftest import require_shared

POSE2SIM = ("sessions", "pose2sim_balancing")


@functools.lru_cache(maxsize=4)
def _motion(name: str):
    from models.mocap import load_deepmimic

    return load_deepmimic(require_shared("mocap", "deepmimic", f"humanoid3d_{name}.txt"))


def mocap_joints(name: str = "walk") -> np.ndarray:
    """Real mocap joints ``(F, 17, 3)`` m (DeepMimic clip), a copy."""
    return np.array(_motion(name).joints, dtype=np.float64)


def mocap_motions(names: tuple[str, ...] = ("walk", "run")) -> list:
    return [_motion(n) for n in names]


def rig(seed: int = 0):
    """A random two-camera rig from models.synthetic."""
    from models.synthetic import sample_rig

    return sample_rig(np.random.default_rng(seed))


def synthetic_samples(n_rigs: int = 2, names: tuple[str, ...] = ("walk", "run"), seed: int = 0, **kw) -> dict:
    from models.synthetic import make_stereo_samples

    return make_stereo_samples(mocap_motions(names), n_rigs, np.random.default_rng(seed), **kw)


@functools.lru_cache(maxsize=1)
def pose2sim_openpose_h36m() -> tuple[dict[str, np.ndarray], Path]:
    """Real OpenPose BODY_25B 2D of the pose2sim session as H36M-17 ``{cam_0k: (F, 17, 3)}`` + calibration path."""
    from core.keypoints_io import load_openpose_folder

    root = require_shared(*POSE2SIM)
    kps = {}
    for k in range(1, 5):
        raw = load_openpose_folder(root / "openpose_body25b" / f"cam{k}")
        kps[f"cam_0{k}"] = skeleton.from_body25b(raw)
    return kps, root / "Calib_qualisys.toml"


#: The two camera pairs of the training sessions: one with the real OpenPose 2D, one not processed.
TRAINING_CAMS = ("cam_01", "cam_04")
UNPROCESSED_CAMS = ("cam_03", "cam_04")


def pose2sim_training_sessions(root: Path) -> Path:
    """A sessions root made of the Pose2Sim balancing trial: ``balancing`` (cameras 01 + 04, the real OpenPose 2D
    written as its keypoints2d.npz, 100 frames) and ``unprocessed`` (03 + 04, no 2D); returns ``root``."""
    from core.keypoints_io import save_keypoints_npz
    from core.session.importing import import_videos
    from tests.paths import need

    data = require_shared(*POSE2SIM)
    videos = data / "videos"
    calib = need(data / "Calib_qualisys.toml")
    root.mkdir(parents=True, exist_ok=True)
    cams = list(TRAINING_CAMS)
    import_videos(need(videos / "cam01.mp4"), need(videos / "cam04.mp4"), calib, root / "balancing", cameras=cams)
    other = list(UNPROCESSED_CAMS)
    import_videos(videos / "cam03.mp4", videos / "cam04.mp4", calib, root / "unprocessed", cameras=other)
    kps, _ = pose2sim_openpose_h36m()
    save_keypoints_npz(root / "balancing" / "keypoints2d.npz", {c: kps[c] for c in cams}, np.arange(100) / 60.0)
    return root
