"""Comparing models without 3D truth (models/evaluate.py), headless, on the real Pose2Sim balancing trial: the
per-frame figures are the per-frame version of the training metrics, and the shipped model against itself
changes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.jobs import Cancelled
from models.evaluate import compare_models, frame_metrics
from tests.test_models_helpers import TRAINING_CAMS, pose2sim_training_sessions

CAMS = TRAINING_CAMS


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    return pose2sim_training_sessions(tmp_path_factory.mktemp("evaluate") / "sessions")


def test_frame_metrics_agree_with_the_training_metrics(sessions):
    """The per-frame figures of the comparison are the per-frame version of models.train.output_metrics."""
    from models.checkpoint import DEFAULT_CHECKPOINT
    from models.data import data_from_paths
    from models.train import coarse_output, output_metrics

    data = data_from_paths([sessions / "balancing"])
    world = coarse_output(data)
    reproj, dev = frame_metrics(world, data)
    assert reproj.shape == dev.shape == (100,)
    ok = (data.target_conf > 0) & np.isfinite(world).all(-1)[:, None] & np.isfinite(data.target2d).all(-1)
    n = ok.sum(axis=(1, 2))
    weighted = np.nansum(reproj * n) / n.sum()  # frames weighted by their measured joints = the global mean
    assert weighted == pytest.approx(output_metrics(world, data)["reproj_px"], rel=1e-9)
    assert np.nanmedian(dev) > 0 and np.isfinite(dev).sum() >= 90
    # the comparison itself, headless: the shipped model against itself changes nothing
    r = compare_models(sessions / "balancing", None, DEFAULT_CHECKPOINT, device="cpu")
    assert r is not None and r.metrics["old"] == pytest.approx(r.metrics["new"])
    np.testing.assert_allclose(r.poses["old"], r.poses["new"], equal_nan=True)
    assert r.pair == CAMS and r.frames == 100 and r.world_up == "+z"


def test_a_cancelled_comparison_raises_cancelled(sessions):
    from models.checkpoint import DEFAULT_CHECKPOINT

    cancel = threading.Event()
    cancel.set()
    seen: list[tuple[int, int, str]] = []
    with pytest.raises(Cancelled):
        compare_models(sessions / "balancing", None, DEFAULT_CHECKPOINT, "cpu", None, lambda *a: seen.append(a), cancel)
    assert seen[0] == (0, 4, "loading the models")
