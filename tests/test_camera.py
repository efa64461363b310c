import cv2
import numpy as np
import pytest

from core.camera import (
    Camera,
    CameraGroup,
    cameras_for_frames,
    convergence_angle_deg,
    matrix_to_rodrigues,
    project_points,
    relative_pose,
    rodrigues_to_matrix,
    undistort_points,
)
from core.errors import InputError

K = np.array([[900.0, 0, 640], [0, 905.0, 360], [0, 0, 1]])
SIZE = (64, 48)


def _cam(name="a", dist=(-0.33, 0.12, 0.001, -0.002, -0.02), rvec=(0.1, -0.4, 0.05), t=(0.2, -0.1, 0.5)):
    return Camera(name, K, dist, rodrigues_to_matrix(np.array(rvec)), t, (1280, 720))


def test_rodrigues_round_trip_matches_opencv():
    rng = np.random.default_rng(1)
    rv = rng.normal(size=(20, 3))
    R = rodrigues_to_matrix(rv)
    ref = np.stack([cv2.Rodrigues(r)[0] for r in rv])
    np.testing.assert_allclose(R, ref, atol=1e-12)
    np.testing.assert_allclose(rodrigues_to_matrix(matrix_to_rodrigues(R)), R, atol=1e-12)
    np.testing.assert_allclose(rodrigues_to_matrix(np.zeros(3)), np.eye(3))


def test_projection_matches_cv2_projectpoints_with_strong_distortion():
    cam = _cam()
    rng = np.random.default_rng(2)
    X = rng.normal([0, 0, 3], [0.6, 0.6, 0.3], size=(4, 50, 3))  # batched leading dims
    uv = cam.project(X)
    assert uv.shape == (4, 50, 2)
    ref = cv2.projectPoints(X.reshape(-1, 3), cam.rvec, cam.t, K, cam.dist)[0].reshape(4, 50, 2)
    np.testing.assert_allclose(uv, ref, atol=1e-9)


def test_points_behind_the_camera_project_to_nan():
    cam = Camera("a", K)
    uv = project_points(np.array([[0, 0, -1.0], [0, 0, 2.0]]), K, np.zeros(5), np.eye(3), np.zeros(3))
    assert np.isnan(uv[0]).all() and np.isfinite(uv[1]).all()
    assert cam.size == (0, 0)


def test_undistort_inverts_distortion_to_subpixel_precision_even_with_k1_minus_033():
    cam = _cam()
    rng = np.random.default_rng(3)
    X = rng.normal([0, 0, 3], [0.8, 0.5, 0.3], size=(200, 3))
    distorted = cam.project(X)
    ideal = Camera("p", K, np.zeros(5), cam.R, cam.t, cam.size).project(X)
    und = undistort_points(distorted, K, cam.dist)
    assert np.max(np.abs(und - ideal)) < 1e-6
    # NaN in, NaN out; no distortion is a copy
    und_nan = cam.undistort(np.array([[np.nan, 1.0], [640.0, 360.0]]))
    assert np.isnan(und_nan[0]).all() and np.allclose(und_nan[1], [640, 360], atol=1e-9)


def test_relative_pose_and_origin_change():
    a, b = _cam("a"), _cam("b", rvec=(0.0, 0.6, 0.0), t=(-1.0, 0.0, 0.3))
    R_ab, t_ab = relative_pose(a, b)
    X = np.random.default_rng(4).normal(size=(10, 3))
    np.testing.assert_allclose(R_ab @ a.world_to_camera(X).T + t_ab[:, None], b.world_to_camera(X).T, atol=1e-12)
    g = CameraGroup([a, b]).with_origin("a")
    assert g.origin == "a"
    np.testing.assert_allclose(g["a"].R, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(g["a"].t, 0, atol=1e-12)
    # projections are unchanged when the world points move with the frame
    np.testing.assert_allclose(g["b"].project(a.world_to_camera(X)), b.project(X), atol=1e-9)
    axis_a = a.camera_to_world(np.array([0, 0, 1.0])) - a.center  # optical axes in the world
    axis_b = b.camera_to_world(np.array([0, 0, 1.0])) - b.center
    assert convergence_angle_deg(a, b) == pytest.approx(np.degrees(np.arccos(axis_a @ axis_b)))


def test_group_transform_keeps_projections():
    g = CameraGroup([_cam("a"), _cam("b", rvec=(0.0, 0.6, 0.0), t=(-1.0, 0.0, 0.3))])
    R = rodrigues_to_matrix(np.array([0.3, 0.2, -0.1]))
    t = np.array([0.5, -0.2, 1.0])
    g2 = g.transformed(R, t)
    X = np.random.default_rng(5).normal([0, 0, 3], 0.5, size=(10, 3))
    np.testing.assert_allclose(g2.project(X @ R.T + t), g.project(X), atol=1e-9)


def test_group_lookup_and_errors():
    g = CameraGroup([_cam("a"), _cam("b")], origin="a")
    assert g["b"].name == "b" and g[0].name == "a" and g.names == ["a", "b"]
    assert g.subset(["b", "a"]).names == ["b", "a"]
    assert g.projection_matrices().shape == (2, 3, 4)
    with pytest.raises(KeyError, match="no camera named 'c'"):
        g["c"]
    with pytest.raises(ValueError, match="unique"):
        CameraGroup([_cam("a"), _cam("a")])
    with pytest.raises(ValueError, match="origin"):
        CameraGroup([_cam("a")], origin="z")


def test_scaled_camera_projects_consistently():
    cam = _cam()
    half = cam.scaled_to((640, 360))
    X = np.array([[0.1, 0.2, 3.0]])
    np.testing.assert_allclose(half.project(X), cam.project(X) / 2, atol=1e-9)


def test_cameras_for_frames_scale_or_keep_or_refuse_other_sizes():
    K = [[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]
    group = CameraGroup([Camera(n, K, np.zeros(5), np.eye(3), [0, 0, 0], SIZE) for n in ("left", "right")])
    scaled, warn = cameras_for_frames(group, [(128, 96), SIZE])
    assert scaled[0].K[0, 0] == pytest.approx(100.0) and "scaled" in warn[0]
    kept, warn = cameras_for_frames(
        CameraGroup([c.scaled_to((1088, 1920)) for c in group]), [(1080, 1920), (1088, 1920)]
    )
    assert kept[0].size == (1088, 1920) and "crop" in warn[0]
    with pytest.raises(InputError, match="another aspect ratio"):
        cameras_for_frames(group, [(48, 64), SIZE])
