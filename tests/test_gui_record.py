"""The Record button of the Live tab under a real X server: recording a running capture into a session that
opens and is listed in the Sessions tab; stopping with the capture, a camera unplug, a full disk, closing the
window. Simulated cameras with a fake detector (tests/test_pipeline.py) keep it fast; nothing sleeps."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from app.live.tab import LiveTab
from app.main_window import MainWindow
from app.sessions.tab import SessionsTab
from app.settings import Settings
from app.state import AppState
from core.live import StartSpec
from core.session.lock import is_recording_live
from core.session.recovery import find_unfinished
from core.session.session import Session
from tests.test_pipeline import _truth, live_spec
from tests.test_session import _Disk

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def app_window(qtbot, qsettings_dir, tmp_path):
    """The main window with a Live and a Sessions tab wired like the app; sessions go to tmp_path/sessions."""
    state = AppState(Settings.in_folder(qsettings_dir))
    root = tmp_path / "sessions"
    state.set_sessions_root(root)
    live = LiveTab(state, device_lister=lambda: [])
    sessions = SessionsTab(state)
    tabs = {"Live": live, "Sessions": sessions}
    win = MainWindow(state, tabs=tabs)
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    win.set_current_tab("Live")
    qtbot.waitExposed(win)
    yield win, live, sessions, root
    win.close()
    assert live.state == "idle" and live.record_controls.state == "idle"


def _start(qtbot, live: LiveTab, spec: StartSpec) -> None:
    with qtbot.waitSignal(live.presenter.started, timeout=10_000):
        assert live.start_with(spec)


def _written(live: LiveTab) -> tuple[int, int]:
    s = live.record_controls.presenter.last_stats
    return s.frames_written if s is not None else (0, 0)


def test_record_button_records_the_running_capture_and_the_sessions_tab_lists_it(app_window, qtbot):
    win, live, sessions, root = app_window
    rec = live.record_controls
    ctrl = rec.presenter
    assert not rec.button.isEnabled() and "Start the capture first" in rec.button.toolTip()
    _start(qtbot, live, live_spec())
    assert rec.button.isEnabled() and str(root) in rec.button.toolTip()

    with qtbot.waitSignal(ctrl.recordingStarted, timeout=10_000) as started:
        qtbot.mouseClick(rec.button, LEFT)
    folder = Path(started.args[0])
    assert folder.parent == root and is_recording_live(folder)
    assert rec.state == "recording" and "Stop recording" in rec.button.text()
    # elapsed time and size on disk, polled at ~2 Hz
    # frames of both cameras, and live results (the pipeline's 3D) journaled with them
    qtbot.waitUntil(lambda: min(_written(live)) >= 20 and ctrl.last_stats.results_written >= 2, timeout=15_000)
    stats = ctrl.last_stats
    assert stats.bytes_on_disk > 0 and stats.error is None
    qtbot.waitUntil(lambda: rec.time_label.text().startswith("● 00:0") and "kB" in rec.size_label.text(), timeout=3000)

    with qtbot.waitSignal(ctrl.recordingFinished, timeout=15_000) as finished:
        qtbot.mouseClick(rec.button, LEFT)
    assert Path(finished.args[0]) == folder and rec.state == "idle"
    assert "Record" in rec.button.text() and live.state == "running"  # the capture goes on

    s = Session.open(folder)
    ts = s.check()
    assert s.meta.status == "complete" and s.names == ["left", "right"] and s.meta.origin == "recorded"
    assert all(len(ts[n]) >= 20 for n in s.names) and len(s.pairs()) >= 15
    poses = s.poses()
    assert poses is not None and poses.source == "live" and (poses.status == "ok").sum() >= 1
    ok = int(np.flatnonzero(poses.status == "ok")[0])
    k = int(round((ts["left"][s.pairs().index_a[ok]] - ts["left"][0]) / (1e9 / 30)))  # frame index of the sim
    assert np.nanmax(np.abs(poses.coarse[ok] - _truth(k))) < 0.05  # the live 3D, in metres

    # the Sessions tab lists it (recordingFinished -> refresh) and selects it
    qtbot.waitUntil(lambda: folder.name in sessions.row_names(), timeout=5000)
    row = sessions.rows()[sessions.row_names().index(folder.name)]
    assert row.status == "complete" and row.has_3d and row.results_source == "live" and row.cameras == ["left", "right"]
    assert sessions.selected_row() is not None and sessions.selected_row().path == folder

    # and replays it: the MJPEG videos decode frame-exactly; pairs the live pipeline skipped show its last result
    win.set_current_tab("Sessions")
    replay = sessions.replay
    with qtbot.waitSignal(replay.loaded, timeout=10_000):
        assert sessions.open_replay(folder)
    pairs = s.pairs()
    p = int(np.flatnonzero(poses.status == "skipped")[-1]) if (poses.status == "skipped").any() else ok
    replay.seek(p)
    qtbot.waitUntil(lambda: replay.shown_pair() == p, timeout=10_000)
    assert [v.frame().index for v in replay.views] == [pairs.index_a[p], pairs.index_b[p]]
    k = int(pairs.index_a[p])  # the simulated camera writes its frame number into the pixels
    expected = next(f for f in s.iter_frames("left") if f.index == k).image
    assert int(replay.views[0].frame().image[0, 0, 0]) == pytest.approx(int(expected[0, 0, 0]), abs=3)
    q = replay.shown_3d_pair()
    assert q <= p and (q < 0 or poses.status[q] == "ok")


def test_stopping_the_capture_stops_the_recording_cleanly(app_window, qtbot):
    win, live, sessions, root = app_window
    ctrl = live.record_controls.presenter
    _start(qtbot, live, live_spec())
    with qtbot.waitSignal(ctrl.recordingStarted, timeout=10_000) as started:
        ctrl.start()
    qtbot.waitUntil(lambda: min(_written(live)) >= 5, timeout=10_000)
    with qtbot.waitSignal(ctrl.recordingFinished, timeout=15_000):
        qtbot.mouseClick(live.start_button, LEFT)  # Stop the capture
    assert "with the capture" in (ctrl.last_notice or "")
    s = Session.open(started.args[0])
    assert s.meta.status == "complete" and min(len(t) for t in s.check().values()) >= 5
    qtbot.waitUntil(lambda: live.state == "idle", timeout=10_000)
    assert not live.record_controls.button.isEnabled()


def test_a_camera_unplug_stops_the_recording_and_keeps_it(app_window, qtbot):
    win, live, sessions, root = app_window
    ctrl = live.record_controls.presenter
    finished: list[str] = []
    ctrl.recordingFinished.connect(finished.append)
    _start(qtbot, live, live_spec(disconnect_b=(1.5, 60.0)))  # camera 'right' is unplugged 1.5 s after its start
    with qtbot.waitSignal(ctrl.recordingStarted, timeout=10_000) as started:
        ctrl.start()
    qtbot.waitUntil(lambda: finished == [started.args[0]], timeout=15_000)
    notice = ctrl.last_notice or ""
    assert "camera 'right'" in notice and "saved" in notice and ctrl.last_error is None
    box = live.record_controls.error_box()
    assert box is not None and "camera 'right'" in box.text()
    box.close()
    s = Session.open(started.args[0])
    ts = s.check()
    assert s.meta.status == "complete" and len(ts["right"]) >= 1 and len(ts["left"]) >= len(ts["right"])
    assert live.state == "running"  # the other camera keeps the capture alive; only the recording stopped


def test_a_full_disk_is_reported_clearly_and_what_was_written_stays(app_window, qtbot):
    win, live, sessions, root = app_window
    ctrl = live.record_controls.presenter
    disk = _Disk(limit=40_000)
    ctrl.recorder_kwargs = {"opener": disk.open}
    _start(qtbot, live, live_spec())
    with (
        qtbot.waitSignal(ctrl.recordingFailed, timeout=20_000) as failed,
        qtbot.waitSignal(ctrl.recordingStarted, timeout=10_000) as started,
    ):
        qtbot.mouseClick(live.record_controls.button, LEFT)
    text = failed.args[0]
    assert "disk is full" in text and "saved and readable" in text and "Free disk space" in text
    qtbot.waitUntil(lambda: ctrl.state == "idle", timeout=15_000)
    rec = live.record_controls
    assert rec.error_label.isVisible() and rec.error_label.toolTip() == text
    box = rec.error_box()
    assert box is not None and "disk is full" in box.text()
    box.close()
    s = Session.open(started.args[0])
    ts = s.check()
    assert s.meta.error == text and sum(len(t) for t in ts.values()) >= 2
    for name in s.names:
        assert len(list(s.iter_frames(name))) == len(ts[name])
    assert live.state == "running"


def test_closing_the_window_while_recording_finalises_the_session(app_window, qtbot):
    win, live, sessions, root = app_window
    ctrl = live.record_controls.presenter
    _start(qtbot, live, live_spec())
    with qtbot.waitSignal(ctrl.recordingStarted, timeout=10_000) as started:
        ctrl.start()
    qtbot.waitUntil(lambda: min(_written(live)) >= 3, timeout=10_000)
    win.close()
    assert ctrl.state == "idle" and live.state == "idle"
    folder = Path(started.args[0])
    assert Session.open(folder).meta.status == "complete" and not is_recording_live(folder)
    assert find_unfinished(root) == []
    assert [t.name for t in threading.enumerate() if t.name == "session-writer"] == []
