"""Input preparation for CV-UGCN: round trips, missing joints, view combination, one definition for numpy and
torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import skeleton
from core.errors import InputError
from models import prep
from tests.test_models_helpers import mocap_joints, rig


def _setup(n: int = 20, seed: int = 1):
    X = mocap_joints("run")[:n]
    group = rig(seed)
    cams = prep.CameraArrays.from_group(group)
    R = np.broadcast_to(cams.R, (n, 2, 3, 3))
    t = np.broadcast_to(cams.t, (n, 2, 3))
    return X, group, cams, R, t


def test_prepare_restore_finish_round_trip_and_nan_kept() -> None:
    X, _, cams, R, t = _setup()
    X = X.copy()
    X[3, 13] = np.nan  # a missing wrist
    X[7, 0] = np.nan  # a missing pelvis
    p = prep.prepare(X, R, t)
    assert p.x.shape == (20, 2, 17, 3) and p.root.shape == (20, 2, 3)
    assert np.isfinite(p.x).all()
    assert np.allclose(p.x[:, :, skeleton.ROOT], 0.0)
    # each view's input is the same pose, rotated: bone lengths agree across views
    assert np.allclose(skeleton.bone_lengths(p.x[:, 0]), skeleton.bone_lengths(p.x[:, 1]))
    out = prep.finish(prep.restore(p.x, p), p, None, None, None, mode="mean")
    assert np.isnan(out[3, 13]).all() and np.isnan(out[7, 0]).all()
    ok = np.isfinite(X).all(-1)
    assert np.allclose(out[ok], X[ok], atol=1e-9)


def test_fill_missing_uses_ancestors_and_mid_hips() -> None:
    X = mocap_joints("walk")[:5].copy()
    X[0, [12, 13]] = np.nan  # elbow and wrist: both take the shoulder
    X[1, 0] = np.nan  # pelvis: mid-hips
    X[2] = np.nan  # nothing at all
    filled, missing = prep.fill_missing(X)
    assert missing[0, 12] and missing[0, 13] and not missing[0, 11]
    assert np.allclose(filled[0, 12], X[0, 11]) and np.allclose(filled[0, 13], X[0, 11])
    assert np.allclose(filled[1, 0], X[1, [1, 4]].mean(0))
    assert missing[2].all() and np.isnan(filled[2]).all()
    p = prep.prepare(X, *_setup(5)[3:])
    assert p.empty.tolist() == [False, False, True, False, False]
    assert np.isfinite(p.x).all()


def test_prepare_rejects_bad_shape() -> None:
    with pytest.raises(InputError, match=r"\(F, 17, 3\)"):
        prep.prepare(np.zeros((4, 16, 3)), np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3)))


def test_the_geometric_steps_compute_the_same_on_torch_tensors() -> None:
    """One definition for both array kinds: given tensors, the steps return tensors equal to the numpy result."""
    X, _, cams, R, t = _setup()
    Rt, tt = torch.tensor(np.array(R)), torch.tensor(np.array(t))
    Xc = prep.world_to_cameras(X, R, t)
    Xt = prep.world_to_cameras(torch.tensor(X), Rt, tt)
    assert isinstance(Xt, torch.Tensor) and np.allclose(Xt.numpy(), Xc)
    back = prep.cameras_to_world(Xt, Rt, tt).numpy()
    assert np.allclose(back, X[:, None])
    K = np.broadcast_to(cams.K, (20, 2, 3, 3))
    assert np.allclose(prep.project_pinhole(Xt, torch.tensor(np.array(K))).numpy(), prep.project_pinhole(Xc, K))
    R21, t21 = prep.relative_pose_21(R, t)
    R21t, t21t = prep.relative_pose_21(Rt, tt)
    assert np.allclose(R21t.numpy(), R21) and np.allclose(t21t.numpy(), t21)
    assert np.allclose(np.einsum("fij,fnj->fni", R21, Xc[:, 0]) + t21[:, None], Xc[:, 1])
    p = prep.prepare(X, R, t)
    restored = prep.restore(torch.tensor(p.x), torch.tensor(p.root)).numpy()
    assert np.allclose(restored, prep.restore(p.x, p)) and np.allclose(restored, Xc)


def test_pinhole_projection_matches_the_camera_model_without_distortion() -> None:
    X, group, cams, R, t = _setup()
    Xc = prep.world_to_cameras(X, R, t)
    uv = prep.project_pinhole(Xc, np.broadcast_to(cams.K, (20, 2, 3, 3)))
    cam = group[0]
    from core.camera import project_points

    assert np.allclose(uv[:, 0], project_points(X, cam.K, np.zeros(5), cam.R, cam.t), atol=1e-6)
    # and undistorting the distorted projection lands on it
    und = prep.undistort_pairs(np.stack([c.project(X) for c in group], axis=1), cams)
    assert np.abs(und - uv).max() < 1e-3


def test_combine_views_prefers_the_pose_that_agrees_with_its_2d() -> None:
    X, _, cams, R, t = _setup()
    K = np.broadcast_to(cams.K, (20, 2, 3, 3))
    uv = prep.project_pinhole(prep.world_to_cameras(X, R, t), K)
    bad = X + np.array([0.05, -0.04, 0.03])  # 5-7 cm off
    Xw = np.stack([X, bad], axis=1)  # view 1's pose is right, view 2's is off
    conf = np.ones((20, 2, 17))
    full = prep.CameraArrays(K=K, dist=np.zeros((20, 2, 5)), R=np.array(R), t=np.array(t))
    out = prep.combine_views(Xw, uv, conf, full, mode="agreement")
    assert np.abs(out - X).max() < 2e-3
    assert np.allclose(prep.combine_views(Xw, mode="mean"), (X + bad) / 2)
    assert np.allclose(prep.combine_views(Xw, mode="view1"), X)
    swapped = prep.combine_views(Xw[:, ::-1], uv, conf, full, mode="agreement_both")
    assert np.abs(swapped - X).max() < 2e-3
    with pytest.raises(ValueError, match="combine mode"):
        prep.combine_views(Xw, mode="median")


def test_triangulate_pair_recovers_clean_real_motion() -> None:
    X, group, *_ = _setup()
    kp = np.stack([c.project(X) for c in group], axis=1)  # (F, 2, 17, 2) distorted
    kp = np.concatenate([kp, np.ones(kp.shape[:-1] + (1,))], axis=-1)
    kp[4, 1, 6, 2] = 0.0  # one view lost a joint -> NaN
    pts = prep.triangulate_pair(kp, group)
    assert np.isnan(pts[4, 6]).all()
    ok = np.isfinite(pts).all(-1)
    assert np.abs(pts[ok] - X[ok]).max() < 1e-4


def _rays_inputs(X, cams, R, t, kp_und, conf):
    p = prep.prepare(X, R, t)
    return p, prep.node_features("rays", p.x, p.root, kp_und, conf, cams.K, cams.R, cams.t)


def test_node_features_carry_detections_residuals_and_the_rigs_rays() -> None:
    X, _, cams, R, t = _setup()
    K = np.broadcast_to(cams.K, (20, 2, 3, 3))
    uv = prep.project_pinhole(prep.world_to_cameras(X, R, t), K)  # (F, 2, 17, 2) clean undistorted px
    conf = np.full((20, 2, 17), 0.9)
    conf[:, 1] = 0.2  # below core.triangulation.DEFAULT_MIN_CONFIDENCE: view 2 did not find them
    p, f = _rays_inputs(X, cams, R, t, uv, conf)
    assert f.shape == (20, 2, 17, prep.INPUT_CHANNELS["rays"]) and f.dtype == np.float32
    assert np.allclose(f[..., :3], p.x, atol=1e-6)  # the root-centred joints first
    # found in this view, found in the other: 1 or 0, not the detector's uncalibrated confidence value
    assert np.all(f[:, 0, :, 3] == 1.0) and np.all(f[:, 0, :, 4] == 0.0)
    assert np.all(f[:, 1, :, 3] == 0.0) and np.all(f[:, 1, :, 4] == 1.0)
    conf[:, 1] = 0.4
    assert np.all(_rays_inputs(X, cams, R, t, uv, conf)[1][..., 3:5] == 1.0)
    assert np.abs(f[..., 5:8]).max() < 1e-5  # the exact 3D reprojects onto its 2D: no residual
    own, other = f[..., 8:11], f[..., 11:14]
    assert np.allclose(np.linalg.norm(own, axis=-1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(other, axis=-1), 1.0, atol=1e-5)
    # the own ray points at the joint; the other camera's ray, in this camera's frame, is the joint minus the
    # other camera's centre: the angle between them is the rig's convergence at that joint
    Xc = p.x + p.root[:, :, None]
    assert np.allclose(own, Xc / np.linalg.norm(Xc, axis=-1, keepdims=True), atol=1e-5)
    cosang = (own * other).sum(-1)
    centres = np.stack([-cams.R[0, v].T @ cams.t[0, v] for v in range(2)])
    a, b = X - centres[0], X - centres[1]
    truth = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert np.allclose(cosang[:, 0], truth, atol=1e-5) and np.allclose(cosang[:, 1], truth, atol=1e-5)


def test_node_features_measure_the_2d_disagreement_and_mask_missing_joints() -> None:
    X, _, cams, R, t = _setup()
    K = np.broadcast_to(cams.K, (20, 2, 3, 3))
    uv = prep.project_pinhole(prep.world_to_cameras(X, R, t), K).copy()
    conf = np.ones((20, 2, 17))
    uv[:, 0, 13, 0] += 10.0  # view 1's left wrist 10 px to the right of the 3D's projection
    uv[2, 1, 5] = np.nan  # a joint view 2 did not find
    _, f = _rays_inputs(X, cams, R, t, uv, conf)
    z = prep.world_to_cameras(X, R, t)[:, 0, 13, 2]
    assert np.allclose(f[:, 0, 13, 5], -10.0 * z / cams.K[0, 0, 0, 0], atol=1e-5)  # metres at the joint
    assert np.allclose(f[:, 1, 13, 7], np.abs(f[:, 0, 13, 5]), atol=1e-6)  # its size, seen from the other view
    assert f[2, 1, 5, 3] == 0.0 and f[2, 0, 5, 4] == 0.0 and np.all(f[2, 1, 5, 5:7] == 0.0)  # missing: no trust
    assert np.isfinite(f).all()
    with pytest.raises(InputError, match="input kind"):
        prep.node_features("depth", np.zeros((1, 2, 17, 3)))
    assert np.array_equal(prep.node_features("xyz", f[..., :3]), f[..., :3])


def test_neighbour_index_keeps_each_window_inside_its_run() -> None:
    starts = np.array([1, 0, 0, 0, 1, 0, 1], bool)  # runs 0-3, 4-5, 6
    nbr = prep.neighbour_index(starts, past=2, future=1)
    assert nbr.shape == (7, 4)
    assert np.array_equal(nbr[:, 2], np.arange(7))  # the sample itself in column `past`
    assert nbr[0].tolist() == [0, 0, 0, 1] and nbr[3].tolist() == [1, 2, 3, 3]  # edges repeat the nearest frame
    assert nbr[4].tolist() == [4, 4, 4, 5] and nbr[6].tolist() == [6, 6, 6, 6]  # never into another run
    assert prep.neighbour_index(np.zeros(0, bool), 3, 0).shape == (0, 4)
    # a 60 fps take: every second frame (a model trained at 30 fps sees the same time span)
    assert prep.window_stride(np.array([15.0, 30.0, 50.0, 60.0, 120.0, np.nan, 0.0])).tolist() == [1, 1, 2, 2, 4, 1, 1]
    two = prep.neighbour_index(np.r_[True, np.zeros(9, bool)], past=2, future=1, stride=2)
    assert two[5].tolist() == [1, 3, 5, 7] and two[1].tolist() == [0, 0, 1, 3] and two[9].tolist() == [5, 7, 9, 9]
    per_row = prep.neighbour_index(np.r_[True, np.zeros(9, bool)], 1, 0, stride=np.r_[np.ones(5, int), np.full(5, 3)])
    assert per_row[4].tolist() == [3, 4] and per_row[8].tolist() == [5, 8]


def test_window_features_give_each_node_its_recent_track_relative_to_the_current_pelvis() -> None:
    X, _, cams, R, t = _setup()
    K = np.broadcast_to(cams.K, (20, 2, 3, 3))
    uv = prep.project_pinhole(prep.world_to_cameras(X, R, t), K)
    p, f = _rays_inputs(X, cams, R, t, uv, np.ones((20, 2, 17)))
    nbr = prep.neighbour_index(np.r_[True, np.zeros(19, bool)], past=3, future=0)
    w = prep.window_features(f, p.root, nbr, past=3, kind="rays")
    T = prep.TEMPORAL_CHANNELS["rays"]
    assert w.shape == (20, 2, 17, prep.input_channels("rays", 3, 0)) and w.dtype == np.float32
    assert np.array_equal(w[..., :14], f)  # the frame's own features first
    Xc = p.x + p.root[:, :, None]  # absolute camera frame
    for k, lag in enumerate((3, 2, 1)):  # oldest first
        prev = w[10, ..., 14 + k * T : 14 + (k + 1) * T]
        assert np.allclose(prev[..., :3], Xc[10 - lag] - p.root[10][:, None], atol=1e-5)  # re-rooted at frame 10
        assert np.array_equal(prev[..., 3:], f[10 - lag, ..., 3:8])  # found flags and residuals
    # torch gives the same (training builds the windows batch by batch on the device)
    wt = prep.window_features(
        torch.as_tensor(f), torch.as_tensor(p.root, dtype=torch.float32), torch.as_tensor(nbr), past=3, kind="rays"
    )
    assert np.allclose(wt.numpy(), w, atol=1e-5)
    assert np.array_equal(prep.window_features(f, p.root, nbr[:, 3:], past=0, kind="rays"), f)  # no window
