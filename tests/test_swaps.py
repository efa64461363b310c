"""Left/right label swaps between two views are undone before triangulation (real OpenPose 2D)."""

from __future__ import annotations

import numpy as np
import pytest

from core import skeleton
from core.swaps import fix_left_right_swaps
from core.triangulation import triangulate


def _fix(kp, group):
    """(F, 2, 17, 3) -> fixed (F, 2, 17, 3) and kind (F,)."""
    k = np.moveaxis(kp, 1, 0)
    pts, conf, kind = fix_left_right_swaps(k[..., :2], k[..., 2], group)
    out = np.concatenate([pts, conf[..., None]], axis=-1)
    return np.moveaxis(out, 0, 1), kind


def _tri(kp, group):
    k = np.moveaxis(kp, 1, 0)
    return triangulate(k[..., :2], k[..., 2], group).points


def test_left_right_swaps_are_repaired_on_real_2d() -> None:
    from core.calibration_io import load_calibration
    from core.skeleton import MIRROR
    from tests.test_models_helpers import pose2sim_openpose_h36m

    kps, calib = pose2sim_openpose_h36m()
    group = load_calibration(calib).group.subset(["cam_01", "cam_04"])
    kp = np.stack([kps["cam_01"], kps["cam_04"]], axis=1)  # real OpenPose 2D, (100, 2, 17, 3)
    fixed0, kind0 = _fix(kp, group)
    assert (kind0 == "").mean() > 0.9  # real detections are mostly consistent
    clean = fixed0
    swapped = clean.copy()
    swapped[30:50, 1] = swapped[30:50, 1][:, MIRROR]  # view 2 mirrors the whole body for 20 frames
    legs = np.arange(17)
    legs[[2, 3, 5, 6]] = MIRROR[[2, 3, 5, 6]]
    swapped[60:70, 0] = swapped[60:70, 0][:, legs]  # view 1 swaps the legs for 10 frames
    bad = _tri(swapped, group)
    good = _tri(clean, group)
    assert skeleton.mpjpe(bad[30:50], good[30:50]) > 0.1  # metres off
    fixed, kind = _fix(swapped, group)
    assert np.all(kind[30:50] == "body")
    assert np.allclose(fixed[30:50], clean[30:50], equal_nan=True)  # view 2 was relabelled, not view 1
    legs_found = np.isin(kind[60:70], ["legs", "limbs"])
    assert legs_found.sum() >= 3
    assert np.allclose(fixed[60:70][legs_found], clean[60:70][legs_found], equal_nan=True)  # view 1 relabelled
    # a leg swap left alone is one that hardly matters (feet close together in both views)
    per_frame = np.nanmean(np.linalg.norm(bad - good, axis=-1), axis=1)
    assert np.all(per_frame[60:70][~legs_found] < 0.05)
    out = _tri(fixed, group)
    assert skeleton.mpjpe(out, good) < 0.01 < skeleton.mpjpe(bad, good)


def _rig_with_swaps(rig: dict, seed: int):
    """Synthetic stereo of held-out mocap with known truth: (truth (2, F, J, 3), swapped copy, swapped frames (F,))."""
    import dataclasses

    from bench.smoothing import _resample
    from bench.swaps import KINDS, _inject
    from models.mocap import load_motion_folder
    from models.synthetic import NoiseConfig, RigConfig, make_stereo_samples, rig_from_samples
    from tests.paths import SHARED_DATA

    folder = SHARED_DATA / "mocap" / "deepmimic"
    if not folder.is_dir():
        pytest.skip(f"shared mocap data not found at {folder}")
    walk = [_resample(m, 30.0) for m in load_motion_folder(folder) if m.name == "walk"]
    rng = np.random.default_rng(seed)
    noise = dataclasses.replace(NoiseConfig(), swap_limb_rate=0.0, swap_all_rate=0.0)
    s = make_stereo_samples(walk, 1, rng, rig_config=dataclasses.replace(RigConfig(), **rig), noise_config=noise)
    idx = np.flatnonzero(s["seq_id"] == s["seq_id"][0])
    idx = idx[np.argsort(s["frame"][idx])]
    truth = np.concatenate([s["kp2d_noisy"][idx], s["conf"][idx][..., None]], axis=-1).transpose(1, 0, 2, 3)
    kind, view = _inject(rng, truth.shape[1])
    swapped = truth.copy()
    perms = np.stack(list(KINDS.values()))
    for f in np.flatnonzero(kind >= 0):
        swapped[view[f], f] = truth[view[f], f][perms[kind[f]]]
    return truth.astype(np.float64), swapped.astype(np.float64), kind >= 0, rig_from_samples(s, idx[0])


def test_whole_take_and_live_repairs_find_injected_swaps_without_touching_clean_frames() -> None:
    from core.swaps import LeftRightTracker

    truth, swapped, is_swapped, group = _rig_with_swaps({}, seed=3)
    assert is_swapped.sum() >= 10 and (~is_swapped).sum() >= 10
    pts, conf, kind = fix_left_right_swaps(swapped[..., :2], swapped[..., 2], group)
    exact = np.isclose(pts, truth[..., :2]).all(axis=(0, 2, 3))
    assert exact[is_swapped].mean() >= 0.8  # the labels came back in the view that had them wrong
    assert np.all(kind[~is_swapped] == "")  # no clean frame relabelled
    tracker = LeftRightTracker(group)
    live = np.stack([tracker.step(swapped[:, f], f / 30.0)[0] for f in range(swapped.shape[1])], axis=1)
    live_exact = np.isclose(live[..., :2], truth[..., :2]).all(axis=(0, 2, 3))
    assert live_exact[is_swapped].mean() >= 0.7
    assert live_exact[~is_swapped].mean() >= 0.97


def test_a_new_person_or_a_long_gap_restarts_the_live_labels() -> None:
    from core.swaps import LeftRightTracker

    truth, swapped, is_swapped, group = _rig_with_swaps({}, seed=3)
    tracker = LeftRightTracker(group, gap_s=0.5)
    for f in range(5):
        tracker.step(truth[:, f], f / 30.0)
    assert tracker._cost is not None
    empty = truth[:, 5].copy()
    empty[..., 2] = 0.0  # nobody confidently seen: labels returned as they are, state kept
    out, kind, points = tracker.step(empty, 5 / 30.0)
    assert kind == "" and np.array_equal(out, empty) and np.isnan(points).all()
    tracker.step(truth[:, 6], 10.0)  # 10 s later: the past is forgotten first
    assert len(tracker._lengths) == 1
