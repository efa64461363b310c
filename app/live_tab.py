"""The Live tab: two camera previews with their 2D skeletons, the live 3D skeleton, controls and statistics.

A view: every action goes to :class:`app.live_controller.LiveController`, which opens the sources and runs
:class:`core.pipeline.LivePipeline` off the GUI thread. The previews poll each source's newest frame at the
display rate (so one camera keeps showing when the other is gone or pairing stalls); the skeletons come from
the newest :class:`core.pipeline.PoseResult`; statistics arrive at ~2 Hz.

Public API used by the main window: ``LiveTab(parent=None, settings=None)``, :meth:`LiveTab.start_demo`,
:meth:`LiveTab.stop`, :meth:`LiveTab.set_calibration`, :meth:`LiveTab.set_refine_hook`. Units: metres (3D),
pixels (2D), frames per second and milliseconds (statistics).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.live_controller import DISPLAY_HZ, Job, LiveController, LiveSession, LiveStats, StartSpec, infer_world_up
from app.record_controls import RecordControls
from app.style import ACCENT, BASE, BORDER, MUTED, PANEL, TEXT, WINDOW
from app.widgets.camera_view import CameraView, person_box
from app.widgets.messages import MessageBoxSlot, register_with_window, status_message
from app.widgets.plots import RatePlot
from app.widgets.skeleton_view import UP_AXES, SkeletonView, frustum_lines
from core.calibration_io import CalibrationFile, load_calibration
from core.capture import DeviceInfo, DeviceSource, SourceState, list_devices, synchronized_videos
from core.errors import CrossViewError, InputError
from core.pipeline import PoseResult, RefineHook

log = logging.getLogger(__name__)

SOURCE_DEMO, SOURCE_CAMERAS, SOURCE_VIDEOS = "demo", "cameras", "videos"
RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
FPS_CHOICES: tuple[int, ...] = (15, 30, 60)
#: The main skeleton's name in the 3D view, and the coarse (triangulated) one shown under a refined pose.
MAIN_SKELETON = "live 3D"
COARSE_SKELETON = "triangulated"
#: How long the last 3D skeleton stays on screen after 3D is lost, seconds (no flicker on brief dropouts).
NO3D_GRACE_S = 0.4
#: A result older than this is drawn faded over the previews, seconds.
STALE_RESULT_S = 1.0
#: With "Sync overlay", a result's own frames are shown while the result is at most this old, seconds;
#: after that each view falls back to its camera's newest frame (pairing stalled, a camera is gone).
SYNC_MAX_AGE_S = 0.5
#: Without any result for this long while running, the 3D view says why, seconds.
NO_RESULT_S = 1.5
#: Joints whose lowest point sets the floor when the calibration does not define one.
_ANKLES = (3, 6)

DEMO_TEXT = (
    "The demo plays two synchronised views of a real person (the Pose2Sim balancing trial, cameras 01 and 04, "
    "60 fps) through exactly the same live pipeline as two webcams: MediaPipe 2D in each view, triangulation "
    "with the rig's calibration and display smoothing."
)

TAB_STYLESHEET = f"""
QWidget#livePanel {{ background: {WINDOW}; }}
QLabel#panelTitle {{ color: {TEXT}; font-weight: 700; font-size: 13px; }}
QLabel#caption {{ color: {MUTED}; }}
QLabel#calibLabel {{ color: {TEXT}; }}
QFrame#vline {{ color: {BORDER}; }}
QPushButton#primaryButton {{
    background: {ACCENT}; color: white; border: 1px solid {ACCENT}; font-weight: 700; padding: 5px 18px;
}}
QPushButton#primaryButton:hover {{ background: #5cb5f7; }}
QPushButton#primaryButton:disabled {{ background: #2a4a63; border-color: #2a4a63; color: #b8c4d0; }}
QPushButton#stopButton {{
    background: #c8463c; color: white; border: 1px solid #c8463c; font-weight: 700; padding: 5px 18px;
}}
QToolButton {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 6px; padding: 4px 8px;
}}
QToolButton:hover {{ border-color: {ACCENT}; }}
QToolButton::menu-indicator {{ image: none; width: 0; }}
QLabel#warningBanner {{
    color: #ffe2a8; background: rgba(245, 165, 62, 0.13); border: 1px solid rgba(245, 165, 62, 0.55);
    border-radius: 6px; padding: 5px 10px;
}}
QLabel#problemBanner {{
    color: #ffd6d1; background: rgba(235, 72, 60, 0.16); border: 1px solid rgba(235, 72, 60, 0.6);
    border-radius: 6px; padding: 5px 10px;
}}
QLabel#no3dBanner {{
    color: {TEXT}; background: rgba(20, 22, 28, 0.86); border: 1px solid {BORDER}; border-radius: 8px;
    padding: 8px 14px; font-size: 13px;
}}
QFrame#statsBar {{ background: {BASE}; border-top: 1px solid {BORDER}; }}
QLabel#tileCaption {{ color: {MUTED}; font-size: 11px; }}
QLabel#tileValue {{ color: {TEXT}; font-size: 14px; font-weight: 600; }}
QLabel#plotLegend {{ color: {MUTED}; font-size: 11px; }}
QFrame#welcomeCard {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 12px; }}
QLabel#welcomeTitle {{ color: {TEXT}; font-size: 20px; font-weight: 700; }}
QLabel#welcomeText {{ color: {MUTED}; font-size: 13px; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 12px; margin: -5px 0; border-radius: 6px; }}
QSlider::handle:horizontal:disabled {{ background: #5d6470; }}
QSlider::sub-page:horizontal:disabled {{ background: #3a4656; }}
QComboBox QAbstractItemView {{ background: {PANEL}; color: {TEXT}; selection-background-color: {ACCENT}; }}
QSplitter::handle {{ background: {BORDER}; }}
QCheckBox:disabled, QPushButton:disabled {{ color: #5d6470; }}
QCheckBox::indicator:disabled {{ border-color: #3a3f4a; background: {BASE}; }}
QCheckBox::indicator:checked:disabled {{ background: #34495c; border-color: #34495c; }}
"""


def _fmt(v: float, digits: int = 0, unit: str = "") -> str:
    """A number for the status panel, or an en dash when it is missing."""
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.{digits}f}{unit}"


def _ms(summary: dict[str, float] | None, digits: int = 0) -> str:
    if not summary or not summary.get("n"):
        return "–"
    return _fmt(summary["median"], digits, " ms")


def _vline() -> QtWidgets.QFrame:
    line = QtWidgets.QFrame()
    line.setObjectName("vline")
    line.setFrameShape(QtWidgets.QFrame.Shape.VLine)
    line.setFixedHeight(22)
    return line


class _ViewsArea(QtWidgets.QWidget):
    """The two camera views, side by side or stacked, whichever shows the pictures bigger."""

    def __init__(self, views: Sequence[CameraView], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = list(views)
        self._aspect = 16 / 9
        self._layout = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        for v in self.views:
            self._layout.addWidget(v, 1)

    def set_aspect(self, aspect: float) -> None:
        """Width / height of the pictures."""
        if aspect > 0 and abs(aspect - self._aspect) > 1e-3:
            self._aspect = aspect
            self._arrange()

    def _arrange(self) -> None:
        W, H = max(self.width(), 1), max(self.height(), 1)
        a = self._aspect
        side = min(W / 2 / a, H)  # picture height side by side
        stacked = min(W / a, H / 2)
        d = QtWidgets.QBoxLayout.Direction
        want = d.LeftToRight if side >= stacked else d.TopToBottom
        if self._layout.direction() != want:
            self._layout.setDirection(want)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()


class _Tile(QtWidgets.QWidget):
    """A caption over a value, for the statistics panel."""

    def __init__(self, caption: str, tooltip: str = "") -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.caption = QtWidgets.QLabel(caption)
        self.caption.setObjectName("tileCaption")
        self.value = QtWidgets.QLabel("–")
        self.value.setObjectName("tileValue")
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        if tooltip:
            self.setToolTip(tooltip)


class LiveTab(QtWidgets.QWidget):
    """Live capture from two cameras (or the shipped demo, or two video files) with live 3D."""

    #: The text of every error shown in a dialog (also handy for tests).
    errorShown = QtCore.Signal(str)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        settings: QtCore.QSettings | None = None,
        *,
        device_lister: Callable[[], list[DeviceInfo]] = list_devices,
    ) -> None:
        super().__init__(parent)
        if settings is None:
            from app.main_window import default_settings

            settings = default_settings()
        self.setObjectName("page")
        self.setStyleSheet(TAB_STYLESHEET)
        self._settings = settings
        self._device_lister = device_lister
        self._devices: list[DeviceInfo] | None = None
        self._device_job: Job | None = None
        self._calibration: CalibrationFile | None = None
        self._calib_pairs: list[tuple[str, str]] = []
        self._video_paths: list[str] = [str(p) for p in (settings.value("live/videos") or []) if p]
        self._refine_hook: RefineHook | None = None
        self._refine_label = ""
        self._result: PoseResult | None = None
        self._result_t = 0.0
        self._last_3d_t = 0.0
        self._shown_pose_key: list[tuple] = [(), ()]
        self._framed = False
        self._auto_floor = False
        self._floor_samples: deque[float] = deque(maxlen=120)
        self._floor = 0.0
        self._boxes = MessageBoxSlot(self)
        self._restoring = True
        self.last_error: str | None = None

        self.controller = LiveController(self)
        self.controller.stateChanged.connect(self._on_state)
        self.controller.started.connect(self._on_started)
        self.controller.startFailed.connect(self._on_start_failed)
        self.controller.stopped.connect(self._on_stopped)
        self.controller.resultReady.connect(self._on_result)
        self.controller.statsReady.connect(self._on_stats)
        self.controller.pipelineFailed.connect(self._on_pipeline_failed)

        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_toolbar())
        #: Record button (records the running capture into a session; see app/record_controls.py)
        self.record_controls = RecordControls(self.controller, settings, self)
        self.extra_controls.addWidget(self.record_controls)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.setObjectName("liveSplitter")
        splitter.setHandleWidth(1)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_cameras_panel())
        splitter.addWidget(self._build_3d_panel())
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 6)
        self.splitter = splitter
        root.addWidget(splitter, 1)
        root.addWidget(self._build_stats_bar())

        self._display_timer = QtCore.QTimer(self)
        self._display_timer.setInterval(int(1000 / DISPLAY_HZ))
        self._display_timer.timeout.connect(self._tick)

        self._restore_settings()
        self._restoring = False
        self._on_source_changed()
        self._update_refine_controls()
        self._set_3d_message("Press Start to see the live 3D skeleton here.")
        self._on_state("idle")
        self.refresh_devices()

    # ================================================================================================================
    # construction
    # ================================================================================================================

    def _build_toolbar(self) -> QtWidgets.QFrame:
        bar = QtWidgets.QFrame()
        bar.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(8)

        caption = QtWidgets.QLabel("Source")
        caption.setObjectName("caption")
        row.addWidget(caption)
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.setObjectName("sourceCombo")
        self.source_combo.addItem("Demo (Pose2Sim)", SOURCE_DEMO)
        self.source_combo.addItem("Cameras", SOURCE_CAMERAS)
        self.source_combo.addItem("Video files…", SOURCE_VIDEOS)
        self.source_combo.setToolTip(
            "Demo: two recorded views of a real person, played as a synchronised rig.\n"
            "Cameras: two webcams (choose them on the right).\n"
            "Video files: two videos recorded together, played as a synchronised rig."
        )
        self.source_combo.currentIndexChanged.connect(self._on_source_changed)
        row.addWidget(self.source_combo)

        # cameras
        self.camera_combos: list[QtWidgets.QComboBox] = []
        for k in range(2):
            combo = QtWidgets.QComboBox()
            combo.setObjectName(f"cameraCombo{k}")
            combo.setMinimumContentsLength(14)
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(f"Camera {'AB'[k]}: the device for the calibration's camera {k + 1}")
            combo.currentIndexChanged.connect(self._save_settings)
            self.camera_combos.append(combo)
            row.addWidget(combo)
        self.refresh_button = QtWidgets.QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for cameras again")
        self.refresh_button.clicked.connect(self.refresh_devices)
        row.addWidget(self.refresh_button)
        self.settings_button = QtWidgets.QToolButton()
        self.settings_button.setText("Camera settings ▾")
        self.settings_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setMenu(self._build_camera_settings_menu())
        row.addWidget(self.settings_button)

        # video files
        self.videos_button = QtWidgets.QPushButton("Choose files…")
        self.videos_button.setToolTip("Choose two video files recorded together (camera 1, then camera 2)")
        self.videos_button.clicked.connect(self.choose_videos)
        row.addWidget(self.videos_button)
        self.videos_label = QtWidgets.QLabel()
        self.videos_label.setObjectName("caption")
        row.addWidget(self.videos_label)

        row.addSpacing(6)
        row.addWidget(_vline())
        row.addSpacing(6)
        caption = QtWidgets.QLabel("Calibration")
        caption.setObjectName("caption")
        row.addWidget(caption)
        self.calib_label = QtWidgets.QLabel()
        self.calib_label.setObjectName("calibLabel")
        self.calib_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.calib_label.setMinimumWidth(120)
        row.addWidget(self.calib_label, 1)
        self.calib_pair_combo = QtWidgets.QComboBox()
        self.calib_pair_combo.setToolTip("Which two cameras of the calibration are camera A and camera B")
        self.calib_pair_combo.setVisible(False)
        self.calib_pair_combo.currentIndexChanged.connect(self._on_source_changed)
        row.addWidget(self.calib_pair_combo)
        self.load_calib_button = QtWidgets.QPushButton("Load…")
        self.load_calib_button.setToolTip("Load a stereo calibration (anipose/Pose2Sim TOML, metres)")
        self.load_calib_button.clicked.connect(self.load_calibration_dialog)
        row.addWidget(self.load_calib_button)

        row.addSpacing(6)
        #: Room for more controls (session recording) before the Start button.
        self.extra_controls = QtWidgets.QHBoxLayout()
        self.extra_controls.setSpacing(8)
        row.addLayout(self.extra_controls)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("primaryButton")
        self.start_button.setMinimumWidth(96)
        self.start_button.clicked.connect(self._on_start_clicked)
        row.addWidget(self.start_button)
        return bar

    def _build_camera_settings_menu(self) -> QtWidgets.QMenu:
        menu = QtWidgets.QMenu(self)
        form_widget = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(form_widget)
        form.setContentsMargins(12, 10, 12, 10)
        self.resolution_combo = QtWidgets.QComboBox()
        for w, h in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w} × {h}", (w, h))
        self.fps_combo = QtWidgets.QComboBox()
        for f in FPS_CHOICES:
            self.fps_combo.addItem(f"{f} fps", f)
        self.mjpg_check = QtWidgets.QCheckBox("MJPG (needed for 720p/1080p at 30 fps on USB 2)")
        form.addRow("Resolution", self.resolution_combo)
        form.addRow("Frame rate", self.fps_combo)
        form.addRow("", self.mjpg_check)
        note = QtWidgets.QLabel("Applied when the cameras start. Use the resolution you calibrated at.")
        note.setObjectName("caption")
        form.addRow(note)
        action = QtWidgets.QWidgetAction(menu)
        action.setDefaultWidget(form_widget)
        menu.addAction(action)
        for w in (self.resolution_combo, self.fps_combo):
            w.currentIndexChanged.connect(self._save_settings)
        self.mjpg_check.toggled.connect(self._save_settings)
        return menu

    def _panel_header(self, title: str) -> tuple[QtWidgets.QWidget, QtWidgets.QHBoxLayout]:
        w = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(w)
        row.setContentsMargins(2, 0, 2, 0)
        row.setSpacing(10)
        label = QtWidgets.QLabel(title)
        label.setObjectName("panelTitle")
        row.addWidget(label)
        return w, row

    def _build_cameras_panel(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        panel.setObjectName("livePanel")
        lay = QtWidgets.QVBoxLayout(panel)
        lay.setContentsMargins(10, 8, 6, 8)
        lay.setSpacing(6)
        header, row = self._panel_header("Cameras")
        hint = QtWidgets.QLabel("click a person to follow them")
        hint.setObjectName("caption")
        row.addWidget(hint)
        row.addStretch(1)
        self.sync_check = QtWidgets.QCheckBox("Sync overlay")
        self.sync_check.setToolTip(
            "On: each camera shows the frame its skeleton was computed from (exact overlay; the picture updates\n"
            "at the processing rate). Off: the newest frame at the camera's rate, with the newest skeleton\n"
            "(which lags by the latency). Either way a camera keeps its live picture when pairing stalls."
        )
        self.sync_check.toggled.connect(self._save_settings)
        row.addWidget(self.sync_check)
        self.reset_person_button = QtWidgets.QPushButton("Reset person")
        self.reset_person_button.setToolTip("Follow the default person again (the one nearest the image centre)")
        self.reset_person_button.clicked.connect(self.controller.release_person)
        row.addWidget(self.reset_person_button)
        lay.addWidget(header)

        self.warning_banner = QtWidgets.QLabel()
        self.warning_banner.setObjectName("warningBanner")
        self.warning_banner.setWordWrap(True)
        self.warning_banner.setVisible(False)
        lay.addWidget(self.warning_banner)
        self.problem_banner = QtWidgets.QLabel()
        self.problem_banner.setObjectName("problemBanner")
        self.problem_banner.setWordWrap(True)
        self.problem_banner.setVisible(False)
        lay.addWidget(self.problem_banner)

        self.views = [CameraView(0), CameraView(1)]
        for v in self.views:
            v.personClicked.connect(self._on_person_clicked)
        self.views_area = _ViewsArea(self.views)
        self.views_stack = QtWidgets.QStackedWidget()
        self.views_stack.addWidget(self._build_welcome())
        self.views_stack.addWidget(self.views_area)
        lay.addWidget(self.views_stack, 1)
        return panel

    def _build_welcome(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(page)
        outer.addStretch(1)
        card = QtWidgets.QFrame()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(560)
        lay = QtWidgets.QVBoxLayout(card)
        lay.setContentsMargins(28, 24, 28, 24)
        lay.setSpacing(12)
        self.welcome_title = QtWidgets.QLabel("Looking for cameras…")
        self.welcome_title.setObjectName("welcomeTitle")
        self.welcome_title.setWordWrap(True)
        self.welcome_text = QtWidgets.QLabel(DEMO_TEXT)
        self.welcome_text.setObjectName("welcomeText")
        self.welcome_text.setWordWrap(True)
        self.demo_button = QtWidgets.QPushButton("▶  Start demo")
        self.demo_button.setObjectName("primaryButton")
        self.demo_button.setMinimumHeight(38)
        self.demo_button.clicked.connect(self.start_demo)
        self.welcome_note = QtWidgets.QLabel(
            "To capture yourself: connect two webcams, calibrate them together in the Calibration tab, "
            "then choose Source ▸ Cameras and press Start."
        )
        self.welcome_note.setObjectName("welcomeText")
        self.welcome_note.setWordWrap(True)
        lay.addWidget(self.welcome_title)
        lay.addWidget(self.welcome_text)
        lay.addSpacing(4)
        lay.addWidget(self.demo_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        lay.addSpacing(4)
        lay.addWidget(self.welcome_note)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 10)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        return page

    def _build_3d_panel(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        panel.setObjectName("livePanel")
        lay = QtWidgets.QVBoxLayout(panel)
        lay.setContentsMargins(6, 8, 10, 8)
        lay.setSpacing(6)
        header, row = self._panel_header("3D")
        self.smooth_check = QtWidgets.QCheckBox("Smoothing")
        self.smooth_check.setToolTip("One-Euro smoothing of the displayed 3D skeleton (raw values are kept)")
        self.smooth_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 100)
        self.smooth_slider.setFixedWidth(90)
        self.smooth_slider.setToolTip("Smoothing strength: left = responsive, right = smooth")
        self.smooth_check.toggled.connect(self._on_smoothing_changed)
        self.smooth_slider.valueChanged.connect(self._on_smoothing_changed)
        self.refine_check = QtWidgets.QCheckBox("Refine")
        self.refine_check.toggled.connect(self._on_refine_toggled)
        self.coarse_check = QtWidgets.QCheckBox("Show coarse")
        self.coarse_check.setToolTip("Also show the triangulated (coarse) skeleton, faintly, under the refined one")
        self.coarse_check.toggled.connect(lambda _on: self._save_settings())
        self.follow_check = QtWidgets.QCheckBox("Follow")
        self.follow_check.setToolTip("Keep the subject's pelvis at the centre of the 3D view")
        self.follow_check.toggled.connect(lambda on: self.view3d.set_follow(on, MAIN_SKELETON))
        self.reset_view_button = QtWidgets.QPushButton("Reset view")
        self.reset_view_button.clicked.connect(self.reset_view)
        row.addSpacing(8)
        row.addWidget(self.smooth_check)
        row.addWidget(self.smooth_slider)
        row.addSpacing(6)
        row.addWidget(self.refine_check)
        row.addWidget(self.coarse_check)
        row.addStretch(1)
        row.addWidget(self.follow_check)
        row.addWidget(self.reset_view_button)
        lay.addWidget(header)

        self.view3d = SkeletonView()
        self.view3d.setObjectName("liveSkeletonView")
        self.no3d_label = QtWidgets.QLabel(self.view3d)
        self.no3d_label.setObjectName("no3dBanner")
        self.no3d_label.setWordWrap(True)
        self.no3d_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.view3d.installEventFilter(self)
        lay.addWidget(self.view3d, 1)
        return panel

    def _build_stats_bar(self) -> QtWidgets.QFrame:
        bar = QtWidgets.QFrame()
        bar.setObjectName("statsBar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(18)
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(22)
        grid.setVerticalSpacing(6)
        tiles = [
            ("fps0", "camera A fps", "Frames per second delivered by camera A"),
            ("fps1", "camera B fps", "Frames per second delivered by camera B"),
            ("paired", "paired fps", "Synchronised pairs made per second"),
            ("processed", "processed fps", "Pairs turned into a pose per second (older pairs are skipped)"),
            ("skew", "pair skew", "Mean |time difference| between the two frames of a pair"),
            ("latency", "latency median / p95", "Capture to display, end to end"),
            ("drops", "camera drops A / B", "Frames the cameras never delivered"),
            ("superseded", "superseded", "Pairs replaced by a newer one before being processed (bounded latency)"),
            ("grab_to_pair", "grab → pair", "From the later frame's capture to its pair being taken (median)"),
            ("detect", "detection", "MediaPipe on both views in parallel (median)"),
            ("triangulate", "triangulation", "Two-view DLT (median)"),
            ("refine", "refinement", "Learned refinement (median); – when off"),
        ]
        self.stat_tiles: dict[str, _Tile] = {}
        for i, (key, caption, tip) in enumerate(tiles):
            tile = _Tile(caption, tip)
            self.stat_tiles[key] = tile
            grid.addWidget(tile, i // 6, i % 6)
        row.addLayout(grid)
        row.addStretch(1)
        self.plot = RatePlot()
        self.plot.setFixedWidth(400)
        self.plot.setFixedHeight(96)
        row.addWidget(self.plot)
        return bar

    # ================================================================================================================
    # public API
    # ================================================================================================================

    @property
    def state(self) -> str:
        """``"idle"``, ``"starting"``, ``"running"`` or ``"stopping"``."""
        return self.controller.state

    def source_kind(self) -> str:
        return str(self.source_combo.currentData())

    def set_source_kind(self, kind: str) -> None:
        idx = self.source_combo.findData(kind)
        if idx < 0:
            raise ValueError(f"unknown source {kind!r}; use {SOURCE_DEMO!r}, {SOURCE_CAMERAS!r} or {SOURCE_VIDEOS!r}")
        self.source_combo.setCurrentIndex(idx)

    def start_demo(self) -> None:
        """Start the shipped demo (two real recorded views through the live pipeline)."""
        self.set_source_kind(SOURCE_DEMO)
        self.start()

    def start(self) -> bool:
        """Start the selected source (demo, cameras or video files) in the background; False if it cannot."""
        if self.controller.state != "idle":
            return False
        try:
            spec = self._spec_from_ui()
        except CrossViewError as exc:
            self._show_error(str(exc))
            return False
        if spec is None:
            return False
        return self.start_with(spec)

    def start_with(self, spec: StartSpec) -> bool:
        """Start any :class:`StartSpec` (custom sources, a fake detector in tests...)."""
        if self.controller.state != "idle":
            return False
        if spec.refine_hook is None:
            spec.refine_hook = self._refine_hook
        spec.refine_enabled = self.refine_check.isChecked() and spec.refine_hook is not None
        spec.smoothing = (self.smooth_check.isChecked(), self.smooth_slider.value() / 100.0)
        self._register_with_window()
        return self.controller.start(spec)

    def stop(self) -> None:
        """Stop capture and every thread it started; returns when they have stopped (used when closing)."""
        self._display_timer.stop()
        self.record_controls.stop()  # finalise a recording before its capture stops
        self.controller.stop(wait=True)
        job = self._device_job
        if job is not None:
            job.wait()

    def set_calibration(self, calib: CalibrationFile) -> None:
        """Use this calibration for cameras and video files (the demo has its own). Takes effect at Start."""
        self._calibration = calib
        self.calib_pair_combo.blockSignals(True)
        self.calib_pair_combo.clear()
        names = calib.group.names
        self._calib_pairs = [(a, b) for a in names for b in names if a != b] if len(names) > 2 else []
        for a, b in self._calib_pairs:
            self.calib_pair_combo.addItem(f"{a} + {b}")
        self.calib_pair_combo.blockSignals(False)
        self._on_source_changed()
        if self.controller.state != "idle" and self.source_kind() != SOURCE_DEMO:
            self._show_message("New calibration loaded: it takes effect at the next Start.")

    def calibration(self) -> CalibrationFile | None:
        return self._calibration

    def set_refine_hook(self, hook: RefineHook | None, label: str = "") -> None:
        """The learned refinement (e.g. CV-UGCN) to offer; None disables the Refine toggle."""
        self._refine_hook = hook
        self._refine_label = label
        self._update_refine_controls()
        self.controller.set_refine(hook, self.refine_check.isChecked() and hook is not None)

    def refresh_devices(self) -> None:
        """List the cameras again (in a worker: probing can be slow on some platforms)."""
        if self._device_job is not None:
            return
        self.refresh_button.setEnabled(False)
        job = Job(self._device_lister, "list-devices", self)
        job.done.connect(lambda _r, _e, j=job: self._devices_listed(j), QtCore.Qt.ConnectionType.QueuedConnection)
        self._device_job = job
        job.start()

    def devices(self) -> list[DeviceInfo] | None:
        """The cameras found (None while looking)."""
        return None if self._devices is None else list(self._devices)

    def stat_text(self, key: str) -> str:
        """The value shown in statistics tile ``key`` (see ``_build_stats_bar``)."""
        return self.stat_tiles[key].value.text()

    def no3d_text(self) -> str | None:
        """The message over the 3D view, or None when it is hidden."""
        return self.no3d_label.text() if not self.no3d_label.isHidden() else None

    def reset_view(self) -> None:
        """Look at the subject (or the cameras' common field) from behind the cameras, far enough back for
        the subject and both camera frusta to be in the picture."""
        view = self.view3d
        view.reset_view()
        group = view.camera_group()
        pts = view.skeleton_points(MAIN_SKELETON)
        person = None
        if pts is not None and np.isfinite(pts).all(axis=1).any():
            person = view.world_to_display(pts[np.isfinite(pts).all(axis=1)])
        cams = view.world_to_display(np.stack([c.center for c in group])) if group is not None else None
        if person is None and cams is None:
            return
        if person is not None:
            centre = 0.5 * (person.min(axis=0) + person.max(axis=0))
        else:
            # where the optical axes pass closest to each other (least squares), at standing height
            centre = self._cameras_meeting_point(group)
        azimuth = view.DEFAULT_AZIMUTH_DEG
        if cams is not None:
            d = cams.mean(axis=0) - centre
            if np.hypot(d[0], d[1]) > 1e-6:
                azimuth = math.degrees(math.atan2(d[1], d[0])) + 20.0
        frusta = (
            view.world_to_display(np.concatenate([frustum_lines(c, 0.3) for c in group])) if group is not None else None
        )
        shown = [p for p in (person, cams, frusta) if p is not None]
        points_world = np.concatenate(shown) @ UP_AXES[view.world_up()]  # display -> world
        cams_world = None if cams is None else cams @ UP_AXES[view.world_up()]
        qcentre = QtGui.QVector3D(*[float(v) for v in centre])
        size = np.array([max(view.width(), 1), max(view.height(), 1)], dtype=np.float64)

        def fits(distance: float) -> bool:
            view.setCameraPosition(pos=qcentre, distance=distance, elevation=16.0, azimuth=azimuth)
            uv = view.project_to_widget(points_world, device_pixels=False)
            ok = np.isfinite(uv).all() and (uv >= 0.05 * size).all() and (uv <= 0.95 * size).all()
            if ok and cams is not None:  # room for the camera names, written to the right of each camera
                label_w = 10.0 * max(len(c.name) + 2 for c in group)
                ok = bool((view.project_to_widget(cams_world, device_pixels=False)[:, 0] + label_w <= size[0]).all())
            return bool(ok)

        # the nearest distance at which everything is inside the central 90% of the view (bisection, metres)
        near, far = 0.5, 2.0
        while not fits(far) and far < 60.0:
            near, far = far, far * 2.0
        for _ in range(12):
            mid = 0.5 * (near + far)
            near, far = (near, mid) if fits(mid) else (mid, far)
        fits(far)
        if self.follow_check.isChecked():
            view.set_follow(True, MAIN_SKELETON)

    def _cameras_meeting_point(self, group) -> np.ndarray:
        """Display-frame point ``(3,)`` m nearest to every camera's optical axis, moved to ~1 m above the floor."""
        view = self.view3d
        c = view.world_to_display(np.stack([cam.center for cam in group]))  # (V, 3)
        d = view.world_to_display(np.stack([cam.R[2] for cam in group]))  # (V, 3) optical axes
        eye = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # projectors orthogonal to each axis
        try:
            p = np.linalg.solve(eye.sum(axis=0), np.einsum("vij,vj->i", eye, c))
        except np.linalg.LinAlgError:
            p = c.mean(axis=0)
        if not np.isfinite(p).all() or np.linalg.norm(p - c.mean(axis=0)) > 20:
            p = c.mean(axis=0)
        p[2] = self._floor + 1.0
        return p

    # ================================================================================================================
    # building a start spec from the controls
    # ================================================================================================================

    def _spec_from_ui(self) -> StartSpec | None:
        kind = self.source_kind()
        if kind == SOURCE_DEMO:
            from core.demo import demo_files, demo_sources

            return StartSpec(
                label="Demo (Pose2Sim)",
                make_sources=lambda: demo_sources(loop=True),
                calibration=lambda: load_calibration(demo_files().calibration),
            )
        calib = self._calibration
        if calib is None:
            raise InputError(
                "Live 3D needs a stereo calibration of your two cameras. Load one with Load… (or File ▸ Open "
                "calibration), or calibrate your cameras in the Calibration tab. To see the pipeline without "
                "cameras, choose Source ▸ Demo."
            )
        pair = self._calibration_pair(calib)
        if kind == SOURCE_CAMERAS:
            indices = [c.currentData() for c in self.camera_combos]
            if any(i is None for i in indices):
                raise InputError(
                    "Two cameras are needed and fewer were found. Connect two webcams and press ⟳, or choose "
                    "Source ▸ Demo to see the pipeline without cameras."
                )
            if indices[0] == indices[1]:
                raise InputError("Camera A and camera B are the same device; choose two different cameras.")
            w, h = self.resolution_combo.currentData()
            fps = float(self.fps_combo.currentData())
            fourcc = "MJPG" if self.mjpg_check.isChecked() else None
            a, b = int(indices[0]), int(indices[1])
            return StartSpec(
                label="Cameras",
                make_sources=lambda: [
                    DeviceSource(i, name=n, width=w, height=h, fps=fps, fourcc=fourcc)
                    for i, n in ((a, pair[0]), (b, pair[1]))
                ],
                calibration=calib,
                cameras=pair,
            )
        paths = list(self._video_paths)
        if len(paths) != 2:
            paths = self.choose_videos() or []
            if len(paths) != 2:
                return None
        return StartSpec(
            label="Video files",
            make_sources=lambda: synchronized_videos(paths, list(pair), loop=True),
            calibration=calib,
            cameras=pair,
        )

    def _calibration_pair(self, calib: CalibrationFile) -> tuple[str, str]:
        names = calib.group.names
        if len(names) < 2:
            raise InputError(
                f"The calibration holds {len(names)} camera ({', '.join(names)}); live 3D needs two calibrated "
                "together. Calibrate both cameras in the Calibration tab."
            )
        idx = self.calib_pair_combo.currentIndex()
        if len(names) > 2 and 0 <= idx < len(self._calib_pairs):
            return self._calib_pairs[idx]
        return names[0], names[1]

    def set_calibration_pair(self, camera_a: str, camera_b: str) -> None:
        """Choose which two cameras of a calibration with more than two are camera A and camera B."""
        try:
            self.calib_pair_combo.setCurrentIndex(self._calib_pairs.index((camera_a, camera_b)))
        except ValueError:
            raise InputError(
                f"the calibration has no camera pair {camera_a} + {camera_b}; its cameras are "
                f"{', '.join(self._calibration.group.names) if self._calibration else 'none'}."
            ) from None

    def choose_videos(self) -> list[str] | None:
        """Ask for two video files recorded together; None when cancelled."""
        start_dir = str(Path(self._video_paths[0]).parent) if self._video_paths else ""
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Choose two videos recorded together", start_dir, "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)"
        )
        if not paths:
            return None
        if len(paths) != 2:
            self._show_error(f"Choose exactly two video files (camera 1 and camera 2); {len(paths)} were chosen.")
            return None
        self._video_paths = sorted(paths)
        self._save_settings()
        self._on_source_changed()
        return list(self._video_paths)

    def load_calibration_dialog(self) -> None:
        """Load a calibration: through the main window's File ▸ Open flow when there is one, else directly."""
        win = self.window()
        opener = getattr(win, "open_calibration", None)
        if win is not self and callable(opener):
            opener()
            return
        last = str(self._settings.value("paths/calibration_dir", ""))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open calibration", last, "Calibration (*.toml);;All files (*)"
        )
        if path:
            self.load_calibration_file(path)

    def load_calibration_file(self, path: str) -> CalibrationFile | None:
        """Load ``path`` with ``core.calibration_io`` and use it; a bad file is reported in a dialog."""
        try:
            calib = load_calibration(path)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return None
        self._settings.setValue("paths/calibration_dir", str(Path(path).parent))
        self.set_calibration(calib)
        return calib

    # ================================================================================================================
    # reactions
    # ================================================================================================================

    def _on_start_clicked(self) -> None:
        if self.controller.state == "idle":
            self.start()
        else:
            self.controller.stop()

    def _on_source_changed(self, *_args: object) -> None:
        kind = self.source_kind()
        cams = kind == SOURCE_CAMERAS
        for w in (*self.camera_combos, self.refresh_button, self.settings_button):
            w.setVisible(cams)
        self.videos_button.setVisible(kind == SOURCE_VIDEOS)
        self.videos_label.setVisible(kind == SOURCE_VIDEOS)
        names = [Path(p).name for p in self._video_paths]
        self.videos_label.setText(" + ".join(names) if names else "no files chosen")
        self.videos_label.setToolTip("\n".join(self._video_paths))
        calib = self._calibration
        self.calib_pair_combo.setVisible(kind != SOURCE_DEMO and calib is not None and len(calib.group) > 2)
        if kind == SOURCE_DEMO:
            self.calib_label.setText("demo rig · calibration.toml · m")
            self.calib_label.setToolTip("The demo plays with its own calibration (Qualisys, metres, Z up).")
        elif calib is None:
            self.calib_label.setText('<span style="color:#f5a53e">none loaded</span>')
            self.calib_label.setToolTip("Load the stereo calibration of your two cameras (Load…)")
        else:
            name = calib.path.name if calib.path is not None else "calibration"
            unit = f"{calib.units}{' (assumed)' if calib.units_assumed else ''}"
            cams = "" if len(calib.group) > 2 else f" · {' + '.join(calib.group.names)}"
            self.calib_label.setText(f"{name}{cams} · {unit}")
            self.calib_label.setToolTip(
                f"{calib.path}\ncameras: {', '.join(calib.group.names)}\nunits: {calib.units_note}"
            )
        if self.controller.state == "idle":
            self._preview_calibration()
        self._save_settings()

    def _preview_calibration(self) -> None:
        """While idle, show the cameras of the calibration in use in the 3D view."""
        if self.source_kind() == SOURCE_DEMO:
            return
        calib = self._calibration
        if calib is None or len(calib.group) < 2:
            self.view3d.set_cameras(None)
            return
        try:
            group = calib.group.subset(self._calibration_pair(calib))
        except (CrossViewError, KeyError):
            return
        up, _ = infer_world_up(calib, group)
        self.view3d.set_world_up(up)
        self.view3d.set_cameras(group)
        self.reset_view()

    def _devices_listed(self, job: Job) -> None:
        job.wait()
        job.deleteLater()
        if self._device_job is job:
            self._device_job = None
        self.refresh_button.setEnabled(True)
        if job.error is not None:
            log.warning("listing cameras failed: %s", job.error)
        devices = list(job.result or []) if job.error is None else []
        self._devices = devices
        saved = [self._settings.value(f"live/camera{k}") for k in range(2)]
        for k, combo in enumerate(self.camera_combos):
            combo.blockSignals(True)
            combo.clear()
            for d in devices:
                combo.addItem(f"{d.index} · {d.name}", d.index)
            if not devices:
                combo.addItem("no camera found", None)
            want = int(saved[k]) if saved[k] not in (None, "") else (devices[k].index if k < len(devices) else None)
            idx = combo.findData(want)
            if idx >= 0:
                combo.setCurrentIndex(idx)
            combo.blockSignals(False)
        if len(devices) >= 2:
            self.welcome_title.setText(f"{len(devices)} cameras found")
            self.welcome_text.setText(
                "Choose Source ▸ Cameras, pick camera A and camera B, load their calibration and press Start. "
                "Or try the demo first: " + DEMO_TEXT[0].lower() + DEMO_TEXT[1:]
            )
        else:
            found = "One camera found" if devices else "No camera found"
            self.welcome_title.setText(f"{found} — try the demo")
            self.welcome_text.setText(DEMO_TEXT)

    def _on_state(self, state: str) -> None:
        idle = state == "idle"
        for w in (
            self.source_combo,
            *self.camera_combos,
            self.settings_button,
            self.videos_button,
            self.calib_pair_combo,
            self.demo_button,
        ):
            w.setEnabled(idle)
        self.reset_person_button.setEnabled(state == "running")
        text = {"idle": "Start", "starting": "Cancel", "running": "Stop", "stopping": "Stopping…"}[state]
        self.start_button.setText(text)
        self.start_button.setEnabled(state != "stopping")
        self.start_button.setObjectName("primaryButton" if idle else "stopButton")
        self.start_button.style().unpolish(self.start_button)
        self.start_button.style().polish(self.start_button)
        if state == "starting":
            self.views_stack.setCurrentIndex(1)
            for v in self.views:
                v.clear()
                v.set_message("Starting: opening the sources and MediaPipe…")
            self._set_3d_message("Starting…")

    def _on_started(self, session: LiveSession) -> None:
        self._result = None
        self._result_t = time.monotonic()
        self._last_3d_t = 0.0
        self._shown_pose_key = [(), ()]
        self._floor_samples.clear()
        self.plot.clear()
        for v, name in zip(self.views, session.camera_names, strict=True):
            v.set_title(name)
            v.set_message("Waiting for the first frame…")
            v.set_clickable(True)
        self.stat_tiles["fps0"].caption.setText(f"{session.camera_names[0]} fps")
        self.stat_tiles["fps1"].caption.setText(f"{session.camera_names[1]} fps")
        self.view3d.set_skeleton(MAIN_SKELETON, None)
        if COARSE_SKELETON in self.view3d.skeleton_names():
            self.view3d.set_skeleton(COARSE_SKELETON, None, style="coarse")
        self.view3d.set_world_up(session.world_up if session.world_up in UP_AXES else "+z")
        declared = session.calibration is not None and session.calibration.world_up == session.world_up
        self._auto_floor = not (declared and session.world_up == "+z")
        self._floor = 0.0
        self.view3d.set_floor_height(0.0)
        self.view3d.set_cameras(session.group)
        self._framed = False
        self.reset_view()
        self._set_3d_message("Waiting for the first synchronised pair…")
        self._display_timer.start()
        self._show_message(f"Live: {session.label} running ({' + '.join(session.camera_names)})")

    def _on_start_failed(self, exc: BaseException) -> None:
        self._display_timer.stop()
        for v in self.views:
            v.set_message("Not running")
        self._set_3d_message("Press Start to see the live 3D skeleton here.")
        if isinstance(exc, CrossViewError):
            self._show_error(str(exc))
        else:
            self._show_error(f"Live capture could not start: {type(exc).__name__}: {exc}")

    def _on_stopped(self) -> None:
        self._display_timer.stop()
        for v in self.views:
            v.set_clickable(False)
            v.set_problem(None)
            v.set_pose(None)
            v.set_message("Stopped")
        self.problem_banner.setVisible(False)
        self._set_3d_message("Stopped. Press Start to capture again.")

    def _on_pipeline_failed(self, exc: BaseException) -> None:
        self._show_error(f"Live capture stopped.\n\n{exc}")

    def _on_person_clicked(self, view: int, x: float, y: float) -> None:
        self.controller.select_person(view, x, y)
        self._show_message(f"Following the person at ({x:.0f}, {y:.0f}) px in {self.views[view].title()}", 3000)

    def _on_smoothing_changed(self, *_args: object) -> None:
        on = self.smooth_check.isChecked()
        self.smooth_slider.setEnabled(on)
        self.controller.set_smoothing(on, self.smooth_slider.value() / 100.0)
        self._save_settings()

    def _on_refine_toggled(self, on: bool) -> None:
        self.coarse_check.setEnabled(on and self._refine_hook is not None)
        self.controller.set_refine(self._refine_hook, on and self._refine_hook is not None)

    def _update_refine_controls(self) -> None:
        has = self._refine_hook is not None
        self.refine_check.setEnabled(has)
        if not has:
            self.refine_check.blockSignals(True)
            self.refine_check.setChecked(False)
            self.refine_check.blockSignals(False)
            self.refine_check.setText("Refine")
            self.refine_check.setToolTip(
                "No refinement model is loaded: CV-UGCN learned refinement becomes available once a model "
                "checkpoint is loaded (Training tab)."
            )
        else:
            label = self._refine_label or "learned model"
            self.refine_check.setText(f"Refine ({label})" if len(label) <= 18 else "Refine")
            self.refine_check.setToolTip(f"Refine the triangulated skeleton with {label}")
        self.coarse_check.setEnabled(has and self.refine_check.isChecked())

    # --- results and statistics -------------------------------------------------------------------------------------

    def _on_result(self, r: PoseResult) -> None:
        now = time.monotonic()
        self._result = r
        self._result_t = now
        view = self.view3d
        if r.display is not None:
            view.set_skeleton(MAIN_SKELETON, r.display)
            show_coarse = self.coarse_check.isChecked() and self.coarse_check.isEnabled() and r.refined is not None
            if show_coarse:
                view.set_skeleton(COARSE_SKELETON, r.coarse, style="coarse")
            elif COARSE_SKELETON in view.skeleton_names():
                view.set_skeleton(COARSE_SKELETON, None, style="coarse")
            self._last_3d_t = now
            self._set_3d_message(None)
            self._update_floor(r.display)
            if not self._framed:
                self._framed = True
                self.reset_view()
        elif now - self._last_3d_t > NO3D_GRACE_S:
            view.set_skeleton(MAIN_SKELETON, None)
            if COARSE_SKELETON in view.skeleton_names():
                view.set_skeleton(COARSE_SKELETON, None, style="coarse")
            self._set_3d_message(f"No 3D — {r.reason or r.status.replace('_', ' ')}")

    def _update_floor(self, pts: np.ndarray) -> None:
        if not self._auto_floor:
            return
        heights = self.view3d.world_to_display(pts[list(_ANKLES)])[:, 2]
        heights = heights[np.isfinite(heights)]
        if not heights.size:
            return
        self._floor_samples.append(float(heights.min()))
        floor = float(np.percentile(np.asarray(self._floor_samples), 10)) - 0.08  # ankle joint ~8 cm above floor
        if abs(floor - self._floor) > 0.02:
            self._floor = floor
            self.view3d.set_floor_height(floor)

    def _tick(self) -> None:
        """Display-rate poll: each camera's newest frame and state, the 2D overlay and the followed box."""
        session = self.controller.session
        if session is None:
            return
        now = time.monotonic()
        r = self._result
        age = now - self._result_t if r is not None else math.inf
        boxes = self.controller.target_boxes()
        sync = self.sync_check.isChecked() and r is not None and age <= SYNC_MAX_AGE_S
        for i, view in enumerate(self.views):
            frame = r.frames[i] if sync else self.controller.latest_frame(i)
            if view.set_frame(frame) and i == 0 and frame is not None:
                h, w = frame.image.shape[:2]
                self.views_area.set_aspect(w / h)
            st = self.controller.source_status(i)
            if st is not None:
                size = ""
                if view.frame() is not None:
                    h, w = view.frame().image.shape[:2]
                    size = f"{w}×{h} · "
                view.set_info(f"{size}{st.fps:.0f} fps")
                bad = st.state in (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.ENDED) or (
                    st.state is SourceState.STOPPED and st.error is not None
                )
                view.set_problem(f"Camera {st.state.value}: {st.reason}" if bad else None)
            kp = r.keypoints2d[i] if r is not None else None
            # the followed person's box in the frame of this result (the tracker's own box belongs to the
            # frame being detected now, which is not the one shown); the tracker's box while nobody is found
            box = person_box(kp) if kp is not None else None
            if box is None and i < len(boxes):
                box = boxes[i]
            faded = age > STALE_RESULT_S
            key = (id(r), box, faded)
            if key != self._shown_pose_key[i]:
                self._shown_pose_key[i] = key
                view.set_pose(kp, box, faded)
        if age > NO_RESULT_S and now - self._last_3d_t > NO_RESULT_S:
            problem = session.pipeline.camera_problem()
            why = problem or "waiting for synchronised pairs from both cameras"
            self.view3d.set_skeleton(MAIN_SKELETON, None)
            self._set_3d_message(f"No 3D — {why}")

    def _on_stats(self, ls: LiveStats) -> None:
        s = ls.stats
        t = self.stat_tiles
        t["fps0"].value.setText(_fmt(s.camera_fps[0], 1))
        t["fps1"].value.setText(_fmt(s.camera_fps[1], 1))
        t["paired"].value.setText(_fmt(s.paired_fps, 1))
        t["processed"].value.setText(_fmt(s.processed_fps, 1))
        t["skew"].value.setText(_fmt(s.skew_ms, 1, " ms"))
        lat = s.stages_ms.get("latency", {})
        if lat.get("n"):
            t["latency"].value.setText(f"{lat['median']:.0f} / {lat['p95']:.0f} ms")
        else:
            t["latency"].value.setText("–")
        t["drops"].value.setText(f"{s.dropped_by_camera[0]} / {s.dropped_by_camera[1]}")
        t["superseded"].value.setText(str(s.superseded))
        t["grab_to_pair"].value.setText(_ms(s.stages_ms.get("grab_to_pair")))
        t["detect"].value.setText(_ms(s.stages_ms.get("detect")))
        t["triangulate"].value.setText(_ms(s.stages_ms.get("triangulate"), 1))
        t["refine"].value.setText(_ms(s.stages_ms.get("refine"), 1))
        for key in ("latency", "grab_to_pair", "detect", "triangulate", "refine"):
            sm = s.stages_ms.get(key, {})
            if sm.get("n"):
                t[key].setToolTip(f"median {sm['median']:.1f} ms, p95 {sm['p95']:.1f} ms over the last {sm['n']} poses")
        self.plot.add(ls.t_s, s.paired_fps, s.processed_fps, lat.get("median", math.nan) if lat.get("n") else math.nan)
        if s.warnings:
            self.warning_banner.setText("⚠  " + "\n⚠  ".join(s.warnings))
        self.warning_banner.setVisible(bool(s.warnings))
        if ls.camera_problem:
            names = self.controller_camera_names()
            other = [n for n, st in zip(names, s.camera_states, strict=False) if st == "connected"]
            tail = f" — {other[0]} keeps running; reconnecting automatically." if other else " — reconnecting."
            self.problem_banner.setText("⚠  " + ls.camera_problem[0].upper() + ls.camera_problem[1:] + tail)
        self.problem_banner.setVisible(bool(ls.camera_problem))

    def controller_camera_names(self) -> list[str]:
        session = self.controller.session
        return session.camera_names if session is not None else []

    # --- messages ---------------------------------------------------------------------------------------------------

    def _set_3d_message(self, text: str | None) -> None:
        if text is None:
            self.no3d_label.setVisible(False)
            return
        if self.no3d_label.text() != text or self.no3d_label.isHidden():
            self.no3d_label.setText(text)
            self.no3d_label.setVisible(True)
            self._place_3d_message()

    def _place_3d_message(self) -> None:
        v = self.view3d
        w = min(max(260, int(v.width() * 0.7)), v.width() - 20)
        self.no3d_label.setFixedWidth(max(w, 100))
        self.no3d_label.adjustSize()
        self.no3d_label.move((v.width() - self.no3d_label.width()) // 2, 46)
        self.no3d_label.raise_()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.view3d and event.type() == QtCore.QEvent.Type.Resize:
            self._place_3d_message()
        return super().eventFilter(obj, event)

    def _show_error(self, text: str) -> None:
        """A non-blocking warning dialog (the window stays live behind it)."""
        self.last_error = text
        log.warning("Live tab: %s", text)
        self._boxes.show(QtWidgets.QMessageBox.Icon.Warning, "Live", text, "liveErrorBox")
        self.errorShown.emit(text)

    def error_box(self) -> QtWidgets.QMessageBox | None:
        """The error dialog on screen, if any."""
        return self._boxes.current

    def _show_message(self, text: str, timeout_ms: int = 5000) -> None:
        status_message(self, text, timeout_ms)

    # --- window integration and settings ----------------------------------------------------------------------------

    def _register_with_window(self) -> None:
        register_with_window(self)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._register_with_window()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    def _restore_settings(self) -> None:
        s = self._settings
        kind = str(s.value("live/source", SOURCE_DEMO))
        idx = self.source_combo.findData(kind)
        self.source_combo.setCurrentIndex(max(idx, 0))
        res = str(s.value("live/resolution", "1280x720"))
        for i in range(self.resolution_combo.count()):
            w, h = self.resolution_combo.itemData(i)
            if f"{w}x{h}" == res:
                self.resolution_combo.setCurrentIndex(i)
        fps_idx = self.fps_combo.findData(int(s.value("live/fps", 30)))
        self.fps_combo.setCurrentIndex(max(fps_idx, 0))
        self.mjpg_check.setChecked(str(s.value("live/mjpg", "true")).lower() == "true")
        self.smooth_check.setChecked(str(s.value("live/smoothing", "true")).lower() == "true")
        self.smooth_slider.setValue(int(s.value("live/smoothing_strength", 50)))
        self.smooth_slider.setEnabled(self.smooth_check.isChecked())
        self.coarse_check.setChecked(str(s.value("live/show_coarse", "true")).lower() == "true")
        self.sync_check.setChecked(str(s.value("live/sync_overlay", "true")).lower() == "true")

    def _save_settings(self, *_args: object) -> None:
        if self._restoring:
            return
        s = self._settings
        s.setValue("live/source", self.source_kind())
        w, h = self.resolution_combo.currentData()
        s.setValue("live/resolution", f"{w}x{h}")
        s.setValue("live/fps", int(self.fps_combo.currentData()))
        s.setValue("live/mjpg", "true" if self.mjpg_check.isChecked() else "false")
        s.setValue("live/smoothing", "true" if self.smooth_check.isChecked() else "false")
        s.setValue("live/smoothing_strength", self.smooth_slider.value())
        s.setValue("live/show_coarse", "true" if self.coarse_check.isChecked() else "false")
        s.setValue("live/sync_overlay", "true" if self.sync_check.isChecked() else "false")
        s.setValue("live/videos", list(self._video_paths))
        for k, combo in enumerate(self.camera_combos):
            if combo.currentData() is not None:
                s.setValue(f"live/camera{k}", int(combo.currentData()))
