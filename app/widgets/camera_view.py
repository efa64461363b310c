"""CameraView: one camera's live preview with its 2D skeleton drawn over it. Qt only.

Frames are ``(H, W, 3)`` BGR ``uint8``; keypoints are ``(17, 3)`` ``[x_px, y_px, confidence]`` and boxes
``(x0, y0, x1, y1)``, both in FULL-image pixels. Each new frame is downscaled once to the size it is shown at
(``cv2.resize``), converted to 32-bit BGRX and wrapped in a ``QImage`` that shares that array's memory (no
further copy); painting then blits it without any per-paint conversion. Joints and bones are coloured by
confidence from red (0) through amber (0.5) to green (1). A left click on the picture emits
:attr:`CameraView.personClicked` with the full-image pixel clicked.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import PALETTE
from core.capture import Frame
from core.skeleton import BONES, NUM_JOINTS

#: Confidence -> colour stops (RGB 0-255): red, amber, green.
CONF_STOPS = np.array([0.0, 0.5, 1.0])
CONF_COLOURS = np.array([PALETTE.rgb("bad"), PALETTE.rgb("warn"), PALETTE.rgb("good")], dtype=np.float64)
#: How long the ring marking a click stays visible, milliseconds.
CLICK_MARK_MS = 700


def confidence_colours(conf: np.ndarray) -> np.ndarray:
    """``(N,)`` confidences (clipped to [0, 1], NaN = 0) -> ``(N, 3)`` uint8 RGB, red (low) to green (high)."""
    c = np.clip(np.nan_to_num(np.asarray(conf, dtype=np.float64)), 0.0, 1.0)
    rgb = np.stack([np.interp(c, CONF_STOPS, CONF_COLOURS[:, k]) for k in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


def person_box(
    keypoints: np.ndarray, min_confidence: float = 0.3, pad: float = 0.08
) -> tuple[float, float, float, float] | None:
    """Box ``(x0, y0, x1, y1)`` px around the confident joints of ``(17, 3)`` keypoints, padded by ``pad`` of
    its size on each side; None with fewer than 4 confident joints."""
    kp = np.asarray(keypoints, dtype=np.float64)
    ok = (np.nan_to_num(kp[:, 2]) >= min_confidence) & np.isfinite(kp[:, :2]).all(axis=1)
    if ok.sum() < 4:
        return None
    lo, hi = kp[ok, :2].min(axis=0), kp[ok, :2].max(axis=0)
    margin = pad * (hi - lo)
    (x0, y0), (x1, y1) = lo - margin, hi + margin
    return float(x0), float(y0), float(x1), float(y1)


def _qcolor(rgb: np.ndarray, alpha: float = 1.0) -> QtGui.QColor:
    return QtGui.QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), int(round(255 * alpha)))


class CameraView(QtWidgets.QWidget):
    """A live camera preview with the 2D skeleton, the followed person's box and status messages."""

    #: (view index, x_px, y_px): the user clicked this full-image pixel (to pick a person).
    personClicked = QtCore.Signal(int, float, float)

    def __init__(self, index: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = int(index)
        self.setObjectName(f"cameraView{index}")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._title = f"Camera {index + 1}"
        self._info = ""
        self._message = "No picture"
        self._problem: str | None = None
        self._frame: Frame | None = None
        self._image: QtGui.QImage | None = None
        self._buf: np.ndarray | None = None  # the pixels the QImage points into
        self._image_size = (0, 0)  # full-image (w, h) px
        self._rect = QtCore.QRectF()  # where the picture is drawn, widget px
        self._keypoints: np.ndarray | None = None
        self._others: list[np.ndarray] = []
        self._box: tuple[float, float, float, float] | None = None
        self._faded = False
        self._click: QtCore.QPointF | None = None
        self._clickable = False
        self.frames_shown = 0

    # --- content ------------------------------------------------------------------------------------------------

    def set_title(self, title: str) -> None:
        self._title = title
        self.update()

    def title(self) -> str:
        return self._title

    def set_info(self, text: str) -> None:
        """Secondary text beside the title (resolution, fps)."""
        if text != self._info:
            self._info = text
            self.update()

    def set_message(self, text: str) -> None:
        """Text shown while there is no picture."""
        self._message = text
        self.update()

    def set_problem(self, text: str | None) -> None:
        """A camera problem shown across the view (None clears it); the last picture stays visible under it."""
        if text != self._problem:
            self._problem = text
            self.update()

    def problem(self) -> str | None:
        return self._problem

    def set_clickable(self, clickable: bool) -> None:
        """Whether clicks select a person (the cursor shows it)."""
        self._clickable = bool(clickable)
        cursor = QtCore.Qt.CursorShape.PointingHandCursor if clickable else QtCore.Qt.CursorShape.ArrowCursor
        self.setCursor(cursor)
        self.setToolTip("Click a person to follow them" if clickable else "")

    def set_frame(self, frame: Frame | None) -> bool:
        """Show ``frame`` (downscaled to the widget once); False when it is already shown or None."""
        if frame is None or frame is self._frame:
            return False
        self._frame = frame
        self._rescale()
        self.frames_shown += 1
        self.update()
        return True

    def frame(self) -> Frame | None:
        """The frame shown."""
        return self._frame

    def set_pose(
        self,
        keypoints: np.ndarray | None,
        box: tuple[float, float, float, float] | None = None,
        faded: bool = False,
    ) -> None:
        """The 2D skeleton ``(17, 3)`` px+confidence and the followed person's box (full-image px); None hides.

        ``faded`` draws them translucent (an old result, e.g. while pairing stalls).
        """
        kp = None if keypoints is None else np.asarray(keypoints, dtype=np.float64)
        if kp is not None and kp.shape != (NUM_JOINTS, 3):
            raise ValueError(f"set_pose expects ({NUM_JOINTS}, 3) [x_px, y_px, conf], got shape {kp.shape}")
        self._keypoints, self._box, self._faded = kp, box, bool(faded)
        self.update()

    def set_others(self, people: list[np.ndarray]) -> None:
        """Everyone else in view, ``(17, 3)`` px+confidence each: drawn faintly under the followed person."""
        self._others = [np.asarray(k, dtype=np.float64) for k in people]
        self.update()

    def others(self) -> list[np.ndarray]:
        return [k.copy() for k in self._others]

    def pose(self) -> np.ndarray | None:
        return None if self._keypoints is None else self._keypoints.copy()

    def clear(self) -> None:
        """Forget the picture, the pose and any problem."""
        self._frame = self._image = self._buf = None
        self._image_size = (0, 0)
        self._keypoints = self._box = None
        self._others = []
        self._problem = None
        self._info = ""
        self.update()

    # --- geometry -------------------------------------------------------------------------------------------------

    def image_rect(self) -> QtCore.QRectF:
        """Where the picture is drawn, in widget coordinates."""
        return QtCore.QRectF(self._rect)

    def _fit(self, w: int, h: int) -> QtCore.QRectF:
        if w <= 0 or h <= 0 or self.width() <= 0 or self.height() <= 0:
            return QtCore.QRectF()
        s = min(self.width() / w, self.height() / h)
        dw, dh = w * s, h * s
        return QtCore.QRectF((self.width() - dw) / 2, (self.height() - dh) / 2, dw, dh)

    def image_to_widget(self, xy: np.ndarray) -> np.ndarray:
        """Full-image pixels ``(..., 2)`` -> widget coordinates ``(..., 2)``."""
        w = self._image_size[0]
        s = self._rect.width() / w if w else 0.0
        return np.asarray(xy, dtype=np.float64) * s + np.array([self._rect.left(), self._rect.top()])

    def widget_to_image(self, pos: QtCore.QPointF) -> tuple[float, float] | None:
        """Widget coordinates -> full-image pixels; None outside the picture."""
        if self._image is None or not self._rect.contains(pos):
            return None
        s = self._rect.width() / self._image_size[0]
        return (pos.x() - self._rect.left()) / s, (pos.y() - self._rect.top()) / s

    def _rescale(self) -> None:
        if self._frame is None:
            return
        img = self._frame.image
        h, w = img.shape[:2]
        self._image_size = (w, h)
        self._rect = self._fit(w, h)
        dpr = self.devicePixelRatioF()
        tw, th = max(1, round(self._rect.width() * dpr)), max(1, round(self._rect.height() * dpr))
        if (tw, th) == (w, h):
            small = img
        elif tw * 2 < w:
            # strong downscale: bilinear to twice the target, then a 2x2 box filter. Nearly INTER_AREA's
            # quality (no aliasing) at a quarter of its cost (1.4 vs 5.4 ms for 1080x1920 -> 290x515)
            small = cv2.resize(img, (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
            small = cv2.resize(small, (tw, th), interpolation=cv2.INTER_AREA)
        else:
            small = cv2.resize(img, (tw, th), interpolation=cv2.INTER_LINEAR)
        # 32-bit BGRX is QImage's native RGB32 layout: painting then blits without a per-paint conversion
        buf = cv2.cvtColor(small, cv2.COLOR_BGR2BGRA)
        qimg = QtGui.QImage(buf.data, tw, th, buf.strides[0], QtGui.QImage.Format.Format_RGB32)
        qimg.setDevicePixelRatio(dpr)
        self._buf, self._image = buf, qimg

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    # --- input ------------------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            pos = event.position()
            xy = self.widget_to_image(pos)
            if xy is not None:
                self._click = QtCore.QPointF(pos)
                QtCore.QTimer.singleShot(CLICK_MARK_MS, self._clear_click)
                self.update()
                self.personClicked.emit(self.index, float(xy[0]), float(xy[1]))
                event.accept()
                return
        super().mousePressEvent(event)

    def _clear_click(self) -> None:
        self._click = None
        self.update()

    # --- painting --------------------------------------------------------------------------------------------------

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        try:
            p.fillRect(self.rect(), PALETTE.qcolor("base"))
            p.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing | QtGui.QPainter.RenderHint.TextAntialiasing)
            if self._image is not None:
                p.drawImage(self._rect.topLeft(), self._image)
                self._paint_pose(p)
            else:
                p.setPen(PALETTE.qcolor("muted"))
                p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, self._message)
            self._paint_title(p)
            if self._click is not None:
                p.setPen(QtGui.QPen(PALETTE.qcolor("accent"), 2.5))
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                p.drawEllipse(self._click, 14, 14)
            if self._problem:
                self._paint_problem(p)
        finally:
            p.end()

    def _paint_pose(self, p: QtGui.QPainter) -> None:
        alpha = 0.35 if self._faded else 1.0
        scale = self._rect.width() / max(self._image_size[0], 1)
        if self._box is not None and all(np.isfinite(self._box)):
            (x0, y0), (x1, y1) = self.image_to_widget(np.array(self._box, dtype=np.float64).reshape(2, 2))
            pen = QtGui.QPen(_qcolor(np.array([62, 166, 245]), 0.9 * alpha), 1.6, QtCore.Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(QtCore.QRectF(QtCore.QPointF(x0, y0), QtCore.QPointF(x1, y1)))
            tag = "following"
            fm = p.fontMetrics()
            tr = QtCore.QRectF(x0, y0 - fm.height() - 4, fm.horizontalAdvance(tag) + 10, fm.height() + 4)
            tr.moveTop(max(tr.top(), self._rect.top()))
            p.fillRect(tr, _qcolor(np.array([62, 166, 245]), 0.8 * alpha))
            p.setPen(PALETTE.qcolor("white", alpha))
            p.drawText(tr, QtCore.Qt.AlignmentFlag.AlignCenter, tag)
        self._paint_others(p, scale)
        kp = self._keypoints
        if kp is None:
            return
        uv = self.image_to_widget(kp[:, :2])  # (17, 2) widget px
        conf = kp[:, 2]
        ok = np.isfinite(uv).all(axis=1) & (conf > 0)
        bone_ok = ok[BONES[:, 0]] & ok[BONES[:, 1]]
        bone_rgb = confidence_colours(np.minimum(conf[BONES[:, 0]], conf[BONES[:, 1]]))
        width = float(np.clip(8.0 * scale, 2.0, 4.5))  # px: thin on small previews
        for b in np.flatnonzero(bone_ok):
            (xa, ya), (xb, yb) = uv[BONES[b, 0]], uv[BONES[b, 1]]
            pen = QtGui.QPen(_qcolor(bone_rgb[b], 0.9 * alpha), width)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawLine(QtCore.QPointF(xa, ya), QtCore.QPointF(xb, yb))
        joint_rgb = confidence_colours(conf)
        r = width + 1.5
        p.setPen(QtGui.QPen(PALETTE.qcolor("shadow", 220 / 255 * alpha), 1.2))
        for j in np.flatnonzero(ok):
            p.setBrush(_qcolor(joint_rgb[j], alpha))
            p.drawEllipse(QtCore.QPointF(uv[j, 0], uv[j, 1]), r, r)
        self._paint_legend(p)

    def _paint_others(self, p: QtGui.QPainter, scale: float) -> None:
        """The people not followed: thin, translucent, one colour (a click on one follows them)."""
        width = float(np.clip(6.0 * scale, 2.0, 3.5))
        pen = QtGui.QPen(PALETTE.qcolor("white", 0.7), width, QtCore.Qt.PenStyle.DashLine)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        for kp in self._others:
            uv = self.image_to_widget(kp[:, :2])
            ok = np.isfinite(uv).all(axis=1) & (kp[:, 2] > 0.3)
            for a, b in BONES[ok[BONES[:, 0]] & ok[BONES[:, 1]]]:
                p.drawLine(QtCore.QPointF(*uv[a]), QtCore.QPointF(*uv[b]))

    def _paint_legend(self, p: QtGui.QPainter) -> None:
        """A small 'confidence 0 -> 1' colour bar in the picture's bottom-right corner."""
        fm = p.fontMetrics()
        bar_w, bar_h = 70.0, 6.0
        label = "confidence"
        w = fm.horizontalAdvance(label) + bar_w + 26
        box = QtCore.QRectF(self._rect.right() - w - 8, self._rect.bottom() - fm.height() - 14, w, fm.height() + 8)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(PALETTE.qcolor("overlay", 190 / 255))
        p.drawRoundedRect(box, 5, 5)
        p.setPen(PALETTE.qcolor("text"))
        p.drawText(box.adjusted(8, 0, 0, 0), QtCore.Qt.AlignmentFlag.AlignVCenter, label)
        x = box.left() + 14 + fm.horizontalAdvance(label)
        grad = QtGui.QLinearGradient(x, 0, x + bar_w, 0)
        for s, rgb in zip(CONF_STOPS, CONF_COLOURS, strict=True):
            grad.setColorAt(float(s), _qcolor(rgb))
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QBrush(grad))
        p.drawRoundedRect(QtCore.QRectF(x, box.center().y() - bar_h / 2, bar_w, bar_h), 3, 3)

    def _paint_title(self, p: QtGui.QPainter) -> None:
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        fm_b = QtGui.QFontMetrics(bold)
        fm = QtGui.QFontMetrics(self.font())
        info = f"  {self._info}" if self._info else ""
        w = fm_b.horizontalAdvance(self._title) + fm.horizontalAdvance(info) + 20
        top_left = self._rect.topLeft() if self._image is not None else QtCore.QPointF(0, 0)
        box = QtCore.QRectF(top_left.x() + 8, top_left.y() + 8, w, fm_b.height() + 8)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(PALETTE.qcolor("overlay", 200 / 255))
        p.drawRoundedRect(box, 6, 6)
        p.setFont(bold)
        p.setPen(PALETTE.qcolor("text"))
        text_rect = box.adjusted(10, 0, 0, 0)
        p.drawText(text_rect, QtCore.Qt.AlignmentFlag.AlignVCenter, self._title)
        if info:
            p.setFont(self.font())
            p.setPen(PALETTE.qcolor("muted"))
            info_rect = text_rect.adjusted(fm_b.horizontalAdvance(self._title), 0, 0, 0)
            p.drawText(info_rect, QtCore.Qt.AlignmentFlag.AlignVCenter, info)

    def _paint_problem(self, p: QtGui.QPainter) -> None:
        area = self._rect if self._image is not None else QtCore.QRectF(self.rect())
        margin = 12.0
        width = area.width() - 2 * margin
        flags = QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignCenter
        fm = p.fontMetrics()
        text_rect = fm.boundingRect(QtCore.QRect(0, 0, int(width - 24), 10_000), int(flags), self._problem or "")
        h = text_rect.height() + 20
        box = QtCore.QRectF(area.left() + margin, area.center().y() - h / 2, width, h)
        p.setPen(QtGui.QPen(PALETTE.qcolor("bad", 230 / 255), 1.2))
        p.setBrush(PALETTE.qcolor("problem_fill", 215 / 255))
        p.drawRoundedRect(box, 8, 8)
        p.setPen(PALETTE.qcolor("problem_text"))
        p.drawText(box.adjusted(12, 10, -12, -10), int(flags), self._problem or "")
