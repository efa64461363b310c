"""The Sessions tab under a real X server, on the real Pose2Sim balancing trial (cameras 01 + 04): Import through
the tab's dialog, Process from the tab (cancelled once, then to the end, real MediaPipe), replay (scrub, plot
click, step, play), raw against refined, Export TRC through the dialog; Rename and Delete with their
confirmations (and a cancelled Delete); the recovery offer for a recording killed mid-way.
Nothing sleeps: every wait is on a signal or a condition. (The listing and the replay decoder, which need no
widgets, are tested in tests/test_session_listing.py and tests/test_session_replay.py.)"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.sessions.replay import COMPARE_OVERLAY, COMPARE_SIDE, RAW_NAME, ReplayView
from app.sessions.tab import SessionsTab
from app.settings import Settings
from app.state import AppState
from core import skeleton as sk
from core.calibration_io import save_calibration
from core.session.avi import MjpegAviWriter
from core.session.importing import import_videos
from core.session.journal import Poses, read_journal, write_npz
from core.session.layout import JOURNAL_FILE, POSES_FILE, TIMESTAMPS_FILE
from core.session.lock import is_recording_live
from core.session.recovery import find_unfinished
from core.session.replay import load_replay_data
from core.session.session import Session
from tests.paths import POSE2SIM, need
from tests.test_pipeline import SIZE, _rig, _truth
from tests.test_session import _CHILD, _band_factory, _grey_code, _rows, _wait_for
from tests.trc_reader import read_trc

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton
REPO = Path(__file__).resolve().parents[1]
YES, NO = QtWidgets.QMessageBox.StandardButton.Yes, QtWidgets.QMessageBox.StandardButton.No


def _pose2sim() -> tuple[Path, Path, Path]:
    videos = POSE2SIM / "videos"
    return need(videos / "cam01.mp4"), need(videos / "cam04.mp4"), need(POSE2SIM / "Calib_qualisys.toml")


@pytest.fixture
def state(qsettings_dir, tmp_path) -> AppState:
    app_state = AppState(Settings.in_folder(qsettings_dir))
    app_state.set_sessions_root(tmp_path / "sessions")
    return app_state


@pytest.fixture
def tab(qtbot, state):
    widget = SessionsTab(state)
    qtbot.addWidget(widget)
    widget.resize(1440, 900)
    with qtbot.waitSignal(widget.listed, timeout=5000):  # the first show lists the sessions folder
        widget.show()
        qtbot.waitExposed(widget)
    yield widget
    widget.stop()


def _answer(monkeypatch, *answers: QtWidgets.QMessageBox.StandardButton) -> list[str]:
    """QMessageBox.question answers the given buttons in turn; returns the questions asked."""
    asked: list[str] = []
    queue = list(answers)

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return queue.pop(0)

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    return asked


# --------------------------------------------------------------------------------------------- the whole workflow


def test_import_process_replay_and_export_the_pose2sim_trial(tab, qtbot, monkeypatch, tmp_path):
    cam01, cam04, calib = _pose2sim()
    root = tab.root()
    assert tab.row_names() == [] and tab.empty_label.isVisible() and str(root) in tab.empty_label.text()

    # --- Import… through the dialog (file dialogs answered by caption) ---
    chosen = {"Video A": cam01, "Video B": cam04, "Calibration": calib}
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getOpenFileName", lambda parent, caption, *a, **k: (str(chosen[caption]), "")
    )
    qtbot.mouseClick(tab.import_button, LEFT)
    dlg = tab.import_dialog()
    assert dlg is not None and dlg.isVisible()
    qtbot.mouseClick(dlg.calib_button, LEFT)
    for b in dlg.video_buttons:
        qtbot.mouseClick(b, LEFT)
    # the 4-camera lab calibration: the cameras are guessed from the file names
    assert [c.currentData() for c in dlg.camera_combos] == ["cam_01", "cam_04"]
    dlg.name_edit.setText("balancing")
    with qtbot.waitSignal(tab.taskSucceeded, timeout=30_000) as done:
        qtbot.mouseClick(dlg.ok_button, LEFT)
    assert done.args[0] == "import" and done.args[1].pairs == 100
    qtbot.waitUntil(lambda: tab.row_names() == ["balancing"], timeout=5000)
    row = tab.selected_row()
    assert row is not None and row.name == "balancing" and row.pairs == 100 and not row.has_3d
    assert tab.table.item(0, 3).text() == "cam_01 + cam_04" and tab.table.item(0, 5).text() == "–"
    assert not tab.export_button.isEnabled() and tab.process_button.isEnabled()

    # --- Process, cancelled: nothing is written ---
    tab.refine_check.setChecked(False)
    with qtbot.waitSignal(tab.taskProgressed, timeout=60_000, check_params_cb=lambda d, t, m: d >= 1):
        qtbot.mouseClick(tab.process_button, LEFT)
    assert tab.task_bar.isVisible() and not tab.process_button.isEnabled()
    with qtbot.waitSignal(tab.taskCancelled, timeout=60_000):
        qtbot.mouseClick(tab.cancel_button, LEFT)
    assert not (root / "balancing" / POSES_FILE).exists()
    qtbot.waitUntil(lambda: tab.task() is None and not tab.task_bar.isVisible(), timeout=5000)

    # --- Process to the end (real MediaPipe on both views, triangulation) ---
    with qtbot.waitSignal(tab.taskSucceeded, timeout=120_000) as done:
        qtbot.mouseClick(tab.process_button, LEFT)
    kind, summary = done.args
    assert kind == "process" and summary.frames == 100 and summary.percent_with_3d >= 95
    qtbot.waitUntil(lambda: tab.selected_row() is not None and tab.selected_row().has_3d, timeout=5000)
    assert tab.table.item(0, 5).text() == "✓" and tab.export_button.isEnabled()
    assert "of pairs with 3D" in tab.detail_note.text()

    # --- replay ---
    replay: ReplayView = tab.replay
    with qtbot.waitSignal(replay.loaded, timeout=15_000):
        qtbot.mouseClick(tab.open_button, LEFT)
    assert tab.stack.currentIndex() == 1 and "balancing" in tab.replay_title.text()
    data = replay.data()
    assert data.n_pairs == 100 and data.world_up == "+z"
    qtbot.waitUntil(lambda: replay.shown_pair() == 0, timeout=15_000)
    assert replay.current() == 0 and replay.frame_text().startswith("pair 0 ")
    assert [v.frame().index for v in replay.views] == [0, 0]
    assert all(v.pose() is not None and (v.pose()[:, 2] > 0.5).sum() >= 10 for v in replay.views)
    first = replay.skeleton("raw")
    assert first is not None and np.isfinite(first).all()
    # the 2D overlay is drawn in the shown (downscaled) picture's pixels: the keypoints scaled with it
    kp = data.keypoints["cam_01"][0]
    scale = replay.views[0].frame().image.shape[1] / 1080
    np.testing.assert_allclose(replay.views[0].pose()[:, :2], kp[:, :2] * scale, atol=1e-6)

    # scrub: move the slider
    replay.slider.setValue(60)
    assert replay.current() == 60 and replay.frame_text().startswith("pair 60 ")
    moved = replay.skeleton("raw")
    assert np.linalg.norm(moved - first, axis=1).max() > 0.05  # the 3D skeleton follows the timeline (metres)
    np.testing.assert_allclose(moved, data.poses.coarse[60], atol=1e-5)
    qtbot.waitUntil(lambda: replay.shown_pair() == 60, timeout=15_000)
    assert [v.frame().index for v in replay.views] == [60, 60]
    for plot in replay.plots.plots():
        assert plot.cursor.value() == pytest.approx(data.time_s[60])

    # click a point of the trajectory plot: jump to its pair
    j = replay.plots.joint()
    assert j == sk.JOINT_INDEX["right_wrist"]
    plot = replay.plots.trajectory
    target = 25
    pos = plot.to_widget(float(data.time_s[target]), float(data.poses.coarse[target, j, 2]))
    with qtbot.waitSignal(replay.frameChanged, timeout=2000) as jumped:
        qtbot.mouseClick(plot.viewport(), LEFT, pos=pos)
    assert jumped.args[0] == target and replay.current() == target
    np.testing.assert_allclose(replay.skeleton("raw"), data.poses.coarse[target], atol=1e-5)
    # another joint: the bone plot shows its bones (knee: hip-knee and knee-ankle)
    replay.plots.set_joint("left_knee")
    assert sorted(k for k in replay.plots.bones.curves) == ["raw_4", "raw_5"]

    # step and play (2x) to the end
    qtbot.mouseClick(replay.forward_button, LEFT)
    assert replay.current() == target + 1
    qtbot.mouseClick(replay.back_button, LEFT)
    assert replay.current() == target
    replay.speed_combo.setCurrentIndex(replay.speed_combo.findData(2.0))
    assert replay.speed() == 2.0
    with qtbot.waitSignal(replay.playingChanged, timeout=10_000, check_params_cb=lambda on: not on):
        qtbot.mouseClick(replay.play_button, LEFT)
        assert replay.is_playing()
    assert replay.current() == 99
    assert not replay.side_button.isEnabled()  # no refined 3D in this session: nothing to compare

    # --- Export TRC through the dialog ---
    out = tmp_path / "exports" / "balancing.trc"
    out.parent.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out.with_suffix("")), ""))
    qtbot.mouseClick(tab.replay_export_button, LEFT)
    edlg = tab.export_dialog()
    assert edlg is not None and not edlg.refined_radio.isEnabled() and edlg.which() == "coarse"
    edlg.set_format("trc")
    qtbot.mouseClick(edlg.browse_button, LEFT)
    assert edlg.out_path() == out  # the suffix of the format is added
    with qtbot.waitSignal(edlg.exported, timeout=20_000) as exported:
        qtbot.mouseClick(edlg.export_button, LEFT)
    assert exported.args[0].out == str(out) and str(out) in edlg.result_label.text()
    names, time_s, pts, header = read_trc(out)
    assert names == list(sk.MARKER_NAMES) and header["Units"] == "m" and len(pts) == 100
    np.testing.assert_allclose(time_s, np.arange(100) / 60, atol=1e-6)
    # metres: a standing adult's head is 1.3-2.2 m above the ankles (TRC is Y-up)
    head, ankle = sk.JOINT_INDEX["head_top"], sk.JOINT_INDEX["right_ankle"]
    height = np.nanmedian(pts[:, head, 1] - pts[:, ankle, 1])
    assert 1.2 < height < 2.2, height
    edlg.close()

    qtbot.mouseClick(tab.back_button, LEFT)
    assert tab.stack.currentIndex() == 0 and replay.data() is None and replay.decoder() is None


# --------------------------------------------------------------------------------------------- raw against refined


def test_raw_and_refined_side_by_side_or_overlaid(qtbot, tmp_path):
    cam01, cam04, calib = _pose2sim()
    out = tmp_path / "s"
    import_videos(cam01, cam04, calib, out, cameras=["cam_01", "cam_04"])
    s = Session.open(out)
    P = 100
    rng = np.random.default_rng(0)
    coarse = np.cumsum(rng.normal(0, 0.01, (P, 17, 3)), axis=0) + np.array([0.0, 0.0, 1.0])
    coarse[10] = np.nan  # a pair without 3D
    refined = coarse + np.array([0.0, 0.0, 0.1])

    status = np.full(P, "ok", dtype="U16")
    status[10] = "one_view"
    write_npz(out / POSES_FILE, Poses(s.time_s(), coarse, refined, np.ones((P, 17)), status, model="m1").to_arrays())

    view = ReplayView()
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    qtbot.waitExposed(view)
    view.set_data(load_replay_data(out))
    assert view.side_button.isEnabled() and view.compare_mode() == COMPARE_SIDE
    assert view.view3d_refined.isVisible()
    view.seek(5)
    np.testing.assert_allclose(view.skeleton("raw"), coarse[5], atol=1e-6)
    np.testing.assert_allclose(view.skeleton("refined"), refined[5], atol=1e-6)
    assert view.view3d_refined.skeleton_names() == ["Refined · m1"] and view.view3d.skeleton_names() == [RAW_NAME]
    # overlay: both in one view, two colours
    qtbot.mouseClick(view.overlay_button, LEFT)
    assert view.compare_mode() == COMPARE_OVERLAY and not view.view3d_refined.isVisible()
    assert sorted(view.view3d.skeleton_names()) == sorted([RAW_NAME, "Refined · m1"])
    raw_style = view.view3d.skeleton_style(RAW_NAME)
    ref_style = view.view3d.skeleton_style("Refined · m1")
    assert raw_style.left[:3] != ref_style.left[:3]
    np.testing.assert_allclose(view.skeleton("refined"), refined[5], atol=1e-6)
    # the plots show raw (thin) and refined (thick) curves
    assert {"raw_x", "ref_x"} <= set(view.plots.trajectory.curves)
    # a pair without 3D says why
    view.seek(10)
    assert view.skeleton("raw") is None and "only one camera" in (view.no3d_text() or "")
    qtbot.mouseClick(view.side_button, LEFT)
    assert view.view3d_refined.isVisible() and view.view3d.skeleton_names() == [RAW_NAME]
    view.seek(11)
    assert view.no3d_text() is None
    view.stop()


def test_process_with_refinement_from_the_tab_then_replay_and_export_the_refined_3d(
    qtbot, state, monkeypatch, tmp_path
):
    """A synthetic rig whose frames carry their index (fast fake detector): Process with a refinement hook."""
    group = _rig()
    calib = save_calibration(tmp_path / "rig.toml", group)
    videos = []
    for name in ("a", "b"):
        w = MjpegAviWriter(tmp_path / f"{name}.avi", *SIZE, 30)
        for k in range(20):
            w.write(_grey_code(k))
        w.close()
        videos.append(tmp_path / f"{name}.avi")
    root = tmp_path / "sessions"
    import_videos(*videos, calib, root / "synthetic")

    tab = SessionsTab(state, detector_factory=_band_factory(group))
    qtbot.addWidget(tab)
    tab.resize(1400, 860)
    with qtbot.waitSignal(tab.listed, timeout=5000):
        tab.show()
    tab.set_refine_hook(lambda inp: inp.coarse + np.array([0.0, 0.0, 0.01]), "fake-ugcn")
    assert "fake-ugcn" in tab.refine_check.text()
    tab.refine_check.setChecked(True)
    with qtbot.waitSignal(tab.taskSucceeded, timeout=30_000) as done:
        qtbot.mouseClick(tab.process_button, LEFT)
    summary = done.args[1]
    assert summary.refined and summary.model == "fake-ugcn" and summary.frames_with_3d == 20
    qtbot.waitUntil(lambda: tab.rows() and tab.rows()[0].has_refined, timeout=5000)
    assert tab.table.item(0, 6).text() == "✓" and tab.detail_values["Refined"].text() == "yes"

    with qtbot.waitSignal(tab.replay.loaded, timeout=10_000):
        qtbot.mouseClick(tab.open_button, LEFT)
    replay = tab.replay
    assert replay.side_button.isEnabled() and replay.view3d_refined.isVisible()
    replay.seek(7)
    np.testing.assert_allclose(replay.skeleton("raw"), _truth(7), atol=1e-5)
    np.testing.assert_allclose(replay.skeleton("refined"), _truth(7) + [0.0, 0.0, 0.01], atol=1e-5)

    edlg = tab.export_dialog_open(tab._replay_path())
    assert edlg.refined_radio.isEnabled() and edlg.which() == "refined"
    edlg.set_format("csv")
    edlg.path_edit.setText(str(tmp_path / "out.csv"))
    with qtbot.waitSignal(edlg.exported, timeout=10_000) as exported:
        qtbot.mouseClick(edlg.export_button, LEFT)
    assert exported.args[0].which == "refined" and (tmp_path / "out.csv").is_file()
    edlg.close()

    # the sessions folder is a setting: Choose… another one lists that one (and the Record button uses it)
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(other))
    tab.show_list()
    with qtbot.waitSignal(tab.listed, timeout=5000):
        qtbot.mouseClick(tab.choose_root_button, LEFT)
    assert tab.root() == other and state.settings.qsettings.value("sessions/root") == str(other)
    assert tab.row_names() == []
    assert tab.root_label.toolTip() == str(other)
    tab.stop()


# --------------------------------------------------------------------------------------------- rename, delete


def test_rename_and_delete_ask_first_and_a_cancelled_delete_keeps_the_folder(tab, qtbot, monkeypatch, tmp_path):
    cam01, cam04, calib = _pose2sim()
    root = tab.root()
    for name in ("first", "second", "third"):
        import_videos(cam01, cam04, calib, root / name, cameras=["cam_01", "cam_04"])
    with qtbot.waitSignal(tab.listed, timeout=5000):
        qtbot.mouseClick(tab.refresh_button, LEFT)
    assert sorted(tab.row_names()) == ["first", "second", "third"]

    # rename, confirmed
    assert tab.select("first")
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("warm-up", True))
    asked = _answer(monkeypatch, YES)
    with qtbot.waitSignal(tab.listed, timeout=5000):
        qtbot.mouseClick(tab.rename_button, LEFT)
    assert "Rename 'first' to 'warm-up'?" in asked[0]
    assert (root / "warm-up").is_dir() and not (root / "first").exists()
    assert Session.open(root / "warm-up").check()  # still a whole session
    assert "warm-up" in tab.row_names() and tab.selected_row().name == "warm-up"
    # rename to a name that exists: refused, nothing changes
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("second", True))
    tab.rename()
    assert "already exists" in tab.last_error and (root / "warm-up").is_dir()
    tab.error_box().close()

    # delete, cancelled: the folder stays
    assert tab.select("second")
    asked = _answer(monkeypatch, NO)
    qtbot.mouseClick(tab.delete_button, LEFT)
    assert "Delete the session 'second'" in asked[0] and "trash" in asked[0]
    assert (root / "second" / "session.json").is_file()

    # delete, confirmed: moved to the trash (a private XDG trash for the test)
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    _answer(monkeypatch, YES)
    with qtbot.waitSignal(tab.listed, timeout=5000):
        qtbot.mouseClick(tab.delete_button, LEFT)
    assert not (root / "second").exists()
    assert (xdg / "Trash" / "files" / "second" / "session.json").is_file()  # recoverable from the trash
    assert "second" not in tab.row_names()

    # where there is no trash: a second confirmation; "No" keeps the folder, "Yes" deletes it
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no-such-dir"))
    assert tab.select("third")
    asked = _answer(monkeypatch, YES, NO)
    assert not tab.delete()
    assert "permanently" in asked[1] and (root / "third" / "session.json").is_file()
    _answer(monkeypatch, YES, YES)
    assert tab.delete()
    assert not (root / "third").exists()
    qtbot.waitUntil(lambda: tab.row_names() == ["warm-up"], timeout=5000)


# --------------------------------------------------------------------------------------------- recovery


def test_a_recording_killed_mid_way_is_offered_for_recovery(qtbot, state, tmp_path):
    root = tmp_path / "sessions"
    folder = root / "crashed"
    root.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), folder=str(folder))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:

        def written() -> bool:
            return min(_rows(folder / TIMESTAMPS_FILE).values()) >= 12 and len(read_journal(folder / JOURNAL_FILE)) >= 1

        _wait_for(lambda: child.poll() is not None or written(), 60, "12 frames per camera on disk")
        assert child.poll() is None, "the recording process ended on its own"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert find_unfinished(root) == [folder] and not is_recording_live(folder)

    tab = SessionsTab(state)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    with qtbot.waitSignal(tab.recoveryOffered, timeout=10_000) as offered:
        tab.check_unfinished()  # the app calls this at start (app.tabs.build_main_window)
    assert offered.args[0] == [folder]
    dlg = tab.recovery_dialog()
    assert dlg is not None and dlg.isVisible() and dlg.selected() == [str(folder)]
    assert "crashed" in dlg.list.item(0).text()
    qtbot.waitUntil(lambda: tab.row_names() == ["crashed"], timeout=5000)
    assert tab.rows()[0].status == "unfinished" and not tab.open_button.isEnabled()
    with qtbot.waitSignal(tab.taskSucceeded, timeout=30_000) as done:
        qtbot.mouseClick(dlg.recover_button, LEFT)
    assert done.args[0] == "recover" and done.args[1].recovered == [str(folder)] and not done.args[1].failed
    s = Session.open(folder)
    assert s.meta.status == "recovered" and min(len(t) for t in s.check().values()) >= 11
    assert s.poses() is not None and s.poses().source == "live"
    assert find_unfinished(root) == []
    qtbot.waitUntil(lambda: tab.rows() and tab.rows()[0].status == "recovered", timeout=5000)
    assert tab.open_button.isEnabled()
    tab.stop()
