"""The Training tab under a real X server, on the real Pose2Sim balancing trial (cameras 01 + 04, with the real
OpenPose 2D keypoints written as the session's keypoints2d.npz; cameras 03 + 04 imported and not processed):
train from the tab (live plots, pause / resume, stop keeping the best checkpoint, continue), compare the new
checkpoint with the shipped one (finite numbers, a scrubbable frame with three styled skeletons), "Use this
model"; the errors (nothing ticked, a session without 2D, a bad checkpoint, CUDA without a GPU, an existing
output); Add folder… / Add file…; closing the window stops training and keeps the checkpoint.
Nothing sleeps: every wait is on a signal or a condition."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow, Tab
from app.training.compare_presenter import fmt, verdict
from app.training.tab import PAUSED, TRAINING, TrainingTab
from app.widgets.skeleton_view import SKELETON_STYLES
from core.errors import InputError
from core.keypoints_io import save_keypoints_npz
from models.evaluate import Comparison, compare_models
from models.sources import recent_checkpoints
from tests.test_models_helpers import TRAINING_CAMS

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton
CAMS = TRAINING_CAMS


@pytest.fixture
def sessions(training_sessions) -> Path:
    return training_sessions


@pytest.fixture
def state(training_state):
    return training_state


def _ready(widget: TrainingTab, qtbot) -> None:
    qtbot.waitUntil(lambda: widget.env is not None and len(widget.sources()) >= 2, timeout=60_000)
    qtbot.waitUntil(lambda: "Checking" not in widget.init_info.text(), timeout=30_000)


@pytest.fixture
def tab(qtbot, state):
    widget = TrainingTab(state)
    qtbot.addWidget(widget)
    widget.resize(1500, 950)
    widget.show()
    qtbot.waitExposed(widget)
    _ready(widget, qtbot)
    yield widget
    widget.stop()


def _small_run(tab: TrainingTab, epochs: int = 30) -> None:
    tab.set_checked("balancing")
    tab.epochs_spin.setValue(epochs)
    tab.batch_spin.setValue(16)
    tab.set_device("cpu")


# --------------------------------------------------------------------------------------------- the whole workflow


def test_train_pause_stop_continue_compare_and_use(tab, qtbot, tmp_path, sessions):
    # the list: frame counts, and the session that needs Process
    tree = tab.source_tree
    rows = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
    assert set(rows) == {"balancing", "unprocessed"}
    assert rows["balancing"].text(1) == "100" and rows["balancing"].text(2) == "✓"
    assert rows["unprocessed"].text(2) == "needs Process"
    from models.checkpoint import load_checkpoint

    shipped = load_checkpoint().id
    assert tab.init_info.text().startswith(f"id {shipped[:8]}")  # the shipped model, checked in a worker
    assert not tab.device_combo.model().item(tab.device_combo.findData("cuda")).isEnabled() or tab.env.cuda

    _small_run(tab)
    tab.set_preset("finetune")
    tab.set_loss_weight("bone_length", 0.7)
    assert tab.preset() == "custom"
    out = tab.output_path()
    assert out.parent == tmp_path / "models" and out.name.startswith("cvugcn_") and not out.exists()

    # --- Start: an epoch ends, the plots have one point per epoch reported ---
    epochs: list = []
    tab.epochFinished.connect(epochs.append)
    with qtbot.waitSignal(tab.epochFinished, timeout=90_000) as first:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert first.args[0].epoch == 0 and tab.state() == TRAINING
    assert not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    n = len(epochs)  # a busy machine may deliver a second epoch in the same pass of the event loop
    assert [e.epoch for e in epochs] == list(range(n))
    x, y = tab.plots.curve_points("loss")
    assert list(x) == [float(k + 1) for k in range(n)] and np.isfinite(y).all() and (y > 0).all()
    for term in ("transform", "reproj", "bone_length"):
        assert len(tab.plots.curve_points(term)[0]) == n
    rx, ry = tab.plots.curve_points("reproj_px")
    assert len(rx) == n and 0 < ry[0] < 100
    assert len(tab.plots.curve_points("batch")[0]) >= 1  # the running batch loss
    assert tab.run_info.text().startswith("72 training / 20 validation frames")
    assert tab.log_lines and any("epoch 1:" in line for line in tab.log_lines)

    # --- Pause, then resume: the Trainer holds, then the next epoch comes ---
    qtbot.mouseClick(tab.pause_button, LEFT)
    assert tab.state() == PAUSED and tab.pause_button.text() == "Resume" and tab.state_chip.text() == "Paused"
    qtbot.waitUntil(lambda: tab.worker() is not None and tab.presenter.trainer_paused(), timeout=30_000)
    with qtbot.waitSignal(tab.epochFinished, timeout=90_000):
        qtbot.mouseClick(tab.pause_button, LEFT)
    assert tab.state() == TRAINING and tab.plots.epochs_plotted() >= 2
    assert tab.eta_text().startswith("ETA ")

    # --- Stop: the best checkpoint so far is kept ---
    with qtbot.waitSignal(tab.trainingFinished, timeout=90_000) as done:
        qtbot.mouseClick(tab.stop_button, LEFT)
    res = done.args[0]
    assert res.stopped == "stopped" and res.checkpoint == out
    ck = load_checkpoint(out)
    assert ck.id == res.checkpoint_id
    assert ck.meta["train_config"]["loss"]["bone_length"] == pytest.approx(0.7)  # the tab's weights were used
    assert ck.meta["train_config"]["batch_size"] == 16 and ck.meta["data"] == [str(sessions / "balancing")]
    assert tab.done_banner.isVisible() and "Stopped" in tab.done_label.text()
    assert tab.continue_button.isVisible() and tab.start_button.isEnabled()
    assert tab.output_path() != out  # the next run gets a new file
    assert out in recent_checkpoints(tmp_path / "models")
    epochs_before = tab.plots.epochs_plotted()

    # --- Continue the stopped run from its saved state ---
    reported = len(epochs)
    with qtbot.waitSignal(tab.epochFinished, timeout=90_000) as more:
        qtbot.mouseClick(tab.continue_button, LEFT)
    new_epochs = len(epochs) - reported  # one, or two on a busy machine (see above)
    assert new_epochs >= 1 and more.args[0].epoch >= epochs_before
    assert tab.plots.epochs_plotted() == epochs_before + new_epochs
    with qtbot.waitSignal(tab.trainingFinished, timeout=90_000) as done2:
        tab.stop_training()
    assert done2.args[0].checkpoint == out and len(done2.args[0].history) > epochs_before

    # --- Compare the new checkpoint with the current (shipped) one on the session ---
    qtbot.mouseClick(tab.goto_compare_button, LEFT)
    panel = tab.compare
    assert tab.pages.currentIndex() == 1 and panel.new_checkpoint() == out
    assert panel.selected_source() == sessions / "balancing"
    with qtbot.waitSignal(tab.compared, timeout=60_000) as cmp:
        qtbot.mouseClick(panel.compare_button, LEFT)
    r: Comparison = cmp.args[0]
    for kind in ("coarse", "old", "new"):
        assert math.isfinite(r.metrics[kind]["reproj_px"]) and 0 < r.metrics[kind]["reproj_px"] < 50
        assert math.isfinite(r.metrics[kind]["bone_std_mm"]) and 0 < r.metrics[kind]["bone_std_mm"] < 200
        assert r.poses[kind].shape == (100, 17, 3)
    assert r.ids["new"] == done2.args[0].checkpoint_id and r.ids["old"] == shipped
    assert r.trained_on and panel.warning_label.isVisible()
    assert panel.table.item(2, 1).text().split("\n")[0] == f"{r.metrics['new']['reproj_px']:.2f}"
    # the third measure, jitter, in its own column for each of the three
    assert panel.table.columnCount() == 4 and "Jitter" in panel.table.horizontalHeaderItem(3).text()
    for row, kind in enumerate(("coarse", "old", "new")):
        assert 0 < r.metrics[kind]["jitter_mm"] < 500
        assert panel.table.item(row, 3).text().split("\n")[0] == fmt(r.metrics[kind]["jitter_mm"])
    # a new model that measures worse is not offered as the default
    level = verdict(r)[1]
    assert panel.use_button.text() == ("Use it anyway" if level == "bad" else "Use this model")
    assert panel.use_button.isDefault() == (level == "good")
    # scrub: the three skeletons, in the three styles, at the frame chosen
    panel.slider.setValue(50)
    assert panel.frame() == 50 and "frame 51 of 100" in panel.frame_label.text()
    for kind, style in (("coarse", "coarse"), ("old", "reference"), ("new", "default")):
        pts = panel.skeleton(kind)
        assert pts is not None and np.isfinite(pts).all(axis=1).sum() >= 12
        np.testing.assert_allclose(pts, r.poses[kind][50], atol=1e-5, equal_nan=True)
        assert panel.view.skeleton_style(r.labels[kind]) == SKELETON_STYLES[style]
    panel.seek(10_000)
    assert panel.frame() == 99

    # --- Use this model ---
    with qtbot.waitSignal(tab.modelChosen, timeout=5000) as chosen:
        qtbot.mouseClick(panel.use_button, LEFT)
    assert chosen.args == [str(out)]
    assert tab.app_state.model.chosen() == out  # the app's active model now (live capture, processing)


# --------------------------------------------------------------------------------------------- errors


def test_errors_are_shown_in_the_tab(tab, qtbot, tmp_path, sessions):
    # nothing ticked
    with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert "tick at least one" in err.args[0] and tab.error_text() == err.args[0] and tab.worker() is None

    # a session without keypoints2d.npz: Process first
    tab.set_checked("unprocessed")
    with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert "'unprocessed'" in err.args[0] and "keypoints2d.npz" in err.args[0] and "Process" in err.args[0]
    tab.set_checked("unprocessed", False)
    tab.set_checked("balancing")

    # CUDA chosen on a machine without a GPU
    if not tab.env.cuda:
        idx = tab.device_combo.findData("cuda")
        assert not tab.device_combo.model().item(idx).isEnabled()
        assert "torch.cuda.is_available() is False" in tab.device_combo.itemData(
            idx, QtCore.Qt.ItemDataRole.ToolTipRole
        )
        tab.set_device("cuda")
        with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
            qtbot.mouseClick(tab.start_button, LEFT)
        assert "CUDA" in err.args[0] and "no usable CUDA GPU" in err.args[0]
    tab.set_device("cpu")

    # an output file that exists already
    existing = tmp_path / "exists.pt"
    existing.write_bytes(b"x")
    tab.set_output_path(existing)
    with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert "already exists" in err.args[0]
    tab.set_output_path(tmp_path / "new.pt")

    # a bad starting checkpoint: the ModelError's words, when picked and at Start
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with qtbot.waitSignal(tab.checkpointChecked, timeout=30_000) as checked:
        tab.set_init_checkpoint(bad)
    assert isinstance(checked.args[0], str) and "not a usable CrossView model checkpoint" in checked.args[0]
    assert tab.init_info.text() == checked.args[0]
    with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert "not a usable CrossView model checkpoint" in err.args[0] and tab.worker() is None

    # comparing with a bad new checkpoint: the worker's ModelError, in the compare page
    panel = tab.compare
    tab.show_page(1)
    panel.set_new_checkpoint(bad)
    assert panel.select_source(sessions / "balancing")
    assert panel.source_combo.findData(str(sessions / "unprocessed")) < 0  # only sessions with 2D are offered
    with qtbot.waitSignal(tab.compareFailed, timeout=60_000) as err:
        qtbot.mouseClick(panel.compare_button, LEFT)
    assert "not a usable CrossView model checkpoint" in err.args[0] and panel.error_label.isVisible()
    assert panel.result() is None
    # and on a session without 2D (headless): Process first
    with pytest.raises(InputError, match="Process"):
        compare_models(sessions / "unprocessed", None, bad)


def test_add_folder_and_file(tab, qtbot, monkeypatch, tmp_path, sessions):
    # a folder with a keypoints npz and its calibration, from elsewhere
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(sessions / "balancing" / "keypoints2d.npz", folder / "trial.npz")
    shutil.copy(sessions / "balancing" / "calibration.toml", folder / "calib.toml")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    with qtbot.waitSignal(tab.sourcesListed, timeout=10_000, check_params_cb=lambda s: len(s) == 3):
        qtbot.mouseClick(tab.add_folder_button, LEFT)
    added = next(s for s in tab.sources() if s.path == folder)
    assert added.usable and added.frames == 100 and sorted(added.cameras) == sorted(CAMS) and added.external
    assert [s.path for s in tab.checked_sources()] == [folder]  # ticked
    assert tab.source_tree.topLevelItem(2).text(0) == "elsewhere  (added)"

    # remembered: a new tab lists it again
    other = TrainingTab(tab.app_state)
    qtbot.addWidget(other)
    qtbot.waitUntil(lambda: len(other.sources()) == 3, timeout=10_000)
    other.stop()

    # a keypoints file without a calibration beside it: said so
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(folder / "trial.npz", lonely / "kp.npz")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(lonely / "kp.npz"), ""))
    with qtbot.waitSignal(tab.errorShown, timeout=5000) as err:
        qtbot.mouseClick(tab.add_file_button, LEFT)
    assert "calibration" in err.args[0]

    # Remove takes the added folder off the list (nothing deleted)
    qtbot.waitUntil(lambda: len(tab.sources()) == 4, timeout=10_000)
    tab.source_tree.setCurrentItem(tab.source_tree.topLevelItem(2))
    assert tab.remove_button.isEnabled()
    with qtbot.waitSignal(tab.sourcesListed, timeout=10_000, check_params_cb=lambda s: len(s) == 3):
        qtbot.mouseClick(tab.remove_button, LEFT)
    assert folder.is_dir() and folder not in [s.path for s in tab.sources()]


def test_a_failure_in_the_training_process_is_shown(tab, qtbot, tmp_path, sessions):
    """A recording too short to hold out validation frames: the training process's InputError, in the tab."""
    short = tmp_path / "short"
    short.mkdir()
    with np.load(sessions / "balancing" / "keypoints2d.npz") as z:
        save_keypoints_npz(short / "keypoints2d.npz", {c: z[c][:6] for c in CAMS}, np.arange(6) / 60.0)
    shutil.copy(sessions / "balancing" / "calibration.toml", short / "calibration.toml")
    src = tab.add_source(short)
    assert src.usable and src.frames == 6
    qtbot.waitUntil(lambda: any(s.path == short for s in tab.sources()), timeout=10_000)
    tab.set_device("cpu")
    with qtbot.waitSignal(tab.trainingFailed, timeout=90_000) as failed:
        assert tab.start()
    assert "too short" in failed.args[0] and "too short" in tab.error_text()
    assert tab.state() == "idle" and tab.start_button.isEnabled() and not tab.output_path().exists()


def test_loss_presets_and_weights(tab):
    env = tab.env
    assert set(env.presets) == {"paper", "structure-heavy", "finetune", "2d-only"}
    for name in env.presets:
        tab.set_preset(name)
        w = tab.loss_weights()
        for term in env.terms:
            assert w[term] == pytest.approx(env.presets[name][term]), (name, term)
        assert w["robust"] == env.presets[name]["robust"]
    tab.set_preset("paper")
    assert tab.preset() == "paper" and tab.weight_spins["bone_dir"].value() == pytest.approx(0.1)
    tab.set_loss_weight("symmetry", 0.25)
    assert tab.preset() == "custom" and tab.preset_combo.findData("custom") >= 0
    tab.set_loss_weight("symmetry", 0.0)  # back to the paper's weights: recognised
    assert tab.preset() == "paper" and tab.preset_combo.findData("custom") < 0


def test_choices_are_remembered(tab, qtbot, tmp_path):
    tab.epochs_spin.setValue(7)
    tab.batch_spin.setValue(48)
    tab.set_preset("2d-only")
    tab.set_loss_weight("symmetry", 0.2)  # custom weights
    tab.set_device("cpu")
    tab.save_settings()
    again = TrainingTab(tab.app_state)  # a new tab on the same settings
    qtbot.addWidget(again)
    _ready(again, qtbot)
    assert again.epochs_spin.value() == 7 and again.batch_spin.value() == 48 and again.device() == "cpu"
    assert again.preset() == "custom" and again.loss_weights() == tab.loss_weights()
    again.stop()


def test_closing_the_window_stops_training_and_keeps_the_model(qtbot, state):
    tab = TrainingTab(state)
    win = MainWindow(state, tabs={"Training": tab})
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.set_current_tab("Training")
    qtbot.waitExposed(win)
    _ready(tab, qtbot)
    _small_run(tab, epochs=200)
    out = tab.output_path()
    with qtbot.waitSignal(tab.progressed, timeout=90_000):
        assert tab.start()
    assert isinstance(tab, Tab) and tab.worker() in state.tasks.running()  # the window stops both on close
    win.close()  # stops the tabs and the tasks: training ends after its batch, saving the model and the state
    assert tab.worker() is None or not tab.worker().isRunning()
    from models.checkpoint import load_checkpoint

    assert load_checkpoint(out).meta["train_config"]["epochs"] == 200
    assert out.with_name(out.name + ".state.pt").is_file()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
