""" "Calibrate from a person" driven through its real buttons under Xvfb, on the real Pose2Sim balancing take
(cameras 01 and 04, their Qualisys lenses): coverage coaching while the videos are read, the verdict, Save, the
app's calibration; and the messages for bad inputs. No sleeps: every wait is on a signal or a condition."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from app.calibration.person_presenter import PersonPresenter, PersonState
from app.calibration.tab import CalibrationTab
from app.settings import Settings
from app.state import AppState
from bench.shared import relative_pose_error
from calibration.person_videos import PersonInputs
from core.calibration_io import load_calibration
from tests.paths import POSE2SIM, need

pytestmark = pytest.mark.gui
LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def app_state(qtbot, qsettings_dir):
    state = AppState(Settings.in_folder(qsettings_dir))
    yield state
    qtbot.waitUntil(lambda: not state.tasks.busy(), timeout=10_000)


def test_calibrate_from_a_person_from_the_tab_to_the_apps_calibration(qtbot, app_state, tmp_path):
    videos = [need(POSE2SIM / "videos" / f"cam0{i}.mp4") for i in (1, 4)]
    calib = POSE2SIM / "Calib_qualisys.toml"
    tab = CalibrationTab(app_state)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.mouseClick(tab.person_button, LEFT)
    dlg = tab._person
    assert dlg is not None and dlg.isVisible() and not dlg.save_button.isEnabled()
    for edit, v in zip(dlg.video_edits, videos):
        edit.setText(str(v))
    dlg.intrinsics_edit.setText(str(calib))
    qtbot.mouseClick(dlg.lens_file, LEFT)
    dlg.height_spin.setValue(1.67)
    assert dlg.intrinsics_edit.isEnabled() and not dlg.fov_spin.isEnabled()
    updates = []
    dlg.presenter.coverageChanged.connect(updates.append)
    with qtbot.waitSignal(dlg.presenter.finished, timeout=300_000) as done:
        qtbot.mouseClick(dlg.run_button, LEFT)
        assert dlg.presenter.state is PersonState.RUNNING and dlg.cancel_button.isEnabled()
    result = done.args[0]
    # coaching while the videos were read: both views, the person's joints, where they have been, a hint
    assert len(updates) >= 5 and updates[-1].frames == 100 and updates[-1].frames_both >= 90
    assert all(0 < c < 1 for c in updates[-1].coverage)
    assert dlg.views[0].heatmap() is not None and dlg.views[0].heatmap().sum() > 0 and dlg.views[1].frames_shown >= 5
    assert "frames read" in dlg.hint_label.text()
    # the result: a verdict and the figures, then Save makes it the app's calibration
    assert dlg.verdict_label.isVisible() and dlg.verdict_label.text() == result.verdict.upper()
    assert "Baseline" in dlg.summary_label.text() and dlg.save_button.isEnabled()
    out = tmp_path / "person.toml"
    with qtbot.waitSignal(app_state.calibrationChanged, timeout=10_000):
        assert dlg.save(str(out)) == str(out)
    assert "now the app's calibration" in dlg.banner.text()
    ref = load_calibration(calib).group.subset(["cam_01", "cam_04"])
    angle, _ = relative_pose_error(app_state.calibration.group, ref)
    assert angle < 2.0 and app_state.calibration.metadata["solver"].startswith("person")
    # the inputs are remembered for next time
    assert app_state.settings.person_videos == [str(v) for v in videos] and app_state.settings.person_height_m == 1.67
    dlg.close()


def test_the_presenter_says_what_is_missing(qtbot, app_state, tmp_path):
    presenter = PersonPresenter(app_state)
    video = need(POSE2SIM / "videos" / "cam01.mp4")
    messages = []
    presenter.failed.connect(messages.append)
    assert not presenter.start(PersonInputs("", str(video), height_m=1.7))
    assert "camera 1's video" in messages[-1]
    assert not presenter.start(PersonInputs(str(video), str(video), height_m=1.7))
    assert "same file" in messages[-1]
    assert not presenter.start(PersonInputs(str(video), str(tmp_path / "nope.mp4"), height_m=1.7))
    assert "camera 2's video" in messages[-1]
    other = need(POSE2SIM / "videos" / "cam04.mp4")
    assert not presenter.start(PersonInputs(str(video), str(other)))
    assert "height" in messages[-1]
    assert not presenter.start(PersonInputs(str(video), str(other), height_m=1.7, intrinsics=str(tmp_path / "x.toml")))
    assert "does not exist" in messages[-1]
    assert presenter.save(str(tmp_path / "out.toml")) is None and "Nothing to save" in messages[-1]
    assert presenter.state is PersonState.IDLE


def test_the_wizard_offers_calibration_from_a_person(qtbot, app_state):
    """The wizard's first page: "No board? Calibrate from a person…" opens the dialog over the wizard, whose saved
    calibration the wizard reports as its own."""
    tab = CalibrationTab(app_state)
    qtbot.addWidget(tab)
    wiz = tab.open_wizard()
    qtbot.mouseClick(wiz.inputs_page.person_button, LEFT)
    dlg = wiz.person_dialog
    assert dlg is not None and dlg.isVisible() and dlg.parent() is wiz
    saved = []
    wiz.calibrationSaved.connect(saved.append)
    dlg.presenter.saved.emit("/tmp/x.toml")
    assert saved == ["/tmp/x.toml"]
    wiz.stop_all()
    wiz.close()
