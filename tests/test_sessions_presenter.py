"""The Sessions tab's presenter without widgets: a real import and processing of a small synthetic session (a fake
detector reads the frame number off each frame), its state while a job runs, cancelled jobs that leave nothing,
renaming and deleting, and the recovery of an unfinished recording. ``qtbot`` only runs the event loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.sessions.presenter import SessionsPresenter, SessionsState
from app.sessions.text import details_note
from app.settings import Settings
from app.state import AppState
from app.tasks import Task, TaskRegistry
from core.errors import CrossViewError
from core.session.importing import ImportSummary
from core.session.layout import POSES_FILE, SESSION_FILE
from core.session.processing import ProcessSummary
from core.session.recovery import RecoverySummary
from core.session.session import Session
from tests import test_session
from tests.test_pipeline import _truth
from tests.test_session import _band_factory

#: Two 20-frame MJPEG videos of the synthetic rig (and a 17-frame one) and its calibration.
rig = test_session.synthetic


class _CancellingRegistry(TaskRegistry):
    """Cancels the tasks named in ``cancel`` before they start (a user pressing Cancel at once, deterministic)."""

    def __init__(self, cancel: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.cancel = cancel

    def start(self, task: Task) -> Task:
        if task.objectName() in self.cancel:
            task.cancel()
        return super().start(task)


def _presenter(qtbot, tmp_path: Path, group, registry: TaskRegistry | None = None):
    state = AppState(Settings.in_folder(tmp_path), registry)
    state.set_sessions_root(tmp_path / "sessions")
    p = SessionsPresenter(state, detector_factory=_band_factory(group))
    states: list[str] = []
    messages: list[str] = []
    p.stateChanged.connect(states.append)
    state.message.connect(lambda text, _ms: messages.append(text))
    return state, p, states, messages


def test_import_then_process_with_refinement_and_the_state_while_each_runs(qtbot, tmp_path, rig):
    group, calib, (va, vb, _short) = rig
    state, p, states, messages = _presenter(qtbot, tmp_path, group)
    out = state.sessions_root / "synthetic"
    assert p.state == SessionsState.IDLE and p.state == "idle" and not p.busy

    with qtbot.waitSignal(p.listed, timeout=10_000) as listed, qtbot.waitSignal(p.jobSucceeded, timeout=10_000) as done:
        assert p.import_videos(str(va), str(vb), str(calib), str(out))
        assert p.state == SessionsState.IMPORTING and p.busy and p.job() is not None
        assert not p.process(out)  # one job that changes sessions at a time
    kind, summary, path = done.args
    assert kind == "import" and isinstance(summary, ImportSummary) and path == out
    assert summary.pairs == 20 and summary.frames == {"left": 20, "right": 20} and summary.to_dict()["pairs"] == 20
    json.dumps(summary.to_dict())
    rows, select = listed.args
    assert [r.name for r in rows] == ["synthetic"] and select == out  # the new session is selected
    assert states == ["importing", "idle"] and p.state == SessionsState.IDLE and p.job() is None
    assert any(m.startswith("Imported synthetic: 20 pairs (index pairing)") for m in messages)

    def hook(inp):
        return inp.coarse + np.array([0.0, 0.0, 0.01])

    hook.fallbacks = lambda: (17, 340)  # as models.refiner.RefinerHook counts its guard's fallbacks
    p.set_refine_hook(hook, "fake-ugcn")
    progress: list[tuple[int, int]] = []
    p.jobProgressed.connect(lambda d, t, _m: progress.append((d, t)))
    with qtbot.waitSignal(p.listed, timeout=30_000) as listed, qtbot.waitSignal(p.jobSucceeded, timeout=30_000) as done:
        assert p.process(out, refine=True)
        assert p.state == SessionsState.PROCESSING
    kind, summary, path = done.args
    assert kind == "process" and isinstance(summary, ProcessSummary) and path == out
    assert summary.refined and summary.model == "fake-ugcn" and summary.frames_with_3d == 20
    assert progress[-1] == (20, 20)
    assert states[-2:] == ["processing", "idle"]
    row = listed.args[0][0]
    assert row.has_3d and row.has_refined and row.results_source == "processed"
    poses = Session.open(out).poses()
    np.testing.assert_allclose(poses.refined[7], _truth(7) + [0.0, 0.0, 0.01], atol=1e-5)
    guard = "17 of 340 refined joints (5.0 %) kept coarse by the guard"
    assert any(
        f"100% of pairs with 3D; refinement refinement hook given by the caller; {guard}." in m for m in messages
    )
    assert guard in details_note(row)  # the session's details say it too, read back from its meta


@pytest.mark.parametrize("kind", ["import", "process"])
def test_a_cancelled_job_ends_cancelled_and_leaves_nothing(qtbot, tmp_path, rig, kind):
    group, calib, (va, vb, _short) = rig
    registry = _CancellingRegistry((f"session-{kind}",))
    state, p, states, messages = _presenter(qtbot, tmp_path, group, registry)
    out = state.sessions_root / "s"
    if kind == "process":
        with qtbot.waitSignal(p.jobSucceeded, timeout=10_000):
            p.import_videos(str(va), str(vb), str(calib), str(out))
        states.clear()
    failed: list[str] = []
    p.jobFailed.connect(lambda k, text: failed.append(text))
    with qtbot.waitSignal(p.jobCancelled, timeout=30_000) as cancelled:
        if kind == "import":
            assert p.import_videos(str(va), str(vb), str(calib), str(out))
        else:
            assert p.process(out, refine=False)
    assert cancelled.args == [kind] and not failed
    assert states == ["importing" if kind == "import" else "processing", "idle"] and p.state == "idle"
    assert f"{kind.capitalize()} cancelled; nothing was written." in messages
    if kind == "import":
        assert not out.exists() and list(state.sessions_root.iterdir()) == []  # no hidden half-import either
    else:
        assert not (out / POSES_FILE).exists()


def test_rename_and_delete_check_first_and_list_again(qtbot, tmp_path, rig):
    group, calib, (va, vb, _short) = rig
    state, p, _states, messages = _presenter(qtbot, tmp_path, group)
    root = state.sessions_root
    for name in ("first", "second"):
        with qtbot.waitSignal(p.jobSucceeded, timeout=10_000):
            p.import_videos(str(va), str(vb), str(calib), str(root / name))
    qtbot.waitUntil(lambda: not p.scanning(), timeout=5000)
    with pytest.raises(CrossViewError, match="already exists"):
        p.rename_target(root / "first", "second")
    with pytest.raises(CrossViewError, match="cannot be a folder name"):
        p.rename_target(root / "first", "../elsewhere")
    with qtbot.waitSignal(p.listed, timeout=5000) as listed:
        target = p.rename(root / "first", "warm-up")
    assert target == root / "warm-up" and Session.open(target).check()
    assert listed.args[1] == target and "Renamed 'first' to 'warm-up'." in messages

    row = p.row(root / "second")
    assert p.refusal(row, "delete") is None
    (root / "stray").mkdir()
    with pytest.raises(CrossViewError, match="does not look like a session folder"):
        p.check_deletable(root / "stray")
    p.delete_permanently(root / "second")
    assert not (root / "second").exists()
    qtbot.waitUntil(lambda: [r.name for r in p.rows()] == ["warm-up"] and not p.scanning(), timeout=5000)
    assert "Deleted 'second'." in messages


def test_an_unfinished_recording_is_found_and_recovered(qtbot, tmp_path, rig):
    group, calib, (va, vb, _short) = rig
    state, p, states, _messages = _presenter(qtbot, tmp_path, group)
    folder = state.sessions_root / "crashed"
    with qtbot.waitSignal(p.jobSucceeded, timeout=10_000):
        p.import_videos(str(va), str(vb), str(calib), str(folder))
    meta = json.loads((folder / SESSION_FILE).read_text())
    meta["status"] = "recording"  # as a recording stopped by a crash leaves it (no recorder holds the lock)
    (folder / SESSION_FILE).write_text(json.dumps(meta))

    with qtbot.waitSignal(p.unfinishedFound, timeout=10_000) as found:
        p.check_unfinished()
    assert found.args[0] == [folder]
    states.clear()
    with qtbot.waitSignal(p.jobSucceeded, timeout=30_000) as done:
        assert p.recover([str(folder)])
        assert p.state == SessionsState.RECOVERING
    kind, summary, _path = done.args
    assert kind == "recover" and isinstance(summary, RecoverySummary)
    assert summary.recovered == [str(folder)] and summary.failed == {}
    assert summary.to_dict() == {"recovered": [str(folder)], "failed": {}}
    assert states == ["recovering", "idle"] and Session.open(folder).meta.status == "recovered"


def test_process_uses_the_shipped_offline_model_while_the_shipped_live_one_is_active(qtbot, tmp_path, rig, monkeypatch):
    """With the shipped model active, Process is given no hook (it loads the shipped offline model, two-sided, over
    the whole take); a model the user chose is used as it is."""
    import models.checkpoint as checkpoint

    group, *_ = rig
    offline = tmp_path / "cvugcn_offline.pt"
    offline.write_bytes(b"a model")
    monkeypatch.setattr(checkpoint, "OFFLINE_CHECKPOINT", offline)
    state, p, *_ = _presenter(qtbot, tmp_path, group)

    def live(inp):
        return inp.coarse

    state.model._done(live, "CV-UGCN live")  # the shipped live model finished loading
    assert state.model.process_hook() is None and p.refine_hook is None and p.refine_label == "offline"
    chosen = tmp_path / "mine.pt"
    chosen.write_bytes(b"a fine-tuned model")
    state.settings.active_model = chosen
    state.model._done(live, "CV-UGCN mine")
    assert state.model.process_hook() is live and p.refine_hook is live and p.refine_label == "CV-UGCN mine"
    offline.unlink()
    state.settings.active_model = None
    state.model._done(live, "CV-UGCN live")  # no offline model shipped: Process uses the live one
    assert p.refine_hook is live
