"""The app's shared pieces without widgets: the task contract (Task, TaskRegistry), typed settings, the app
state and the theme."""

from __future__ import annotations

import threading

import pytest
from PySide6 import QtCore

from app.settings import Settings
from app.state import AppState
from app.tasks import RegistryClosed, Task, TaskRegistry, TaskState
from app.theme import PALETTE, fill_template, qss_files, stylesheet
from core.errors import InputError
from core.jobs import Cancelled


def _outcomes(task: Task) -> list[str]:
    seen: list[str] = []
    task.succeeded.connect(lambda r: seen.append(f"ok:{r}"))
    task.failed.connect(lambda e: seen.append(f"failed:{type(e).__name__}"))
    task.cancelled.connect(lambda: seen.append("cancelled"))
    task.ended.connect(lambda: seen.append("ended"))
    return seen


def test_a_task_reports_progress_streams_items_and_ends_once(qtbot):
    def job(progress, cancel):
        for k in range(5):
            progress(k, 4, f"step {k}")
            task.post(k)
        return "done"

    task = Task(job, "test-job", "Testing")
    seen = _outcomes(task)
    posted: list[int] = []
    progress: list[tuple[int, int, str]] = []
    task.posted.connect(posted.append)
    task.progressed.connect(lambda d, t, m: progress.append((d, t, m)))
    with qtbot.waitSignal(task.ended, timeout=5000):
        task.start()
    qtbot.waitUntil(lambda: seen[-1:] == ["ended"], timeout=2000)
    assert seen == ["ok:done", "ended"] and task.state is TaskState.SUCCEEDED and task.result == "done"
    assert posted == [0, 1, 2, 3, 4]
    assert progress[0] == (0, 4, "step 0") and progress[-1][0] >= 4  # throttled, but first and final pass


@pytest.mark.parametrize(
    ("raise_", "outcome", "state"),
    [(InputError("bad file"), "failed:InputError", TaskState.FAILED), (Cancelled(), "cancelled", TaskState.CANCELLED)],
)
def test_a_failed_or_cancelled_task_says_so(qtbot, raise_, outcome, state):
    def job(progress, cancel):
        raise raise_

    task = Task(job, "test-fail")
    seen = _outcomes(task)
    with qtbot.waitSignal(task.ended, timeout=5000):
        task.start()
    assert seen == [outcome, "ended"] and task.state is state and task.state.final


def test_the_registry_cancels_every_task_on_close_and_refuses_new_ones(qtbot):
    started = threading.Barrier(3)

    def job(progress, cancel):
        started.wait(5)
        while not cancel.wait(0.01):
            pass
        cancel.raise_if_cancelled()

    reg = TaskRegistry()
    tasks = [reg.start(Task(job, f"long-{k}")) for k in range(2)]
    started.wait(5)
    assert reg.busy() and [t.objectName() for t in reg.running()] == ["long-0", "long-1"]
    assert reg.stop_all() is True
    assert all(t.isFinished() and t.state is TaskState.CANCELLED for t in tasks)
    qtbot.waitUntil(lambda: not reg.busy(), timeout=2000)  # forgotten once `ended` reached the GUI thread
    with pytest.raises(RegistryClosed, match="closing"):
        reg.start(Task(job, "late"))


def test_settings_are_typed_keep_the_old_layout_and_survive_bad_values(tmp_path, qapp):
    s = Settings.in_folder(tmp_path)
    assert s.live_fps == 30 and s.live_mjpg is True and s.calibration_dir is None and s.live_videos == []
    s.live_fps = 15
    s.live_mjpg = False
    s.calibration_dir = tmp_path / "calib"
    s.live_videos = ["a.mp4", "b.mp4"]
    s.sync()
    again = Settings.in_folder(tmp_path)
    assert again.live_fps == 15 and again.live_mjpg is False and again.calibration_dir == tmp_path / "calib"
    assert again.live_videos == ["a.mp4", "b.mp4"]
    assert again.qsettings.value("live/mjpg") == "false"  # the layout earlier versions wrote
    again.qsettings.setValue("live/fps", "many")
    assert again.live_fps == 30  # a bad value reads as the default, never an exception
    keys = Settings.keys()
    assert len(set(keys.values())) == len(keys) and keys["live_fps"] == "live/fps"


def test_the_two_calibration_folder_keys_become_one(tmp_path, qapp):
    q = QtCore.QSettings(str(tmp_path / "CrossView.ini"), QtCore.QSettings.Format.IniFormat)
    q.setValue("calibration/save_dir", str(tmp_path / "old"))
    q.sync()
    s = Settings(q)
    assert s.calibration_dir == tmp_path / "old" and q.value("calibration/save_dir") is None


def test_app_state_loads_a_calibration_and_says_so(tmp_path, qtbot):
    from core.calibration_io import save_calibration
    from tests.test_pipeline import _rig

    path = save_calibration(tmp_path / "rig.toml", _rig())
    state = AppState(Settings.in_folder(tmp_path))
    with qtbot.waitSignal(state.calibrationChanged, timeout=1000) as sig:
        state.load_calibration(path)
    assert sig.args[0].group.names == _rig().names and state.calibration_path == path
    assert state.settings.calibration_dir == tmp_path
    assert state.sessions_root.name == "sessions" and state.models_folder().name == "models"


def test_the_theme_fills_every_placeholder_from_the_palette():
    assert qss_files()[0].name == "base.qss"
    css = stylesheet()
    assert "{{" not in css and "}}" not in css and PALETTE.accent in css
    assert fill_template("a { color: {{ accent:0.5 }}; }") == "a { color: rgba(62, 166, 245, 0.5); }"
    with pytest.raises(KeyError, match="no colour"):
        fill_template("{{ nope }}")


def test_coalescing_runs_one_task_at_a_time_and_once_more_when_asked_meanwhile(qtbot):
    from app.tasks import Coalescing

    gate = threading.Event()
    runs: list[int] = []

    def make() -> Task:
        def job(progress, cancel):
            runs.append(len(runs))
            gate.wait(5)
            return len(runs)

        return Task(job, "listing")

    reg = TaskRegistry()
    c = Coalescing(reg, make)
    first = c.request()
    assert first is not None and c.running()
    assert c.request() is None and c.request() is None and c.pending()  # asked twice meanwhile: one more run
    with qtbot.waitSignal(reg.taskStarted, timeout=5000) as again:
        gate.set()
    assert again.args[0] is not first and c.running() and not c.pending()
    qtbot.waitUntil(lambda: not c.running() and not reg.busy(), timeout=5000)
    assert runs == [0, 1]
