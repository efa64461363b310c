"""The Live tab under a real X server (pytest-xvfb): the shipped demo end to end through MediaPipe, a camera
disconnect with the other preview alive, a calibration that cannot describe the frames, closing the window,
the first-run state, the result bridge's throttling and the world-up decision."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.live.tab import COARSE_SKELETON, MAIN_SKELETON, SOURCE_CAMERAS, SOURCE_VIDEOS, LiveTab
from app.main_window import MainWindow
from app.settings import Settings
from app.state import AppState
from core import skeleton as sk
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.capture import SimulatedCamera
from core.detection import Detection
from core.live import StartSpec
from tests.paths import POSE2SIM, need

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton
SIZE = (64, 48)  # simulated frames, pixels (w, h)


def _state(folder: Path) -> AppState:
    return AppState(Settings.in_folder(folder))


def _live_threads() -> list[str]:
    """Threads started for live capture that are still running (pipeline stages, detectors, cameras)."""
    prefixes = ("pipeline-", "detect-", "capture-")
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(prefixes) and t.is_alive())


@pytest.fixture
def tab(qtbot, qsettings_dir):
    widget = LiveTab(_state(qsettings_dir), device_lister=lambda: [])
    qtbot.addWidget(widget)
    widget.resize(1400, 860)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.devices() is not None, timeout=5000)
    yield widget
    widget.stop()
    assert widget.state == "idle"


# --- a synthetic rig with a fake detector (fast; no MediaPipe) ---------------------------------------------------


def _rig() -> CameraGroup:
    K = [[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]
    a = Camera("left", K, np.zeros(5), np.eye(3), [0, 0, 0], SIZE)
    b = Camera("right", K, np.zeros(5), rodrigues_to_matrix(np.array([0, -0.4, 0])), [-1.0, 0, 0.2], SIZE)
    return CameraGroup([a, b])


def _truth(k: int) -> np.ndarray:
    """A synthetic ``(17, 3)`` pose at 3 m (camera-1 frame) moving with the frame index k."""
    base = np.random.default_rng(0).normal([0, 0, 3], 0.25, size=(17, 3))
    return base + np.array([0.01 * np.sin(k / 5), 0, 0])


class FakeDetector:
    """Reads the frame index from a SimulatedCamera image and projects the synthetic truth (confidence 0.9)."""

    def __init__(self, cam: Camera) -> None:
        self.cam = cam

    def detect(self, image: np.ndarray, offset=(0.0, 0.0)) -> Detection:
        k = int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])
        uv = self.cam.project(_truth(k))
        kp = np.concatenate([uv, np.full((17, 1), 0.9)], axis=1)
        box = (uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max())
        return Detection(keypoints=kp, found=True, box=box)

    def close(self) -> None:
        pass


def _fake_spec(size_b: tuple[int, int] = SIZE, disconnect_b: tuple[float, float] | None = None) -> StartSpec:
    group = _rig()
    made = iter([FakeDetector(group[0]), FakeDetector(group[1])])

    def sources():
        a = SimulatedCamera("left", fps=30, size=SIZE, camera_id=0, jitter_ms=1.0, seed=1)
        b = SimulatedCamera(
            "right",
            fps=30,
            size=size_b,
            camera_id=1,
            jitter_ms=1.0,
            seed=2,
            disconnects=[disconnect_b] if disconnect_b else (),
        )
        return [a, b]

    return StartSpec("simulated rig", make_sources=sources, calibration=group, detector_factory=lambda: next(made))


def _has_3d(tab: LiveTab) -> bool:
    return tab.view3d.skeleton_points(MAIN_SKELETON) is not None


# --- the shipped demo, end to end (real videos, real MediaPipe) ----------------------------------------------------


def test_demo_runs_live_from_the_tab(tab, qtbot, monkeypatch):
    # first run without cameras: no error, the demo is offered
    assert tab.last_error is None and tab.error_box() is None
    assert tab.views_stack.currentIndex() == 0
    assert "No camera found" in tab.welcome_title.text() and tab.demo_button.isVisible()

    with qtbot.waitSignal(tab.presenter.started, timeout=30_000):
        qtbot.mouseClick(tab.demo_button, LEFT)
    assert tab.state == "running" and tab.start_button.text() == "Stop"
    pipe = tab.presenter.pipeline
    assert tab.view3d.camera_group().names == ["cam_01", "cam_04"]
    assert tab.view3d.world_up() == "+z"  # from the demo calibration's metadata

    # frames in both views, then 3D in the SkeletonView
    qtbot.waitUntil(lambda: all(v.frames_shown >= 3 for v in tab.views), timeout=20_000)
    assert [v.frame().image.shape[:2] for v in tab.views] == [(1920, 1080), (1920, 1088)]
    qtbot.waitUntil(lambda: _has_3d(tab) and all(v.pose() is not None for v in tab.views), timeout=30_000)
    pts = tab.view3d.skeleton_points(MAIN_SKELETON)
    assert np.isfinite(pts[list(sk.SHARED_12)]).all()
    height = pts[sk.JOINT_INDEX["head_top"], 2] - pts[[3, 6], 2].min()  # world Z up, metres
    assert 1.0 < height < 2.3, height
    for v in tab.views:  # the 2D skeleton drawn over each view is confident on most joints
        assert (v.pose()[:, 2] > 0.5).sum() >= 10

    # the status panel counts
    qtbot.waitUntil(lambda: tab.stat_text("processed") != "–" and float(tab.stat_text("processed")) > 0, timeout=10_000)
    assert float(tab.stat_text("paired")) > 0 and float(tab.stat_text("fps0")) > 0
    assert tab.stat_text("latency").endswith(" ms") and tab.stat_text("detect").endswith(" ms")
    assert tab.plot.samples() >= 1
    # the demo video is 1080 wide, its calibration 1088: the warning is visible
    assert tab.warning_banner.isVisible() and "1088x1920" in tab.warning_banner.text()

    # smoothing off and on, strength: reaches the pipeline
    qtbot.mouseClick(tab.smooth_check, LEFT)
    assert not tab.smooth_check.isChecked() and pipe.processor.smoothing_enabled is False
    qtbot.mouseClick(tab.smooth_check, LEFT)
    assert pipe.processor.smoothing_enabled is True
    tab.smooth_slider.setValue(90)
    assert pipe.processor.smoothing.min_cutoff == pytest.approx(6.0 * 4.0 ** (1 - 2 * 0.9))

    # click on the person (the pelvis in view 0): the selection reaches the pipeline in full-image pixels
    calls: list[tuple[int, float, float]] = []
    original = pipe.select_person
    monkeypatch.setattr(pipe, "select_person", lambda v, x, y: (calls.append((v, x, y)), original(v, x, y)))
    view = tab.views[0]
    pelvis = view.pose()[sk.ROOT, :2]
    click = view.image_to_widget(pelvis)
    qtbot.mouseClick(view, LEFT, pos=QtCore.QPoint(round(click[0]), round(click[1])))
    assert len(calls) == 1 and calls[0][0] == 0
    scale = view.image_rect().width() / 1080
    np.testing.assert_allclose(calls[0][1:], pelvis, atol=1.5 / scale)

    def box_holds_click() -> bool:
        box = tab.presenter.target_boxes()[0]
        return box is not None and box[0] <= calls[0][1] <= box[2] and box[1] <= calls[0][2] <= box[3]

    qtbot.waitUntil(box_holds_click, timeout=10_000)

    # stop by clicking: every thread ends
    with qtbot.waitSignal(tab.presenter.stopped, timeout=15_000):
        qtbot.mouseClick(tab.start_button, LEFT)
    qtbot.waitUntil(lambda: _live_threads() == [], timeout=5000)
    assert tab.state == "idle" and tab.start_button.text() == "Start"
    assert tab.last_error is None


def test_two_video_files_with_a_four_camera_calibration(tab, qtbot, monkeypatch):
    calib_path = need(POSE2SIM / "Calib_qualisys.toml")
    videos = [need(POSE2SIM / "videos" / f"cam{c}.mp4") for c in ("04", "01")]
    # the direct-load path (no main window): a 4-camera lab calibration; choose cameras 01 and 04
    calib = tab.load_calibration_file(str(calib_path))
    assert calib is not None and tab.calibration() is calib
    tab.set_source_kind(SOURCE_VIDEOS)
    assert tab.calib_pair_combo.isVisible() and "Calib_qualisys.toml" in tab.calib_label.text()
    tab.set_calibration_pair("cam_01", "cam_04")
    assert tab.calib_pair_combo.currentText() == "cam_01 + cam_04"
    assert tab.view3d.camera_group().names == ["cam_01", "cam_04"]  # previewed while idle
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(p) for p in videos], ""))
    with qtbot.waitSignal(tab.presenter.started, timeout=30_000) as started:
        qtbot.mouseClick(tab.start_button, LEFT)
    session = started.args[0]
    assert session.camera_names == ["cam_01", "cam_04"]  # files sorted: camera 1 first
    assert (session.world_up, session.world_up_reason) == ("+z", "inferred from the cameras")
    qtbot.waitUntil(lambda: _has_3d(tab), timeout=30_000)
    pts = tab.view3d.skeleton_points(MAIN_SKELETON)
    assert 1.0 < pts[sk.JOINT_INDEX["head_top"], 2] - pts[[3, 6], 2].min() < 2.3
    with qtbot.waitSignal(tab.presenter.stopped, timeout=15_000):
        tab.presenter.stop()
    qtbot.waitUntil(lambda: _live_threads() == [], timeout=5000)


# --- failures and the window ---------------------------------------------------------------------------------------


def test_camera_disconnect_is_shown_while_the_other_preview_keeps_running(tab, qtbot):
    with qtbot.waitSignal(tab.presenter.started, timeout=10_000):
        assert tab.start_with(_fake_spec(disconnect_b=(0.8, 3.5)))
    qtbot.waitUntil(lambda: _has_3d(tab), timeout=10_000)
    assert tab.no3d_text() is None

    right, left = tab.views[1], tab.views[0]
    qtbot.waitUntil(lambda: right.problem() is not None, timeout=10_000)
    assert "disconnected" in right.problem() or "reconnecting" in right.problem()
    assert "unplugged" in right.problem()
    assert left.problem() is None
    # while camera 'right' is away, the left preview keeps showing new frames
    n0, k0 = left.frames_shown, left.frame().index
    qtbot.waitUntil(lambda: left.frames_shown >= n0 + 10 and right.problem() is not None, timeout=5000)
    assert left.frame().index > k0
    qtbot.waitUntil(lambda: tab.problem_banner.isVisible(), timeout=5000)
    assert "right" in tab.problem_banner.text() and "left keeps running" in tab.problem_banner.text()
    qtbot.waitUntil(lambda: (tab.no3d_text() or "").startswith("No 3D"), timeout=5000)
    assert "right" in tab.no3d_text()

    # reconnection is automatic: the problem clears and 3D comes back
    qtbot.waitUntil(lambda: right.problem() is None and tab.no3d_text() is None and _has_3d(tab), timeout=10_000)
    qtbot.waitUntil(lambda: not tab.problem_banner.isVisible(), timeout=5000)
    assert tab.last_error is None


def test_frames_the_calibration_cannot_describe_give_a_clear_error(tab, qtbot):
    # camera 'right' delivers 48x64 portrait frames; it was calibrated at 64x48 landscape
    with qtbot.waitSignal(tab.errorShown, timeout=10_000) as shown:
        tab.start_with(_fake_spec(size_b=(48, 64)))
    text = shown.args[0]
    assert "another aspect ratio" in text and "recalibrate" in text.lower()
    box = tab.error_box()
    assert box is not None and box.isVisible() and "48x64" in box.text()
    qtbot.waitUntil(lambda: tab.state == "idle" and _live_threads() == [], timeout=10_000)
    box.close()


def test_starting_cameras_without_a_calibration_explains_what_to_do(tab, qtbot):
    tab.set_source_kind(SOURCE_CAMERAS)
    with qtbot.waitSignal(tab.errorShown, timeout=2000) as shown:
        qtbot.mouseClick(tab.start_button, LEFT)
    assert "calibration" in shown.args[0] and "Demo" in shown.args[0]
    assert tab.state == "idle"
    tab.error_box().close()


def test_closing_the_main_window_stops_the_running_tab(qtbot, qsettings_dir, monkeypatch):
    state = _state(qsettings_dir)
    live = LiveTab(state, device_lister=lambda: [])
    win = MainWindow(state, tabs={"Live": live})
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(live.presenter.started, timeout=10_000):
        live.start_with(_fake_spec())
    qtbot.waitUntil(lambda: _has_3d(live), timeout=10_000)
    assert _live_threads() != []
    released = []
    monkeypatch.setattr(live.presenter.pipeline, "release_person", lambda: released.append(True))
    qtbot.mouseClick(live.reset_person_button, LEFT)
    assert released == [True]
    win.close()
    assert live.state == "idle"
    qtbot.waitUntil(lambda: _live_threads() == [], timeout=5000)


def test_refinement_toggle_needs_a_model_then_shows_refined_and_coarse(tab, qtbot):
    assert not tab.refine_check.isEnabled()
    assert "No refinement model" in tab.refine_check.toolTip()
    calls = []

    def hook(inp):
        calls.append(inp.coarse.shape)
        return inp.coarse + np.array([0.0, 0.0, 0.05])

    hook.fallbacks = lambda: (3, 4 * len(calls) * 17)  # as models.refiner.RefinerHook counts its guard's
    assert tab.stat_text("guard") == "–"
    tab.set_refine_hook(hook, "CV-UGCN test")
    assert tab.refine_check.isEnabled() and "CV-UGCN test" in tab.refine_check.text()
    tab.refine_check.setChecked(True)
    tab.coarse_check.setChecked(True)
    with qtbot.waitSignal(tab.presenter.started, timeout=10_000):
        tab.start_with(_fake_spec())
    qtbot.waitUntil(lambda: COARSE_SKELETON in tab.view3d.skeleton_names() and _has_3d(tab), timeout=10_000)
    qtbot.waitUntil(lambda: tab.view3d.skeleton_points(COARSE_SKELETON) is not None, timeout=5000)
    qtbot.waitUntil(lambda: tab.stat_text("refine").endswith(" ms"), timeout=5000)
    assert calls and calls[0] == (17, 3)
    qtbot.waitUntil(lambda: tab.stat_text("guard").endswith(" %"), timeout=5000)
    assert 0.0 < float(tab.stat_text("guard")[:-2]) <= 25.0
    assert "kept coarse by the guard" in tab.stat_tiles["guard"].toolTip()
    # refine off: the coarse skeleton is no longer drawn under the main one
    tab.refine_check.setChecked(False)
    assert tab.presenter.pipeline.processor.refine_enabled is False
    qtbot.waitUntil(lambda: tab.view3d.skeleton_points(COARSE_SKELETON) is None, timeout=5000)
    tab.set_refine_hook(None, "")
    assert not tab.refine_check.isEnabled()


def test_first_run_offers_the_demo_and_a_found_camera_list_is_shown(qtbot, qsettings_dir):
    from core.capture import DeviceInfo

    devices = [DeviceInfo(0, "HD Webcam", "V4L2"), DeviceInfo(2, "USB Camera", "V4L2")]
    live = LiveTab(_state(qsettings_dir), device_lister=lambda: devices)
    qtbot.addWidget(live)
    live.show()
    qtbot.waitUntil(lambda: live.devices() is not None, timeout=5000)
    assert "2 cameras found" in live.welcome_title.text() and live.demo_button.isVisible()
    live.set_source_kind(SOURCE_CAMERAS)
    combos = live.camera_combos
    assert all(c.isVisible() for c in combos)
    assert [combos[0].itemText(i) for i in range(combos[0].count())] == ["0 · HD Webcam", "2 · USB Camera"]
    assert (combos[0].currentData(), combos[1].currentData()) == (0, 2)
    assert live.findChildren(QtWidgets.QMessageBox) == []
    live.stop()


def test_clicking_the_bystander_in_one_view_follows_them_in_both(qtbot, tab):
    from tests.test_pipeline import BYSTANDER_OFFSET, TwoPeopleDetector
    from tests.test_pipeline import _rig as tiny_rig
    from tests.test_pipeline import _sources as tiny_sources
    from tests.test_pipeline import _truth as tiny_truth

    group = tiny_rig()
    made = iter([TwoPeopleDetector(group[0], (1, 0)), TwoPeopleDetector(group[1], (0, 1))])
    spec = StartSpec("two people", make_sources=tiny_sources, calibration=group, detector_factory=lambda: next(made))
    tab.show()
    with qtbot.waitSignal(tab.presenter.started, timeout=10_000):
        tab.start_with(spec)
    # by default the subject (nearest the middle of both images) is followed; the bystander is drawn faintly
    qtbot.waitUntil(lambda: all(v.others() for v in tab.views) and _has_3d(tab), timeout=10_000)
    view = tab.views[0]
    k = view.frame().index
    subject_px = group[0].project(tiny_truth(k))
    assert np.abs(view.pose()[:, :2] - subject_px).max() < 2.0
    # click the bystander's pelvis in view 0
    bystander = view.others()[0]
    click = view.image_to_widget(bystander[sk.ROOT, :2])
    qtbot.mouseClick(view, LEFT, pos=QtCore.QPoint(round(click[0]), round(click[1])))

    def both_follow_the_bystander() -> bool:
        out = []
        for v, cam in zip(tab.views, group, strict=True):
            pose, frame = v.pose(), v.frame()
            if pose is None or frame is None or not np.isfinite(pose[:, :2]).all():
                return False
            truth = cam.project(tiny_truth(frame.index) + BYSTANDER_OFFSET)
            out.append(np.abs(pose[:, :2] - truth).max() < 2.0)
        return all(out)

    qtbot.waitUntil(both_follow_the_bystander, timeout=10_000)
    with qtbot.waitSignal(tab.presenter.stopped, timeout=15_000):
        qtbot.mouseClick(tab.start_button, LEFT)
