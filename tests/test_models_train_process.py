"""Training in a separate process (models/train_process.py), headless: the events of a short real run, pause and
stop from another thread (the best checkpoint is kept), a stop before training started, errors raised in the
process arriving as the same CrossView error, and a killed process."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from core.errors import CrossViewError, InputError
from core.jobs import Cancelled
from core.keypoints_io import save_keypoints_npz
from models.reports import BatchReport
from models.train_process import (
    EPOCH,
    LOG,
    PAUSED,
    PROGRESS,
    STARTED,
    RemoteError,
    TrainingControls,
    TrainingPlan,
    TrainingStarted,
    rebuild_error,
    run_training_process,
)
from tests.test_models_helpers import pose2sim_openpose_h36m

CAMS = ("cam_01", "cam_04")


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    kps, calib = pose2sim_openpose_h36m()
    folder = tmp_path_factory.mktemp("recording")
    save_keypoints_npz(folder / "keypoints2d.npz", {k: kps[k] for k in CAMS}, np.arange(100) / 60)
    shutil.copy(calib, folder / "calibration.toml")
    return folder


def _plan(sources: list[Path], out: Path, epochs: int = 2, **kw) -> TrainingPlan:
    from models.losses import LossConfig

    loss = LossConfig.preset("finetune").to_dict()
    return TrainingPlan([str(s) for s in sources], out, epochs, 1e-3, 16, "cpu", loss, threads=1, **kw)


def test_a_short_run_reports_every_event_and_returns_the_result(recording, tmp_path):
    events: list[tuple[str, object]] = []
    progress: list[tuple[int, int, str]] = []
    out = tmp_path / "m.pt"
    res = run_training_process(
        _plan([recording], out), lambda k, p: events.append((k, p)), lambda *a: progress.append(a)
    )
    kinds = [k for k, _ in events]
    assert kinds[0] == LOG and STARTED in kinds and PROGRESS in kinds and kinds.count(EPOCH) == 2
    started = next(p for k, p in events if k == STARTED)
    assert isinstance(started, TrainingStarted) and started.train_samples == 72 and started.val_samples == 20
    assert started.resumed_from_epoch == 0 and started.start_model and started.triangulation["reproj_px"] > 0
    last = [p for k, p in events if k == PROGRESS][-1]
    assert isinstance(last, BatchReport) and last.fraction == pytest.approx(1.0) and last.epochs == 2
    assert progress[-1] == (1000, 1000, "epoch 2")
    assert res.stopped == "finished" and res.checkpoint == out and out.is_file()
    assert out.with_name(out.name + ".state.pt").is_file()


def test_pause_and_stop_from_another_thread_keep_the_best_checkpoint(recording, tmp_path):
    controls = TrainingControls()
    cancel = threading.Event()
    epochs: list[int] = []

    def on_event(kind: str, payload: object) -> None:
        if kind == EPOCH:
            epochs.append(payload.epoch)
            if len(epochs) == 1:
                controls.pause()
        elif kind == PAUSED and payload:
            assert controls.trainer_paused()
            cancel.set()  # a stop while paused: the run ends after the current batch

    out = tmp_path / "m.pt"
    res = run_training_process(_plan([recording], out, epochs=200), on_event, None, cancel, controls)
    assert controls.is_paused() and controls.stop_requested()
    assert res.stopped == "stopped" and out.is_file() and len(res.history) >= 1 and epochs[0] == 0


def test_errors_of_the_process_arrive_as_the_same_error(recording, tmp_path):
    short = tmp_path / "short"
    short.mkdir()
    with np.load(recording / "keypoints2d.npz") as z:
        save_keypoints_npz(short / "keypoints2d.npz", {c: z[c][:6] for c in CAMS}, np.arange(6) / 60.0)
    shutil.copy(recording / "calibration.toml", short / "calibration.toml")
    with pytest.raises(InputError, match="too short"):
        run_training_process(_plan([short], tmp_path / "m.pt"))
    assert not (tmp_path / "m.pt").exists()


def test_a_stop_before_training_started_is_cancelled(recording, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="nothing was saved"):
        run_training_process(_plan([recording], tmp_path / "m.pt"), None, None, cancel)
    assert not (tmp_path / "m.pt").exists()


def test_rebuilt_errors():
    err = rebuild_error({"type": "ModelError", "message": "bad", "crossview": True})
    assert isinstance(err, CrossViewError) and type(err).__name__ == "ModelError" and str(err) == "bad"
    err = rebuild_error({"type": "ZeroDivisionError", "message": "division by zero", "crossview": False})
    assert isinstance(err, RemoteError) and str(err) == "ZeroDivisionError: division by zero"
