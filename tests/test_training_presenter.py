"""The Training tab's presenters without any widget (qtbot only runs the event loop), on the real Pose2Sim
balancing trial: the state computed from the running task, the plan from the user's choices (and the sentence
saying what to fix), the sources and the added folders, the starting checkpoints, the settings, a real run
paused, resumed and stopped; the comparison page's presenter and verdicts; the tab's words."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.training.compare_presenter import ComparePresenter, change, fmt, verdict
from app.training.labels import format_eta, preset_note
from app.training.presenter import (
    TrainingChoices,
    TrainingPresenter,
    TrainingState,
    error_text,
    matching_preset,
)
from core.errors import InputError, ModelError
from models.sources import CheckpointInfo
from models.train_process import RemoteError


@pytest.fixture
def sessions(training_sessions) -> Path:
    return training_sessions


@pytest.fixture
def state(training_state):
    return training_state


@pytest.fixture
def presenter(qtbot, state):
    p = TrainingPresenter(state)
    with qtbot.waitSignal(p.environmentReady, timeout=60_000):
        p.start_probe()
    with qtbot.waitSignal(p.sourcesListed, timeout=30_000):
        p.refresh()
    yield p
    p.stop()


def _choices(out: Path | None, env, **kw) -> TrainingChoices:
    loss = {**env.presets["finetune"]}
    base = dict(epochs=200, lr=1e-3, batch_size=16, device="cpu", loss=loss, loss_preset="finetune", out=out)
    base.update(kw)
    return TrainingChoices(**base)


def test_the_plan_says_what_to_fix(presenter, tmp_path):
    env = presenter.env
    assert presenter.state() is TrainingState.IDLE and presenter.state() == "idle"
    assert presenter.state_label() == "Ready" and {s.name for s in presenter.sources()} == {"balancing", "unprocessed"}
    assert (
        presenter.sources_note().startswith("Nothing ticked yet.")
        and "without 2D keypoints" in presenter.sources_note()
    )
    with pytest.raises(InputError, match="tick at least one"):
        presenter.plan(_choices(tmp_path / "a.pt", env))
    errors: list[str] = []
    presenter.errorChanged.connect(errors.append)
    assert not presenter.start(_choices(tmp_path / "a.pt", env)) and "tick at least one" in errors[-1]
    assert presenter.last_error == errors[-1] and presenter.task is None
    presenter.set_checked(next(s.path for s in presenter.sources() if s.name == "balancing"))
    assert presenter.sources_note().startswith("1 ticked · 100 frames")
    with pytest.raises(InputError, match="ends in .pt"):
        presenter.plan(_choices(tmp_path / "a.ckpt", env))
    existing = tmp_path / "exists.pt"
    existing.write_bytes(b"x")
    with pytest.raises(InputError, match="already exists"):
        presenter.plan(_choices(existing, env))
    with pytest.raises(InputError, match="Give the file"):  # Continue: nothing ran yet
        presenter.plan(_choices(tmp_path / "a.pt", env), resume=True)
    zero = {**env.presets["paper"], **{t: 0.0 for t in env.terms}}
    with pytest.raises(InputError, match="Every loss weight is 0"):
        presenter.plan(_choices(tmp_path / "a.pt", env, loss=zero))
    if not env.cuda:
        with pytest.raises(ModelError, match="no usable CUDA GPU"):
            presenter.plan(_choices(tmp_path / "a.pt", env, device="cuda"))
    plan = presenter.plan(_choices(tmp_path / "a.pt", env, init=None))
    assert plan.sources == [str(presenter.app.sessions_root / "balancing")] and plan.out == tmp_path / "a.pt"
    assert plan.batch_size == 16 and plan.loss["bone_length"] == env.presets["finetune"]["bone_length"]
    assert plan.threads is not None and plan.threads >= 1 and plan.init is None and not plan.resume


def test_a_run_is_paused_resumed_and_stopped(qtbot, presenter, tmp_path):
    env = presenter.env
    presenter.set_checked(presenter.app.sessions_root / "balancing")
    states: list[str] = []
    presenter.stateChanged.connect(states.append)
    out = tmp_path / "models" / "run.pt"
    with qtbot.waitSignal(presenter.epochFinished, timeout=90_000):
        assert presenter.start(_choices(out, env))
        assert presenter.state() is TrainingState.PREPARING and presenter.run_title == "Preparing the data…"
    assert presenter.state() is TrainingState.TRAINING and "preparing" in states and "training" in states
    assert presenter.run_info.startswith("72 training / 20 validation frames") and presenter.log_lines
    assert not presenter.start(_choices(out, env))  # one run at a time
    assert presenter.pause() and presenter.state() is TrainingState.PAUSED
    assert presenter.run_title.endswith("  ·  paused") and presenter.state_label() == "Paused"
    qtbot.waitUntil(presenter.trainer_paused, timeout=30_000)
    assert presenter.resume() and presenter.state() is TrainingState.TRAINING
    with qtbot.waitSignal(presenter.trainingFinished, timeout=90_000) as done:
        assert presenter.stop_training() and presenter.state() is TrainingState.STOPPING
        assert presenter.run_title == "Stopping after the current batch…"
    res = done.args[0]
    assert res.stopped == "stopped" and res.checkpoint == out and out.is_file()
    assert presenter.state() is TrainingState.IDLE and presenter.task is None and presenter.can_continue
    assert presenter.run_title.startswith("Stopped after") and "Saved to" in presenter.done_text
    assert presenter.last_result is res and states[-1] == "idle"
    # the settings keep the choices, typed
    s = presenter.settings
    assert (s.training_epochs, s.training_batch_size, s.training_device) == (200, 16, "cpu")
    assert s.training_loss_preset == "finetune" and s.training_loss_weights == env.presets["finetune"]
    # the new checkpoint is offered as a starting model
    assert any(data == str(out) for _, data in presenter.init_entries())


def test_sources_added_by_hand_are_remembered(qtbot, presenter, tmp_path, sessions):
    import shutil

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(sessions / "balancing" / "keypoints2d.npz", folder / "trial.npz")
    shutil.copy(sessions / "balancing" / "calibration.toml", folder / "calib.toml")
    with qtbot.waitSignal(presenter.sourcesListed, timeout=10_000, check_params_cb=lambda s: len(s) == 3):
        src = presenter.add_source(folder)
    assert src.usable and presenter.is_checked(folder) and presenter.is_external(folder)
    assert presenter.settings.training_extra_sources == [str(folder)]
    with qtbot.waitSignal(presenter.sourcesListed, timeout=10_000, check_params_cb=lambda s: len(s) == 2):
        presenter.remove_source(str(folder))
    assert presenter.settings.training_extra_sources == [] and folder.is_dir() and not presenter.is_checked(folder)


def test_starting_checkpoints_are_checked_once(qtbot, presenter, tmp_path):
    entries = presenter.init_entries()
    assert entries[0] == ("Shipped default model", "")
    with qtbot.waitSignal(presenter.checkpointChecked, timeout=30_000) as checked:
        presenter.check_init(None)
    assert checked.args[0] == "" and isinstance(checked.args[1], CheckpointInfo)
    assert presenter.checked_init(None) is checked.args[1]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    presenter.pick_init(bad)
    assert presenter.init_entries()[-1] == ("bad.pt", str(bad))
    with qtbot.waitSignal(presenter.checkpointChecked, timeout=30_000) as checked:
        presenter.check_init(bad)
    assert "not a usable CrossView model checkpoint" in checked.args[1]
    presenter.set_checked(presenter.app.sessions_root / "balancing")
    with pytest.raises(ModelError, match="not a usable CrossView model checkpoint"):
        presenter.plan(_choices(tmp_path / "a.pt", presenter.env, init=bad))


def test_use_model_makes_it_the_apps_model(qtbot, presenter, state):
    from models.checkpoint import DEFAULT_CHECKPOINT

    said: list[str] = []
    state.message.connect(lambda text, _ms: said.append(text))
    with qtbot.waitSignal(state.model.changed, timeout=60_000):
        presenter.use_model(DEFAULT_CHECKPOINT)
    assert state.model.chosen() == DEFAULT_CHECKPOINT and said == [
        "Live capture and processing now use cvugcn_default.pt."
    ]


def test_presets_match_weights_and_words(qtbot, presenter):
    env = presenter.env
    for name, weights in env.presets.items():
        assert matching_preset(dict(weights), env) == name
    assert matching_preset({**env.presets["paper"], "symmetry": 0.25}, env) is None
    assert preset_note("paper") == "The paper's three terms; bone direction at 0.1."
    assert format_eta(None) == "–" and format_eta(12.4) == "12 s" and format_eta(125) == "2:05"
    assert format_eta(3725) == "1:02:05"
    assert error_text(InputError("bad")) == "bad" and error_text(RemoteError("X: y")) == "X: y"
    assert error_text(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"


def test_the_compare_presenter_checks_the_choices_and_says_what_the_figures_mean(qtbot, state, tmp_path):
    p = ComparePresenter(state.tasks)
    failed: list[str] = []
    p.compareFailed.connect(failed.append)
    assert not p.compare(None, tmp_path / "new.pt", None) and "Choose a recording" in failed[-1]
    assert not p.compare(tmp_path, None, None) and "Train a model first" in failed[-1]
    assert p.use_model(tmp_path / "missing.pt") is None and "no new checkpoint file" in failed[-1]
    assert p.last_error == failed[-1] and not p.is_busy()
    assert change(9.0, 10.0) == ("-10.0 %", "better") and change(11.0, 10.0) == ("+10.0 %", "worse")
    assert change(10.01, 10.0) == ("+0.1 %", "same") and change(math.nan, 10.0) == ("", "same")
    assert fmt(1.234) == "1.23" and fmt(math.nan) == "–" and fmt(None) == "–"

    def comparison(new: tuple[float, ...]) -> SimpleNamespace:
        old = {"reproj_px": 10.0, "bone_std_mm": 20.0, "jitter_mm": 5.0}
        return SimpleNamespace(metrics={"old": old, "new": dict(zip(old, new, strict=False))})

    assert verdict(comparison((9.0, 19.0, 4.0)))[1] == "good" and verdict(comparison((11.0, 21.0, 6.0)))[1] == "bad"
    assert verdict(comparison((11.0, 21.0, 4.0))) == (
        "The new model is worse than the current one on 2 of 3 measures on this recording: keep the current one.",
        "bad",
    )
    assert verdict(comparison((9.0, 21.0, 5.0))) == (
        "Mixed: the new model is better on 1 of 3 measures and worse on 1.",
        "mixed",
    )
    assert verdict(comparison((9.0, 20.0, 5.0)))[1] == "good"  # better on one, the same on the others
    assert verdict(comparison((9.0, 21.0)))[1] == "mixed"  # a measure the old run lacks is left out
