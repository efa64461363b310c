"""The application shell under a real X server (pytest-xvfb) with Mesa OpenGL: main window, tabs, settings,
closing (every tab and every task stops), the app's calibration, and the 3D SkeletonView checked pixel by pixel
against its own projection."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

import core
from app.main_window import TAB_NAMES, MainWindow
from app.settings import Settings
from app.state import AppState
from app.tasks import Task
from app.widgets.skeleton_view import BACKGROUND, CAMERA_COLOUR, SKELETON_STYLES, UP_AXES, SkeletonView, frustum_lines
from core.errors import CrossViewError, InputError
from core.skeleton import BONES, JOINT_INDEX, JOINT_NAMES, LR_PAIRS, NUM_JOINTS
from tests.conftest import require_shared

pytestmark = pytest.mark.gui

WINDOW_SIZE = (780, 560)  # fits pytest-xvfb's default 800x600 screen
COLOUR_TOL = 30.0  # RGB distance (0-255 scale) allowed between a drawn pixel and the expected colour


class _StubTab(QtWidgets.QLabel):
    """A tab that records when the window stops it."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(f"{name} tab")
        self.name, self.log = name, log

    def stop(self) -> None:
        self.log.append(self.name)


def _window(folder: Path, log: list[str] | None = None) -> MainWindow:
    state = AppState(Settings.in_folder(folder))
    log = [] if log is None else log
    return MainWindow(state, tabs={name: _StubTab(name, log) for name in reversed(TAB_NAMES)})


@pytest.fixture
def window(qtbot, qsettings_dir):
    win = _window(qsettings_dir)
    qtbot.addWidget(win)
    win.resize(*WINDOW_SIZE)
    win.show()
    qtbot.waitExposed(win)
    return win


_DEMO_JOINTS_M: dict[str, tuple[float, float, float]] = {
    # Z-up, metres, facing -Y (so the person's left is +X); a relaxed stance with the arms away from the body
    "pelvis": (0.0, 0.0, 0.95),
    "right_hip": (-0.10, 0.0, 0.93),
    "right_knee": (-0.12, -0.03, 0.51),
    "right_ankle": (-0.14, 0.02, 0.09),
    "left_hip": (0.10, 0.0, 0.93),
    "left_knee": (0.12, -0.03, 0.51),
    "left_ankle": (0.15, 0.03, 0.09),
    "spine": (0.0, 0.01, 1.19),
    "thorax": (0.0, 0.01, 1.44),
    "nose": (0.0, -0.09, 1.58),
    "head_top": (0.0, -0.01, 1.74),
    "left_shoulder": (0.18, 0.01, 1.42),
    "left_elbow": (0.33, 0.02, 1.16),
    "left_wrist": (0.45, -0.06, 0.94),
    "right_shoulder": (-0.18, 0.01, 1.42),
    "right_elbow": (-0.33, -0.04, 1.17),
    "right_wrist": (-0.36, -0.28, 1.10),
}


def demo_pose(world_up: str = "+z") -> np.ndarray:
    """A standing adult, ``(17, 3)`` metres, H36M order, at the origin, facing -Y in a Z-up frame, expressed in a
    world with ``world_up`` up (display = R @ world, so world = R.T @ display)."""
    pts = np.zeros((NUM_JOINTS, 3))
    for name, p in _DEMO_JOINTS_M.items():
        pts[JOINT_INDEX[name]] = p
    return pts @ UP_AXES[world_up]


@pytest.fixture
def live_view(qtbot) -> SkeletonView:
    """A plain SkeletonView showing the demo pose."""
    view = SkeletonView()
    qtbot.addWidget(view)
    view.resize(*WINDOW_SIZE)
    view.set_skeleton("demo", demo_pose())
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.isValid())
    return view


def _rgb255(rgba) -> np.ndarray:
    return np.asarray(rgba[:3], dtype=np.float64) * 255.0


def _best_distance(img: np.ndarray, xy: np.ndarray, colour: np.ndarray, radius: int = 1) -> float:
    """Smallest RGB distance to ``colour`` among the pixels within ``radius`` of ``xy`` (x, y)."""
    x, y = int(round(xy[0])), int(round(xy[1]))
    h, w = img.shape[:2]
    assert radius <= x < w - radius and radius <= y < h - radius, f"point {xy} is outside the {w}x{h} image"
    patch = img[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3).astype(np.float64)
    return float(np.linalg.norm(patch - colour, axis=1).min())


def _joint_colours(style_name: str = "default") -> np.ndarray:
    """``(17, 3)`` expected RGB (0-255) of each joint, from the joint names (independent of the view's code)."""
    st = SKELETON_STYLES[style_name]
    side = [st.left if n.startswith("left_") else st.right if n.startswith("right_") else st.mid for n in JOINT_NAMES]
    return np.array([_rgb255(c) for c in side])


#: The demo person (Z-up) written in worlds with another up axis, by hand: (x, y, z) of the Z-up pose ->
#: Y-up world (x, z, -y); camera-1-like world with y down and z forward (x, -z, y).
def _pose_in_world(up: str) -> np.ndarray:
    x, y, z = demo_pose("+z").T
    return {"+z": np.stack([x, y, z], 1), "+y": np.stack([x, z, -y], 1), "-y": np.stack([x, -z, y], 1)}[up]


# --- main window --------------------------------------------------------------------------------------------------


def test_window_has_four_named_tabs_menus_and_status_bar(window):
    assert window.windowTitle() == "CrossView"
    # given in any order, the tabs show in the app's order
    assert window.tab_names() == list(TAB_NAMES) == ["Live", "Calibration", "Sessions", "Training"]
    assert [window.tab(n).text() for n in TAB_NAMES] == [f"{n} tab" for n in TAB_NAMES]
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert set(menus) == {"File", "Help"}
    assert [a.text().replace("&", "") for a in menus["File"].actions() if not a.isSeparator()] == [
        "Open calibration…",
        "Quit",
    ]
    assert [a.text().replace("&", "") for a in menus["Help"].actions()] == ["About CrossView"]
    assert core.__version__ in window.about_text()
    assert window.statusBar().isVisible()
    assert window.status_field("version") == f"CrossView {core.__version__}"
    assert window.status_field("calibration") == "No calibration loaded"


def test_tab_switching_by_api_and_by_clicking(window, qtbot):
    for name in ("Sessions", "Training", "Calibration", "Live"):
        with qtbot.waitSignal(window.currentTabChanged, timeout=2000) as sig:
            window.set_current_tab(name)
        assert sig.args == [name]
        assert window.current_tab_name() == name
        assert window.tab_widget().currentWidget() is window.tab(name)
    bar = window.tab_widget().tabBar()
    idx = TAB_NAMES.index("Training")
    with qtbot.waitSignal(window.currentTabChanged, timeout=2000) as sig:
        qtbot.mouseClick(bar, QtCore.Qt.MouseButton.LeftButton, pos=bar.tabRect(idx).center())
    assert sig.args == ["Training"]
    assert window.tab("Training").isVisible() and not window.tab("Live").isVisible()
    with pytest.raises(KeyError, match="no tab named 'Nope'"):
        window.set_current_tab("Nope")


def test_set_tab_replaces_a_tab_in_place(window):
    window.set_current_tab("Sessions")
    before = window.tab("Sessions")
    real = QtWidgets.QLabel("real sessions tab")
    old = window.set_tab("Sessions", real)
    assert old is before and old.parent() is None
    assert window.tab("Sessions") is real
    assert window.tab_names() == list(TAB_NAMES)
    assert window.current_tab_name() == "Sessions" and window.tab_widget().currentWidget() is real
    extra = QtWidgets.QLabel("extra")
    assert window.set_tab("Extra", extra) is None
    assert window.tab_names() == [*TAB_NAMES, "Extra"]


def test_settings_round_trip_restores_geometry_and_tab(qtbot, qsettings_dir):
    first = _window(qsettings_dir)
    qtbot.addWidget(first)
    first.resize(733, 517)
    first.show()
    qtbot.waitExposed(first)
    first.set_current_tab("Training")
    first.close()
    assert (qsettings_dir / "CrossView.ini").is_file()

    second = _window(qsettings_dir)
    qtbot.addWidget(second)
    assert second.current_tab_name() == "Training"
    assert (second.width(), second.height()) == (733, 517)
    second.show()
    qtbot.waitExposed(second)
    assert second.size() == QtCore.QSize(733, 517)

    # a fresh settings file starts on the first tab at the default size
    third = _window(qsettings_dir / "..")
    qtbot.addWidget(third)
    assert third.current_tab_name() == "Live"
    assert (third.width(), third.height()) != (733, 517)


def test_default_settings_never_touch_the_users_real_settings(qtbot, _isolated_qsettings):
    win = MainWindow(AppState())
    qtbot.addWidget(win)
    path = Path(win.state.settings.qsettings.fileName()).resolve()
    assert path.is_relative_to(Path(_isolated_qsettings).resolve()), path
    assert not str(path).startswith(str(Path.home() / ".config"))


class _FailingTab(_StubTab):
    def stop(self) -> None:
        super().stop()
        raise RuntimeError("stop failed")


def test_closing_stops_every_tab_and_then_every_task(qtbot, qsettings_dir):
    log: list[str] = []
    state = AppState(Settings.in_folder(qsettings_dir))
    tabs = {"Live": _StubTab("Live", log), "Sessions": _FailingTab("Sessions", log), "Training": _StubTab("T", log)}
    win = MainWindow(state, tabs=tabs)
    qtbot.addWidget(win)
    win.show()
    started = threading.Event()

    def endless(progress, cancel):
        started.set()
        while not cancel.wait(0.005):
            progress(0, 0, "working")
        cancel.raise_if_cancelled()

    task = state.tasks.start(Task(endless, "endless"))
    assert started.wait(5)
    win.close()
    assert log == ["T", "Sessions", "Live"]  # every tab, last first; one failing does not keep the others alive
    assert task.isFinished() and task.state == "cancelled"
    with pytest.raises(RuntimeError, match="closing"):
        state.tasks.start(Task(endless, "too late"))


def test_open_calibration_loads_real_file_and_shows_cameras(window, qtbot):
    path = require_shared("sessions", "pose2sim_balancing", "Calib_qualisys.toml")
    with qtbot.waitSignal(window.state.calibrationChanged, timeout=5000) as sig:
        calib = window.open_calibration(str(path))
    assert sig.args[0] is calib and window.state.calibration is calib and len(calib.group) == 4
    assert "Calib_qualisys.toml" in window.status_field("calibration")
    assert "cam_01, cam_02, cam_03, cam_04" in window.status_field("calibration")
    assert window.state.settings.calibration_dir == path.parent


def test_open_calibration_with_a_bad_file_reports_the_error(window, tmp_path, monkeypatch):
    bad = tmp_path / "broken.toml"
    bad.write_text("this is [not toml")
    shown: list[BaseException] = []
    monkeypatch.setattr(window, "show_error", shown.append)
    assert window.open_calibration(str(bad)) is None
    assert len(shown) == 1 and isinstance(shown[0], CrossViewError)
    assert "broken.toml" in str(shown[0])
    assert window.state.calibration is None
    assert window.status_field("calibration") == "No calibration loaded"


def test_run_gui_opens_the_window_and_returns_when_it_closes(qapp, qsettings_dir):
    from app.gui import run_gui

    seen: dict[str, object] = {}

    def close_main_window() -> None:
        wins = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not wins:
            QtCore.QTimer.singleShot(20, close_main_window)
            return
        seen["tab"] = wins[0].current_tab_name()
        seen["settings"] = wins[0].state.settings.qsettings.fileName()
        wins[0].close()

    QtCore.QTimer.singleShot(0, close_main_window)
    code = run_gui(argparse.Namespace(settings_dir=str(qsettings_dir), tab="Sessions"))
    assert code == 0
    assert seen["tab"] == "Sessions"
    assert Path(str(seen["settings"])) == qsettings_dir / "CrossView.ini"
    with pytest.raises(InputError, match="no tab named 'Nope'.*Live, Calibration"):
        run_gui(argparse.Namespace(tab="Nope"))


# --- SkeletonView pixels ------------------------------------------------------------------------------------------


def test_skeleton_is_drawn_where_the_projection_says(live_view, tmp_path):
    view = live_view
    pose = demo_pose()
    np.testing.assert_allclose(view.skeleton_points("demo"), pose, atol=1e-6)
    img = view.grab_rgb()
    assert img.shape[:2] == (
        round(view.height() * view.devicePixelRatioF()),
        round(view.width() * view.devicePixelRatioF()),
    )
    (tmp_path / "live_view.png").parent.mkdir(exist_ok=True)
    view.grabFramebuffer().save(str(tmp_path / "live_view.png"))
    assert (tmp_path / "live_view.png").stat().st_size > 10_000

    uv = view.project_to_widget(pose)
    assert np.isfinite(uv).all()
    colours = _joint_colours()
    for j in range(NUM_JOINTS):
        d = _best_distance(img, uv[j], colours[j])
        assert d < COLOUR_TOL, f"joint {j} at {uv[j]} is not drawn in its side colour (distance {d:.0f})"

    # the person faces the viewer: their left side is on the image's right
    assert (uv[LR_PAIRS[:, 1], 0] > uv[LR_PAIRS[:, 0], 0]).all()
    left, right = _rgb255(SKELETON_STYLES["default"].left), _rgb255(SKELETON_STYLES["default"].right)
    assert np.linalg.norm(left - right) > 150

    # bones: the middle of each forearm and shin has the colour of its side
    for child in ("left_wrist", "right_wrist", "left_ankle", "right_ankle"):
        j = JOINT_INDEX[child]
        parent = BONES[BONES[:, 1] == j][0, 0]
        mid = view.project_to_widget(0.5 * (pose[parent] + pose[j]))
        assert _best_distance(img, mid, colours[j]) < COLOUR_TOL, f"bone to {child} missing at {mid}"

    # background far from the skeleton is not skeleton-coloured, and is the view's background
    far = np.array([[1.4, 0.0, 1.7], [-1.4, 0.0, 1.7], [1.2, 0.3, 1.2], [-1.2, -0.3, 2.0]])
    palette = np.unique(colours, axis=0)
    for xy in view.project_to_widget(far):
        x, y = int(round(xy[0])), int(round(xy[1]))
        px = img[y, x].astype(np.float64)
        assert np.linalg.norm(palette - px, axis=1).min() > 100, f"background at {xy} looks like a joint: {px}"
        assert np.linalg.norm(px - _rgb255(BACKGROUND)) < 12


def test_nan_joints_hide_the_joint_and_its_bones(live_view):
    view = live_view
    pose = demo_pose()
    wrist, elbow = JOINT_INDEX["left_wrist"], JOINT_INDEX["left_elbow"]
    uv = view.project_to_widget(pose)
    mid_forearm = view.project_to_widget(0.5 * (pose[elbow] + pose[wrist]))
    colours = _joint_colours()
    before = view.grab_rgb()
    assert _best_distance(before, uv[wrist], colours[wrist]) < COLOUR_TOL

    hidden = pose.copy()
    hidden[wrist] = np.nan
    view.set_skeleton("demo", hidden)
    img = view.grab_rgb()
    assert _best_distance(img, uv[wrist], colours[wrist], radius=3) > 100
    assert _best_distance(img, mid_forearm, colours[wrist], radius=3) > 100
    assert _best_distance(img, uv[elbow], colours[elbow]) < COLOUR_TOL

    view.set_skeleton("demo", None)  # the whole skeleton hidden
    img = view.grab_rgb()
    assert max(_best_distance(img, uv[j], colours[j], radius=0) for j in range(NUM_JOINTS)) > 0
    assert all(_best_distance(img, uv[j], colours[j], radius=2) > 60 for j in (0, 8, 10, 12, 15))

    view.set_skeleton("demo", pose)  # and back, with the same GL items
    img = view.grab_rgb()
    assert _best_distance(img, uv[wrist], colours[wrist]) < COLOUR_TOL


@pytest.mark.parametrize("up", ["-y", "+y"])
def test_world_up_rotates_the_world_not_the_picture(live_view, up):
    view = live_view
    uv_z = view.project_to_widget(demo_pose("+z"))
    world = _pose_in_world(up)  # the same person, expressed in a world with another up axis
    np.testing.assert_allclose(demo_pose(up), world, atol=1e-12)
    view.set_world_up(up)
    assert view.world_up() == up
    view.set_skeleton("demo", world)
    uv = view.project_to_widget(world)
    np.testing.assert_allclose(uv, uv_z, atol=1e-3)
    assert (uv[LR_PAIRS[:, 1], 0] > uv[LR_PAIRS[:, 0], 0]).all()  # still facing the viewer, not mirrored
    img = view.grab_rgb()
    colours = _joint_colours()
    for j in range(NUM_JOINTS):
        assert _best_distance(img, uv[j], colours[j]) < COLOUR_TOL, f"joint {j} with world up {up}"
    with pytest.raises(ValueError, match="unknown up axis"):
        view.set_world_up("+x")


def test_two_skeletons_in_two_colour_schemes(live_view):
    view = live_view
    ref = demo_pose() + np.array([1.1, 0.4, 0.0])
    coarse = demo_pose() + np.array([-1.1, 0.4, 0.0])
    view.set_skeleton("reference", ref, style="reference")
    view.set_skeleton("coarse", coarse, style="coarse")
    assert view.skeleton_names() == ["demo", "reference", "coarse"]
    img = view.grab_rgb()
    for pts, style in ((demo_pose(), "default"), (ref, "reference")):
        uv = view.project_to_widget(pts)
        colours = _joint_colours(style)
        for j in range(NUM_JOINTS):
            assert _best_distance(img, uv[j], colours[j]) < COLOUR_TOL, f"{style} joint {j}"
    # the coarse skeleton is translucent: its colour blended over the background
    st = SKELETON_STYLES["coarse"]
    alpha = st.mid[3]
    blended = alpha * _joint_colours("coarse") + (1 - alpha) * _rgb255(BACKGROUND)
    uv = view.project_to_widget(coarse)
    for j in (JOINT_INDEX["head_top"], JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]):
        assert _best_distance(img, uv[j], blended[j]) < COLOUR_TOL, f"coarse joint {j}"
    view.remove_skeleton("reference")
    img = view.grab_rgb()
    uv = view.project_to_widget(ref)
    assert _best_distance(img, uv[JOINT_INDEX["head_top"]], _joint_colours("reference")[10], radius=2) > 100
    with pytest.raises(ValueError, match=r"\(17, 3\)"):
        view.set_skeleton("bad", np.zeros((16, 3)))


def test_follow_puts_the_pelvis_at_the_centre(live_view):
    view = live_view
    moved = demo_pose() + np.array([1.5, -0.8, 0.0])
    view.set_follow(True)
    view.set_skeleton("demo", moved)
    uv = view.project_to_widget(moved[0])
    centre = np.array([view.width(), view.height()]) * view.devicePixelRatioF() / 2
    np.testing.assert_allclose(uv, centre, atol=1.0)
    img = view.grab_rgb()
    assert _best_distance(img, uv, _joint_colours()[0]) < COLOUR_TOL
    view.set_follow(False)
    view.reset_view()
    assert not np.allclose(view.project_to_widget(moved[0]), centre, atol=5.0)


def test_camera_frusta_from_a_real_calibration(live_view):
    from core.calibration_io import load_calibration

    group = load_calibration(require_shared("sessions", "pose2sim_balancing", "Calib_qualisys.toml")).group
    view = live_view
    view.set_skeleton("demo", None)
    view.set_cameras(group, depth_m=0.4)
    view.fit_to(np.stack([c.center for c in group]), margin=1.3)
    img = view.grab_rgb()
    colour = _rgb255(CAMERA_COLOUR)
    for cam in group:
        segs = frustum_lines(cam, 0.4).reshape(-1, 2, 3)
        np.testing.assert_allclose(segs[0, 0], cam.center, atol=1e-9)
        # the camera looks along its optical axis: the frustum's base centre is in front of it
        base_centre = segs[4:8, 0].mean(axis=0)
        assert cam.world_to_camera(base_centre)[2] == pytest.approx(0.4)
        for a, b in segs[4:8]:  # the four edges of the base
            mid = view.project_to_widget(0.5 * (a + b))
            assert _best_distance(img, mid, colour, radius=2) < COLOUR_TOL, f"{cam.name} frustum edge at {mid}"
    view.set_cameras(None)
    img = view.grab_rgb()
    mid = view.project_to_widget(frustum_lines(group[0], 0.4).reshape(-1, 2, 3)[4].mean(axis=0))
    assert _best_distance(img, mid, colour, radius=2) > 100
