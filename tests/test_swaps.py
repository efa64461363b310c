"""Left/right label swaps between two views are undone before triangulation (real OpenPose 2D)."""

from __future__ import annotations

import numpy as np

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
