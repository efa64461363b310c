"""The stereo calibration wizard (Qt only; the work is done by ``calibration`` through ``app.calibration_workers``).

Pages:

1. :class:`InputsPage`: two cameras (live previews; resolution, fps, MJPG), or two video files recorded
   together (optional capture-time CSV), or two folders of photos.
2. :class:`BoardPage`: chessboard or ChArUco (or a board TOML, Caliscope's charuco.toml included), a preview
   and a print sheet at true size.
3. / 4. :class:`IntrinsicsPage`: one camera's lens: live preview with the corners and the coverage heat map,
   counters, running RMS, the engine's advice and why the board is not found; automatic or manual capture;
   or known intrinsics loaded from a calibration file.
5. :class:`StereoPage`: pairs seen by both cameras, with a live epipolar error estimate.
6. :class:`ResultsPage`: the solve (progress, Cancel), the verdict and figures, per-view error bars, a
   rectified preview with epipolar lines, the camera frusta in 3D, an optional floor frame, Save, and
   "redo" buttons that go back to a step.

Errors are shown in the page (a banner), never as a traceback. Detection and solving run in worker threads;
closing the wizard stops every thread and camera.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.calibration_workers import (
    CAMERA_NAMES,
    CalibrationRun,
    CaptureWorker,
    InputSpec,
    PreviewPacket,
    RecordingSet,
    SolveOutcome,
    SolveWorker,
    board_points,
    downscale,
    find_timestamps,
    open_recordings,
    user_text,
)
from app.style import ACCENT, BASE, BORDER, MUTED, PANEL, TEXT
from calibration.boards import ARUCO_DICTIONARIES, Board
from calibration.engine import CalibrationResult
from calibration.io import load_board, save_board
from calibration.printing import render_board
from core.capture import CameraSource, DeviceInfo, DeviceSource, SourceState, list_devices
from core.errors import CrossViewError

log = logging.getLogger(__name__)

PAGE_INPUTS, PAGE_BOARD, PAGE_CAM0, PAGE_CAM1, PAGE_STEREO, PAGE_RESULTS = range(6)
STEP_NAMES = ("Cameras", "Board", "Camera 1 lens", "Camera 2 lens", "Stereo pairs", "Results")
RESOLUTIONS = ((640, 480), (800, 600), (1280, 720), (1920, 1080))
GOOD, WARN, BAD = "#46cd78", "#f5be32", "#eb483c"
VERDICT_COLOURS = {"good": GOOD, "usable": WARN, "poor": BAD}
LEVEL_COLOURS = {"info": ACCENT, "success": GOOD, "warning": WARN, "error": BAD}
#: How long a "kept" flash stays on a preview, milliseconds.
FLASH_MS = 450

WIZARD_STYLE = f"""
QWizard, QWizardPage, QWidget#wizardSide {{ background: #1b1d23; }}
QLabel {{ color: {TEXT}; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#sectionTitle {{ color: {TEXT}; font-size: 14px; font-weight: 600; }}
QLabel#advice {{ color: {TEXT}; font-size: 14px; font-weight: 600; }}
QLabel#tileValue {{ color: {TEXT}; font-size: 20px; font-weight: 700; }}
QLabel#tileCaption {{ color: {MUTED}; font-size: 12px; }}
QLabel#verdict {{ border-radius: 8px; padding: 4px 14px; font-size: 16px; font-weight: 800; color: #111; }}
QFrame#panel, QFrame#tile {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 8px; }}
QFrame#banner {{ border-radius: 6px; }}
QLabel#stepDone {{ color: {MUTED}; padding: 6px 10px; }}
QLabel#stepCurrent {{ color: {TEXT}; font-weight: 700; padding: 6px 10px; border-left: 3px solid {ACCENT};
    background: rgba(62, 166, 245, 0.10); }}
QLabel#stepTodo {{ color: #6b7280; padding: 6px 10px; }}
QLineEdit {{
    background: {BASE}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 5px; padding: 4px 6px;
}}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QRadioButton {{ color: {TEXT}; spacing: 7px; }}
QRadioButton::indicator {{
    width: 14px; height: 14px; border: 1px solid #5d6470; border-radius: 8px; background: {PANEL};
}}
QRadioButton::indicator:hover {{ border-color: {ACCENT}; }}
QRadioButton::indicator:checked {{ background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
    stop: 0 white, stop: 0.35 white, stop: 0.45 {ACCENT}, stop: 1 {ACCENT}); border-color: {ACCENT}; }}
QRadioButton:disabled {{ color: #5d6470; }}
QPushButton:disabled {{ color: #5d6470; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border-color: {ACCENT}; font-weight: 600; }}
QProgressBar {{ background: {BASE}; border: 1px solid {BORDER}; border-radius: 5px; color: {TEXT};
    text-align: center; min-height: 16px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; border-radius: 6px; }}
"""


def _fmt(v: float | None, digits: int = 2, unit: str = "") -> str:
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.{digits}f}{unit}"


def bgr_to_qimage(image: np.ndarray) -> QtGui.QImage:
    """A QImage that owns a copy of a BGR ``(H, W, 3)`` uint8 (or grey ``(H, W)``) image."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


# ----------------------------------------------------------------------------------------------- widgets
class Banner(QtWidgets.QFrame):
    """A coloured message strip (info / success / warning / error); hidden when empty."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        self._label = QtWidgets.QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self._label, 1)
        self.level = "info"
        self.hide()

    def set_message(self, text: str, level: str = "error") -> None:
        self.level = level
        self._label.setText(text)
        colour = LEVEL_COLOURS.get(level, ACCENT)
        q = QtGui.QColor(colour)
        self.setStyleSheet(
            f"QFrame#banner {{ background: rgba({q.red()}, {q.green()}, {q.blue()}, 0.14); "
            f"border: 1px solid rgba({q.red()}, {q.green()}, {q.blue()}, 0.55); border-left: 4px solid {colour}; }}"
            f"QFrame#banner QLabel {{ color: {TEXT}; font-size: 13px; }}"
        )
        self.setVisible(bool(text))

    def text(self) -> str:
        return "" if self.isHidden() else self._label.text()


class StatTile(QtWidgets.QFrame):
    """A figure with its caption (e.g. "Views kept" / "12 / 40")."""

    def __init__(self, caption: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(2)
        self.caption = QtWidgets.QLabel(caption)
        self.caption.setObjectName("tileCaption")
        self.value = QtWidgets.QLabel("—")
        self.value.setObjectName("tileValue")
        lay.addWidget(self.caption)
        lay.addWidget(self.value)

    def set(self, value: str, colour: str | None = None, tooltip: str = "") -> None:
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {colour};" if colour else "")
        self.setToolTip(tooltip)


class FrameView(QtWidgets.QWidget):
    """A camera picture with overlays: detected corners, the coverage heat map, a caption and a status line.

    Corners are given in FULL-resolution pixels with the image's ``scale`` (preview px per full px); the
    heat map is a ``(gy, gx)`` count grid over the whole image (row 0 at the top).
    """

    def __init__(self, title: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 150)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self._title = title
        self._image: QtGui.QImage | None = None
        self._scale = 1.0
        self._corners: np.ndarray | None = None
        self._corner_colour = QtGui.QColor(GOOD)
        self._heat: np.ndarray | None = None
        self._show_heat = True
        self._caption = ""
        self._status = ""
        self._status_level = "info"
        self._message = "No picture yet"
        self._flash_until = 0.0
        self.frames_shown = 0

    # ---------------------------------------------------------------- state
    def set_image(self, image: np.ndarray | None, scale: float = 1.0) -> None:
        self._image = None if image is None else bgr_to_qimage(image)
        self._scale = float(scale)
        if image is not None:
            self.frames_shown += 1
        self.update()

    def image_size(self) -> tuple[int, int]:
        return (0, 0) if self._image is None else (self._image.width(), self._image.height())

    def set_corners(self, corners: np.ndarray | None, colour: str = GOOD) -> None:
        self._corners = None if corners is None or not len(corners) else np.asarray(corners, float)
        self._corner_colour = QtGui.QColor(colour)
        self.update()

    def corners(self) -> np.ndarray | None:
        return self._corners

    def set_heatmap(self, heat: np.ndarray | None) -> None:
        self._heat = None if heat is None else np.asarray(heat, float)
        self.update()

    def heatmap(self) -> np.ndarray | None:
        return self._heat

    def set_heat_visible(self, visible: bool) -> None:
        self._show_heat = bool(visible)
        self.update()

    def set_caption(self, text: str) -> None:
        self._caption = text
        self.update()

    def set_status(self, text: str, level: str = "info") -> None:
        self._status, self._status_level = text, level
        self.update()

    def status(self) -> str:
        return self._status

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    def flash(self) -> None:
        self._flash_until = QtCore.QDateTime.currentMSecsSinceEpoch() + FLASH_MS
        self.update()
        QtCore.QTimer.singleShot(FLASH_MS + 20, self.update)

    def image_rect(self) -> QtCore.QRectF:
        if self._image is None:
            return QtCore.QRectF()
        w, h = self._image.width(), self._image.height()
        s = min(self.width() / w, self.height() / h)
        return QtCore.QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(BASE))
        font = QtGui.QFont(self.font())
        if self._image is None:
            p.setPen(QtGui.QColor(MUTED))
            p.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap,
                self._message,
            )
        else:
            r = self.image_rect()
            p.drawImage(r, self._image)
            k = r.width() / self._image.width() * self._scale  # widget px per full-res px
            if self._show_heat and self._heat is not None and self._heat.size:
                gy, gx = self._heat.shape
                cw, ch = r.width() / gx, r.height() / gy
                for iy in range(gy):
                    for ix in range(gx):
                        n = self._heat[iy, ix]
                        cell = QtCore.QRectF(r.left() + ix * cw, r.top() + iy * ch, cw, ch)
                        if n <= 0:
                            col = QtGui.QColor(235, 72, 60, 52)
                        else:
                            col = QtGui.QColor(70, 205, 120, int(50 + 30 * min(n, 4)))
                        p.fillRect(cell, col)
                pen = QtGui.QPen(QtGui.QColor(255, 255, 255, 40), 1)
                p.setPen(pen)
                for ix in range(1, gx):
                    p.drawLine(
                        QtCore.QPointF(r.left() + ix * cw, r.top()), QtCore.QPointF(r.left() + ix * cw, r.bottom())
                    )
                for iy in range(1, gy):
                    p.drawLine(
                        QtCore.QPointF(r.left(), r.top() + iy * ch), QtCore.QPointF(r.right(), r.top() + iy * ch)
                    )
            if self._corners is not None:
                pts = self._corners * k + np.array([r.left(), r.top()])
                rad = max(2.5, min(6.0, r.width() / 220))
                p.setPen(QtGui.QPen(QtGui.QColor(10, 10, 10, 200), 1.2))
                p.setBrush(self._corner_colour)
                for x, y in pts:
                    p.drawEllipse(QtCore.QPointF(x, y), rad, rad)
                hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2) if len(pts) >= 3 else pts
                poly = QtGui.QPolygonF([QtCore.QPointF(float(x), float(y)) for x, y in hull])
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.setPen(QtGui.QPen(self._corner_colour, 2))
                p.drawPolygon(poly)
            if QtCore.QDateTime.currentMSecsSinceEpoch() < self._flash_until:
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.setPen(QtGui.QPen(QtGui.QColor(GOOD), 5))
                p.drawRect(r.adjusted(2, 2, -2, -2))
        # caption (top-left) and status (bottom) chips
        font.setPointSizeF(max(8.5, font.pointSizeF()))
        p.setFont(font)
        fm = QtGui.QFontMetrics(font)
        caption = " · ".join(t for t in (self._title, self._caption) if t)
        if caption:
            tw = fm.horizontalAdvance(caption) + 16
            box = QtCore.QRectF(8, 8, min(tw, self.width() - 16), fm.height() + 8)
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(15, 17, 22, 200))
            p.drawRoundedRect(box, 5, 5)
            p.setPen(QtGui.QColor(TEXT))
            p.drawText(
                box.adjusted(8, 0, -4, 0),
                QtCore.Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(caption, QtCore.Qt.TextElideMode.ElideRight, int(box.width() - 12)),
            )
        if self._status:
            avail = self.width() - 16
            rect = fm.boundingRect(
                QtCore.QRect(0, 0, int(avail - 24), 1000), QtCore.Qt.TextFlag.TextWordWrap, self._status
            )
            box = QtCore.QRectF(
                8, self.height() - rect.height() - 18, min(rect.width() + 28, avail), rect.height() + 10
            )
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(15, 17, 22, 215))
            p.drawRoundedRect(box, 5, 5)
            p.setBrush(QtGui.QColor(LEVEL_COLOURS.get(self._status_level, ACCENT)))
            p.drawEllipse(QtCore.QPointF(box.left() + 11, box.top() + 5 + fm.height() / 2), 4, 4)
            p.setPen(QtGui.QColor(TEXT))
            p.drawText(box.adjusted(20, 5, -6, -5), QtCore.Qt.TextFlag.TextWordWrap, self._status)
        p.end()


def aim_at_rig(view, group, points: np.ndarray, margin: float = 1.15, elevation_deg: float = 28.0) -> None:
    """Frame a camera rig in a ``SkeletonView``: fit ``points`` (world, metres) and look from behind and above
    the cameras, along their mean viewing direction."""
    view.fit_to(points, margin=margin)
    axes = np.stack([c.R[2] for c in group])  # optical axes in the world (rows of R are camera axes)
    d = view.world_to_display(axes.mean(axis=0))
    if np.hypot(d[0], d[1]) > 1e-6:
        azimuth = float(np.degrees(np.arctan2(-d[1], -d[0])))
        view.setCameraPosition(azimuth=azimuth, elevation=elevation_deg)


def _panel(title: str = "") -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    frame = QtWidgets.QFrame()
    frame.setObjectName("panel")
    lay = QtWidgets.QVBoxLayout(frame)
    lay.setContentsMargins(12, 10, 12, 12)
    lay.setSpacing(8)
    if title:
        t = QtWidgets.QLabel(title)
        t.setObjectName("sectionTitle")
        lay.addWidget(t)
    return frame, lay


def _path_row(placeholder: str) -> tuple[QtWidgets.QLineEdit, QtWidgets.QPushButton, QtWidgets.QHBoxLayout]:
    edit = QtWidgets.QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    button = QtWidgets.QPushButton("Browse…")
    row = QtWidgets.QHBoxLayout()
    row.setSpacing(6)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return edit, button, row


# ----------------------------------------------------------------------------------------------- page base
class _Page(QtWidgets.QWizardPage):
    """A wizard page with a banner; ``entered``/``left`` are called by the wizard on every page change."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.plain_title = title
        self.setTitle(f"<span style='font-size: 17px; font-weight: 700;'>{title}</span>")
        self.setSubTitle(f"<span style='color: {MUTED};'>{subtitle}</span>")
        self.banner = Banner()

    def wiz(self) -> CalibrationWizard:
        return self.wizard()  # type: ignore[return-value]

    def entered(self) -> None:  # noqa: B027 - optional hook
        pass

    def left(self) -> None:  # noqa: B027 - optional hook
        pass

    def cleanupPage(self) -> None:  # keep the fields when going back (QWizard would reset them)
        pass


# ----------------------------------------------------------------------------------------------- page 1
class InputsPage(_Page):
    """Page 1: two cameras (live previews), two videos, or two photo folders."""

    def __init__(self) -> None:
        super().__init__(
            "1 · Choose the two cameras",
            "Calibrate two cameras live, or from recordings: two videos filmed at the same time, or two folders "
            "of photos taken in pairs.",
        )
        self._recordings: RecordingSet | None = None
        self._devices: list[DeviceInfo] = []
        self.kind_from_settings = False
        self._valid_key: tuple | None = None
        self._preview_timer = QtCore.QTimer(self)
        self._preview_timer.setInterval(70)
        self._preview_timer.timeout.connect(self._poll_previews)
        self._validate_timer = QtCore.QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(250)
        self._validate_timer.timeout.connect(self.validate)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(10)
        self.device_banner = Banner()
        lay.addWidget(self.device_banner)
        lay.addWidget(self.banner)
        modes = QtWidgets.QHBoxLayout()
        self.radio_cameras = QtWidgets.QRadioButton("Cameras on this computer")
        self.radio_videos = QtWidgets.QRadioButton("Two video files")
        self.radio_images = QtWidgets.QRadioButton("Two folders of photos")
        self._group = QtWidgets.QButtonGroup(self)
        for k, r in enumerate((self.radio_cameras, self.radio_videos, self.radio_images)):
            self._group.addButton(r, k)
            modes.addWidget(r)
            modes.addSpacing(18)
        modes.addStretch(1)
        lay.addLayout(modes)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self._build_cameras())
        self.stack.addWidget(self._build_recordings("videos"))
        self.stack.addWidget(self._build_recordings("images"))
        lay.addWidget(self.stack, 1)
        self._group.idToggled.connect(self._mode_changed)

    # ---------------------------------------------------------------- building
    def _build_cameras(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        self.device_combos = [QtWidgets.QComboBox(), QtWidgets.QComboBox()]
        self.device_views = [FrameView("Camera 1"), FrameView("Camera 2")]
        for k in range(2):
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel(f"Camera {k + 1}:"))
            row.addWidget(self.device_combos[k], 1)
            grid.addLayout(row, 0, k)
            grid.addWidget(self.device_views[k], 1, k)
            self.device_combos[k].currentIndexChanged.connect(self._devices_changed)
        grid.setRowStretch(1, 1)
        settings = QtWidgets.QHBoxLayout()
        self.resolution_combo = QtWidgets.QComboBox()
        for w_, h_ in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w_} × {h_}", (w_, h_))
        self.resolution_combo.setCurrentIndex(2)
        self.fps_spin = QtWidgets.QSpinBox()
        self.fps_spin.setRange(5, 120)
        self.fps_spin.setValue(30)
        self.fps_spin.setSuffix(" fps")
        self.mjpg_box = QtWidgets.QCheckBox("MJPG (needed for 720p/1080p at full rate on most webcams)")
        self.mjpg_box.setChecked(True)
        self.refresh_button = QtWidgets.QPushButton("Look for cameras again")
        for label, widget in (("Resolution:", self.resolution_combo), ("Frame rate:", self.fps_spin)):
            settings.addWidget(QtWidgets.QLabel(label))
            settings.addWidget(widget)
            settings.addSpacing(10)
        settings.addWidget(self.mjpg_box)
        settings.addStretch(1)
        settings.addWidget(self.refresh_button)
        grid.addLayout(settings, 2, 0, 1, 2)
        self.resolution_combo.currentIndexChanged.connect(self._devices_changed)
        self.fps_spin.valueChanged.connect(self._devices_changed)
        self.mjpg_box.toggled.connect(self._devices_changed)
        self.refresh_button.clicked.connect(self.refresh_devices)
        return w

    def _build_recordings(self, kind: str) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(8)
        edits, views, infos, browse = [], [], [], []
        what = "video file" if kind == "videos" else "folder of photos (or a pattern such as folder/left*.jpg)"
        for k in range(2):
            edit, button, row = _path_row(f"Camera {k + 1}: {what}")
            box = QtWidgets.QVBoxLayout()
            box.addWidget(QtWidgets.QLabel(f"Camera {k + 1}"))
            box.addLayout(row)
            grid.addLayout(box, 0, k)
            view = FrameView(f"Camera {k + 1}")
            view.set_message("Choose this camera's " + ("video." if kind == "videos" else "photos."))
            grid.addWidget(view, 2, k)
            info = QtWidgets.QLabel("")
            info.setObjectName("muted")
            grid.addWidget(info, 3, k)
            edit.textChanged.connect(self._paths_changed)
            button.clicked.connect(lambda _=False, kk=k, kd=kind: self._browse(kd, kk))
            edits.append(edit)
            browse.append(button)
            views.append(view)
            infos.append(info)
        extra = QtWidgets.QHBoxLayout()
        pace = QtWidgets.QComboBox()
        pace.addItem("As fast as possible", False)
        pace.addItem("At the recorded speed" if kind == "videos" else "Two photos a second", True)
        if kind == "videos":
            self.timestamps_edit, ts_button, ts_row = _path_row(
                "Capture times (optional CSV: sync_index, cam_id, frame_time); found next to the videos"
            )
            ts_button.clicked.connect(self._browse_timestamps)
            self.timestamps_edit.textChanged.connect(self._paths_changed)
            extra.addWidget(QtWidgets.QLabel("Timestamps:"))
            extra.addLayout(ts_row, 3)
            extra.addSpacing(16)
        extra.addWidget(QtWidgets.QLabel("Play:"))
        extra.addWidget(pace)
        grid.addLayout(extra, 1, 0, 1, 2)
        pairing = QtWidgets.QLabel("")
        pairing.setObjectName("muted")
        pairing.setWordWrap(True)
        grid.addWidget(pairing, 4, 0, 1, 2)
        grid.setRowStretch(2, 1)
        if kind == "videos":
            self.video_edits, self.video_views, self.video_infos, self.video_browse = edits, views, infos, browse
            self.video_pace, self.video_pairing = pace, pairing
        else:
            self.image_edits, self.image_views, self.image_infos, self.image_browse = edits, views, infos, browse
            self.image_pace, self.image_pairing = pace, pairing
        return w

    # ---------------------------------------------------------------- state
    def kind(self) -> str:
        return ("cameras", "videos", "images")[max(0, self._group.checkedId())]

    def set_kind(self, kind: str) -> None:
        {"cameras": self.radio_cameras, "videos": self.radio_videos, "images": self.radio_images}[kind].setChecked(True)

    def set_paths(self, cam0: str, cam1: str, timestamps: str | None = None) -> None:
        """Fill the current recording kind's paths (as typing them would)."""
        edits = self.video_edits if self.kind() == "videos" else self.image_edits
        edits[0].setText(cam0)
        edits[1].setText(cam1)
        if timestamps is not None and self.kind() == "videos":
            self.timestamps_edit.setText(timestamps)

    def set_fast(self, fast: bool) -> None:
        for combo in (self.video_pace, self.image_pace):
            combo.setCurrentIndex(0 if fast else 1)

    def spec(self) -> InputSpec:
        kind = self.kind()
        if kind == "videos":
            return InputSpec(
                "videos",
                (self.video_edits[0].text().strip(), self.video_edits[1].text().strip()),
                self.timestamps_edit.text().strip(),
                bool(self.video_pace.currentData()),
            )
        if kind == "images":
            return InputSpec(
                "images",
                (self.image_edits[0].text().strip(), self.image_edits[1].text().strip()),
                "",
                bool(self.image_pace.currentData()),
            )
        w, h = self.resolution_combo.currentData()
        devs = tuple(int(c.currentData()) if c.currentData() is not None else -1 for c in self.device_combos)
        return InputSpec(
            "cameras", devices=devs, width=w, height=h, fps=float(self.fps_spin.value()), mjpg=self.mjpg_box.isChecked()
        )

    def recordings(self) -> RecordingSet | None:
        return self._recordings

    def isComplete(self) -> bool:
        spec = self.spec()
        if spec.recorded:
            return self._recordings is not None and self._valid_key == spec.key()
        return len(self._devices) >= 2 and spec.devices[0] != spec.devices[1] and -1 not in spec.devices

    # ---------------------------------------------------------------- devices
    def refresh_devices(self) -> None:
        """List the cameras (``core.capture.list_devices``, or the wizard's injected lister)."""
        try:
            self._devices = list(self.wiz().device_lister())
        except Exception as exc:  # listing must never break the page
            log.exception("listing cameras failed")
            self._devices = []
            self.banner.set_message(f"Could not list the cameras: {exc}", "error")
        for k, combo in enumerate(self.device_combos):
            combo.blockSignals(True)
            combo.clear()
            for d in self._devices:
                combo.addItem(f"{d.index}: {d.name}", d.index)
            if len(self._devices) > k:
                combo.setCurrentIndex(k)
            combo.blockSignals(False)
        n = len(self._devices)
        if n >= 2 and not self.kind_from_settings:  # first time with two cameras: calibrate them live
            self.kind_from_settings = True
            self.set_kind("cameras")
        self.radio_cameras.setEnabled(n > 0)
        self.radio_cameras.setToolTip("" if n else "No camera was found on this computer.")
        if n == 0 and self.kind() == "cameras":
            self.radio_videos.setChecked(True)
        self._update_banner()
        self._devices_changed()

    def devices(self) -> list[DeviceInfo]:
        return list(self._devices)

    def _devices_changed(self) -> None:
        if self.kind() == "cameras" and self.isVisible():
            self.wiz().ensure_devices(self.spec())
        self.completeChanged.emit()

    def _poll_previews(self) -> None:
        if self.kind() != "cameras":
            return
        sources = self.wiz().device_sources()
        sizes: list[tuple[int, int] | None] = [None, None]
        for k, view in enumerate(self.device_views):
            src = sources[k] if k < len(sources) else None
            if src is None:
                view.set_image(None)
                view.set_message("No camera selected.")
                continue
            st = src.status()
            frame = src.latest()
            if frame is not None and st.state is SourceState.CONNECTED:
                img, s = downscale(frame.image, 640)
                view.set_image(img, s)
                h, w = frame.image.shape[:2]
                sizes[k] = (w, h)
                view.set_caption(f"{w}×{h} · {st.fps:.0f} fps")
                view.set_status("")
            else:
                view.set_image(None)
                view.set_message(f"{st.state.value}: {st.reason}" if st.reason else st.state.value)
        if sizes[0] is not None and sizes[1] is not None and sizes[0] != sizes[1]:
            (w0, h0), (w1, h1) = sizes
            self.banner.set_message(
                f"The cameras deliver different resolutions (camera 1 {w0}x{h0}, camera 2 {w1}x{h1}): choose a "
                "resolution both support, so that the two images can be paired.",
                "warning",
            )
        elif "different resolutions" in self.banner.text():
            self.banner.set_message("")

    # ---------------------------------------------------------------- recordings
    def _mode_changed(self, _id: int, checked: bool) -> None:
        if not checked:
            return
        self.stack.setCurrentIndex(max(0, self._group.checkedId()))
        if self.kind() == "cameras":
            self._preview_timer.start()
            if self.isVisible():
                self.wiz().ensure_devices(self.spec())
        else:
            self._preview_timer.stop()
            self.wiz().stop_devices()
            self._validate_timer.start()
        self._update_banner()
        self.completeChanged.emit()

    def _browse(self, kind: str, cam: int) -> None:
        edits = self.video_edits if kind == "videos" else self.image_edits
        start = edits[cam].text() or self.wiz().setting("calibration/input_dir", str(Path.home()))
        if kind == "videos":
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self,
                f"Camera {cam + 1}: video",
                str(start),
                "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)",
            )
        else:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, f"Camera {cam + 1}: folder of photos", str(start))
        if not path:
            return
        self.wiz().set_setting("calibration/input_dir", str(Path(path).parent if kind == "videos" else path))
        edits[cam].setText(path)
        self._autofill(kind, cam, path)

    def _autofill(self, kind: str, cam: int, path: str) -> None:
        """Fill the other camera when the choice makes it obvious (left*/right* photos; cam_0/cam_1 videos)."""
        p = Path(path)
        other = 1 - cam
        if kind == "images" and p.is_dir():
            lefts, rights = sorted(p.glob("left*")), sorted(p.glob("right*"))
            if lefts and rights:
                ext = lefts[0].suffix
                self.image_edits[0].setText(str(p / f"left*{ext}"))
                self.image_edits[1].setText(str(p / f"right*{ext}"))
        if kind == "videos" and p.is_file() and not self.video_edits[other].text().strip():
            stem = p.stem
            for a, b in (("0", "1"), ("1", "0"), ("left", "right"), ("right", "left")):
                if stem.endswith(a):
                    cand = p.with_name(stem[: -len(a)] + b + p.suffix)
                    if cand.is_file():
                        self.video_edits[other].setText(str(cand))
                        break

    def _browse_timestamps(self) -> None:
        start = self.timestamps_edit.text() or self.video_edits[0].text()
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Capture times", str(Path(start).parent if start else Path.home()), "CSV (*.csv);;All files (*)"
        )
        if path:
            self.timestamps_edit.setText(path)

    def _paths_changed(self) -> None:
        self._valid_key = None
        self.completeChanged.emit()
        self._validate_timer.start()

    def validate(self) -> bool:
        """Open and check the recordings now (normally 250 ms after the last edit); True when usable."""
        self._validate_timer.stop()
        spec = self.spec()
        if not spec.recorded:
            self._update_banner()
            return self.isComplete()
        if spec.kind == "videos" and not self.timestamps_edit.text().strip():
            found = find_timestamps(*spec.paths)
            if found:
                self.timestamps_edit.blockSignals(True)
                self.timestamps_edit.setText(found)
                self.timestamps_edit.blockSignals(False)
                spec = self.spec()
        views = self.video_views if spec.kind == "videos" else self.image_views
        infos = self.video_infos if spec.kind == "videos" else self.image_infos
        pairing = self.video_pairing if spec.kind == "videos" else self.image_pairing
        self._recordings = None
        try:
            rec = open_recordings(spec)
        except CrossViewError as exc:
            self._valid_key = None
            self.banner.set_message(str(exc), "error" if any(spec.paths) else "info")
            pairing.setText("")
            self._show_first_frames(spec, views, infos)
            self.completeChanged.emit()
            return False
        self._recordings = rec
        self._valid_key = spec.key()
        self.banner.set_message("")
        pairing.setText(f"Pairing: {rec.plan.method} — {len(rec.plan)} pairs.")
        self._show_first_frames(spec, views, infos, rec)
        self.wiz().set_setting(f"calibration/{spec.kind}_paths", list(spec.paths))
        self.completeChanged.emit()
        return True

    def _show_first_frames(self, spec: InputSpec, views, infos, rec: RecordingSet | None = None) -> None:
        for k in range(2):
            src = rec.sources[k] if rec is not None else None
            if src is None:
                try:
                    from app.calibration_workers import open_one

                    src = open_one(spec.paths[k], f"camera {k + 1}", spec.kind) if spec.paths[k] else None
                except CrossViewError as exc:
                    views[k].set_image(None)
                    views[k].set_message(str(exc))
                    infos[k].setText("")
                    continue
            if src is None:
                views[k].set_image(None)
                infos[k].setText("")
                continue
            first = next(src.iter_frames([0]), None)
            if first is not None:
                img, s = downscale(first[1], 640)
                views[k].set_image(img, s)
            w, h = src.image_size
            what = f"{src.n_frames} frames · {src.fps:.3g} fps" if src.kind == "video" else f"{src.n_frames} photos"
            infos[k].setText(f"{src.path.name} — {w}×{h}, {what}")
            views[k].set_caption(f"{w}×{h}")

    def _update_banner(self) -> None:
        n = len(self._devices)
        if n == 0:
            self.device_banner.set_message(
                "No camera was found on this computer. You can still calibrate from recordings: choose two video "
                "files filmed at the same time, or two folders of photos taken in pairs (left01.jpg / right01.jpg).",
                "warning",
            )
        elif n == 1:
            d = self._devices[0]
            self.device_banner.set_message(
                f"Only one camera was found ({d.index}: {d.name}). A stereo calibration needs two: connect the "
                "second camera and press “Look for cameras again”, or calibrate from recordings.",
                "warning",
            )
        else:
            self.device_banner.set_message("")
        if self.kind() == "cameras":
            self.banner.set_message("")

    # ---------------------------------------------------------------- wizard hooks
    def entered(self) -> None:
        if not self._devices:
            self.refresh_devices()
        if self.kind() == "cameras":
            self.wiz().ensure_devices(self.spec())
            self._preview_timer.start()
        else:
            self.validate()

    def left(self) -> None:
        self._preview_timer.stop()

    def validatePage(self) -> bool:
        spec = self.spec()
        if spec.recorded:
            return self.validate()
        if spec.devices[0] == spec.devices[1]:
            self.banner.set_message("Choose two DIFFERENT cameras for camera 1 and camera 2.", "error")
            return False
        return True


# ----------------------------------------------------------------------------------------------- page 2
class BoardPage(_Page):
    """Page 2: the calibration board (chessboard or ChArUco), its preview and a print sheet."""

    def __init__(self) -> None:
        super().__init__(
            "2 · Describe the board",
            "Enter the printed board exactly (count the INNER corners of a chessboard), or load a board file.",
        )
        self._board: Board | None = None
        outer = QtWidgets.QVBoxLayout(self)
        outer.addWidget(self.banner)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(16)
        outer.addLayout(body, 1)

        form_panel, form_lay = _panel("Board")
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(9)
        kinds = QtWidgets.QHBoxLayout()
        self.radio_chess = QtWidgets.QRadioButton("Chessboard")
        self.radio_charuco = QtWidgets.QRadioButton("ChArUco")
        self.radio_chess.setChecked(True)
        kinds.addWidget(self.radio_chess)
        kinds.addSpacing(18)
        kinds.addWidget(self.radio_charuco)
        kinds.addStretch(1)
        form.addRow("Type:", kinds)
        self.cols_spin, self.rows_spin = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for sp, v in ((self.cols_spin, 9), (self.rows_spin, 6)):
            sp.setRange(2, 40)
            sp.setValue(v)
        size_row = QtWidgets.QHBoxLayout()
        size_row.addWidget(self.cols_spin)
        size_row.addWidget(QtWidgets.QLabel("×"))
        size_row.addWidget(self.rows_spin)
        size_row.addStretch(1)
        self.size_label = QtWidgets.QLabel("Inner corners:")
        form.addRow(self.size_label, size_row)
        self.square_spin = QtWidgets.QDoubleSpinBox()
        self.square_spin.setRange(1.0, 1000.0)
        self.square_spin.setDecimals(2)
        self.square_spin.setValue(25.0)
        self.square_spin.setSuffix(" mm")
        self.square_spin.setToolTip(
            "Measure a printed square with a ruler. Unknown? Enter 1000 mm: lengths then come out in squares."
        )
        form.addRow("Square size:", self.square_spin)
        self.marker_spin = QtWidgets.QDoubleSpinBox()
        self.marker_spin.setRange(0.5, 999.0)
        self.marker_spin.setDecimals(2)
        self.marker_spin.setValue(18.75)
        self.marker_spin.setSuffix(" mm")
        self.marker_label = QtWidgets.QLabel("Marker size:")
        form.addRow(self.marker_label, self.marker_spin)
        self.dict_combo = QtWidgets.QComboBox()
        self.dict_combo.addItems(list(ARUCO_DICTIONARIES))
        self.dict_combo.setCurrentText("DICT_4X4_50")
        self.dict_label = QtWidgets.QLabel("Dictionary:")
        form.addRow(self.dict_label, self.dict_combo)
        self.legacy_box = QtWidgets.QCheckBox("Legacy layout (boards made with OpenCV before 4.6)")
        form.addRow("", self.legacy_box)
        self.inverted_box = QtWidgets.QCheckBox("Printed inverted (white on black)")
        form.addRow("", self.inverted_box)
        form_lay.addLayout(form)
        form_lay.addSpacing(6)
        buttons = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("Load board file…")
        self.save_button = QtWidgets.QPushButton("Save board file…")
        self.print_button = QtWidgets.QPushButton("Print board…")
        for b in (self.load_button, self.save_button, self.print_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        form_lay.addLayout(buttons)
        self.describe_label = QtWidgets.QLabel("")
        self.describe_label.setObjectName("muted")
        self.describe_label.setWordWrap(True)
        form_lay.addWidget(self.describe_label)
        form_lay.addStretch(1)
        tips = QtWidgets.QLabel(
            "Tips: a rigid, flat board gives the best results. ChArUco boards can be seen partly (any corner "
            "counts); a chessboard must be seen whole. Caliscope's charuco.toml can be loaded as is."
        )
        tips.setObjectName("muted")
        tips.setWordWrap(True)
        form_lay.addWidget(tips)
        body.addWidget(form_panel, 2)

        prev_panel, prev_lay = _panel("Preview")
        self.preview = QtWidgets.QLabel()
        self.preview.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(320, 260)
        self.preview.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
        prev_lay.addWidget(self.preview, 1)
        self.preview_caption = QtWidgets.QLabel("")
        self.preview_caption.setObjectName("muted")
        self.preview_caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        prev_lay.addWidget(self.preview_caption)
        body.addWidget(prev_panel, 3)

        for w in (self.cols_spin, self.rows_spin):
            w.valueChanged.connect(self._changed)
        for w in (self.square_spin, self.marker_spin):
            w.valueChanged.connect(self._changed)
        self.dict_combo.currentIndexChanged.connect(self._changed)
        for w in (self.legacy_box, self.inverted_box, self.radio_chess, self.radio_charuco):
            w.toggled.connect(self._changed)
        self.load_button.clicked.connect(lambda: self.load_board_file())
        self.save_button.clicked.connect(lambda: self.save_board_file())
        self.print_button.clicked.connect(self.open_print_dialog)
        self._pixmap: QtGui.QPixmap | None = None
        self._changed()

    # ---------------------------------------------------------------- board
    def board(self) -> Board | None:
        return self._board

    def set_board(self, board: Board) -> None:
        """Show ``board`` in the form."""
        widgets = (
            self.cols_spin,
            self.rows_spin,
            self.square_spin,
            self.marker_spin,
            self.dict_combo,
            self.legacy_box,
            self.inverted_box,
            self.radio_chess,
            self.radio_charuco,
        )
        for w in widgets:
            w.blockSignals(True)
        try:
            (self.radio_charuco if board.kind == "charuco" else self.radio_chess).setChecked(True)
            self.cols_spin.setValue(board.cols)
            self.rows_spin.setValue(board.rows)
            self.square_spin.setValue(board.square * 1000)
            if board.kind == "charuco":
                self.marker_spin.setValue(board.marker * 1000)
                self.dict_combo.setCurrentText(board.dictionary)
                self.legacy_box.setChecked(board.legacy)
            self.inverted_box.setChecked(board.inverted)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._changed(exact=board)

    def _form_board(self) -> Board:
        charuco = self.radio_charuco.isChecked()
        square = self.square_spin.value() / 1000.0
        if charuco:
            return Board.charuco(
                self.cols_spin.value(),
                self.rows_spin.value(),
                square,
                self.marker_spin.value() / 1000.0,
                self.dict_combo.currentText(),
                legacy=self.legacy_box.isChecked(),
                inverted=self.inverted_box.isChecked(),
            )
        return Board.chessboard(self.cols_spin.value(), self.rows_spin.value(), square, self.inverted_box.isChecked())

    def _changed(self, *_args, exact: Board | None = None) -> None:
        """Rebuild the board from the form (``exact``: the board just shown, kept as is, without the form's
        rounding to 0.01 mm)."""
        charuco = self.radio_charuco.isChecked()
        for w in (self.marker_spin, self.marker_label, self.dict_combo, self.dict_label, self.legacy_box):
            w.setVisible(charuco)
        self.size_label.setText("Squares:" if charuco else "Inner corners:")
        try:
            board = exact if exact is not None else self._form_board()
        except CrossViewError as exc:
            self._board = None
            self.banner.set_message(str(exc), "error")
            self.describe_label.setText("")
            self.preview.clear()
            self.preview_caption.setText("")
            self._pixmap = None
        else:
            self._board = board
            note = ""
            if board.orientation_ambiguous:
                note = (
                    f"A {board.cols}x{board.rows} chessboard looks the same turned by 180°, so the two cameras may "
                    "number its corners differently: prefer an odd cols + rows (e.g. 9x6) or a ChArUco board."
                )
            self.banner.set_message(note, "warning")
            self.describe_label.setText(f"{board.describe()}\nSpec: {board.spec()}")
            self._render_preview(board)
        self.completeChanged.emit()

    def _render_preview(self, board: Board) -> None:
        sw, sh = board.size_m
        px_per_m = max(8.5 / board.square, 520.0 / max(sw, sh))
        try:
            img = render_board(board, px_per_m)
        except CrossViewError as exc:
            self.preview_caption.setText(str(exc))
            return
        if board.inverted:
            q = int(round(0.5 * board.square * px_per_m))
            img = cv2.copyMakeBorder(img, q, q, q, q, cv2.BORDER_CONSTANT, value=0)
        pad = max(6, img.shape[1] // 40)
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
        h, w = img.shape
        if board.kind == "chessboard":  # mark corner 0 (next to the dark top-left square)
            colour = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            sq = board.square * px_per_m
            off = pad + (int(round(0.5 * board.square * px_per_m)) if board.inverted else 0)
            cv2.circle(colour, (int(off + sq), int(off + sq)), max(4, int(sq / 6)), (60, 72, 235), -1, cv2.LINE_AA)
            img = colour
        self._pixmap = QtGui.QPixmap.fromImage(bgr_to_qimage(img))
        self._fit_preview()
        self.preview_caption.setText(
            f"Printed size {sw * 1000:.0f} × {sh * 1000:.0f} mm"
            + (" (plus a dark border)" if board.inverted else "")
            + ("  ·  red dot: corner 0" if board.kind == "chessboard" else "")
        )

    def _fit_preview(self) -> None:
        if self._pixmap is None:
            return
        size = self.preview.size()
        self.preview.setPixmap(
            self._pixmap.scaled(
                size, QtCore.Qt.AspectRatioMode.KeepAspectRatio, QtCore.Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_preview()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self._fit_preview)

    def isComplete(self) -> bool:
        return self._board is not None

    # ---------------------------------------------------------------- files
    def load_board_file(self, path: str | None = None) -> Board | None:
        """Load a board TOML (CrossView's or Caliscope's charuco.toml); a file dialog when ``path`` is None."""
        if path is None:
            start = self.wiz().setting("calibration/board_dir", str(Path.home()))
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Load board", str(start), "Board TOML (*.toml);;All files (*)"
            )
            if not path:
                return None
        try:
            board = load_board(path)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return None
        self.wiz().set_setting("calibration/board_dir", str(Path(path).parent))
        self.set_board(board)
        self.banner.set_message(f"Loaded {Path(path).name}: {board.describe()}.", "success")
        return board

    def save_board_file(self, path: str | None = None) -> str | None:
        board = self._board
        if board is None:
            return None
        if path is None:
            start = Path(self.wiz().setting("calibration/board_dir", str(Path.home()))) / "board.toml"
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save board", str(start), "Board TOML (*.toml)")
            if not path:
                return None
        try:
            out = save_board(board, path)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return None
        self.banner.set_message(f"Board saved to {out}.", "success")
        return str(out)

    def open_print_dialog(self) -> None:
        if self._board is None:
            return
        from app.board_dialog import PrintBoardDialog

        dlg = PrintBoardDialog(self._board, self)
        dlg.exec()

    def validatePage(self) -> bool:
        if self._board is None:
            return False
        self.wiz().set_setting("calibration/board_spec", self._board.spec())
        try:
            self.wiz().prepare_run()
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return False
        return True


# ----------------------------------------------------------------------------------------------- capture pages
class _CapturePage(_Page):
    """Shared machinery of the capture pages: a worker, controls, counters and problem banners."""

    mode = "cam0"

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__(title, subtitle)
        self.worker: CaptureWorker | None = None
        self.last_packet: PreviewPacket | None = None
        self.stream_ended = False
        self.diagnosis_banner = Banner()
        self.info_banner = Banner()
        self._complete = False
        self._auto = True

        self.play_button = QtWidgets.QPushButton("Pause")
        self.play_button.setMinimumWidth(96)
        self.auto_box = QtWidgets.QCheckBox("Automatic capture")
        self.auto_box.setChecked(True)
        self.auto_box.setToolTip("Keep every view that adds information (new area, tilt or distance).")
        self.capture_button = QtWidgets.QPushButton("Capture this view")
        self.capture_button.setEnabled(False)
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.heat_box = QtWidgets.QCheckBox("Coverage heat map")
        self.heat_box.setChecked(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFixedWidth(200)
        self.progress.hide()
        self.play_button.clicked.connect(self.toggle_pause)
        self.auto_box.toggled.connect(self._auto_toggled)
        self.capture_button.clicked.connect(self.capture_now)
        self.clear_button.clicked.connect(self.clear)

    def controls(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(8)
        for w in (self.play_button, self.auto_box, self.capture_button, self.clear_button):
            row.addWidget(w)
        row.addSpacing(8)
        row.addWidget(self.heat_box)
        row.addStretch(1)
        row.addWidget(self.progress)
        return row

    def run(self) -> CalibrationRun | None:
        return self.wiz().run

    # ---------------------------------------------------------------- worker
    def start_capture(self) -> None:
        """Start (or restart) the capture worker for this page."""
        self.stop_capture()
        run = self.run()
        if run is None:
            return
        self.stream_ended = False
        self.banner.set_message("")
        self.diagnosis_banner.set_message("")
        self.info_banner.set_message("")
        w = CaptureWorker(run, self.mode, auto=self.auto_box.isChecked(), parent=self)
        w.packetReady.connect(self._on_packet)
        w.problem.connect(self._on_problem)
        w.diagnosis.connect(self._on_diagnosis)
        w.info.connect(lambda t: self.info_banner.set_message(t, "info"))
        w.streamEnded.connect(self._on_stream_ended)
        w.finished.connect(self._on_worker_finished)
        self.worker = w
        self.wiz().register_thread(w)
        recorded = run.recordings is not None
        self.progress.setVisible(recorded)
        w.start()
        self.update_play_button()

    def stop_capture(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.stop()
            if not w.wait(5000):
                log.warning("capture worker did not stop within 5 s")
            self.wiz().unregister_thread(w)

    def capturing(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def toggle_pause(self) -> None:
        w = self.worker
        if w is None or not w.isRunning():
            self.start_capture()
            return
        w.set_paused(not w.paused())
        self.update_play_button()

    def update_play_button(self) -> None:
        """Pause / Resume while capturing; Play again (recordings) / Start (cameras) otherwise."""
        w = self.worker
        run = self.run()
        if w is not None and w.isRunning():
            self.play_button.setText("Resume" if w.paused() else "Pause")
        else:
            self.play_button.setText("Play again" if run is not None and run.recordings is not None else "Start")
        self.play_button.setEnabled(run is not None)

    def _auto_toggled(self, on: bool) -> None:
        self.capture_button.setEnabled(not on)
        if self.worker is not None:
            self.worker.set_auto(on)

    def capture_now(self) -> None:
        if self.worker is not None:
            self.worker.request_capture()

    def clear(self) -> None:  # overridden
        pass

    def _on_worker_finished(self) -> None:
        self.update_play_button()

    def _on_problem(self, text: str) -> None:
        self.banner.set_message(text, "error")
        self._refresh_complete()

    def _on_diagnosis(self, text: str) -> None:
        self.diagnosis_banner.set_message(text, "warning")

    def shortfall(self) -> str:  # overridden: why the page cannot go on, once a recording ended
        return ""

    def _on_stream_ended(self, summary: str) -> None:
        self.stream_ended = True
        short = self.shortfall()
        if short and not self.banner.text():
            self.banner.set_message(short, "error")
        self.info_banner.set_message(
            (summary + " " + self.info_banner.text()).strip() if self.info_banner.text() else summary, "info"
        )
        self._refresh_complete()

    def _on_packet(self) -> None:
        w = self.sender()
        if not isinstance(w, CaptureWorker):
            return
        pkt = w.take_packet()
        if pkt is None:
            return
        self.last_packet = pkt
        self.show_packet(pkt)
        if pkt.progress is not None:
            k, n = pkt.progress
            self.progress.setRange(0, max(1, n))
            self.progress.setValue(k)
            self.progress.setFormat(f"{k} / {n}")
        self._refresh_complete()

    def show_packet(self, pkt: PreviewPacket) -> None:  # overridden
        pass

    def compute_complete(self) -> bool:  # overridden
        return False

    def _refresh_complete(self) -> None:
        c = self.compute_complete()
        if c != self._complete:
            self._complete = c
            self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.compute_complete()

    # ---------------------------------------------------------------- wizard hooks
    def entered(self) -> None:
        run = self.run()
        if run is None:
            return
        if run.recordings is not None and self.mode in run.played:
            self.show_state(run.session.state())  # already played: show it, "Play again" replays
            self.update_play_button()
            self.progress.setVisible(True)
            self._refresh_complete()
            return
        self.start_capture()

    def left(self) -> None:
        self.stop_capture()

    def show_state(self, state) -> None:  # overridden
        pass


def _decision_text(dec, found: bool, reasons: Sequence[str]) -> tuple[str, str]:
    """(text, level) for a preview's status line."""
    if not found:
        why = " ".join(reasons) if reasons else "show the whole board to the camera."
        return f"Board not found: {user_text(why)}", "error"
    if dec is None:
        return "Board found", "info"
    if dec.accepted:
        return user_text(dec.reason), "success"
    return f"Not kept: {user_text(dec.reason)}", "warning"


class IntrinsicsPage(_CapturePage):
    """Pages 3 and 4: one camera's lens (intrinsics) from views of the board all over its image."""

    def __init__(self, cam: int) -> None:
        super().__init__(
            f"{3 + cam} · Camera {cam + 1}: the lens",
            f"Show the board to camera {cam + 1} alone: close and far, tilted every way, and into every corner of "
            "the picture until the heat map is green. Views are kept automatically when they add information.",
        )
        self.cam = cam
        self.mode = f"cam{cam}"
        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(self.banner)
        lay.addWidget(self.diagnosis_banner)
        lay.addWidget(self.info_banner)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(12)
        self.view = FrameView(f"Camera {cam + 1}")
        self.view.set_message("Starting…")
        body.addWidget(self.view, 3)
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(8)
        tiles = QtWidgets.QGridLayout()
        tiles.setSpacing(8)
        self.tile_views = StatTile("Views kept")
        self.tile_coverage = StatTile("Image coverage")
        self.tile_tilt = StatTile("Tilt variety")
        self.tile_rms = StatTile("Running RMS")
        for k, t in enumerate((self.tile_views, self.tile_coverage, self.tile_tilt, self.tile_rms)):
            tiles.addWidget(t, k // 2, k % 2)
        side.addLayout(tiles)
        self.frames_label = QtWidgets.QLabel("")
        self.frames_label.setObjectName("muted")
        side.addWidget(self.frames_label)
        advice_panel, advice_lay = _panel("What to do next")
        self.advice_label = QtWidgets.QLabel("")
        self.advice_label.setObjectName("advice")
        self.advice_label.setWordWrap(True)
        advice_lay.addWidget(self.advice_label)
        self.decision_label = QtWidgets.QLabel("")
        self.decision_label.setObjectName("muted")
        self.decision_label.setWordWrap(True)
        advice_lay.addWidget(self.decision_label)
        advice_lay.addStretch(1)
        side.addWidget(advice_panel, 1)
        known_panel, known_lay = _panel("Known intrinsics")
        self.loaded_label = QtWidgets.QLabel("Already calibrated this camera at this resolution? Load it instead.")
        self.loaded_label.setObjectName("muted")
        self.loaded_label.setWordWrap(True)
        known_lay.addWidget(self.loaded_label)
        row = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("Load known intrinsics…")
        self.unload_button = QtWidgets.QPushButton("Capture instead")
        self.unload_button.hide()
        row.addWidget(self.load_button)
        row.addWidget(self.unload_button)
        row.addStretch(1)
        known_lay.addLayout(row)
        side.addWidget(known_panel)
        side_w = QtWidgets.QWidget()
        side_w.setLayout(side)
        side_w.setMinimumWidth(330)
        side_w.setMaximumWidth(420)
        body.addWidget(side_w, 0)
        lay.addLayout(body, 1)
        lay.addLayout(self.controls())
        self.load_button.clicked.connect(lambda: self.load_intrinsics())
        self.unload_button.clicked.connect(self.unload_intrinsics)
        self.heat_box.toggled.connect(self.view.set_heat_visible)

    def compute_complete(self) -> bool:
        run = self.run()
        if run is None:
            return False
        if run.loaded[self.cam] is not None:
            return True
        st = run.session.state().cameras[self.cam]
        return st is not None and st.ready

    def shortfall(self) -> str:
        run = self.run()
        if run is None or self.compute_complete():
            return ""
        st = run.session.state().cameras[self.cam]
        kept = 0 if st is None else st.views_kept
        need = run.options.get("min_views", 8) if st is None else st.min_views
        return (
            f"Only {kept} usable view(s) of the board in camera {self.cam + 1}'s recording; at least {need} are "
            "needed (15-25 recommended). Record again showing the whole board at more places and angles, or load "
            "known intrinsics for this camera."
        )

    def show_packet(self, pkt: PreviewPacket) -> None:
        if pkt.images:
            det = pkt.detections[0]
            self.view.set_image(pkt.images[0], pkt.scales[0])
            self.view.set_corners(det.corners if det.found else None, GOOD if pkt.kept else ACCENT)
            text, level = _decision_text(pkt.decisions[0], det.found, det.reasons)
            if not pkt.offered and det.found:
                text, level = "Board found: press “Capture this view” to offer it", "info"
            self.view.set_status(text, level)
            self.view.set_caption(pkt.label)
            self.decision_label.setText(text)
            if pkt.kept:
                self.view.flash()
        self.show_state(pkt.state)

    def show_state(self, state) -> None:
        run = self.run()
        st = state.cameras[self.cam]
        loaded = run is not None and run.loaded[self.cam] is not None
        if loaded:
            ir = run.loaded[self.cam]
            K = ir.camera.K
            self.tile_views.set("loaded")
            self.tile_coverage.set("—")
            self.tile_tilt.set("—")
            self.tile_rms.set(_fmt(ir.rms, 3, " px"))
            self.view.set_heatmap(None)
            self.advice_label.setText("Known intrinsics are used for this camera: press Next.")
            self.loaded_label.setText(
                f"Using {run.loaded_from[self.cam]}: {ir.camera.size[0]}×{ir.camera.size[1]}, "
                f"fx {K[0, 0]:.1f}, fy {K[1, 1]:.1f} px, k1 {ir.camera.dist[0]:+.3f}."
            )
            self.unload_button.show()
            return
        self.unload_button.hide()
        self.loaded_label.setText("Already calibrated this camera at this resolution? Load it instead.")
        if st is None:
            self.advice_label.setText(user_text(state.advice) or "Waiting for frames…")
            return
        ok = st.views_kept >= st.min_views
        self.tile_views.set(
            f"{st.views_kept} / {st.max_views}",
            GOOD if ok else None,
            f"At least {st.min_views} views are needed; 15-25 varied views give the best lens fit.",
        )
        self.tile_coverage.set(
            f"{st.coverage:.0%}", GOOD if st.coverage >= 0.5 else WARN if st.coverage >= 0.25 else None
        )
        self.tile_tilt.set(f"{st.tilt_diversity:.0%}", GOOD if st.tilt_diversity >= 0.5 else None)
        est = state.running[self.cam]
        self.tile_rms.set(
            _fmt(None if est is None else est.rms, 3, " px"),
            None if est is None else (GOOD if est.rms < 0.5 else WARN if est.rms < 1 else BAD),
            "" if est is None else f"fx ≈ {est.K[0, 0]:.0f} px from {est.n_views} views (quick fit)",
        )
        self.frames_label.setText(
            f"Frames seen {st.frames_seen} · board found in {st.frames_found} · need at least {st.min_views} views"
        )
        self.view.set_heatmap(st.heatmap)
        advice = st.advice or state.advice
        if ok and not advice:
            advice = "Enough views: press Next (more varied views still help)."
        self.advice_label.setText(user_text(advice))

    def clear(self) -> None:
        run = self.run()
        if run is None:
            return
        was = self.capturing()
        self.stop_capture()
        run.reset_camera(self.cam)
        self.show_state(run.session.state())
        self.view.set_heatmap(None)
        self.info_banner.set_message("")
        self._refresh_complete()
        if was or run.recordings is None:
            self.start_capture()

    def load_intrinsics(self, path: str | None = None, camera: str | None = None) -> bool:
        """Use this camera's intrinsics from a calibration TOML (file and camera chosen in dialogs when None)."""
        run = self.run()
        if run is None:
            return False
        from core.calibration_io import load_calibration

        if path is None:
            start = self.wiz().setting("calibration/save_dir", str(Path.home()))
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, f"Camera {self.cam + 1}: known intrinsics", str(start), "Calibration (*.toml);;All files (*)"
            )
            if not path:
                return False
        try:
            names = load_calibration(path).group.names
            if camera is None:
                default = names[self.cam] if len(names) > self.cam else names[0]
                if len(names) > 1:
                    camera, ok = QtWidgets.QInputDialog.getItem(
                        self,
                        "Which camera?",
                        f"Camera in {Path(path).name} to use for camera {self.cam + 1}:",
                        names,
                        names.index(default),
                        False,
                    )
                    if not ok:
                        return False
                else:
                    camera = default
            run.load_intrinsics(self.cam, path, camera)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return False
        self.stop_capture()
        self.banner.set_message("")
        self.diagnosis_banner.set_message("")
        self.show_state(run.session.state())
        self._refresh_complete()
        return True

    def unload_intrinsics(self) -> None:
        run = self.run()
        if run is None:
            return
        run.clear_loaded(self.cam)
        self.show_state(run.session.state())
        self._refresh_complete()
        self.start_capture()


class StereoPage(_CapturePage):
    """Page 5: pairs in which both cameras see the board at the same instant."""

    mode = "pairs"

    def __init__(self) -> None:
        super().__init__(
            "5 · Both cameras together",
            "Hold the board STILL where both cameras see it, at several places and angles across the space you "
            "will use. Pairs are kept when they add information; the epipolar error says how well they agree.",
        )
        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(self.banner)
        lay.addWidget(self.diagnosis_banner)
        lay.addWidget(self.info_banner)
        views = QtWidgets.QHBoxLayout()
        views.setSpacing(10)
        self.views = [FrameView("Camera 1"), FrameView("Camera 2")]
        for v in self.views:
            v.set_message("Starting…")
            views.addWidget(v, 1)
            self.heat_box.toggled.connect(v.set_heat_visible)
        lay.addLayout(views, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.setSpacing(8)
        self.tile_pairs = StatTile("Pairs kept")
        self.tile_cov = StatTile("Coverage cam 1 / 2")
        self.tile_epi = StatTile("Epipolar error (estimate)")
        self.tile_rms = StatTile("Stereo RMS (estimate)")
        self.tile_base = StatTile("Baseline (estimate)")
        for t in (self.tile_pairs, self.tile_cov, self.tile_epi, self.tile_rms, self.tile_base):
            t.setMinimumWidth(150)
            bottom.addWidget(t)
        advice_panel, advice_lay = _panel()
        self.advice_label = QtWidgets.QLabel("")
        self.advice_label.setObjectName("advice")
        self.advice_label.setWordWrap(True)
        advice_lay.addWidget(self.advice_label)
        self.decision_label = QtWidgets.QLabel("")
        self.decision_label.setObjectName("muted")
        self.decision_label.setWordWrap(True)
        advice_lay.addWidget(self.decision_label)
        bottom.addWidget(advice_panel, 1)
        lay.addLayout(bottom)
        lay.addLayout(self.controls())
        self.setButtonText(QtWidgets.QWizard.WizardButton.NextButton, "Calibrate")

    def compute_complete(self) -> bool:
        run = self.run()
        if run is None:
            return False
        st = run.session.state()
        return st.pairs is not None and st.pairs.ready and self.worker_idle_or_live()

    def shortfall(self) -> str:
        run = self.run()
        if run is None or self.compute_complete():
            return ""
        st = run.session.state().pairs
        kept = 0 if st is None else st.views_kept
        need = run.options.get("min_pairs", 6) if st is None else st.min_views
        return (
            f"Only {kept} stereo pair(s) with the board seen by BOTH cameras at the same instant; at least {need} "
            "are needed (10-20 recommended). Record again holding the board where both cameras see all of it, at "
            "several places and angles."
        )

    def worker_idle_or_live(self) -> bool:
        """Recordings: the pairs are final once the recording (and its sync check) finished."""
        run = self.run()
        if run is None or run.recordings is None:
            return True
        return not self.capturing()

    def show_packet(self, pkt: PreviewPacket) -> None:
        if pkt.images:
            for k, v in enumerate(self.views):
                det = pkt.detections[k]
                v.set_image(pkt.images[k], pkt.scales[k])
                v.set_corners(det.corners if det.found else None, GOOD if pkt.kept else ACCENT)
                dec = pkt.pair_decision
                if not det.found:
                    text, level = _decision_text(None, False, det.reasons)
                elif dec is None:
                    text, level = ("Board found", "info")
                else:
                    text, level = _decision_text(dec, True, ())
                v.set_status(text, level)
                if k == 0:
                    v.set_caption(pkt.label)
                if pkt.kept:
                    v.flash()
            if pkt.pair_decision is not None:
                self.decision_label.setText(_decision_text(pkt.pair_decision, True, ())[0])
        self.show_state(pkt.state, pkt)

    def show_state(self, state, pkt: PreviewPacket | None = None) -> None:
        st = state.pairs
        if st is not None:
            ok = st.views_kept >= st.min_views
            self.tile_pairs.set(
                f"{st.views_kept} / {st.max_views}", GOOD if ok else None, f"At least {st.min_views} pairs."
            )
        if state.pair_heatmaps is not None:
            for v, h in zip(self.views, state.pair_heatmaps):
                v.set_heatmap(h)
            cov = [float((h > 0).mean()) for h in state.pair_heatmaps]
            self.tile_cov.set(f"{cov[0]:.0%} / {cov[1]:.0%}")
        est = pkt.estimate if pkt is not None else (self.last_packet.estimate if self.last_packet else None)
        if est is not None:
            if est.error:
                self.tile_epi.set("—", None, est.error)
                self.tile_rms.set("—")
                self.tile_base.set("—")
            else:
                e = est.epipolar_px
                self.tile_epi.set(
                    _fmt(e, 2, " px"),
                    GOOD if e < 0.5 else WARN if e < 1.5 else BAD,
                    "Mean distance of the corners to their epipolar lines"
                    + (" on held-out pairs" if est.heldout else " (all pairs)"),
                )
                self.tile_rms.set(_fmt(est.rms, 2, " px"), GOOD if est.rms < 0.5 else WARN if est.rms < 1 else BAD)
                self.tile_base.set(_fmt(est.baseline_m, 3, " m"))
        advice = state.advice
        if st is not None and not (st.last is not None and st.last.code == "moving"):
            advice = st.advice or advice
        if st is not None and st.ready and (self.stream_ended or self.run() is None or self.run().recordings is None):
            advice = advice or "Enough pairs: press Calibrate."
        self.advice_label.setText(user_text(advice))

    def clear(self) -> None:
        run = self.run()
        if run is None:
            return
        self.stop_capture()
        run.reset_pairs()
        for v in self.views:
            v.set_heatmap(None)
        self.info_banner.set_message("")
        self.show_state(run.session.state())
        self._refresh_complete()
        self.start_capture()

    def _on_worker_finished(self) -> None:
        super()._on_worker_finished()
        self._refresh_complete()


# ----------------------------------------------------------------------------------------------- page 6
class ResultsPage(_Page):
    """Page 6: solve, show the verdict and the evidence, save."""

    def __init__(self) -> None:
        super().__init__(
            "6 · Results",
            "The calibration, how good it is, and the evidence. Save it to use it for capture.",
        )
        self.setFinalPage(True)
        self.worker: SolveWorker | None = None
        self.outcome: SolveOutcome | None = None
        self.base_result: CalibrationResult | None = None
        self.result: CalibrationResult | None = None
        self.saved_path: str | None = None
        self.pair_index = -1
        self.solve_failed = ""
        self.board_points: list[np.ndarray] = []  # board corners of each kept pair in the world, metres

        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(self.banner)
        # progress row (while solving)
        self.progress_row = QtWidgets.QWidget()
        prow = QtWidgets.QHBoxLayout(self.progress_row)
        prow.setContentsMargins(0, 0, 0, 0)
        self.progress_label = QtWidgets.QLabel("Calibrating…")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        prow.addWidget(self.progress_label)
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel_button)
        lay.addWidget(self.progress_row)
        self.cancel_button.clicked.connect(self.cancel_solve)

        # header: verdict + summary + advice
        head = QtWidgets.QHBoxLayout()
        self.verdict_label = QtWidgets.QLabel("")
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.hide()
        self.summary_label = QtWidgets.QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setObjectName("advice")
        head.addWidget(self.verdict_label, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.summary_label, 1)
        lay.addLayout(head)
        self.advice_label = QtWidgets.QLabel("")
        self.advice_label.setWordWrap(True)
        self.advice_label.setObjectName("muted")
        lay.addWidget(self.advice_label)

        self.content = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(10)
        # figures
        fig_panel, fig_lay = _panel("Figures")
        self.figures = QtWidgets.QGridLayout()
        self.figures.setHorizontalSpacing(14)
        self.figures.setVerticalSpacing(4)
        fig_lay.addLayout(self.figures)
        fig_lay.addStretch(1)
        grid.addWidget(fig_panel, 0, 0)
        # bar chart
        chart_panel, chart_lay = _panel()
        chart_head = QtWidgets.QHBoxLayout()
        t = QtWidgets.QLabel("Error per view")
        t.setObjectName("sectionTitle")
        chart_head.addWidget(t)
        chart_head.addStretch(1)
        self.chart_combo = QtWidgets.QComboBox()
        chart_head.addWidget(self.chart_combo)
        chart_lay.addLayout(chart_head)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(PANEL)
        self.chart.setMinimumHeight(200)
        self.chart.setLabel("left", "RMS", units="px")
        self.chart.showGrid(y=True, alpha=0.2)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.getPlotItem().hideButtons()
        self.chart.getPlotItem().setMenuEnabled(False)
        for ax in ("left", "bottom"):
            axis = self.chart.getAxis(ax)
            axis.setPen(pg.mkPen(MUTED))
            axis.setTextPen(pg.mkPen(MUTED))
        self.bar_items: list[pg.BarGraphItem] = []
        chart_lay.addWidget(self.chart, 1)
        grid.addWidget(chart_panel, 0, 1)
        self.chart_combo.currentIndexChanged.connect(self._draw_chart)
        # 3D
        view_panel, view_lay = _panel("Cameras in 3D")
        self.view3d = None  # created on first use (OpenGL)
        self._view_lay = view_lay
        grid.addWidget(view_panel, 0, 2)
        # rectified preview
        rect_panel, rect_lay = _panel()
        rect_head = QtWidgets.QHBoxLayout()
        t = QtWidgets.QLabel("Rectified pair: a feature sits on the same line in both images")
        t.setObjectName("sectionTitle")
        rect_head.addWidget(t)
        rect_head.addStretch(1)
        self.prev_pair = QtWidgets.QPushButton("◀")
        self.next_pair = QtWidgets.QPushButton("▶")
        self.pair_label = QtWidgets.QLabel("")
        self.pair_label.setObjectName("muted")
        rect_head.addWidget(self.prev_pair)
        rect_head.addWidget(self.pair_label)
        rect_head.addWidget(self.next_pair)
        rect_lay.addLayout(rect_head)
        self.rectified = FrameView()
        self.rectified.set_heat_visible(False)
        self.rectified.setMinimumHeight(220)
        rect_lay.addWidget(self.rectified, 1)
        grid.addWidget(rect_panel, 1, 0, 1, 3)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 4)
        grid.setColumnStretch(2, 3)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 6)
        lay.addWidget(self.content, 1)
        self.prev_pair.clicked.connect(lambda: self.show_pair(self.pair_index - 1))
        self.next_pair.clicked.connect(lambda: self.show_pair(self.pair_index + 1))

        # actions
        actions = QtWidgets.QHBoxLayout()
        self.floor_box = QtWidgets.QCheckBox(
            "The board in the pair shown lies on the floor: use it as the world (Z up)"
        )
        actions.addWidget(self.floor_box)
        actions.addStretch(1)
        self.redo_buttons = {}
        for page, text in (
            (PAGE_CAM0, "Redo camera 1"),
            (PAGE_CAM1, "Redo camera 2"),
            (PAGE_STEREO, "Redo pairs"),
            (PAGE_BOARD, "Change board"),
        ):
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(lambda _=False, p=page: self.redo(p))
            self.redo_buttons[page] = b
            actions.addWidget(b)
        actions.addSpacing(12)
        self.save_button = QtWidgets.QPushButton("Save…")
        self.save_button.setObjectName("primary")
        actions.addWidget(self.save_button)
        lay.addLayout(actions)
        self.floor_box.toggled.connect(self._floor_toggled)
        self.save_button.clicked.connect(lambda: self.save())
        self._set_result_visible(False)

    # ---------------------------------------------------------------- solving
    def entered(self) -> None:
        self.start_solve()

    def left(self) -> None:
        self._forget_worker()

    def start_solve(self) -> None:
        run = self.wiz().run
        self._forget_worker()
        self.outcome = self.base_result = self.result = None
        self.saved_path = None
        self.solve_failed = ""
        self.banner.set_message("")
        self._set_result_visible(False)
        self.completeChanged.emit()
        if run is None:
            self.banner.set_message("Nothing to calibrate: go back to the first page.", "error")
            return
        self.progress_row.show()
        self.progress.setValue(0)
        self.progress_label.setText("Calibrating…")
        self.cancel_button.setEnabled(True)
        w = SolveWorker(run, parent=self)
        w.progress.connect(self._on_progress)
        w.solved.connect(self._on_solved)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        self.worker = w
        self.wiz().register_thread(w)
        w.start()

    def cancel_solve(self, wait: bool = False) -> None:
        """Ask the solve to stop. ``wait``: block until it did (closing); otherwise it ends in the background
        (between two steps of the solver) and its outcome is ignored."""
        w = self.worker
        if w is None:
            return
        w.cancel()
        self.cancel_button.setEnabled(False)
        self.progress_label.setText("Cancelling…")
        if wait:
            w.wait(10000)
            self.wiz().unregister_thread(w)
            self.worker = None
            self.progress_row.hide()

    def _forget_worker(self) -> None:
        """Cancel the running solve without waiting for it (it stops between two solver steps, in the
        background) and ignore its outcome."""
        w, self.worker = self.worker, None
        self.progress_row.hide()
        if w is None:
            return
        w.cancel()
        for sig in (w.progress, w.solved, w.failed, w.cancelled):
            sig.disconnect()
        if w.isRunning():
            w.finished.connect(lambda t=w: self.wiz().unregister_thread(t))
        else:
            self.wiz().unregister_thread(w)

    def solving(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(1000 * fraction)))
        self.progress_label.setText(message[:1].upper() + message[1:])

    def _finish_worker(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.wait(2000)
            self.wiz().unregister_thread(w)
        self.progress_row.hide()

    def _on_failed(self, message: str) -> None:
        self._finish_worker()
        self.solve_failed = message
        self.banner.set_message(f"The calibration failed: {message} Use the buttons below to redo a step.", "error")
        for b in self.redo_buttons.values():
            b.setVisible(True)
        self.completeChanged.emit()

    def _on_cancelled(self) -> None:
        self._finish_worker()
        self.solve_failed = "cancelled"
        self.banner.set_message("Calibration cancelled. Press Back to capture more, or redo a step.", "info")
        self.completeChanged.emit()

    def _on_solved(self, outcome: SolveOutcome) -> None:
        self._finish_worker()
        self.outcome = outcome
        self.base_result = outcome.result
        self.floor_box.blockSignals(True)
        self.floor_box.setChecked(False)
        self.floor_box.blockSignals(False)
        self.set_result(outcome.result)
        self.chart_combo.blockSignals(True)
        self.chart_combo.clear()
        self.chart_combo.addItem("Stereo pairs", "pairs")
        for k, ir in enumerate(outcome.result.intrinsics):
            if len(ir.per_view_errors):
                self.chart_combo.addItem(f"Camera {k + 1} views", k)
        self.chart_combo.blockSignals(False)
        self._draw_chart()
        self.show_pair(outcome.default_pair)
        if outcome.rectify_note:
            self.banner.set_message(outcome.rectify_note, "warning")
        self._set_result_visible(True)
        self.completeChanged.emit()

    def _set_result_visible(self, visible: bool) -> None:
        self.content.setVisible(visible)
        self.verdict_label.setVisible(visible)
        self.summary_label.setVisible(visible)
        self.advice_label.setVisible(visible)
        self.floor_box.setVisible(visible)
        self.save_button.setEnabled(visible)

    # ---------------------------------------------------------------- showing
    def set_result(self, result: CalibrationResult) -> None:
        self.result = result
        verdict = result.verdict
        self.verdict_label.setText(verdict.upper())
        self.verdict_label.setStyleSheet(f"background: {VERDICT_COLOURS.get(verdict, MUTED)};")
        s = result.stereo
        self.summary_label.setText(
            f"Stereo RMS {s.rms:.2f} px · epipolar error {s.epipolar_px:.2f} px (held-out) · baseline "
            f"{s.baseline_m:.3f} m · {s.n_pairs} pairs"
        )
        self.advice_label.setText(
            ("Advice: " + user_text(result.advice)) if result.advice else "Nothing to improve: well done."
        )
        self._fill_figures(result)
        self._show_3d(result)

    def _fill_figures(self, result: CalibrationResult) -> None:
        while self.figures.count():
            item = self.figures.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        s = result.stereo
        levels = {c.name: c.level for c in result.quality.checks}
        rows: list[tuple[str, str, str | None]] = [
            ("Stereo RMS", _fmt(s.rms, 3, " px"), levels.get("stereo_rms_px")),
        ]
        for k, ir in enumerate(result.intrinsics):
            name = ir.camera.name
            src = "loaded" if ir.source != "calibrated" else name
            rows.append((f"Camera {k + 1} RMS ({src})", _fmt(ir.rms, 3, " px"), levels.get(f"{name}_rms_px")))
        rows += [
            ("Epipolar error (held-out)", _fmt(s.epipolar_px, 3, " px"), None),
            ("Baseline", _fmt(s.baseline_m, 3, " m"), levels.get("baseline_ratio")),
            ("Convergence", _fmt(s.convergence_deg, 1, "°"), None),
            ("Working distance", _fmt(s.working_distance_m, 2, " m"), None),
            ("Pairs", f"{s.n_pairs}" + (f" ({len(s.heldout)} held out)" if s.heldout else ""), levels.get("pairs")),
        ]
        for k, ir in enumerate(result.intrinsics):
            K = ir.camera.K
            rows.append((f"Camera {k + 1} focal fx / fy", f"{K[0, 0]:.0f} / {K[1, 1]:.0f} px", None))
        rows.append(("World", f"{result.origin} ({result.world_up} up)", None))
        for r, (name, value, level) in enumerate(rows):
            a = QtWidgets.QLabel(name)
            a.setObjectName("muted")
            b = QtWidgets.QLabel(value)
            b.setStyleSheet(
                f"font-weight: 600; color: {VERDICT_COLOURS[level]};"
                if level in VERDICT_COLOURS
                else "font-weight: 600;"
            )
            b.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            self.figures.addWidget(a, r, 0)
            self.figures.addWidget(b, r, 1)

    def _draw_chart(self) -> None:
        plot = self.chart.getPlotItem()
        plot.clear()
        if plot.legend is not None:
            plot.legend.scene().removeItem(plot.legend)
            plot.legend = None
        self.bar_items = []
        res = self.result
        if res is None:
            return
        which = self.chart_combo.currentData()
        legend = plot.addLegend(
            offset=(8, 4), labelTextColor=TEXT, brush=pg.mkBrush(27, 29, 35, 200), colCount=3, verSpacing=-4
        )
        if which == "pairs":
            err = np.asarray(res.stereo.per_pair_errors, float).reshape(-1, 2)
            x = np.arange(1, len(err) + 1, dtype=float)
            for k, colour in enumerate((ACCENT, "#f08c3c")):
                bar = pg.BarGraphItem(x=x + (k - 0.5) * 0.38, height=err[:, k], width=0.36, brush=colour, pen=None)
                plot.addItem(bar)
                legend.addItem(bar, f"camera {k + 1}")
                self.bar_items.append(bar)
            held = [k for k in res.stereo.heldout if k < len(err)]
            if held and self.outcome is not None and len(self.outcome.pairs) == len(err):
                marks = pg.ScatterPlotItem(
                    x=np.asarray(held, float) + 1,
                    y=np.nanmax(err[held], axis=1) + 0.06 * max(float(np.nanmax(err)), 0.1),
                    symbol="t",
                    size=9,
                    brush=pg.mkBrush(TEXT),
                    pen=None,
                )
                plot.addItem(marks)
                legend.addItem(marks, "held out")
            plot.setLabel("bottom", "stereo pair")
            top = float(np.nanmax(err)) if err.size else 1.0
        else:
            ir = res.intrinsics[int(which)]
            err = np.asarray(ir.per_view_errors, float)
            x = np.arange(1, len(err) + 1, dtype=float)
            bar = pg.BarGraphItem(x=x, height=err, width=0.7, brush=ACCENT if which == 0 else "#f08c3c", pen=None)
            plot.addItem(bar)
            legend.addItem(bar, f"camera {int(which) + 1} view")
            self.bar_items.append(bar)
            plot.setLabel("bottom", "view")
            top = float(np.nanmax(err)) if err.size else 1.0
        for y, colour in ((0.5, GOOD), (1.0, WARN)):
            if y < 1.6 * top + 0.1:
                plot.addItem(
                    pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine))
                )
        plot.setYRange(0, max(top * 1.5, 0.3))
        plot.setXRange(0.3, len(err) + 0.7 if len(err) else 1)

    def _show_3d(self, result: CalibrationResult) -> None:
        """The camera frusta and the board corners of every kept pair (the pair shown in the preview brighter)."""
        import pyqtgraph.opengl as gl

        from app.widgets.skeleton_view import SkeletonView

        if self.view3d is None:
            self.view3d = SkeletonView(show_legend=False)
            self.view3d.setMinimumSize(220, 180)
            self._view_lay.addWidget(self.view3d, 1)
            self._board_items: list = []
        v = self.view3d
        v.set_world_up(result.world_up if result.world_up in ("+z", "-y", "+y") else "+z")
        group = result.group
        depth = float(np.clip(0.3 * result.stereo.baseline_m, 0.08, 0.6))
        v.set_cameras(group, depth_m=depth)
        for item in self._board_items:
            v.removeItem(item)
        self._board_items = []
        pairs = [(a, b) for a, b, _ in (self.outcome.pairs if self.outcome is not None else [])]
        boards = board_points(group, pairs) if pairs else []
        shown = self.pair_index if 0 <= self.pair_index < len(boards) else -1
        others = [p for k, p in enumerate(boards) if k != shown and len(p)]
        for pts, colour, size in (
            (np.concatenate(others) if others else np.zeros((0, 3)), (0.45, 0.80, 0.55, 0.8), 4.0),
            (boards[shown] if shown >= 0 else np.zeros((0, 3)), (0.95, 0.40, 0.95, 1.0), 7.0),
        ):
            if len(pts):
                item = gl.GLScatterPlotItem(
                    pos=v.world_to_display(pts), color=colour, size=size, pxMode=True, glOptions="translucent"
                )
                v.addItem(item)
                self._board_items.append(item)
        self.board_points = boards
        cloud = [np.stack([c.center for c in group])] + [p for p in boards if len(p)]
        aim_at_rig(v, group, np.concatenate(cloud))

    def show_pair(self, k: int) -> None:
        """Show kept pair ``k`` rectified, with epipolar lines."""
        out = self.outcome
        if out is None or not out.pairs:
            self.pair_label.setText("no pair")
            return
        with_images = [i for i, (_, _, sp) in enumerate(out.pairs) if sp is not None]
        if not with_images:
            self.rectified.set_image(None)
            self.rectified.set_message("No images of the pairs were kept.")
            return
        if k not in with_images:
            k = (
                with_images[0]
                if k < with_images[0]
                else with_images[-1]
                if k > with_images[-1]
                else min(with_images, key=lambda i: abs(i - k))
            )
        self.pair_index = k
        a, b, sp = out.pairs[k]
        pos = with_images.index(k)
        self.prev_pair.setEnabled(pos > 0)
        self.next_pair.setEnabled(pos < len(with_images) - 1)
        if out.rectifier is None or sp is None:
            return
        img0, img1 = sp.images()
        composed = out.rectifier.compose(img0, img1, a, b, step_px=max(24, out.rectifier.size[1] // 18))
        small, s = downscale(composed, 1800)
        self.rectified.set_image(small, s)
        err = out.rectifier.row_error(a, b)
        axis = "columns" if out.rectifier.vertical else "rows"
        self.pair_label.setText(
            f"pair {pos + 1} of {len(with_images)}"
            + (f" · {sp.label()}" if sp.label() else "")
            + f" · same-corner {axis} differ by {_fmt(err, 2, ' px')}"
        )
        self.rectified.set_caption("")
        if self.floor_box.isChecked():
            self._floor_toggled(True)
        elif self.result is not None:
            self._show_3d(self.result)

    def _floor_toggled(self, on: bool) -> None:
        if self.base_result is None:
            return
        if not on:
            self.set_result(self.base_result)
            self.banner.set_message("")
            return
        out = self.outcome
        if out is None or not (0 <= self.pair_index < len(out.pairs)):
            return
        a, b, _ = out.pairs[self.pair_index]
        try:
            floor = self.base_result.with_floor(a, b)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            self.floor_box.blockSignals(True)
            self.floor_box.setChecked(False)
            self.floor_box.blockSignals(False)
            return
        self.set_result(floor)
        self.banner.set_message(
            "World frame: the board of this pair is the floor (origin at its centre, Z up). The relative pose "
            "of the cameras is unchanged.",
            "info",
        )

    # ---------------------------------------------------------------- actions
    def redo(self, page: int) -> None:
        run = self.wiz().run
        if run is not None:
            if page in (PAGE_CAM0, PAGE_CAM1):
                run.reset_camera(page - PAGE_CAM0)
            elif page == PAGE_STEREO:
                run.reset_pairs()
        self.wiz().go_to(page)

    def default_save_path(self) -> str:
        folder = Path(self.wiz().setting("calibration/save_dir", str(Path.home())))
        return str(folder / f"calibration_{_dt.date.today().isoformat()}.toml")

    def save(self, path: str | None = None) -> str | None:
        """Write the calibration TOML (metres); a file dialog when ``path`` is None. Emits the wizard's
        ``calibrationSaved(path)``. Returns the path, or None when cancelled or failed."""
        if self.result is None:
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save calibration", self.default_save_path(), "Calibration TOML (*.toml)"
            )
            if not path:
                return None
        if not path.lower().endswith(".toml"):
            path += ".toml"
        try:
            saved = self.result.save(path)
        except (CrossViewError, OSError) as exc:
            self.banner.set_message(f"Could not save the calibration: {exc}", "error")
            return None
        self.result = saved
        self.saved_path = str(saved.path)
        self.wiz().set_setting("calibration/save_dir", str(Path(self.saved_path).parent))
        self.banner.set_message(f"Saved to {self.saved_path} (metres). CrossView now uses this calibration.", "success")
        self.wiz().calibrationSaved.emit(self.saved_path)
        return self.saved_path

    def isComplete(self) -> bool:
        return self.result is not None

    def validatePage(self) -> bool:
        if self.result is None:
            return False
        if self.saved_path is None:
            return self.save() is not None
        return True


# ----------------------------------------------------------------------------------------------- the wizard
class _StepsPanel(QtWidgets.QWidget):
    """The list of steps at the wizard's side, the current one highlighted."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("wizardSide")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 8, 12, 8)
        lay.setSpacing(2)
        title = QtWidgets.QLabel("Calibration")
        title.setStyleSheet("font-size: 15px; font-weight: 700; padding: 4px 10px 10px 10px;")
        lay.addWidget(title)
        self.labels = []
        for k, name in enumerate(STEP_NAMES):
            lbl = QtWidgets.QLabel(f"{k + 1}   {name}")
            self.labels.append(lbl)
            lay.addWidget(lbl)
        lay.addStretch(1)
        self.setFixedWidth(170)
        self.set_current(0)

    def set_current(self, k: int) -> None:
        for i, lbl in enumerate(self.labels):
            lbl.setObjectName("stepCurrent" if i == k else "stepDone" if i < k else "stepTodo")
            lbl.style().unpolish(lbl)
            lbl.style().polish(lbl)


CameraFactory = Callable[[int, int, InputSpec], CameraSource]


def default_camera_factory(slot: int, index: int, spec: InputSpec) -> CameraSource:
    """A ``DeviceSource`` for camera ``slot`` (0/1) at device ``index`` with the spec's settings."""
    return DeviceSource(
        index,
        name=CAMERA_NAMES[slot],
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        fourcc="MJPG" if spec.mjpg else None,
    )


class CalibrationWizard(QtWidgets.QWizard):
    """The stereo calibration wizard. Emits :attr:`calibrationSaved` with the path of each saved TOML.

    ``settings``: where the last inputs, board and folders are remembered (default: the user's QSettings).
    ``device_lister``/``camera_factory``: how cameras are listed and opened (tests inject simulated ones).
    """

    calibrationSaved = QtCore.Signal(str)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        settings: QtCore.QSettings | None = None,
        *,
        device_lister: Callable[[], Sequence[DeviceInfo]] | None = None,
        camera_factory: CameraFactory | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationWizard")
        self.setWindowTitle("CrossView — stereo calibration")
        self.setWizardStyle(QtWidgets.QWizard.WizardStyle.ClassicStyle)
        self.setTitleFormat(QtCore.Qt.TextFormat.RichText)
        self.setSubTitleFormat(QtCore.Qt.TextFormat.RichText)
        self.setOption(QtWidgets.QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QtWidgets.QWizard.WizardOption.IndependentPages, True)
        self.setButtonText(QtWidgets.QWizard.WizardButton.FinishButton, "Save and close")
        self.setStyleSheet(WIZARD_STYLE)
        self._settings = settings if settings is not None else QtCore.QSettings("CrossView", "CrossView")
        self.device_lister = device_lister or list_devices
        self.camera_factory = camera_factory or default_camera_factory
        self.run: CalibrationRun | None = None
        self._sources: list[CameraSource] = []
        self._source_key: tuple | None = None
        self._threads: list[QtCore.QThread] = []
        self._stopped = False
        self._current = -1
        self._jump_target: int | None = None

        self.inputs_page = InputsPage()
        self.board_page = BoardPage()
        self.cam_pages = (IntrinsicsPage(0), IntrinsicsPage(1))
        self.stereo_page = StereoPage()
        self.results_page = ResultsPage()
        for pid, page in zip(
            range(6), (self.inputs_page, self.board_page, *self.cam_pages, self.stereo_page, self.results_page)
        ):
            self.setPage(pid, page)
        self.steps = _StepsPanel()
        self.setSideWidget(self.steps)
        self.currentIdChanged.connect(self._page_changed)
        self.resize(1440, 900)
        self._restore()

    # ---------------------------------------------------------------- settings
    def setting(self, key: str, default: str = "") -> str:
        v = self._settings.value(key, default)
        return default if v is None else v

    def set_setting(self, key: str, value) -> None:
        self._settings.setValue(key, value)

    def _restore(self) -> None:
        spec = self.setting("calibration/board_spec", "")
        if spec:
            try:
                from calibration.io import parse_board_spec

                self.board_page.set_board(parse_board_spec(spec))
            except CrossViewError:
                pass
        for kind in ("videos", "images"):
            paths = self._settings.value(f"calibration/{kind}_paths")
            if isinstance(paths, (list, tuple)) and len(paths) == 2:
                edits = self.inputs_page.video_edits if kind == "videos" else self.inputs_page.image_edits
                for e, p in zip(edits, paths):
                    e.blockSignals(True)
                    e.setText(str(p))
                    e.blockSignals(False)
        kind = self.setting("calibration/input_kind", "")
        self.inputs_page.kind_from_settings = kind in ("cameras", "videos", "images")
        self.inputs_page.set_kind(kind if self.inputs_page.kind_from_settings else "videos")

    # ---------------------------------------------------------------- navigation
    def _page_changed(self, pid: int) -> None:
        old = self.page(self._current) if self._current >= 0 else None
        self._current = pid
        if isinstance(old, _Page):
            old.left()
        self.steps.set_current(max(0, pid))
        page = self.page(pid)
        if isinstance(page, _Page) and (self._jump_target is None or pid == self._jump_target):
            page.entered()

    def go_to(self, pid: int) -> None:
        """Go back to page ``pid`` (pages keep what they hold; the pages in between are not started)."""
        self._jump_target = pid
        try:
            guard = 0
            while self.currentId() > pid and guard < 10:
                self.back()
                guard += 1
        finally:
            self._jump_target = None

    # ---------------------------------------------------------------- the run
    def prepare_run(self) -> CalibrationRun:
        """Create the calibration run for the current inputs and board (kept when neither changed)."""
        board = self.board_page.board()
        if board is None:
            raise CrossViewError("the board definition is not valid; fix it on the board page.")
        spec = self.inputs_page.spec()
        self.set_setting("calibration/input_kind", spec.kind)
        key = (spec.key(), board)
        if self.run is not None and self.run.key() == key:
            if spec.recorded and self.run.spec.pace != spec.pace:
                self.run.spec = spec
            return self.run
        self.stop_workers()
        if self.run is not None:
            self.run.close()
        if spec.recorded:
            rec = self.inputs_page.recordings()
            if rec is None or self.inputs_page._valid_key != spec.key():  # noqa: SLF001
                rec = open_recordings(spec)
            self.run = CalibrationRun(board, spec, recordings=rec)
        else:
            self.ensure_devices(spec)
            self.run = CalibrationRun(board, spec, devices=self._sources)
        return self.run

    # ---------------------------------------------------------------- cameras
    def ensure_devices(self, spec: InputSpec) -> list[CameraSource]:
        """Start the two camera sources of ``spec`` (restarted when the choice or settings changed)."""
        key = spec.key()
        if key == self._source_key and self._sources:
            return self._sources
        self.stop_devices()
        if spec.kind != "cameras" or -1 in spec.devices or spec.devices[0] == spec.devices[1]:
            return []
        sources = []
        try:
            for slot, index in enumerate(spec.devices):
                src = self.camera_factory(slot, index, spec)
                src.start()
                sources.append(src)
        except CrossViewError as exc:
            for s in sources:
                s.stop()
            self.inputs_page.banner.set_message(str(exc), "error")
            return []
        self._sources = sources
        self._source_key = key
        return sources

    def device_sources(self) -> list[CameraSource]:
        return list(self._sources)

    def stop_devices(self) -> None:
        for s in self._sources:
            try:
                s.stop()
            except Exception:  # stopping must go on
                log.exception("stopping camera %s failed", getattr(s, "name", s))
        self._sources = []
        self._source_key = None

    # ---------------------------------------------------------------- threads
    def register_thread(self, t: QtCore.QThread) -> None:
        if t not in self._threads:
            self._threads.append(t)

    def unregister_thread(self, t: QtCore.QThread) -> None:
        if t in self._threads:
            self._threads.remove(t)

    def threads(self) -> list[QtCore.QThread]:
        return [t for t in self._threads if t.isRunning()]

    def stop_workers(self) -> None:
        for page in (*self.cam_pages, self.stereo_page):
            page.stop_capture()
        self.results_page.cancel_solve(wait=True)
        for t in list(self._threads):
            stop = getattr(t, "stop", None)
            if callable(stop):
                stop()
            t.wait(5000)
        self._threads = []

    def stop_all(self) -> None:
        """Stop every worker thread and camera (closing the wizard does this)."""
        if self._stopped:
            return
        self._stopped = True
        self.inputs_page.left()
        self.stop_workers()
        self.stop_devices()
        if self.run is not None:
            self.run.close()

    def stop(self) -> None:
        self.stop_all()

    def done(self, result: int) -> None:
        self.stop_all()
        super().done(result)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop_all()
        super().closeEvent(event)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._stopped = False
        if self._current < 0 and self.currentId() >= 0:
            self._page_changed(self.currentId())

    # ---------------------------------------------------------------- convenience for scripts and tests
    def next_button(self) -> QtWidgets.QAbstractButton:
        return self.button(QtWidgets.QWizard.WizardButton.NextButton)

    def finish_button(self) -> QtWidgets.QAbstractButton:
        return self.button(QtWidgets.QWizard.WizardButton.FinishButton)
