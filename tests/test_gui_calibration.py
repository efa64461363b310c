"""The calibration wizard and the Calibration tab, driven through their real buttons under Xvfb, on real data.

- Two VIDEO FILES stand in for the cameras (the Caliscope two-webcam ChArUco session): from the Calibration
  tab's "Calibrate…" to "Save and close", the saved TOML loads with two cameras 1.0-1.3 m apart.
- The OpenCV 9x6 photo folders: a GOOD calibration with the known baseline (3.345 squares), the rectified
  preview's rows agree, the floor frame, "Redo pairs", known intrinsics at the wrong resolution refused.
- Bad inputs give a readable message in the wizard and no crash: a wrong board definition, one camera only,
  mismatched resolutions, an empty folder, a camera unplugged (simulated cameras), a failing and a
  cancelled solve.

No sleeps: every wait is on a signal or a condition (qtbot.waitUntil / waitSignal).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.calibration.board_dialog import PrintBoardDialog
from app.calibration.tab import CalibrationTab
from app.calibration.wizard import (
    PAGE_BOARD,
    PAGE_CAM0,
    PAGE_CAM1,
    PAGE_INPUTS,
    PAGE_RESULTS,
    PAGE_STEREO,
    CalibrationWizard,
)
from app.settings import Settings
from app.state import AppState
from calibration.engine import CalibrationCancelledError
from calibration.io import load_board
from core.calibration_io import load_calibration
from core.capture import DeviceInfo, DeviceLostError, SimulatedCamera
from core.errors import CalibrationError, CameraError
from tests.paths import CALISCOPE, POSE2SIM, SHARED_DATA, need

pytestmark = pytest.mark.gui

STEREO_9X6 = SHARED_DATA / "calibration" / "opencv_stereo_9x6"
WIZARD_SIZE = (1280, 860)
LEFT = QtCore.Qt.MouseButton.LeftButton
CAPTURE_TIMEOUT_MS = 60_000


@pytest.fixture
def app_state(qtbot, qsettings_dir):
    """The app's state for one test; at the end, every task's end has reached the GUI thread."""
    state = AppState(Settings.in_folder(qsettings_dir))
    yield state
    qtbot.waitUntil(lambda: not state.tasks.busy(), timeout=10_000)


@pytest.fixture
def wizard(qtbot, app_state):
    wiz = CalibrationWizard(app_state, device_lister=lambda: [])
    qtbot.addWidget(wiz)
    wiz.resize(*WIZARD_SIZE)
    wiz.show()
    qtbot.waitExposed(wiz)
    yield wiz
    wiz.stop_all()


def click(qtbot, button: QtWidgets.QAbstractButton) -> None:
    assert button.isVisible() and button.isEnabled(), f"{button.text()!r} is not clickable"
    qtbot.mouseClick(button, LEFT)


def click_next(qtbot, wiz: CalibrationWizard, expect: int) -> None:
    qtbot.waitUntil(lambda: wiz.next_button().isEnabled(), timeout=5000)
    click(qtbot, wiz.next_button())
    qtbot.waitUntil(lambda: wiz.currentId() == expect, timeout=5000)


def wait_capture_done(qtbot, page) -> None:
    """A recording was played to its end and the page has what it needs."""
    qtbot.waitUntil(lambda: page.stream_ended and not page.capturing(), timeout=CAPTURE_TIMEOUT_MS)
    qtbot.waitUntil(page.isComplete, timeout=5000)


def choose_images(qtbot, wiz: CalibrationWizard, left: str, right: str) -> None:
    page = wiz.inputs_page
    click(qtbot, page.radio_images)
    page.set_paths(left, right)
    page.validate()


def set_chessboard(page, cols: int, rows: int, square_mm: float) -> None:
    page.radio_chess.setChecked(True)
    page.cols_spin.setValue(cols)
    page.rows_spin.setValue(rows)
    page.square_spin.setValue(square_mm)


def drive_9x6_to_stereo(qtbot, wiz: CalibrationWizard) -> None:
    """Inputs: the OpenCV 9x6 folders; board 9x6 with 1 m squares (lengths in squares); both lenses captured."""
    need(STEREO_9X6)
    choose_images(qtbot, wiz, str(STEREO_9X6 / "left*.jpg"), str(STEREO_9X6 / "right*.jpg"))
    qtbot.waitUntil(wiz.inputs_page.isComplete, timeout=5000)
    assert "number in the file names" in wiz.inputs_page.image_pairing.text()
    click_next(qtbot, wiz, PAGE_BOARD)
    set_chessboard(wiz.board_page, 9, 6, 1000.0)
    assert wiz.board_page.board().spec() == "chessboard:9x6:1"
    click_next(qtbot, wiz, PAGE_CAM0)
    for pid in (PAGE_CAM0, PAGE_CAM1):
        page = wiz.page(pid)
        wait_capture_done(qtbot, page)
        assert page.run().session.state().cameras[page.cam].views_kept >= 10
        click_next(qtbot, wiz, pid + 1)
    wait_capture_done(qtbot, wiz.page(PAGE_STEREO))


# ----------------------------------------------------------------------------------------------- the video path
def test_wizard_from_the_tab_to_save_with_two_videos(qtbot, app_state, tmp_path, monkeypatch):
    cam0, cam1 = need(CALISCOPE / "cam_0.mp4"), need(CALISCOPE / "cam_1.mp4")
    tab = CalibrationTab(app_state)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    qtbot.waitExposed(tab)
    monkeypatch.setattr("app.calibration.presenter.list_devices", lambda *a, **k: [])
    click(qtbot, tab.calibrate_button)
    wiz = tab.wizard()
    assert isinstance(wiz, CalibrationWizard)
    wiz.resize(*WIZARD_SIZE)
    qtbot.waitExposed(wiz)

    # 1: no camera here: the page says so and steers to recordings
    p1 = wiz.inputs_page
    assert wiz.currentId() == PAGE_INPUTS
    assert p1.device_banner.isVisible() and "No camera was found" in p1.device_banner.text()
    assert not p1.radio_cameras.isEnabled()
    click(qtbot, p1.radio_videos)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(cam0), ""))
    click(qtbot, p1.video_browse[0])
    assert p1.video_edits[0].text() == str(cam0)
    assert p1.video_edits[1].text() == str(cam1), "camera 2's video is found next to camera 1's"
    qtbot.waitUntil(p1.isComplete, timeout=5000)
    assert p1.timestamps_edit.text().endswith("timestamps.csv")
    assert "capture time" in p1.video_pairing.text() and "111 pairs" in p1.video_pairing.text()
    assert p1.video_views[0].image_size()[0] > 0 and "1280×720" in p1.video_infos[1].text()
    assert p1.video_pace.currentData() is False  # as fast as possible
    click_next(qtbot, wiz, PAGE_BOARD)

    # 2: Caliscope's charuco.toml
    p2 = wiz.board_page
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(CALISCOPE / "charuco.toml"), ""))
    click(qtbot, p2.load_button)
    board = p2.board()
    assert board == load_board(CALISCOPE / "charuco.toml")
    assert p2.radio_charuco.isChecked() and p2.inverted_box.isChecked()
    assert p2.dict_combo.currentText() == "DICT_4X4_1000" and p2.square_spin.value() == pytest.approx(54.0)
    assert p2.preview.pixmap() is not None and not p2.preview.pixmap().isNull()
    click_next(qtbot, wiz, PAGE_CAM0)

    # 3, 4: each camera's lens from its video, with corners, heat map and a running RMS
    for pid in (PAGE_CAM0, PAGE_CAM1):
        page = wiz.page(pid)
        seen_corners: list[int] = []
        wiz.presenter.packetReady.connect(
            lambda _pkt, p=page, seen=seen_corners: seen.append(
                0 if p.view.corners() is None else len(p.view.corners())
            )
        )
        wait_capture_done(qtbot, page)
        st = page.run().session.state()
        assert st.cameras[page.cam].views_kept >= 4
        assert page.view.frames_shown > 10 and max(seen_corners, default=0) >= 6
        heat = page.view.heatmap()
        assert heat is not None and heat.sum() > 0 and (heat > 0).mean() == pytest.approx(st.cameras[page.cam].coverage)
        assert page.tile_rms.value.text().endswith("px") and st.running[page.cam].rms < 1.0
        assert "End of the recording" in page.info_banner.text()
        assert page.banner.text() == ""  # no error
        click_next(qtbot, wiz, pid + 1)

    # 5: stereo pairs, with the synchronisation check of the recordings and a live epipolar estimate
    p5 = wiz.page(PAGE_STEREO)
    wait_capture_done(qtbot, p5)
    st = p5.run().session.state()
    assert st.pairs.views_kept >= 4
    assert "+0.75 frame shift" in p5.info_banner.text() and p5.run().frame_offset == 0.75
    assert p5.tile_epi.value.text().endswith("px")
    assert wiz.next_button().text() == "Calibrate"
    click_next(qtbot, wiz, PAGE_RESULTS)

    # 6: results
    p6 = wiz.page(PAGE_RESULTS)
    qtbot.waitUntil(lambda: p6.result is not None or bool(p6.solve_failed), timeout=CAPTURE_TIMEOUT_MS)
    assert p6.result is not None, p6.solve_failed
    res = p6.result
    assert 1.0 <= res.stereo.baseline_m <= 1.3
    assert p6.verdict_label.text() == res.verdict.upper() in ("GOOD", "USABLE", "POOR")
    assert f"{res.stereo.baseline_m:.3f} m" in p6.summary_label.text()
    heights = [np.asarray(b.opts["height"]) for b in p6.bar_items]
    assert len(heights) == 2 and all(len(h) == res.stereo.n_pairs for h in heights)
    np.testing.assert_allclose(np.stack(heights, 1), res.stereo.per_pair_errors)
    assert p6.rectified.image_size()[0] > 0 and "rows differ by" in p6.pair_label.text()
    a, b, _ = p6.outcome.pairs[p6.pair_index]
    assert p6.outcome.rectifier.row_error(a, b) < 2.0  # same corner, same row after rectification
    assert p6.view3d.camera_group() is res.group

    out = tmp_path / "caliscope.toml"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(tab.calibrationSaved, timeout=10_000) as sig:
        click(qtbot, wiz.finish_button())
    assert sig.args == [str(out)]
    qtbot.waitUntil(lambda: tab.wizard() is None, timeout=5000)  # closed, threads stopped, deleted

    cal = load_calibration(out)
    assert len(cal.group) == 2 and cal.group.names == ["cam_0", "cam_1"]
    baseline = float(np.linalg.norm(cal.group[1].center - cal.group[0].center))
    assert 1.0 <= baseline <= 1.3
    assert cal.units == "m" and cal.metadata["verdict"] == res.verdict
    assert tab.calibration is not None and tab.calibration.path == out
    assert tab.verdict_label.text() == res.verdict.upper() and tab.cameras_table.rowCount() == 2
    assert tab.view.camera_group() is not None and len(tab.view.camera_group()) == 2
    tab.stop()


# ----------------------------------------------------------------------------------------------- the photo path
def test_wizard_with_the_opencv_9x6_photo_folders(wizard, qtbot, tmp_path, monkeypatch):
    wiz = wizard
    drive_9x6_to_stereo(qtbot, wiz)

    # known intrinsics made at another resolution are refused with the reason
    p4 = wiz.page(PAGE_CAM1)
    bad = need(POSE2SIM / "Calib_qualisys.toml")
    assert not p4.load_intrinsics(str(bad), "cam_01")
    assert "1088x1920" in p4.banner.text() and "640x480" in p4.banner.text()
    assert p4.run().loaded[1] is None

    click_next(qtbot, wiz, PAGE_RESULTS)
    p6 = wiz.page(PAGE_RESULTS)
    qtbot.waitUntil(lambda: p6.result is not None, timeout=CAPTURE_TIMEOUT_MS)
    res = p6.result
    assert res.verdict == "good" and p6.verdict_label.text() == "GOOD"
    assert abs(res.stereo.baseline_m - 3.345) / 3.345 < 0.02  # squares
    assert res.stereo.rms < 0.5 and res.stereo.n_pairs >= 10
    a, b, _ = p6.outcome.pairs[p6.pair_index]
    assert p6.outcome.rectifier.row_error(a, b) < 0.5

    # the per-view chart of a camera
    p6.chart_combo.setCurrentIndex(1)
    h = np.asarray(p6.bar_items[0].opts["height"])
    np.testing.assert_allclose(h, res.intrinsics[0].per_view_errors)

    # the floor frame from the pair shown
    click(qtbot, p6.floor_box)
    assert p6.result.world_up == "+z" and p6.result.origin == "floor"
    assert "floor" in p6.banner.text()
    assert all(c.center[2] > 1.0 for c in p6.result.group)  # squares above the board
    shown = p6.board_points[p6.pair_index]  # the 3D view's board corners of this pair lie on the floor
    assert len(shown) == 54 and np.abs(shown[:, 2]).max() < 0.05 and np.abs(shown.mean(axis=0)[:2]).max() < 0.05
    out = tmp_path / "floor.toml"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(wiz.calibrationSaved, timeout=5000):
        click(qtbot, p6.save_button)
    cal = load_calibration(out)
    assert cal.world_up == "+z" and cal.metadata["origin"] == "floor"

    # redo one step: back to the pairs (forgotten and captured again), then solve again
    n_views = len(wiz.run.session.views(0))
    click(qtbot, p6.redo_buttons[PAGE_STEREO])
    qtbot.waitUntil(lambda: wiz.currentId() == PAGE_STEREO, timeout=5000)
    p5 = wiz.page(PAGE_STEREO)
    wait_capture_done(qtbot, p5)
    assert len(p5.run().session.views(0)) == n_views  # the lens views stayed
    click_next(qtbot, wiz, PAGE_RESULTS)
    qtbot.waitUntil(lambda: p6.result is not None, timeout=CAPTURE_TIMEOUT_MS)
    assert p6.result.origin == "cam_0" and not p6.floor_box.isChecked()

    # known intrinsics from the file just saved are accepted (this camera, same resolution)
    click(qtbot, p6.redo_buttons[PAGE_CAM1])
    qtbot.waitUntil(lambda: wiz.currentId() == PAGE_CAM1, timeout=5000)
    assert p4.load_intrinsics(str(out), "cam_1")
    assert p4.isComplete() and "fx" in p4.loaded_label.text() and not p4.capturing()


# ----------------------------------------------------------------------------------------------- bad inputs
def test_wrong_board_definition_is_explained_and_blocks_next(wizard, qtbot):
    need(STEREO_9X6)
    wiz = wizard
    choose_images(qtbot, wiz, str(STEREO_9X6 / "left*.jpg"), str(STEREO_9X6 / "right*.jpg"))
    click_next(qtbot, wiz, PAGE_BOARD)
    set_chessboard(wiz.board_page, 7, 6, 25.0)
    assert wiz.board_page.board().spec() == "chessboard:7x6:0.025" and wiz.board_page.banner.text() == ""
    click_next(qtbot, wiz, PAGE_CAM0)
    page = wiz.page(PAGE_CAM0)
    qtbot.waitUntil(lambda: page.stream_ended and not page.capturing(), timeout=CAPTURE_TIMEOUT_MS)
    msg = page.banner.text()
    assert page.banner.level == "error"
    assert "never found" in msg and "9x6" in msg and "7x6" in msg and "board page" in msg
    assert "Board not found" in page.view.status()
    assert not page.isComplete() and not wiz.next_button().isEnabled()


def test_one_camera_only_mismatched_resolutions_and_empty_folder(wizard, qtbot, tmp_path):
    need(STEREO_9X6)
    page = wizard.inputs_page
    # a single camera: the second input left empty
    choose_images(qtbot, wizard, str(STEREO_9X6 / "left*.jpg"), "")
    assert not page.isComplete() and not wizard.next_button().isEnabled()
    assert page.banner.level == "error" and "TWO cameras" in page.banner.text()
    # mismatched resolutions
    small = tmp_path / "small"
    small.mkdir()
    for f in sorted(STEREO_9X6.glob("right0*.jpg"))[:3]:
        img = cv2.imread(str(f))
        cv2.imwrite(str(small / f.name), cv2.resize(img, None, fx=0.5, fy=0.5))
    page.set_paths(str(STEREO_9X6 / "left*.jpg"), str(small))
    page.validate()
    assert not page.isComplete()
    assert "different resolutions" in page.banner.text() and "640x480" in page.banner.text()
    assert "320x240" in page.banner.text()
    # an empty folder
    empty = tmp_path / "empty"
    empty.mkdir()
    page.set_paths(str(empty), str(STEREO_9X6 / "right*.jpg"))
    page.validate()
    assert not page.isComplete() and "holds no images" in page.banner.text()
    assert "holds no images" in page.image_views[0]._message  # noqa: SLF001 - the preview says it too
    # fixed: usable again
    page.set_paths(str(STEREO_9X6 / "left*.jpg"), str(STEREO_9X6 / "right*.jpg"))
    qtbot.waitUntil(page.isComplete, timeout=5000)
    assert page.banner.text() == ""


class UnpluggableCamera(SimulatedCamera):
    """A simulated camera (no board in view) that a test unplugs and plugs back with an event."""

    def __init__(self, *args, unplugged: threading.Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unplugged = unplugged

    def _open(self) -> None:
        if self.unplugged.is_set():
            raise CameraError(f"Camera '{self.name}' could not be opened: it is unplugged.")
        super()._open()

    def _read(self):
        if self.unplugged.is_set():
            raise DeviceLostError(f"Camera '{self.name}' was unplugged.")
        return super()._read()


def _copy(files, folder: Path) -> Path:
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    return folder


def test_too_few_views_then_too_few_pairs_are_explained(wizard, qtbot, tmp_path):
    need(STEREO_9X6)
    wiz = wizard
    few_l = _copy([STEREO_9X6 / f"left0{i}.jpg" for i in (1, 2)], tmp_path / "few_l")
    few_r = _copy([STEREO_9X6 / f"right0{i}.jpg" for i in (1, 2)], tmp_path / "few_r")
    choose_images(qtbot, wiz, str(few_l), str(few_r))
    click_next(qtbot, wiz, PAGE_BOARD)
    set_chessboard(wiz.board_page, 9, 6, 1000.0)
    click_next(qtbot, wiz, PAGE_CAM0)
    p3 = wiz.page(PAGE_CAM0)
    qtbot.waitUntil(lambda: p3.stream_ended and not p3.capturing(), timeout=CAPTURE_TIMEOUT_MS)
    assert "Only 2 usable view(s)" in p3.banner.text() and "at least 3" in p3.banner.text()
    assert not wiz.next_button().isEnabled()
    first_run = wiz.run

    # back to the inputs: five photos per camera, but only two taken at the same instants
    click(qtbot, wiz.button(QtWidgets.QWizard.WizardButton.BackButton))
    click(qtbot, wiz.button(QtWidgets.QWizard.WizardButton.BackButton))
    assert wiz.currentId() == PAGE_INPUTS
    left = _copy([STEREO_9X6 / f"left0{i}.jpg" for i in (1, 2, 3, 4, 5)], tmp_path / "l")
    right = _copy([STEREO_9X6 / f"right0{i}.jpg" for i in (4, 5, 6, 7, 8)], tmp_path / "r")
    wiz.inputs_page.set_paths(str(left), str(right))
    wiz.inputs_page.validate()
    assert "2 pairs" in wiz.inputs_page.image_pairing.text()
    click_next(qtbot, wiz, PAGE_BOARD)
    click_next(qtbot, wiz, PAGE_CAM0)
    assert wiz.run is not first_run  # new inputs, new calibration run
    for pid in (PAGE_CAM0, PAGE_CAM1):
        wait_capture_done(qtbot, wiz.page(pid))
        click_next(qtbot, wiz, pid + 1)
    p5 = wiz.page(PAGE_STEREO)
    qtbot.waitUntil(lambda: p5.stream_ended and not p5.capturing(), timeout=CAPTURE_TIMEOUT_MS)
    assert "Only 2 stereo pair(s)" in p5.banner.text() and "BOTH cameras" in p5.banner.text()
    assert not p5.isComplete() and not wiz.next_button().isEnabled()


def test_camera_unplugged_and_board_never_seen_with_simulated_cameras(qtbot, app_state):
    devices = [DeviceInfo(0, "Sim cam A", "SIM"), DeviceInfo(1, "Sim cam B", "SIM")]
    made: list[UnpluggableCamera] = []
    unplugged = threading.Event()

    def factory(slot: int, index: int, spec) -> UnpluggableCamera:
        cam = UnpluggableCamera(f"cam_{slot}", fps=30.0, size=(160, 120), camera_id=slot, unplugged=unplugged)
        made.append(cam)
        return cam

    wiz = CalibrationWizard(app_state, device_lister=lambda: devices, camera_factory=factory)
    qtbot.addWidget(wiz)
    wiz.resize(*WIZARD_SIZE)
    wiz.show()
    qtbot.waitExposed(wiz)
    p1 = wiz.inputs_page
    click(qtbot, p1.radio_cameras)
    assert [p1.device_combos[k].currentData() for k in (0, 1)] == [0, 1]
    assert p1.device_banner.text() == ""
    qtbot.waitUntil(lambda: all(v.frames_shown > 0 for v in p1.device_views), timeout=10_000)
    click_next(qtbot, wiz, PAGE_BOARD)
    click_next(qtbot, wiz, PAGE_CAM0)
    page = wiz.page(PAGE_CAM0)
    qtbot.waitUntil(lambda: "has not been seen by camera 1" in page.diagnosis_banner.text(), timeout=20_000)
    assert not page.isComplete() and not wiz.next_button().isEnabled()

    # manual capture: frames are offered to the engine only when asked
    click(qtbot, page.auto_box)
    assert page.capture_button.isEnabled()
    shown = page.view.frames_shown
    qtbot.waitUntil(lambda: page.view.frames_shown > shown + 2, timeout=10_000)  # the setting reached the worker
    offered = page.run().session.state().cameras[0].frames_seen
    shown = page.view.frames_shown
    qtbot.waitUntil(lambda: page.view.frames_shown > shown + 5, timeout=10_000)
    assert page.run().session.state().cameras[0].frames_seen == offered
    click(qtbot, page.capture_button)
    qtbot.waitUntil(lambda: page.run().session.state().cameras[0].frames_seen == offered + 1, timeout=10_000)
    assert "Not kept" in page.decision_label.text() or "not found" in page.decision_label.text()

    unplugged.set()
    qtbot.waitUntil(lambda: "not delivering frames" in page.banner.text(), timeout=20_000)
    assert page.banner.level == "error"
    assert "Camera 1 (cam_0)" in page.banner.text() and "unplugged" in page.banner.text()
    assert page.capturing()  # waiting for the camera to come back, not crashed
    unplugged.clear()  # plugged back in: the message goes away and frames flow again
    qtbot.waitUntil(lambda: page.banner.text() == "", timeout=20_000)
    shown = page.view.frames_shown
    qtbot.waitUntil(lambda: page.view.frames_shown > shown + 3, timeout=20_000)
    wiz.close()
    qtbot.waitUntil(lambda: not wiz.threads() and all(not c.running for c in made), timeout=10_000)


def test_failing_and_cancelled_solves_are_reported_in_the_page(wizard, qtbot, monkeypatch):
    wiz = wizard
    drive_9x6_to_stereo(qtbot, wiz)
    session = wiz.run.session

    def diverge(*args, **kwargs):
        raise CalibrationError("the stereo solve diverged (RMS 80 px, baseline 0 m). Check the frames.")

    monkeypatch.setattr(session, "solve", diverge)
    click_next(qtbot, wiz, PAGE_RESULTS)
    p6 = wiz.page(PAGE_RESULTS)
    qtbot.waitUntil(lambda: bool(p6.solve_failed), timeout=10_000)
    assert p6.banner.level == "error" and "The calibration failed: the stereo solve diverged" in p6.banner.text()
    assert not wiz.finish_button().isEnabled() and not p6.content.isVisible()

    started = threading.Event()

    def slow(progress=None, cancel=None, **kwargs):
        progress(50, 1000, "calibrating cam_0 intrinsics (13 views)")
        started.set()
        assert cancel.wait(30), "the wizard's Cancel never reached the solver"
        raise CalibrationCancelledError("calibration cancelled; nothing was written.")

    monkeypatch.setattr(session, "solve", slow)
    p6.start_solve()
    qtbot.waitUntil(lambda: started.is_set() and "Calibrating cam_0" in p6.progress_label.text(), timeout=10_000)
    assert p6.progress_row.isVisible() and p6.solving()
    click(qtbot, p6.cancel_button)
    qtbot.waitUntil(lambda: p6.solve_failed == "cancelled", timeout=10_000)
    assert "cancelled" in p6.banner.text() and not p6.solving()


# ----------------------------------------------------------------------------------------------- smaller pieces
def test_print_dialog_picks_a_paper_that_fits_and_writes_a_pdf(qtbot, tmp_path):
    board = load_board(need(CALISCOPE / "charuco.toml"))  # 216 x 270 mm + a dark border: not on A4
    dlg = PrintBoardDialog(board)
    qtbot.addWidget(dlg)
    assert dlg.paper_combo.currentData() == "A3"
    assert dlg.preview.pixmap() is not None and not dlg.preview.pixmap().isNull()
    out = tmp_path / "board.pdf"
    assert dlg.save(str(out)) == str(out)
    assert out.read_bytes().startswith(b"%PDF") and "Saved" in dlg.message.text()
    dlg.paper_combo.setCurrentIndex(0)  # A4: does not fit -> said so, Save disabled
    assert "does not fit" in dlg.message.text() and not dlg.save_button.isEnabled()


def test_tab_shows_a_four_camera_file_and_reports_a_bad_one(qtbot, app_state, tmp_path):
    tab = CalibrationTab(app_state)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    path = need(POSE2SIM / "Calib_qualisys.toml")
    with qtbot.waitSignal(tab.calibrationOpened, timeout=5000):
        assert tab.open_file(str(path)) == str(path)
    assert tab.cameras_table.rowCount() == 4 and len(tab.view.camera_group()) == 4
    assert "4 cameras" in tab.headline.text() and not tab.verdict_label.isVisible()
    bad = tmp_path / "broken.toml"
    bad.write_text("not [toml")
    assert tab.open_file(str(bad)) is None
    assert tab.banner.level == "error" and "broken.toml" in tab.banner.text()
    assert tab.cameras_table.rowCount() == 4  # the previous calibration is still shown
    copy = tmp_path / "copy.toml"
    shutil.copy(path, copy)
    tab.set_calibration(load_calibration(copy))
    assert tab.banner.text() == "" and str(copy) in tab.file_label.text()
