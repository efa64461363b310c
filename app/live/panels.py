"""The Live tab's building blocks, widgets only: the toolbar, the cameras panel (with the first-run welcome),
the 3D panel and the statistics bar. :class:`app.live.tab.LiveTab` puts them together and drives them."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from app.live.presenter import LiveStats
from app.widgets.build import make_label, vline
from app.widgets.camera_view import CameraView
from app.widgets.formatting import number
from app.widgets.plots import RatePlot
from app.widgets.skeleton_view import SkeletonView
from core.detection import DETECTOR_LABELS
from core.live import SourceKind
from core.pipeline import describe_refine_fallbacks

RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
FPS_CHOICES: tuple[int, ...] = (15, 30, 60)

DEMO_TEXT = (
    "The demo plays two synchronised views of a real person (the Pose2Sim balancing trial, cameras 01 and 04, "
    "60 fps) through exactly the same live pipeline as two webcams: MediaPipe 2D in each view, triangulation "
    "with the rig's calibration and display smoothing."
)

#: The statistics tiles: key, caption, tool tip.
TILES: tuple[tuple[str, str, str], ...] = (
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
    ("guard", "kept coarse", "Refined joints the guard gave back to the coarse 3D (they reprojected much worse)"),
)
TILE_TIPS = {key: tip for key, _, tip in TILES}
#: Tiles per row of the statistics bar.
TILE_COLUMNS = 7


def fmt_ms(summary: dict[str, float] | None, digits: int = 0) -> str:
    """The median of a stage-time summary in ms, or an en dash."""
    if not summary or not summary.get("n"):
        return "–"
    return number(summary["median"], digits, " ms")


def _caption(text: str) -> QtWidgets.QLabel:
    return make_label(text, "caption")


def panel_header(title: str) -> tuple[QtWidgets.QWidget, QtWidgets.QHBoxLayout]:
    """A panel's title row; add controls to the returned layout."""
    w = QtWidgets.QWidget()
    row = QtWidgets.QHBoxLayout(w)
    row.setContentsMargins(2, 0, 2, 0)
    row.setSpacing(10)
    row.addWidget(make_label(title, "panelTitle"))
    return w, row


class ViewsArea(QtWidgets.QWidget):
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


class StatTile(QtWidgets.QWidget):
    """A caption over a value, for the statistics panel."""

    def __init__(self, caption: str, tooltip: str = "") -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.caption = make_label(caption, "tileCaption")
        self.value = make_label("–", "tileValue")
        lay.addWidget(self.caption)
        lay.addWidget(self.value)
        if tooltip:
            self.setToolTip(tooltip)


class Toolbar(QtWidgets.QFrame):
    """Source, cameras and their settings, video files, calibration, extra controls (Record) and Start."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(8)
        self._build_sources(row)
        row.addSpacing(6)
        row.addWidget(vline())
        row.addSpacing(6)
        self._build_calibration(row)
        row.addSpacing(6)
        #: Room for more controls (session recording) before the Start button.
        self.extra_controls = QtWidgets.QHBoxLayout()
        self.extra_controls.setSpacing(8)
        row.addLayout(self.extra_controls)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("primaryButton")
        self.start_button.setMinimumWidth(96)
        row.addWidget(self.start_button)

    def _build_sources(self, row: QtWidgets.QHBoxLayout) -> None:
        row.addWidget(_caption("Source"))
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.setObjectName("sourceCombo")
        self.source_combo.addItem("Demo (Pose2Sim)", SourceKind.DEMO.value)
        self.source_combo.addItem("Cameras", SourceKind.CAMERAS.value)
        self.source_combo.addItem("Video files…", SourceKind.VIDEOS.value)
        self.source_combo.setToolTip(
            "Demo: two recorded views of a real person, played as a synchronised rig.\n"
            "Cameras: two webcams (choose them on the right).\n"
            "Video files: two videos recorded together, played as a synchronised rig."
        )
        row.addWidget(self.source_combo)
        self.camera_combos: list[QtWidgets.QComboBox] = []
        for k in range(2):
            combo = QtWidgets.QComboBox()
            combo.setObjectName(f"cameraCombo{k}")
            combo.setMinimumContentsLength(14)
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(f"Camera {'AB'[k]}: the device for the calibration's camera {k + 1}")
            self.camera_combos.append(combo)
            row.addWidget(combo)
        self.refresh_button = QtWidgets.QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for cameras again")
        row.addWidget(self.refresh_button)
        self.settings_button = QtWidgets.QToolButton()
        self.settings_button.setText("Camera settings ▾")
        self.settings_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_button.setMenu(self._build_camera_settings_menu())
        row.addWidget(self.settings_button)
        self.videos_button = QtWidgets.QPushButton("Choose files…")
        self.videos_button.setToolTip("Choose two video files recorded together (camera 1, then camera 2)")
        row.addWidget(self.videos_button)
        self.videos_label = _caption("")
        row.addWidget(self.videos_label)

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
        form.addRow(_caption("Applied when the cameras start. Use the resolution you calibrated at."))
        action = QtWidgets.QWidgetAction(menu)
        action.setDefaultWidget(form_widget)
        menu.addAction(action)
        return menu

    def _build_calibration(self, row: QtWidgets.QHBoxLayout) -> None:
        row.addWidget(_caption("Calibration"))
        self.calib_label = make_label("", "calibLabel")
        self.calib_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.calib_label.setMinimumWidth(120)
        row.addWidget(self.calib_label, 1)
        self.calib_pair_combo = QtWidgets.QComboBox()
        self.calib_pair_combo.setToolTip("Which two cameras of the calibration are camera A and camera B")
        self.calib_pair_combo.setVisible(False)
        row.addWidget(self.calib_pair_combo)
        self.load_calib_button = QtWidgets.QPushButton("Load…")
        self.load_calib_button.setToolTip("Load a stereo calibration (anipose/Pose2Sim TOML, metres)")
        row.addWidget(self.load_calib_button)


class CamerasPanel(QtWidgets.QWidget):
    """The two camera views (after a first-run welcome page), their banners and the person controls."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("livePanel")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 6, 8)
        lay.setSpacing(6)
        header, row = panel_header("Cameras")
        row.addWidget(_caption("click a person to follow them"))
        row.addStretch(1)
        self.sync_check = QtWidgets.QCheckBox("Sync overlay")
        self.sync_check.setToolTip(
            "On: each camera shows the frame its skeleton was computed from (exact overlay; the picture updates\n"
            "at the processing rate). Off: the newest frame at the camera's rate, with the newest skeleton\n"
            "(which lags by the latency). Either way a camera keeps its live picture when pairing stalls."
        )
        row.addWidget(self.sync_check)
        self.detector_combo = QtWidgets.QComboBox()
        self.detector_combo.setObjectName("detectorCombo")
        for kind, label in DETECTOR_LABELS.items():
            self.detector_combo.addItem(label, kind.value)
        self.detector_combo.setToolTip(
            "The 2D detector (applied at the next Start). Several people: every person is found and the one you\n"
            "follow is tracked in 3D across both cameras, so a bystander cannot take over. One person: the legacy\n"
            "MediaPipe solution, which follows one person per camera."
        )
        row.addWidget(self.detector_combo)
        self.reset_person_button = QtWidgets.QPushButton("Reset person")
        self.reset_person_button.setToolTip("Follow the default person again (the one nearest the image centre)")
        row.addWidget(self.reset_person_button)
        lay.addWidget(header)
        self.warning_banner = self._banner("warningBanner")
        self.problem_banner = self._banner("problemBanner")
        lay.addWidget(self.warning_banner)
        lay.addWidget(self.problem_banner)
        self.views = [CameraView(0), CameraView(1)]
        self.views_area = ViewsArea(self.views)
        self.views_stack = QtWidgets.QStackedWidget()
        self.views_stack.addWidget(self._build_welcome())
        self.views_stack.addWidget(self.views_area)
        lay.addWidget(self.views_stack, 1)

    @staticmethod
    def _banner(name: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setVisible(False)
        return label

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
        self.welcome_title = make_label("Looking for cameras…", "welcomeTitle", wrap=True)
        self.welcome_text = make_label(DEMO_TEXT, "welcomeText", wrap=True)
        self.demo_button = QtWidgets.QPushButton("▶  Start demo")
        self.demo_button.setObjectName("primaryButton")
        self.demo_button.setMinimumHeight(38)
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

    def show_devices(self, count: int) -> None:
        """The welcome page's text once the cameras are listed."""
        if count >= 2:
            self.welcome_title.setText(f"{count} cameras found")
            self.welcome_text.setText(
                "Choose Source ▸ Cameras, pick camera A and camera B, load their calibration and press Start. "
                "Or try the demo first: " + DEMO_TEXT[0].lower() + DEMO_TEXT[1:]
            )
        else:
            found = "One camera found" if count else "No camera found"
            self.welcome_title.setText(f"{found} — try the demo")
            self.welcome_text.setText(DEMO_TEXT)


class ThreeDPanel(QtWidgets.QWidget):
    """The live 3D view with its controls and the message shown over it when there is no 3D."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("livePanel")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 8, 10, 8)
        lay.setSpacing(6)
        header, row = panel_header("3D")
        self.smooth_check = QtWidgets.QCheckBox("Smoothing")
        self.smooth_check.setToolTip("One-Euro smoothing of the displayed 3D skeleton (raw values are kept)")
        self.smooth_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 100)
        self.smooth_slider.setFixedWidth(90)
        self.smooth_slider.setToolTip("Smoothing strength: left = responsive, right = smooth")
        self.refine_check = QtWidgets.QCheckBox("Refine")
        self.coarse_check = QtWidgets.QCheckBox("Show coarse")
        self.coarse_check.setToolTip("Also show the triangulated (coarse) skeleton, faintly, under the refined one")
        self.follow_check = QtWidgets.QCheckBox("Follow")
        self.follow_check.setToolTip("Keep the subject's pelvis at the centre of the 3D view")
        self.reset_view_button = QtWidgets.QPushButton("Reset view")
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
        self.no3d_label = make_label(self.view3d, "no3dBanner", wrap=True)
        self.no3d_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.view3d.installEventFilter(self)
        lay.addWidget(self.view3d, 1)

    def set_message(self, text: str | None) -> None:
        """Show ``text`` over the 3D view (None hides it)."""
        if text is None:
            self.no3d_label.setVisible(False)
            return
        if self.no3d_label.text() != text or self.no3d_label.isHidden():
            self.no3d_label.setText(text)
            self.no3d_label.setVisible(True)
            self._place_message()

    def message(self) -> str | None:
        return self.no3d_label.text() if not self.no3d_label.isHidden() else None

    def _place_message(self) -> None:
        v = self.view3d
        w = min(max(260, int(v.width() * 0.7)), v.width() - 20)
        self.no3d_label.setFixedWidth(max(w, 100))
        self.no3d_label.adjustSize()
        self.no3d_label.move((v.width() - self.no3d_label.width()) // 2, 46)
        self.no3d_label.raise_()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.view3d and event.type() == QtCore.QEvent.Type.Resize:
            self._place_message()
        return super().eventFilter(obj, event)


class StatsBar(QtWidgets.QFrame):
    """The statistics tiles and the rate plot."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsBar")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(18)
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(22)
        grid.setVerticalSpacing(6)
        self.tiles: dict[str, StatTile] = {}
        for i, (key, caption, tip) in enumerate(TILES):
            tile = StatTile(caption, tip)
            self.tiles[key] = tile
            grid.addWidget(tile, i // TILE_COLUMNS, i % TILE_COLUMNS)
        row.addLayout(grid)
        row.addStretch(1)
        self.plot = RatePlot()
        self.plot.setFixedWidth(400)
        self.plot.setFixedHeight(96)
        row.addWidget(self.plot)

    def set_camera_names(self, names: Sequence[str]) -> None:
        self.tiles["fps0"].caption.setText(f"{names[0]} fps")
        self.tiles["fps1"].caption.setText(f"{names[1]} fps")

    def show_stats(self, ls: LiveStats) -> None:
        """Fill the tiles and the plot from one statistics snapshot."""
        s = ls.stats
        t = self.tiles
        t["fps0"].value.setText(number(s.camera_fps[0], 1))
        t["fps1"].value.setText(number(s.camera_fps[1], 1))
        t["paired"].value.setText(number(s.paired_fps, 1))
        t["processed"].value.setText(number(s.processed_fps, 1))
        t["skew"].value.setText(number(s.skew_ms, 1, " ms"))
        lat = s.stages_ms.get("latency", {})
        t["latency"].value.setText(f"{lat['median']:.0f} / {lat['p95']:.0f} ms" if lat.get("n") else "–")
        t["drops"].value.setText(f"{s.dropped_by_camera[0]} / {s.dropped_by_camera[1]}")
        t["superseded"].value.setText(str(s.superseded))
        t["grab_to_pair"].value.setText(fmt_ms(s.stages_ms.get("grab_to_pair")))
        t["detect"].value.setText(fmt_ms(s.stages_ms.get("detect")))
        t["triangulate"].value.setText(fmt_ms(s.stages_ms.get("triangulate"), 1))
        t["refine"].value.setText(fmt_ms(s.stages_ms.get("refine"), 1))
        fb = s.refine_fallbacks
        t["guard"].value.setText(f"{100 * fb[0] / fb[1]:.1f} %" if fb and fb[1] else "–")
        t["guard"].setToolTip(describe_refine_fallbacks(fb) or TILE_TIPS["guard"])
        for key in ("latency", "grab_to_pair", "detect", "triangulate", "refine"):
            sm = s.stages_ms.get(key, {})
            if sm.get("n"):
                t[key].setToolTip(f"median {sm['median']:.1f} ms, p95 {sm['p95']:.1f} ms over the last {sm['n']} poses")
        self.plot.add(ls.t_s, s.paired_fps, s.processed_fps, lat.get("median", math.nan) if lat.get("n") else math.nan)
