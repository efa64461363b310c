"""Label-free 2D targets: offline confidence-weighted smoothing with outlier rejection, on real OpenPose 2D."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from models.targets import TargetConfig, rejected_fraction, smooth_keypoints
from tests.test_models_helpers import pose2sim_openpose_h36m


def _jitter(kp: np.ndarray) -> float:
    """Mean second difference (px/frame^2)."""
    return float(np.nanmean(np.linalg.norm(kp[2:, :, :2] - 2 * kp[1:-1, :, :2] + kp[:-2, :, :2], axis=-1)))


def test_smoothing_removes_jitter_but_follows_the_real_track() -> None:
    kps, _ = pose2sim_openpose_h36m()
    raw = kps["cam_01"]  # (100, 17, 3) px, real OpenPose at 60 fps
    out = smooth_keypoints(raw, fps=60.0)
    assert out.shape == raw.shape
    assert _jitter(out) < _jitter(raw) / 5
    d = np.linalg.norm(out[..., :2] - raw[..., :2], axis=-1)
    assert np.nanmedian(d) < 5.0
    assert (out[..., 2] > 0).mean() > 0.95
    assert np.all((out[..., 2] >= 0) & (out[..., 2] <= 1))


def test_an_injected_outlier_is_rejected() -> None:
    kps, _ = pose2sim_openpose_h36m()
    raw = kps["cam_03"].copy()
    clean = smooth_keypoints(raw, 60.0)
    hit = raw.copy()
    hit[50, 13, :2] += [180.0, -120.0]  # the left wrist jumps 216 px for one frame, with full confidence
    hit[50, 13, 2] = 1.0
    out = smooth_keypoints(hit, 60.0)
    assert np.linalg.norm(out[50, 13, :2] - clean[50, 13, :2]) < 3.0
    plain = smooth_keypoints(hit, 60.0, TargetConfig(outlier_k=1e9, outlier_floor=1e9))  # rejection off
    assert np.linalg.norm(plain[50, 13, :2] - clean[50, 13, :2]) > 15.0
    assert rejected_fraction(hit, out, 100.0) > 0


def test_gaps_short_are_bridged_long_are_dropped() -> None:
    kps, _ = pose2sim_openpose_h36m()
    raw = kps["cam_04"].copy()
    raw[40:44, 3, 2] = 0.0  # 4 frames without the right ankle
    raw[40:44, 3, :2] = np.nan
    raw[:, 16, 2] = np.where(np.arange(100) < 70, raw[:, 16, 2], 0.0)  # right wrist lost after frame 70
    out = smooth_keypoints(raw, 60.0)
    assert np.isfinite(out[40:44, 3, :2]).all()
    assert np.all(out[40:44, 3, 2] < out[30, 3, 2])  # bridged, with less confidence
    assert np.isnan(out[85:, 16, :2]).all() and np.all(out[85:, 16, 2] == 0)


def test_cameras_as_leading_dimension_and_bad_input() -> None:
    kps, _ = pose2sim_openpose_h36m()
    both = np.stack([kps["cam_01"], kps["cam_02"]])
    out = smooth_keypoints(both, 60.0)
    assert out.shape == both.shape
    assert np.allclose(out[1], smooth_keypoints(kps["cam_02"], 60.0), equal_nan=True)
    with pytest.raises(InputError, match="x_px, y_px, confidence"):
        smooth_keypoints(np.zeros((10, 17, 2)), 30.0)
    with pytest.raises(InputError, match="frame rate"):
        smooth_keypoints(kps["cam_01"], 0.0)
