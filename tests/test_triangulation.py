import itertools

import cv2
import numpy as np
import pytest

from core import skeleton as sk
from core.calibration_io import load_calibration
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.keypoints_io import load_openpose_folder
from core.triangulation import dlt, triangulate
from tests.paths import POSE2SIM, need
from tests.pose2sim_reference import reference12


@pytest.fixture(scope="module")
def pose2sim():
    cal = load_calibration(need(POSE2SIM / "Calib_qualisys.toml"))
    kp = np.stack(
        [sk.from_body25b(load_openpose_folder(POSE2SIM / "openpose_body25b" / f"cam{i}")) for i in range(1, 5)]
    )
    return cal.group, kp, reference12()


def _median_mm(points, ref12):
    return float(np.nanmedian(np.linalg.norm(points[:, list(sk.SHARED_12)] - ref12, axis=-1)) * 1000)


def test_four_views_of_real_openpose_match_pose2sim_reference(pose2sim):
    group, kp, ref12 = pose2sim
    plain = triangulate(kp[..., :2], kp[..., 2], group, reject_outlier_views=False)
    robust = triangulate(kp[..., :2], kp[..., 2], group)
    assert plain.points.shape == (100, 17, 3)
    assert plain.valid[:, list(sk.SHARED_12)].mean() > 0.99
    assert _median_mm(plain.points, ref12) <= 16.0
    assert _median_mm(robust.points, ref12) <= 13.0
    assert _median_mm(robust.points, ref12) < _median_mm(plain.points, ref12)
    # rejection drops views only where they were far off
    assert robust.views_used.sum() < plain.views_used.sum()
    assert np.nanmedian(robust.reprojection_error_px) < np.nanmedian(plain.reprojection_error_px)


def test_every_camera_pair_triangulates_real_data(pose2sim):
    group, kp, ref12 = pose2sim
    figures = {}
    for a, b in itertools.combinations(range(4), 2):
        sub = group.subset([group.names[a], group.names[b]])
        tri = triangulate(kp[[a, b], ..., :2], kp[[a, b], ..., 2], sub)
        figures[f"{a + 1}+{b + 1}"] = _median_mm(tri.points, ref12)
        assert (tri.n_views <= 2).all()
    print("two-view median mm vs reference:", {k: round(v, 1) for k, v in figures.items()})
    assert all(v < 80 for v in figures.values())
    assert figures["1+4"] < figures["1+3"]  # the data README: 01+03 is the hardest pair


def _synthetic_rig():
    K = [[900, 0, 640], [0, 900, 360], [0, 0, 1]]
    a = Camera("a", K, [-0.2, 0.05, 0.001, 0.0, 0.0], np.eye(3), [0, 0, 0], (1280, 720))
    b = Camera(
        "b",
        K,
        [-0.1, 0.02, 0.0, 0.001, 0.0],
        rodrigues_to_matrix(np.array([0, -0.6, 0.05])),
        [1.2, 0.05, 0.4],
        (1280, 720),
    )
    c = Camera("c", K, [0, 0, 0, 0, 0], rodrigues_to_matrix(np.array([0.1, 0.5, 0])), [-1.0, 0.1, 0.3], (1280, 720))
    return CameraGroup([a, b, c])


@pytest.mark.parametrize("noise_px", [0.0, 2.0, 25.0])
def test_dlt_agrees_with_cv2_triangulatepoints(noise_px):
    g = _synthetic_rig().subset(["a", "b"])
    rng = np.random.default_rng(7)
    X = rng.normal([0, 0, 3], [0.5, 0.5, 0.3], size=(500, 3))
    uv = g.project(X) + rng.normal(0, noise_px, size=(2, 500, 2))
    P = g.projection_matrices()
    ours = dlt(P, uv, np.ones((2, 500)))
    h = cv2.triangulatePoints(P[0], P[1], uv[0].T.copy(), uv[1].T.copy())
    ref = (h[:3] / h[3]).T
    rel = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert rel.max() < 1e-6


def test_triangulate_with_distortion_recovers_truth_for_any_view_count():
    g = _synthetic_rig()
    rng = np.random.default_rng(8)
    X = rng.normal([0, 0, 3], [0.4, 0.4, 0.2], size=(30, 17, 3))
    uv = g.project(X)
    conf = np.ones(uv.shape[:-1])
    for names in (["a", "b"], ["a", "b", "c"]):
        sub = g.subset(names)
        idx = [g.names.index(n) for n in names]
        tri = triangulate(uv[idx], conf[idx], sub)
        assert np.abs(tri.points - X).max() < 1e-6
        assert np.nanmax(tri.reprojection_error_px) < 1e-5
        assert (tri.n_views == len(names)).all()


def test_missing_and_low_confidence_joints_come_out_nan_with_a_flag():
    g = _synthetic_rig()
    rng = np.random.default_rng(9)
    X = rng.normal([0, 0, 3], 0.3, size=(4, 17, 3))
    uv = g.project(X)
    conf = np.ones(uv.shape[:-1])
    uv[0, 0, 3] = np.nan  # joint 3 lost in view a, frame 0
    conf[1, 0, 3] = 0.1  # and weak in view b: only view c is left
    conf[2, 0, 3] = 0.0
    conf[0, 1, 5] = 0.0  # frame 1, joint 5: two good views remain
    tri = triangulate(uv, conf, g)
    assert np.isnan(tri.points[0, 3]).all() and tri.n_views[0, 3] == 0 and not tri.valid[0, 3]
    assert np.isnan(tri.reprojection_error_px[0, 3])
    assert tri.n_views[1, 5] == 2 and np.allclose(tri.points[1, 5], X[1, 5], atol=1e-6)
    assert not tri.views_used[0, 1, 5] or tri.views_used[:, 1, 5].sum() == 2


def test_outlier_view_is_rejected_with_three_views():
    g = _synthetic_rig()
    rng = np.random.default_rng(10)
    X = rng.normal([0, 0, 3], 0.3, size=(10, 17, 3))
    uv = g.project(X)
    uv[2, :, 4] += 80.0  # camera c is grossly wrong on joint 4
    tri = triangulate(uv, np.ones(uv.shape[:-1]), g)
    assert np.abs(tri.points[:, 4] - X[:, 4]).max() < 1e-6
    assert not tri.views_used[2, :, 4].any()


def test_bad_shapes_are_rejected():
    g = _synthetic_rig()
    with pytest.raises(ValueError, match="points2d must be"):
        triangulate(np.zeros((2, 5, 17, 2)), np.zeros((2, 5, 17)), g)
    with pytest.raises(ValueError, match="confidence must be"):
        triangulate(np.zeros((3, 5, 17, 2)), np.zeros((3, 5, 16)), g)
