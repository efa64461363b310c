"""What training can learn from (models/sources.py), headless: frame counts read from the npz headers, sessions
that need Process, folders and files added by hand, new checkpoint names, checkpoint summaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import InputError, ModelError
from models.sources import (
    check_sources,
    checkpoint_info,
    new_checkpoint_path,
    npz_frame_count,
    recent_checkpoints,
    scan_training_sources,
    source_for_path,
)
from tests.test_models_helpers import TRAINING_CAMS, pose2sim_training_sessions

CAMS = TRAINING_CAMS


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    return pose2sim_training_sessions(tmp_path_factory.mktemp("sources") / "sessions")


def test_helpers(tmp_path, sessions):
    a = new_checkpoint_path(tmp_path)
    a.write_bytes(b"")
    b = new_checkpoint_path(tmp_path)
    assert a != b and a.suffix == b.suffix == ".pt" and not b.exists()
    frames, cams = npz_frame_count(sessions / "balancing" / "keypoints2d.npz")
    assert frames == 100 and sorted(cams) == sorted(CAMS)
    (tmp_path / "x.pt.state.pt").write_bytes(b"")
    assert recent_checkpoints(tmp_path) == [a]  # training states are not checkpoints


def test_sessions_and_added_folders_are_listed_with_what_they_lack(tmp_path, sessions):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(sessions / "balancing" / "keypoints2d.npz", folder / "trial.npz")
    shutil.copy(sessions / "balancing" / "calibration.toml", folder / "calib.toml")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(folder / "trial.npz", lonely / "kp.npz")
    found = {s.name: s for s in scan_training_sources(sessions, [folder, lonely / "kp.npz", folder])}
    assert set(found) == {"balancing", "unprocessed", "elsewhere", "kp.npz"}  # the folder added twice: once
    assert found["balancing"].usable and found["balancing"].frames == 100 and not found["balancing"].external
    assert "keypoints2d.npz" in found["unprocessed"].problem and "Process" in found["unprocessed"].problem
    assert (
        found["elsewhere"].usable and found["elsewhere"].external and sorted(found["elsewhere"].cameras) == sorted(CAMS)
    )
    assert "calibration" in found["kp.npz"].problem
    assert "does not exist" in source_for_path(tmp_path / "gone").problem
    with pytest.raises(InputError, match="tick at least one"):
        check_sources([])
    with pytest.raises(InputError, match="'unprocessed'"):
        check_sources([found["balancing"], found["unprocessed"]])


def test_checkpoint_info_says_what_a_checkpoint_is_or_why_it_cannot_be_used(tmp_path):
    from models.checkpoint import load_checkpoint

    info = checkpoint_info(None)
    assert info.id == load_checkpoint().id and info.summary().startswith(f"id {info.id[:8]}")
    assert info.widths == "narrow network, rays inputs, sees 4 earlier frames, gated" and info.parameters > 0
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelError, match="not a usable CrossView model checkpoint"):
        checkpoint_info(bad)
