"""The calibration feature's widgets and text helpers (the wizard and the Calibration tab). Qt only.

- :class:`Banner`: a message strip whose look follows its ``level`` (info / success / warning / error);
- :class:`StatTile`: a figure with its caption, coloured by a verdict level (good / usable / poor);
- :class:`FrameView`: a camera picture with the detected corners, the coverage heat map, a caption and a status;
- :func:`panel`, :func:`path_row`: the boxes and "path + Browse…" rows the pages are made of;
- :func:`fmt` (numbers with a unit, "—" when unknown), :func:`user_text` (cameras named as the user sees
  them), :func:`bgr_to_qimage`, :func:`aim_at_rig` (the 3D view of a camera rig).

Colours come from :mod:`app.theme`: widgets set dynamic properties (``level``) that
``app/theme/calibration.qss`` selects on, and painting takes :data:`app.theme.PALETTE` colours.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import PALETTE, set_style_property
from app.widgets.build import framed, make_label
from app.widgets.formatting import number
from core.camera import CameraGroup

#: How long a "kept" flash stays on a preview, milliseconds.
FLASH_MS = 450
#: The verdicts (and figure levels) the stylesheet colours: good, usable, poor.
VERDICTS = ("good", "usable", "poor")
#: Palette colour of each message level (banners, status dots).
LEVEL_PALETTE = {"info": "accent", "success": "good", "warning": "warn", "error": "bad"}


def fmt(v: float | None, digits: int = 2, unit: str = "") -> str:
    """``v`` with ``digits`` decimals and ``unit`` ("—" for None or a non-finite value)."""
    return number(v, digits, unit, missing="—")


def user_text(text: str) -> str:
    """An engine message with the cameras named as the wizard names them: ``cam_0`` / ``Camera 0`` -> "camera 1"."""
    text = re.sub(r"\b([Cc]amera) ([01])\b", lambda m: f"{m[1]} {int(m[2]) + 1}", text)
    text = re.sub(r"\bcam_([01])\b", lambda m: f"camera {int(m[1]) + 1}", text)
    return text[:1].upper() + text[1:]


def level_of(v: float | None, good: float, usable: float) -> str | None:
    """The verdict level of an error ``v`` (px): "good" below ``good``, "usable" below ``usable``, else "poor"."""
    if v is None or not np.isfinite(v):
        return None
    return "good" if v < good else "usable" if v < usable else "poor"


def bgr_to_qimage(image: np.ndarray) -> QtGui.QImage:
    """A QImage that owns a copy of a BGR ``(H, W, 3)`` uint8 (or grey ``(H, W)``) image."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


def panel(title: str = "") -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    """A framed box (``QFrame#panel``) with an optional section title; returns the frame and its layout."""
    frame, lay = framed("panel", "v", (12, 10, 12, 12), 8)
    if title:
        t = make_label(title, "sectionTitle")
        lay.addWidget(t)
    return frame, lay


def path_row(placeholder: str) -> tuple[QtWidgets.QLineEdit, QtWidgets.QPushButton, QtWidgets.QHBoxLayout]:
    """A path field with a "Browse…" button: the field, the button and their row."""
    edit = QtWidgets.QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    button = QtWidgets.QPushButton("Browse…")
    row = QtWidgets.QHBoxLayout()
    row.setSpacing(6)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return edit, button, row


def figure_label(value: str, level: str | None = None) -> QtWidgets.QLabel:
    """A figure's value (``QLabel#figureValue``), coloured by its verdict ``level`` (good / usable / poor)."""
    label = make_label(value, "figureValue")
    if level in VERDICTS:
        label.setProperty("level", level)
    return label


def clear_grid(grid: QtWidgets.QGridLayout) -> None:
    """Remove (and delete) every widget of ``grid``."""
    while grid.count():
        item = grid.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()


def aim_at_rig(view, group: CameraGroup, points: np.ndarray, margin: float = 1.15, elevation_deg: float = 28.0) -> None:
    """Frame a camera rig in a ``SkeletonView``: fit ``points`` ``(N, 3)`` (world, metres) with
    :meth:`~app.widgets.skeleton_view.SkeletonView.fit_to` and look from behind and above the cameras, along
    their mean viewing direction."""
    view.fit_to(points, margin=margin)
    axes = np.stack([c.R[2] for c in group])  # optical axes in the world (rows of R are camera axes)
    d = view.world_to_display(axes.mean(axis=0))
    if np.hypot(d[0], d[1]) > 1e-6:
        azimuth = float(np.degrees(np.arctan2(-d[1], -d[0])))
        view.setCameraPosition(azimuth=azimuth, elevation=elevation_deg)


# ----------------------------------------------------------------------------------------------- widgets
class Banner(QtWidgets.QFrame):
    """A coloured message strip (``level``: info / success / warning / error); hidden when empty."""

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
        set_style_property(self, "level", level if level in LEVEL_PALETTE else "info")
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
        self.caption = make_label(caption, "tileCaption")
        self.value = make_label("—", "tileValue")
        lay.addWidget(self.caption)
        lay.addWidget(self.value)

    def set(self, value: str, level: str | None = None, tooltip: str = "") -> None:
        """Show ``value``, coloured by ``level`` (good / usable / poor; None: plain)."""
        self.value.setText(value)
        set_style_property(self.value, "level", level if level in VERDICTS else "")
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
        self._corner_colour = PALETTE.qcolor("good")
        self._bones: np.ndarray | None = None
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

    def set_corners(self, corners: np.ndarray | None, colour: str = "good", bones: np.ndarray | None = None) -> None:
        """Show ``corners`` ``(N, 2)`` full-resolution px (NaN: not shown) in the palette colour ``colour``, outlined
        by their convex hull, or, with ``bones`` ``(B, 2)`` index pairs, joined as a skeleton."""
        self._corners = None if corners is None or not len(corners) else np.asarray(corners, float)
        self._corner_colour = PALETTE.qcolor(colour)
        self._bones = None if bones is None else np.asarray(bones, int)
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
        p.fillRect(self.rect(), PALETTE.qcolor("base"))
        font = QtGui.QFont(self.font())
        if self._image is None:
            p.setPen(PALETTE.qcolor("muted"))
            p.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap,
                self._message,
            )
        else:
            self._paint_picture(p)
        font.setPointSizeF(max(8.5, font.pointSizeF()))
        p.setFont(font)
        fm = QtGui.QFontMetrics(font)
        self._paint_caption(p, fm)
        self._paint_status(p, fm)
        p.end()

    def _paint_picture(self, p: QtGui.QPainter) -> None:
        """The image, the heat map, the corners and the "kept" flash."""
        assert self._image is not None
        r = self.image_rect()
        p.drawImage(r, self._image)
        if self._show_heat and self._heat is not None and self._heat.size:
            self._paint_heat(p, r)
        if self._corners is not None:
            k = r.width() / self._image.width() * self._scale  # widget px per full-res px
            self._paint_corners(p, self._corners * k + np.array([r.left(), r.top()]), r)
        if QtCore.QDateTime.currentMSecsSinceEpoch() < self._flash_until:
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.setPen(QtGui.QPen(PALETTE.qcolor("good"), 5))
            p.drawRect(r.adjusted(2, 2, -2, -2))

    def _paint_heat(self, p: QtGui.QPainter, r: QtCore.QRectF) -> None:
        """Coverage cells over the image rectangle ``r``: red where the board never was, greener the more views."""
        assert self._heat is not None
        gy, gx = self._heat.shape
        cw, ch = r.width() / gx, r.height() / gy
        for iy in range(gy):
            for ix in range(gx):
                n = self._heat[iy, ix]
                cell = QtCore.QRectF(r.left() + ix * cw, r.top() + iy * ch, cw, ch)
                col = (
                    PALETTE.qcolor("bad", 52 / 255)
                    if n <= 0
                    else PALETTE.qcolor("good", int(50 + 30 * min(n, 4)) / 255)
                )
                p.fillRect(cell, col)
        p.setPen(QtGui.QPen(PALETTE.qcolor("white", 40 / 255), 1))
        for ix in range(1, gx):
            p.drawLine(QtCore.QPointF(r.left() + ix * cw, r.top()), QtCore.QPointF(r.left() + ix * cw, r.bottom()))
        for iy in range(1, gy):
            p.drawLine(QtCore.QPointF(r.left(), r.top() + iy * ch), QtCore.QPointF(r.right(), r.top() + iy * ch))

    def _paint_corners(self, p: QtGui.QPainter, pts: np.ndarray, r: QtCore.QRectF) -> None:
        """The corners ``(N, 2)`` (widget px) as dots, and their convex hull."""
        rad = max(2.5, min(6.0, r.width() / 220))
        if self._bones is not None:
            p.setPen(QtGui.QPen(self._corner_colour, 2))
            for a, b in self._bones:
                if np.isfinite(pts[[a, b]]).all():
                    p.drawLine(QtCore.QPointF(*pts[a]), QtCore.QPointF(*pts[b]))
        p.setPen(QtGui.QPen(PALETTE.qcolor("corner_outline", 200 / 255), 1.2))
        p.setBrush(self._corner_colour)
        for x, y in pts[np.isfinite(pts).all(axis=1)]:
            p.drawEllipse(QtCore.QPointF(x, y), rad, rad)
        if self._bones is not None:
            return
        hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2) if len(pts) >= 3 else pts
        poly = QtGui.QPolygonF([QtCore.QPointF(float(x), float(y)) for x, y in hull])
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.setPen(QtGui.QPen(self._corner_colour, 2))
        p.drawPolygon(poly)

    def _paint_caption(self, p: QtGui.QPainter, fm: QtGui.QFontMetrics) -> None:
        """The title and caption chip at the top left."""
        caption = " · ".join(t for t in (self._title, self._caption) if t)
        if not caption:
            return
        tw = fm.horizontalAdvance(caption) + 16
        box = QtCore.QRectF(8, 8, min(tw, self.width() - 16), fm.height() + 8)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(PALETTE.qcolor("frame_chip", 200 / 255))
        p.drawRoundedRect(box, 5, 5)
        p.setPen(PALETTE.qcolor("text"))
        p.drawText(
            box.adjusted(8, 0, -4, 0),
            QtCore.Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(caption, QtCore.Qt.TextElideMode.ElideRight, int(box.width() - 12)),
        )

    def _paint_status(self, p: QtGui.QPainter, fm: QtGui.QFontMetrics) -> None:
        """The status chip at the bottom, with a dot in the colour of its level."""
        if not self._status:
            return
        avail = self.width() - 16
        rect = fm.boundingRect(QtCore.QRect(0, 0, int(avail - 24), 1000), QtCore.Qt.TextFlag.TextWordWrap, self._status)
        box = QtCore.QRectF(8, self.height() - rect.height() - 18, min(rect.width() + 28, avail), rect.height() + 10)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(PALETTE.qcolor("frame_chip", 215 / 255))
        p.drawRoundedRect(box, 5, 5)
        p.setBrush(PALETTE.qcolor(LEVEL_PALETTE.get(self._status_level, "accent")))
        p.drawEllipse(QtCore.QPointF(box.left() + 11, box.top() + 5 + fm.height() / 2), 4, 4)
        p.setPen(PALETTE.qcolor("text"))
        p.drawText(box.adjusted(20, 5, -6, -5), QtCore.Qt.TextFlag.TextWordWrap, self._status)
