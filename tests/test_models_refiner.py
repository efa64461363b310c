"""Refiner on real 2D (pose2sim OpenPose, two calibrated cameras): shapes, NaN handling, identity, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.calibration_io import load_calibration
from core.errors import InputError, ModelError
from models import prep
from models.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, save_checkpoint
from models.cvugcn import CVUGCN, CVUGCNConfig
from models.refiner import Refiner, refine_points
from tests.test_models_helpers import pose2sim_openpose_h36m

PAIR = ("cam_01", "cam_04")


@pytest.fixture(scope="module")
def real_pair():
    kps, calib = pose2sim_openpose_h36m()
    group = load_calibration(calib).group.subset(PAIR)
    kp2d = np.stack([kps[c] for c in PAIR], axis=1)  # (F, 2, 17, 3)
    kp2d[10, 0, 13, 2] = 0.0  # a joint lost in one view -> not triangulated
    kp2d[20, 1, :, 2] = 0.0  # nobody found in one view -> an empty frame
    coarse = prep.triangulate_pair(kp2d, group)
    assert np.isnan(coarse[10, 13]).all() and np.isnan(coarse[20]).all()
    return kp2d, coarse, group


def _perturbed_checkpoint(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    m = CVUGCN(CVUGCNConfig.tiny())
    with torch.no_grad():
        m.head.weight.normal_(0.0, 0.01)  # small non-zero residuals
    save_checkpoint(path, m, CVUGCNConfig.tiny())
    return path


def test_fresh_model_is_identity_on_real_data_and_keeps_nan(tmp_path: Path, real_pair) -> None:
    kp2d, coarse, group = real_pair
    save_checkpoint(tmp_path / "fresh.pt", CVUGCN(CVUGCNConfig.tiny()), CVUGCNConfig.tiny())
    r = Refiner(tmp_path / "fresh.pt", device="cpu")
    out = r.refine(kp2d, coarse, group)
    assert out.shape == coarse.shape
    assert np.array_equal(np.isnan(out), np.isnan(coarse))
    ok = np.isfinite(coarse)
    assert np.allclose(out[ok], coarse[ok], atol=1e-6)
    one = r.refine(kp2d[5], coarse[5], group)  # one frame, (2, 17, 3) and (17, 3)
    assert one.shape == (17, 3) and np.allclose(one, out[5], atol=1e-6, equal_nan=True)


def test_a_rays_model_sees_the_real_2d_and_a_fresh_one_is_identity(tmp_path: Path, real_pair) -> None:
    kp2d, coarse, group = real_pair
    cfg = CVUGCNConfig.tiny().with_inputs("rays")
    save_checkpoint(tmp_path / "fresh.pt", CVUGCN(cfg), cfg)
    r = Refiner(tmp_path / "fresh.pt", device="cpu")
    assert r.inputs == "rays"
    out = r.refine(kp2d, coarse, group)
    ok = np.isfinite(coarse)
    assert np.array_equal(np.isnan(out), np.isnan(coarse)) and np.allclose(out[ok], coarse[ok], atol=1e-6)
    torch.manual_seed(0)
    m = CVUGCN(cfg)
    with torch.no_grad():
        m.head.weight.normal_(0.0, 0.01)
    save_checkpoint(tmp_path / "p.pt", m, cfg)
    moved = Refiner(tmp_path / "p.pt", device="cpu", guard=False).refine(kp2d, coarse, group)
    # the 2D feeds the network: the same 3D refines differently where the detector did not find the joints
    kp_low = kp2d.copy()
    kp_low[..., 2] *= 0.3
    other = Refiner(tmp_path / "p.pt", device="cpu", guard=False).refine(kp_low, coarse, group)
    assert np.isfinite(moved[ok]).all() and np.nanmax(np.abs(moved - other)) > 1e-5


def test_refine_points_batch_layout_and_errors(tmp_path: Path, real_pair) -> None:
    kp2d, coarse, group = real_pair
    r = Refiner(_perturbed_checkpoint(tmp_path / "p.pt"), device="cpu")
    a = r.refine(kp2d, coarse, group)
    b = refine_points(coarse, np.moveaxis(kp2d, 1, 0), group, r)  # (V, F, 17, 3), as in core/batch.py
    assert np.allclose(a, b, equal_nan=True)
    moved = np.linalg.norm(a - coarse, axis=-1)
    assert np.nanmax(moved) > 1e-4 and np.nanmedian(moved) < 0.1
    kps, calib = pose2sim_openpose_h36m()
    three = load_calibration(calib).group.subset(["cam_01", "cam_02", "cam_04"])
    with pytest.raises(ModelError, match="exactly two cameras"):
        refine_points(coarse, np.stack([kps[c] for c in three.names]), three, r)
    with pytest.raises(InputError, match=r"\(F, 2, 17, 3\)"):
        r.refine(kp2d[..., :2], coarse, group)
    with pytest.raises(InputError, match="coarse"):
        r.refine(kp2d, coarse[:5], group)


def test_fast_path_matches_eager_and_threads_are_safe(tmp_path: Path, real_pair) -> None:
    kp2d, coarse, group = real_pair
    ck = load_checkpoint(_perturbed_checkpoint(tmp_path / "p.pt", seed=3))
    fast = Refiner(ck, device="cpu", fast=True)
    eager = Refiner(ck, device="cpu", fast=False)
    ref = eager.refine(kp2d, coarse, group)
    assert np.allclose(fast.refine(kp2d, coarse, group), ref, atol=1e-5, equal_nan=True)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = fast.refine(kp2d[i::2], coarse[i::2], group)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert np.allclose(results[0], ref[0::2], atol=1e-5, equal_nan=True)
    assert np.allclose(results[1], ref[1::2], atol=1e-5, equal_nan=True)
    n = torch.get_num_threads()
    fast.refine(kp2d[:1], coarse[:1], group)
    assert torch.get_num_threads() == n  # the single-thread setting for small batches is restored


def test_shipped_model_on_real_pair(real_pair) -> None:
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"no shipped checkpoint at {DEFAULT_CHECKPOINT} (make it with `python -m models.pretrain`)")
    kp2d, coarse, group = real_pair
    r = Refiner()
    assert r.id == load_checkpoint().id
    out = r.refine(kp2d, coarse, group)
    assert np.array_equal(np.isnan(out), np.isnan(coarse))
    moved = np.linalg.norm(out - coarse, axis=-1)
    assert np.nanmedian(moved) < 0.06  # refinement corrects, it does not invent a new pose


def test_pipeline_hook(tmp_path: Path, real_pair) -> None:
    from core.pipeline import RefineInput
    from models.refiner import default_refine_hook

    kp2d, coarse, group = real_pair
    hook, why = default_refine_hook(tmp_path / "missing.pt")
    assert hook is None and "no CV-UGCN model" in why
    hook, label = default_refine_hook(_perturbed_checkpoint(tmp_path / "p.pt"), device="cpu")
    assert hook.model_id in label
    out = hook(RefineInput(kp2d[3], coarse[3], group))
    assert out.shape == (17, 3)
    assert np.allclose(out, hook.refiner.refine(kp2d[3:4], coarse[3:4], group)[0], equal_nan=True)


def test_the_guard_falls_back_to_coarse_where_the_model_goes_wrong_and_counts_it(tmp_path: Path, real_pair) -> None:
    """Never much worse than coarse: NaN outputs and a joint thrown 30 cm off fall back per joint, and are counted;
    small corrections pass."""
    kp2d, coarse, group = real_pair
    r = Refiner(_perturbed_checkpoint(tmp_path / "p.pt"), device="cpu")
    r.refine(kp2d, coarse, group)
    assert r.fallback_joints == 0 and r.refined_joints == int(np.isfinite(coarse).all(-1).sum())
    net = r.residual

    def broken(x: np.ndarray) -> np.ndarray:
        out = net(x)
        out[:, :, 3] += 0.3  # the right ankle thrown 30 cm in both views' outputs
        out[::7, :, 13] = np.nan  # the left wrist NaN in every 7th frame
        return out

    r.residual = broken  # type: ignore[method-assign]
    out = r.refine(kp2d, coarse, group)
    seen = np.isfinite(coarse).all(-1)
    np.testing.assert_allclose(out[seen[:, 3], 3], coarse[seen[:, 3], 3])  # the ankle: coarse
    nan_frames = np.zeros(len(coarse), bool)
    nan_frames[::7] = True
    wrist = seen[:, 13] & nan_frames
    np.testing.assert_allclose(out[wrist, 13], coarse[wrist, 13])  # NaN never reaches the user
    assert np.isfinite(out[seen]).all()
    assert seen[:, 3].sum() + wrist.sum() <= r.fallback_joints < 0.2 * r.refined_joints  # only those joints
    # without the guard a wrong joint goes through, but a NaN still falls back to coarse (and is counted)
    unguarded = Refiner(tmp_path / "p.pt", device="cpu", guard=False)
    unguarded.residual = broken  # type: ignore[method-assign]
    raw = unguarded.refine(kp2d, coarse, group)
    np.testing.assert_allclose(raw[wrist, 13], coarse[wrist, 13])
    assert np.abs(raw[seen[:, 3], 3] - coarse[seen[:, 3], 3]).max() > 0.1
    assert unguarded.fallback_joints == wrist.sum()


def _temporal_checkpoint(path: Path, past: int, future: int = 0) -> Path:
    torch.manual_seed(1)
    cfg = CVUGCNConfig.tiny().with_inputs("rays", past, future)
    m = CVUGCN(cfg)
    with torch.no_grad():
        m.head.weight.normal_(0.0, 0.01)
    save_checkpoint(path, m, cfg)
    return path


def test_a_causal_model_refines_the_same_frame_by_frame_as_over_the_whole_take(tmp_path: Path, real_pair) -> None:
    """Live (the hook, one pair at a time, with the last frames as context) equals offline (the take at once); the
    window sees the past: another history changes the current frame; a pause or another person starts afresh."""
    from core.pipeline import RefineInput
    from models.refiner import MAX_GAP_S, RefinerHook

    kp2d, coarse, group = real_pair
    r = Refiner(_temporal_checkpoint(tmp_path / "c.pt", past=4), device="cpu", guard=False)
    assert (r.config.past, r.config.future, r.config.window) == (4, 0, 5)
    whole = r.refine(kp2d, coarse, group)
    assert whole.shape == coarse.shape and np.array_equal(np.isnan(whole), np.isnan(coarse))
    hook = RefinerHook(r)
    live = np.stack([hook(RefineInput(kp2d[i], coarse[i], group, t_s=i / 30)) for i in range(40)])
    assert np.allclose(live, whole[:40], atol=1e-6, equal_nan=True)
    assert np.allclose(r.refine(kp2d[:12], coarse[:12], group, context=8), whole[8:12], atol=1e-6, equal_nan=True)
    still = coarse.copy()
    still[25:29] = coarse[29]  # the same frame 29 after another history
    assert np.nanmax(np.abs(r.refine(kp2d, still, group)[29] - whole[29])) > 1e-6
    # after a pause, the window starts afresh: as if the take began there
    fresh = r.refine(kp2d[30:35], coarse[30:35], group)
    after = [hook(RefineInput(kp2d[i], coarse[i], group, t_s=100 + i / 30)) for i in range(30, 35)]
    assert 100 - 39 / 30 > MAX_GAP_S and np.allclose(after, fresh, atol=1e-6, equal_nan=True)
    own = hook.fresh()  # Process while live capture runs: the same model, a window history of its own
    assert own.refiner is r
    assert np.allclose(own(RefineInput(kp2d[0], coarse[0], group, t_s=0.0)), whole[0], atol=1e-6, equal_nan=True)
    other = hook(RefineInput(kp2d[35], coarse[35], group, t_s=100 + 35 / 30, track=7))  # another person
    assert np.allclose(other, r.refine(kp2d[35:36], coarse[35:36], group)[0], atol=1e-6, equal_nan=True)
    with pytest.raises(InputError, match="context"):
        r.refine(kp2d[:3], coarse[:3], group, context=4)
    # a 60 fps camera: the window takes every second frame, live as offline, so it spans the time it was trained on
    at60 = r.refine(kp2d, coarse, group, fps=60.0)
    assert np.nanmax(np.abs(at60 - whole)) > 1e-6
    hook60 = RefinerHook(r)
    live60 = np.stack([hook60(RefineInput(kp2d[i], coarse[i], group, t_s=50 + i / 60)) for i in range(40)])
    assert np.allclose(live60, at60[:40], atol=1e-6, equal_nan=True)


def test_a_model_that_looks_ahead_refines_whole_takes_only(tmp_path: Path, real_pair) -> None:
    from models.refiner import RefinerHook

    kp2d, coarse, group = real_pair
    r = Refiner(_temporal_checkpoint(tmp_path / "t.pt", past=2, future=2), device="cpu")
    out = refine_points(coarse, np.moveaxis(kp2d, 1, 0), group, r)
    assert out.shape == coarse.shape and np.isfinite(out[np.isfinite(coarse)]).all()
    moved = r.refine(kp2d, np.r_[coarse[:-3], coarse[-4:-3].repeat(3, 0)], group)  # the future changes frame -5
    assert np.nanmax(np.abs(moved[-5] - out[-5])) > 1e-6
    with pytest.raises(ModelError, match="looks 2 frames ahead"):
        RefinerHook(r)
    from core.pipeline import TakeRefiner
    from models.refiner import TakeRefinerHook, load_refine_hook

    hook, label, model_id = load_refine_hook(tmp_path / "t.pt")  # Process: the whole take at once
    assert isinstance(hook, TakeRefinerHook) and isinstance(hook, TakeRefiner) and "whole take" in label
    assert model_id == r.id and np.allclose(
        hook.refine_take(kp2d, coarse, group), r.refine(kp2d, coarse, group), equal_nan=True
    )
    assert hook.fallbacks()[1] > 0
    live, _, _ = load_refine_hook(_temporal_checkpoint(tmp_path / "c.pt", past=2))
    assert isinstance(live, RefinerHook) and not isinstance(live, TakeRefiner)  # causal: pair by pair, as live
    with pytest.raises(ModelError, match="past"):
        CVUGCNConfig.tiny().with_inputs("rays", -1, 0)
