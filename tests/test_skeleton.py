import numpy as np
import pytest

from core import skeleton as sk
from core.keypoints_io import load_openpose_folder
from tests.paths import POSE2SIM, need


def test_definition_matches_the_model_doc():
    assert len(sk.JOINT_NAMES) == sk.NUM_JOINTS == 17
    expected_bones = [
        (0, 1),
        (1, 2),
        (2, 3),
        (0, 4),
        (4, 5),
        (5, 6),
        (0, 7),
        (7, 8),
        (8, 9),
        (9, 10),
        (8, 11),
        (11, 12),
        (12, 13),
        (8, 14),
        (14, 15),
        (15, 16),
    ]
    assert sorted(map(tuple, sk.BONES.tolist())) == sorted(expected_bones)
    assert {tuple(p) for p in sk.LR_PAIRS.tolist()} == {(1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13)}
    assert sk.PARTS == ((1, 2, 3), (4, 5, 6), (0, 7, 8, 9, 10), (11, 12, 13), (14, 15, 16))
    assert sorted(j for part in sk.PARTS for j in part) == list(range(17))
    # mirror is an involution that swaps sides
    assert np.array_equal(sk.MIRROR[sk.MIRROR], np.arange(17))
    assert np.all(sk.SIDE[sk.MIRROR] == -sk.SIDE)
    # left/right bone pairs connect mirrored joints
    for r, left in sk.LR_BONE_PAIRS:
        assert sk.MIRROR[sk.BONES[r, 1]] == sk.BONES[left, 1]


def test_marker_names_follow_pose2sim_blazepose_spelling():
    blazepose = {
        "nose",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    }
    assert blazepose <= set(sk.MARKER_NAMES)
    assert len(set(sk.MARKER_NAMES)) == 17


def _mediapipe_standing():
    """A synthetic 33-landmark pose: x right, y down (image-like), with visibility."""
    lm = np.zeros((33, 4))
    lm[:, 3] = 0.9
    pts = {
        0: (0, -1.6),
        2: (0.03, -1.63),
        5: (-0.03, -1.63),
        7: (0.07, -1.6),
        8: (-0.07, -1.6),
        9: (0.02, -1.55),
        10: (-0.02, -1.55),
        11: (0.2, -1.4),
        12: (-0.2, -1.4),
        13: (0.25, -1.1),
        14: (-0.25, -1.1),
        15: (0.28, -0.85),
        16: (-0.28, -0.85),
        23: (0.1, -0.9),
        24: (-0.1, -0.9),
        25: (0.1, -0.5),
        26: (-0.1, -0.5),
        27: (0.1, -0.1),
        28: (-0.1, -0.1),
    }
    for i, (x, y) in pts.items():
        lm[i, :2] = (x, y)
    return lm


def test_mediapipe_mapping_derives_missing_joints_and_carries_confidence():
    lm = _mediapipe_standing()
    lm[9, 3] = 0.2  # a weak mouth landmark lowers only the joints derived from it
    h = sk.from_mediapipe(lm)
    assert h.shape == (17, 4)
    np.testing.assert_allclose(h[0, :3], (lm[23, :3] + lm[24, :3]) / 2)
    np.testing.assert_allclose(h[8, :3], (lm[11, :3] + lm[12, :3]) / 2)
    np.testing.assert_allclose(h[11, :3], lm[11, :3])  # left shoulder
    np.testing.assert_allclose(h[16, :3], lm[16, :3])  # right wrist
    assert h[10, 1] < h[9, 1]  # head top above the nose (y down)
    assert h[10, 3] == pytest.approx(0.2)
    assert h[9, 3] == pytest.approx(0.9)
    # batched over leading dims
    assert sk.from_mediapipe(np.stack([lm, lm])[None]).shape == (1, 2, 17, 4)


def test_missing_source_keypoint_makes_only_dependent_joints_missing():
    lm = _mediapipe_standing()
    lm[24, :3] = np.nan  # right hip lost
    h = sk.from_mediapipe(lm)
    assert np.isnan(h[[0, 1, 7], :3]).all()
    assert (h[[0, 1, 7], 3] == 0).all()
    assert np.isfinite(h[[2, 4, 8, 11, 16], :3]).all()


def test_body25b_mapping_on_real_openpose_files():
    kp = load_openpose_folder(need(POSE2SIM / "openpose_body25b" / "cam1"))
    h = sk.from_body25b(kp)
    assert h.shape == (100, 17, 3)
    assert np.nanmean(h[..., 2]) > 0.5
    # real person standing upright in a portrait video: head above pelvis above ankles (image y grows down)
    assert np.nanmedian(h[:, 10, 1]) < np.nanmedian(h[:, 0, 1]) < np.nanmedian(h[:, 3, 1])
    np.testing.assert_allclose(h[:, 1, :2], kp[:, 12, :2])  # right hip = BODY_25B 12


def test_bone_helpers():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(5, 17, 3))
    lengths = sk.bone_lengths(p)
    assert lengths.shape == (5, 16)
    np.testing.assert_allclose(lengths[:, 0], np.linalg.norm(p[:, 1] - p[:, 0], axis=-1))
    c, root = sk.root_centre(p)
    assert np.allclose(c[:, 0], 0) and root.shape == (5, 1, 3)
    assert sk.mpjpe(p, p + 1.0) == pytest.approx(0.0, abs=1e-12)
    assert sk.mpjpe(p, p + 1.0, root_aligned=False) == pytest.approx(np.sqrt(3))
