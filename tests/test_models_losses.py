"""Each CV-UGCN loss term is ~0 on consistent input and grows on perturbed input (real mocap poses)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import skeleton
from models import losses as L  # noqa: N812
from models import prep
from tests.test_models_helpers import mocap_joints, rig


def _consistent(n: int = 12, seed: int = 0):
    """Real mocap poses seen by a random rig: absolute camera-frame poses, their exact 2D and relative pose."""
    X = mocap_joints("walk")[:n]
    group = rig(seed)
    cams = prep.CameraArrays.from_group(group)
    R = np.broadcast_to(cams.R, (n, 2, 3, 3))
    t = np.broadcast_to(cams.t, (n, 2, 3))
    K = np.broadcast_to(cams.K, (n, 2, 3, 3))
    Xc = prep.world_to_cameras(X, R, t)
    uv = prep.project_pinhole(Xc, K)
    R21, t21 = prep.relative_pose_21(R, t)
    f = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    return {
        "X": f(Xc),
        "R21": f(R21),
        "t21": f(t21),
        "K": f(K),
        "target": f(uv),
        "conf": torch.ones(n, 2, 17, dtype=torch.float64),
        "bone": f(skeleton.bone_lengths(X)),
        "world": X,
    }


def test_all_terms_vanish_on_consistent_input() -> None:
    d = _consistent()
    cfg = L.LossConfig(bone_length=1.0, symmetry=1.0, temporal=0.0)
    total, terms = L.compute_losses(d["X"], d["R21"], d["t21"], d["K"], d["target"], d["conf"], cfg, d["bone"])
    assert set(terms) == {"transform", "reproj", "cross_reproj", "bone_dir", "bone_length", "symmetry"}
    for name, v in terms.items():
        assert float(v) < 1e-6, (name, float(v))
    assert float(total) < 1e-5


def test_transform_consistency_grows_with_disagreement_and_is_in_cm2() -> None:
    d = _consistent()
    X = d["X"].clone()
    X[:, 1] += torch.tensor([0.02, 0.0, 0.0], dtype=X.dtype)  # view 2 off by 2 cm
    v = float(L.transform_consistency(X, d["R21"], d["t21"]))
    assert v == pytest.approx(4.0, rel=1e-6)  # (2 cm)^2 in both directions


def test_root_relative_inputs_need_no_translation() -> None:
    """Centring both views on the same world point cancels t21; centring each view on its own pelvis does not."""
    d = _consistent()
    X = d["X"]
    root = X[:, :, :1]
    centred = X - root
    zeros = torch.zeros_like(d["t21"])
    assert float(L.transform_consistency(centred, d["R21"], zeros)) < 1e-8
    # same world point: view 2's root is R21 root_1 + t21 -> the absolute and centred forms agree exactly
    residual = torch.randn_like(X) * 0.01
    a = L.transform_consistency(X + residual, d["R21"], d["t21"])
    b = L.transform_consistency(centred + residual, d["R21"], zeros)
    assert float(a) == pytest.approx(float(b), rel=1e-9)
    # applying t21 to centred poses (the mistake) gives metres of error
    assert float(L.transform_consistency(centred, d["R21"], d["t21"])) > 1e3


def test_reprojection_terms_see_errors_in_their_own_view_and_across() -> None:
    d = _consistent()
    X = d["X"].clone()
    X[:, 0, 5] += torch.tensor([0.03, -0.02, 0.0], dtype=X.dtype)  # view 1's left knee moved
    single = L.reprojection(X, d["K"], d["target"], d["conf"])
    cross = L.cross_reprojection(X, d["R21"], d["t21"], d["K"], d["target"], d["conf"])
    assert float(single) > 1.0 and float(cross) > 1.0
    # the error is only in view 1's pose: single-view sees it in view 1, cross-view sees it carried into view 2
    conf_v2 = d["conf"].clone()
    conf_v2[:, 0] = 0
    assert float(L.reprojection(X, d["K"], d["target"], conf_v2)) < 1e-8
    assert float(L.cross_reprojection(X, d["R21"], d["t21"], d["K"], d["target"], conf_v2)) > 1.0
    # zero confidence removes a joint from the loss
    conf = d["conf"].clone()
    conf[:, 0, 5] = 0
    assert float(L.reprojection(X, d["K"], d["target"], conf)) < 1e-8


def test_reprojection_is_robust_to_a_gross_outlier_target() -> None:
    d = _consistent()
    X = d["X"].clone().requires_grad_(True)
    target = d["target"].clone()
    target[0, 0, 13] += 400.0  # a gross outlier in one 2D target
    target[1, 0, 13] += 15.0  # a moderate error
    grads = {}
    for kind in ("l2", "huber", "cauchy"):
        X.grad = None
        L.reprojection(X, d["K"], target, d["conf"], robust_kind=kind, robust_scale_px=10.0).backward()
        g = X.grad[:, 0, 13].norm(dim=-1)
        grads[kind] = (float(g[0]), float(g[1]))
    # l2 pulls the outlier joint hardest; huber bounds the pull; cauchy pulls it less than the moderate error
    assert grads["l2"][0] > 5 * grads["huber"][0]
    assert grads["cauchy"][0] < grads["cauchy"][1]


def test_bone_direction_cosine() -> None:
    d = _consistent()
    X = d["X"].clone()
    assert float(L.bone_direction(X, d["R21"])) < 1e-9
    X[:, 1, 13] = X[:, 1, 12] + (X[:, 1, 12] - X[:, 1, 11])  # view 2's forearm points along the upper arm
    v = float(L.bone_direction(X, d["R21"]))
    assert v > 1e-3
    # a pure scaling of one view's pose keeps every direction
    assert float(L.bone_direction(d["X"] * torch.tensor([1.0, 1.2])[None, :, None, None], d["R21"])) < 1e-9


def test_bone_length_and_symmetry() -> None:
    d = _consistent()
    X = d["X"]
    root = X[:, :, :1]
    bigger = (X - root) * 1.1 + root
    assert float(L.bone_length(X, d["bone"])) < 1e-8
    assert float(L.bone_length(bigger, d["bone"])) > 1.0
    nan_target = d["bone"].clone()
    nan_target[:, :8] = float("nan")  # unknown targets are skipped, not propagated
    assert torch.isfinite(L.bone_length(bigger, nan_target))
    assert float(L.symmetry(bigger)) < 1e-8  # a uniformly scaled symmetric body stays symmetric
    lopsided = X.clone()
    lopsided[:, :, 3] += (X[:, :, 3] - X[:, :, 2]) * 0.2  # right shin 20% longer
    assert float(L.symmetry(lopsided)) > 1.0


def test_temporal_smoothness_windows() -> None:
    d = _consistent(n=12)
    X0 = d["X"][:1]
    v = torch.tensor([0.01, 0.0, 0.005], dtype=X0.dtype)
    steady = X0 + torch.arange(12, dtype=X0.dtype)[:, None, None, None] * v  # constant velocity
    assert float(L.temporal_smoothness(steady, window=4)) < 1e-10
    jumpy = steady.clone()
    jumpy[5] += 0.03
    assert float(L.temporal_smoothness(jumpy, window=4)) > 1.0
    # windows are independent: a jump between two windows is not a jump
    between = steady.clone()
    between[4:] += 0.5
    assert float(L.temporal_smoothness(between, window=4)) < 1e-10
    assert float(L.temporal_smoothness(jumpy, window=1)) == 0.0


def test_config_presets_switch_terms() -> None:
    assert L.LossConfig.preset("paper").active() == ("transform", "reproj", "cross_reproj", "bone_dir")
    assert L.LossConfig.preset("paper").bone_dir == pytest.approx(0.1)
    assert L.LossConfig.preset("2d-only").active() == ("reproj", "cross_reproj")
    assert {"bone_length", "symmetry", "temporal"} <= set(L.LossConfig.preset("structure-heavy").active())
    with pytest.raises(ValueError, match="unknown loss preset"):
        L.LossConfig.preset("nope")
    cfg = L.LossConfig.from_dict({**L.LossConfig(symmetry=0.3).to_dict(), "future_term": 1.0})
    assert cfg.symmetry == pytest.approx(0.3)
    d = _consistent()
    X = d["X"] + 0.01 * torch.randn_like(d["X"])
    total, terms = L.compute_losses(
        X, d["R21"], d["t21"], d["K"], d["target"], d["conf"], L.LossConfig.preset("2d-only")
    )
    assert set(terms) == {"reproj", "cross_reproj"}
    assert float(total) == pytest.approx(float(terms["reproj"] + terms["cross_reproj"]))
