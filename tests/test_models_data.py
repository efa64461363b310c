"""Weak training data: synthetic from real mocap, user recordings from real 2D; splits and windows."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from core import skeleton
from core.errors import InputError
from core.keypoints_io import save_keypoints_npz
from models import data as D  # noqa: N812
from tests.test_models_helpers import pose2sim_openpose_h36m, synthetic_samples


@pytest.fixture(scope="module")
def synth():
    s = synthetic_samples(n_rigs=3, names=("walk", "run", "punch"), seed=3)
    d, truth = D.from_synthetic(s)
    return s, d, truth


def test_synthetic_weak_data_shapes_and_no_truth_inside(synth) -> None:
    s, d, truth = synth
    N = len(s["rig_id"])
    assert len(d) == N and truth.shape == (N, 17, 3)
    assert d.x.shape == (N, 2, 17, 3) and d.target2d.shape == (N, 2, 17, 2) and d.bone_target.shape == (N, 16)
    names = {f.name for f in fields(D.WeakData)}
    assert not names & {"joints3d", "truth", "kp2d_clean"}
    for a in d.arrays().values():  # no array of the dataset is (a transform of) the truth
        if a.shape == truth.shape:
            assert not np.allclose(a, truth, atol=1e-3)
    # the targets are the clean projections, undistorted; the input is the noisy triangulation
    assert np.all(d.target_conf == 1.0)
    coarse_err = skeleton.mpjpe(
        d.x[:, 0].astype(float), skeleton.root_centre(np.einsum("nij,nkj->nki", d.R[:, 0], truth) + d.t[:, 0, None])[0]
    )
    assert 0.02 < coarse_err < 0.3
    # bone-length targets come from the triangulated clean 2D: the true lengths, per sequence
    true_len = skeleton.bone_lengths(truth)
    assert np.nanmax(np.abs(d.bone_target - true_len)) < 0.01


def test_windows_hold_consecutive_frames_of_one_sequence(synth) -> None:
    _, d, _ = synth
    W = D.windows(d, 4)
    assert W.shape[1] == 4 and len(W) > 0.5 * len(d) / 4
    assert np.all(d.seq[W] == d.seq[W[:, :1]])
    assert np.all(np.diff(d.frame[W], axis=1) == 1)
    assert len(np.unique(W)) == W.size  # non-overlapping
    W2 = D.windows(d, 4, offset=2)
    assert set(map(tuple, W2)) != set(map(tuple, W))
    assert D.windows(d, 1).shape == (len(d), 1)


def test_split_never_by_frame(synth) -> None:
    _, d, _ = synth
    tr, va, how = D.split(d, 0.3, seed=0)
    assert "session" in how
    assert not set(np.unique(tr.group)) & set(np.unique(va.group))
    one = d.subset(d.seq == d.seq[0])
    one.group[:] = 0
    tr, va, how = D.split(one, 0.25, seed=0, gap=5)
    assert "time block" in how
    assert tr.frame.max() + 5 < va.frame.min()


@pytest.fixture(scope="module")
def session_folder(tmp_path_factory) -> Path:
    kps, calib = pose2sim_openpose_h36m()
    folder = tmp_path_factory.mktemp("session")
    save_keypoints_npz(folder / "keypoints2d.npz", kps, time_s=np.arange(100) / 60.0)
    shutil.copy(calib, folder / "calibration.toml")
    return folder


def test_recording_session_folder_to_weak_data(session_folder: Path) -> None:
    logs: list[str] = []
    d = D.data_from_paths([session_folder], log=logs.append)
    assert len(d) == 6 * 100  # 4 cameras -> 6 pairs of 100 frames
    assert "60.0 fps" in logs[0]
    assert len(np.unique(d.seq)) == 6 and np.all(d.group == 0)
    assert np.isfinite(d.x).all()
    # one person: the same bone-length targets for every sample, plausible human lengths
    assert np.allclose(d.bone_target, d.bone_target[:1])
    assert np.all((d.bone_target[0] > 0.05) & (d.bone_target[0] < 0.6))
    # targets are the smoothed detections: near the raw 2D (undistorted), confident
    near = np.linalg.norm(d.target2d - d.input2d, axis=-1)
    assert np.nanmedian(near) < 5.0 and (d.target_conf > 0).mean() > 0.9
    adj = D.from_recording(D.load_recording(*D.resolve_recording(session_folder)), pairs="adjacent")
    assert len(np.unique(adj.seq)) == 3


def test_recording_errors_are_clear(tmp_path: Path, session_folder: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        D.data_from_paths([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="keypoints2d.npz"):
        D.data_from_paths([empty])
    no_cal = tmp_path / "nocal"
    no_cal.mkdir()
    shutil.copy(session_folder / "keypoints2d.npz", no_cal / "keypoints2d.npz")
    with pytest.raises(InputError, match="calibration.toml"):
        D.data_from_paths([no_cal / "keypoints2d.npz"])
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    kps, _ = pose2sim_openpose_h36m()
    save_keypoints_npz(wrong / "keypoints2d.npz", {"left": kps["cam_01"], "right": kps["cam_02"]})
    shutil.copy(session_folder / "calibration.toml", wrong / "calibration.toml")
    with pytest.raises(InputError, match="not in calibration"):
        D.data_from_paths([wrong])
    with pytest.raises(InputError, match="no recordings"):
        D.data_from_paths([])
