"""Replay of a recorded or imported session: both videos with their 2D skeletons, the 3D skeleton (triangulated
and refined, side by side or overlaid) and per-joint plots, all on ONE timeline. Qt only.

- Frames are decoded by :class:`app.session_workers.PairDecoder` in its own thread with a small cache; the
  GUI asks for the pair under the cursor and shows it when it arrives (the newest request wins), so scrubbing
  never waits for a decoder. Session data is loaded by a worker too (:func:`app.session_workers.load_replay_task`).
- Timeline: play / pause (Space), step back / forward (Left / Right), a slider to scrub, speed 0.25×–2×.
  Playback follows the pairs' capture times (``time_s``) times the speed; pairs the decoder cannot reach in
  time are skipped, never queued.
- Plots (pyqtgraph): the chosen joint's trajectory (x / y / z over time, metres, world frame), its reprojection
  error (pixels) and the lengths of its bones (metres), raw and refined; a vertical line marks the current
  pair; clicking a plot jumps to the pair at that time.

Units: seconds (time), pixels (2D, reprojection error), metres (3D, bone lengths).
"""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.session_workers import DecodedPair, PairDecoder, ReplayData, Task, load_replay_task
from app.style import ACCENT, BASE, BORDER, MUTED, PANEL, TEXT, WINDOW
from app.widgets.camera_view import CameraView
from app.widgets.skeleton_view import AXIS_COLOURS, UP_AXES, SkeletonStyle, SkeletonView
from core import skeleton as sk

log = logging.getLogger(__name__)

#: Skeleton names in the 3D views (they are the legend's text).
RAW_NAME = "Triangulated (raw)"
REFINED_NAME = "Refined"
#: Overlay mode: one colour per skeleton so the two read apart at a glance.
RAW_OVERLAY_STYLE = SkeletonStyle(
    right=(0.98, 0.70, 0.25, 0.80), left=(0.98, 0.70, 0.25, 0.80), mid=(0.98, 0.70, 0.25, 0.80), bone_width_px=3.0
)
REFINED_OVERLAY_STYLE = SkeletonStyle(
    right=(0.30, 0.82, 0.98, 1.0), left=(0.30, 0.82, 0.98, 1.0), mid=(0.30, 0.82, 0.98, 1.0)
)
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0)
#: Playback timer period, milliseconds.
PLAY_INTERVAL_MS = 15
#: The joint plotted when a session opens.
DEFAULT_JOINT = "right_wrist"
COMPARE_SIDE, COMPARE_OVERLAY = "side", "overlay"

_STYLESHEET = f"""
QWidget#replayPanel {{ background: {WINDOW}; }}
QFrame#timeline {{ background: {BASE}; border-top: 1px solid {BORDER}; border-bottom: 1px solid {BORDER}; }}
QLabel#frameLabel {{ color: {TEXT}; font-family: monospace; font-size: 12px; }}
QLabel#panelTitle {{ color: {TEXT}; font-weight: 700; font-size: 13px; }}
QLabel#caption {{ color: {MUTED}; }}
QLabel#liveNote {{
    color: #ffe2a8; background: rgba(245, 165, 62, 0.10); border: 1px solid rgba(245, 165, 62, 0.4);
    border-radius: 6px; padding: 3px 8px; font-size: 11px;
}}
QLabel#plotTitle {{ color: {TEXT}; font-size: 12px; }}
QLabel#plotLegend {{ color: {MUTED}; font-size: 11px; }}
QLabel#no3dBanner {{
    color: {TEXT}; background: rgba(20, 22, 28, 0.86); border: 1px solid {BORDER}; border-radius: 8px;
    padding: 6px 12px;
}}
QToolButton#mediaButton {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px; padding: 4px;
}}
QToolButton#mediaButton:hover {{ border-color: {ACCENT}; }}
QToolButton#playButton {{ background: {ACCENT}; border: 1px solid {ACCENT}; border-radius: 6px; padding: 4px; }}
QPushButton#segment {{ border-radius: 0; padding: 4px 12px; }}
QPushButton#segment:checked {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
QPushButton#segment:disabled {{ color: #5d6470; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 14px; margin: -5px 0; border-radius: 7px; }}
QComboBox QAbstractItemView {{ background: {PANEL}; color: {TEXT}; selection-background-color: {ACCENT}; }}
QSplitter::handle {{ background: {BORDER}; }}
"""


def media_icon(kind: str, colour: str = TEXT, size: int = 18) -> QtGui.QIcon:
    """A crisp media icon drawn with QPainter: ``play``, ``pause``, ``back`` (step back), ``forward``."""
    pm = QtGui.QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(colour))
    s = float(size)

    def tri(x0: float, x1: float) -> None:  # pointing right when x1 > x0
        pts = [QtCore.QPointF(x0, 0.2 * s), QtCore.QPointF(x1, 0.5 * s), QtCore.QPointF(x0, 0.8 * s)]
        p.drawPolygon(QtGui.QPolygonF(pts))

    if kind == "play":
        tri(0.28 * s, 0.80 * s)
    elif kind == "pause":
        p.drawRoundedRect(QtCore.QRectF(0.26 * s, 0.2 * s, 0.16 * s, 0.6 * s), 1.5, 1.5)
        p.drawRoundedRect(QtCore.QRectF(0.58 * s, 0.2 * s, 0.16 * s, 0.6 * s), 1.5, 1.5)
    elif kind == "back":
        p.drawRect(QtCore.QRectF(0.22 * s, 0.22 * s, 0.12 * s, 0.56 * s))
        tri(0.78 * s, 0.36 * s)
    elif kind == "forward":
        tri(0.22 * s, 0.64 * s)
        p.drawRect(QtCore.QRectF(0.66 * s, 0.22 * s, 0.12 * s, 0.56 * s))
    p.end()
    return QtGui.QIcon(pm)


def _fmt_time(t: float) -> str:
    if not math.isfinite(t):
        return "–"
    m, s = divmod(max(t, 0.0), 60.0)
    return f"{int(m)}:{s:05.2f}"


def _pretty(name: str) -> str:
    return name.replace("_", " ")


class LinkedSkeletonView(SkeletonView):
    """A SkeletonView whose camera (orbit, pan, zoom) follows and leads its linked peers."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._peers: list[LinkedSkeletonView] = []

    def link(self, other: LinkedSkeletonView) -> None:
        if other not in self._peers:
            self._peers.append(other)
            other.link(self)

    def sync_peers(self) -> None:
        for peer in self._peers:
            for key in ("center", "distance", "elevation", "azimuth", "fov"):
                value = self.opts[key]
                peer.opts[key] = QtGui.QVector3D(value) if isinstance(value, QtGui.QVector3D) else value
            peer.update()

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:
        super().mouseMoveEvent(ev)
        self.sync_peers()

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        # the field of view is horizontal: keep what is seen along the shorter side when the shape changes
        # (e.g. side by side <-> overlay doubles the width), so the skeleton keeps its size on screen
        old, new = ev.oldSize(), ev.size()
        if min(old.width(), old.height(), new.width(), new.height()) > 0:
            before = min(old.width(), old.height()) / old.width()
            after = min(new.width(), new.height()) / new.width()
            self.opts["distance"] *= before / after
        super().resizeEvent(ev)

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:
        super().wheelEvent(ev)
        self.sync_peers()


class ClickablePlot(pg.PlotWidget):
    """A time plot whose left clicks report the time (x) clicked; a vertical line marks the current time."""

    timeClicked = QtCore.Signal(float)

    def __init__(self, y_label: str) -> None:
        super().__init__(background=BASE)
        self.setMinimumHeight(120)
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(BORDER))
            axis.setTextPen(pg.mkPen(MUTED))
            axis.enableAutoSIPrefix(False)
        item.setLabel("left", y_label, color=MUTED)
        item.setLabel("bottom", "time (s)", color=MUTED)
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.getViewBox().setDefaultPadding(0.04)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(ACCENT, width=1.5))
        self.cursor.setZValue(50)
        item.addItem(self.cursor, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.curves: dict[str, pg.PlotDataItem] = {}

    def _on_click(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.getPlotItem().getViewBox()
        pos = ev.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        ev.accept()
        self.timeClicked.emit(float(vb.mapSceneToView(pos).x()))

    def clear_curves(self) -> None:
        item = self.getPlotItem()
        for c in self.curves.values():
            item.removeItem(c)
        self.curves.clear()

    def add_curve(self, key: str, x: np.ndarray, y: np.ndarray, pen: QtGui.QPen) -> None:
        curve = pg.PlotDataItem(x, y, pen=pen, connect="finite")
        self.getPlotItem().addItem(curve)
        self.curves[key] = curve

    def to_widget(self, x: float, y: float) -> QtCore.QPoint:
        """The widget pixel of data point (x, y) (tests click it)."""
        scene = self.getPlotItem().getViewBox().mapViewToScene(QtCore.QPointF(x, y))
        return self.mapFromScene(scene)


class _PlotPanel(QtWidgets.QWidget):
    """A title, a colour legend (outside the data, so it never hides a curve) and a :class:`ClickablePlot`."""

    def __init__(self, y_label: str) -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        head = QtWidgets.QHBoxLayout()
        head.setContentsMargins(6, 0, 6, 0)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("plotTitle")
        head.addWidget(self.title)
        head.addStretch(1)
        lay.addLayout(head)
        self.legend = QtWidgets.QLabel()
        self.legend.setObjectName("plotLegend")
        self.legend.setWordWrap(True)
        self.legend.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(self.legend)
        self.plot = ClickablePlot(y_label)
        lay.addWidget(self.plot, 1)

    def set_legend(self, entries: list[tuple[QtGui.QColor, str]]) -> None:
        parts = [
            f'<span style="color:{c.name()}; font-weight:900;">&#9644;</span>&nbsp;{label}' for c, label in entries
        ]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(parts))


class JointPlots(QtWidgets.QWidget):
    """Per-joint plots over the whole session: trajectory, reprojection error, bone lengths.

    ``jumpRequested(pair_index)`` when a plot is clicked.
    """

    jumpRequested = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._time = np.zeros(0)
        self._all_time = np.zeros(0)
        self._coarse: np.ndarray | None = None
        self._refined: np.ndarray | None = None
        self._err: np.ndarray | None = None
        self._up = "+z"
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(10)
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(6)
        title = QtWidgets.QLabel("Joint")
        title.setObjectName("panelTitle")
        side.addWidget(title)
        self.joint_combo = QtWidgets.QComboBox()
        self.joint_combo.setObjectName("jointCombo")
        for j, name in enumerate(sk.JOINT_NAMES):
            self.joint_combo.addItem(_pretty(name), j)
        self.joint_combo.setCurrentIndex(sk.JOINT_INDEX[DEFAULT_JOINT])
        self.joint_combo.currentIndexChanged.connect(self._redraw)
        side.addWidget(self.joint_combo)
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("caption")
        self.note.setWordWrap(True)
        self.note.setFixedWidth(150)
        side.addWidget(self.note)
        hint = QtWidgets.QLabel("Click a plot to jump to that moment.")
        hint.setObjectName("caption")
        hint.setWordWrap(True)
        hint.setFixedWidth(150)
        side.addWidget(hint)
        side.addStretch(1)
        lay.addLayout(side)
        self.panels = [_PlotPanel("position (m)"), _PlotPanel("error (px)"), _PlotPanel("length (m)")]
        self.trajectory, self.reprojection, self.bones = (p.plot for p in self.panels)
        for panel in self.panels:
            panel.plot.timeClicked.connect(self._on_time_clicked)
            lay.addWidget(panel, 1)

    def plots(self) -> list[ClickablePlot]:
        return [self.trajectory, self.reprojection, self.bones]

    def joint(self) -> int:
        return int(self.joint_combo.currentData())

    def set_joint(self, joint: int | str) -> None:
        j = sk.JOINT_INDEX[joint] if isinstance(joint, str) else int(joint)
        self.joint_combo.setCurrentIndex(j)

    def set_data(
        self,
        time_s: np.ndarray,
        coarse: np.ndarray | None,
        refined: np.ndarray | None,
        reprojection_error_px: np.ndarray | None,
        world_up: str = "+z",
        keep: np.ndarray | None = None,
    ) -> None:
        """``time_s (P,)`` s; ``coarse``/``refined`` ``(P, 17, 3)`` m (or None); errors ``(P, 17)`` px.
        ``keep (P,)`` bool: the pairs to plot (pairs without any result are left out so lines join across them;
        pairs processed without a 3D stay as gaps)."""
        self._all_time = np.asarray(time_s, np.float64)
        sel = np.ones(len(self._all_time), bool) if keep is None else np.asarray(keep, bool)
        self._time = self._all_time[sel]
        self._coarse = coarse[sel] if coarse is not None else None
        self._refined = refined[sel] if refined is not None else None
        self._err = reprojection_error_px[sel] if reprojection_error_px is not None else None
        self._up = world_up
        self._redraw()

    def set_cursor(self, t: float) -> None:
        for plot in self.plots():
            plot.cursor.setValue(t)

    def bones_of(self, joint: int) -> list[int]:
        """Indices into :data:`core.skeleton.BONES` of the bones that touch ``joint``."""
        return [int(b) for b in np.flatnonzero((sk.BONES == joint).any(axis=1))]

    def _on_time_clicked(self, t: float) -> None:
        if not len(self._all_time):
            return
        p = int(np.argmin(np.abs(self._all_time - t)))
        self.jumpRequested.emit(p)

    def _redraw(self, *_args: object) -> None:
        j = self.joint()
        t = self._time
        name = _pretty(sk.JOINT_NAMES[j])
        for plot in self.plots():
            plot.clear_curves()
        titles = ("Trajectory", "Reprojection error", "Bone length")
        for panel, title in zip(self.panels, titles, strict=True):
            panel.title.setText(f"<b>{title}</b> <span style='color:{MUTED}'>· {name}</span>")
            panel.set_legend([])
        if self._coarse is None:
            self.note.setText("No 3D yet: process the session to see plots.")
            return
        both = self._refined is not None
        self.note.setText(
            "Thin lines: triangulated (raw).\nThick lines: refined."
            if both
            else f"Triangulated 3D, world frame (up {self._up})."
        )
        up_axis = self._up[-1]
        legend = []
        for k, axis in enumerate("xyz"):
            colour = QtGui.QColor.fromRgbF(*AXIS_COLOURS[k][:3])
            legend.append((colour, f"{axis} (up)" if axis == up_axis else axis))
            if both:
                faded = QtGui.QColor(colour)
                faded.setAlphaF(0.5)
                self.trajectory.add_curve(f"raw_{axis}", t, self._coarse[:, j, k], pg.mkPen(faded, width=1))
                self.trajectory.add_curve(f"ref_{axis}", t, self._refined[:, j, k], pg.mkPen(colour, width=2))
            else:
                self.trajectory.add_curve(f"raw_{axis}", t, self._coarse[:, j, k], pg.mkPen(colour, width=1.6))
        self.panels[0].set_legend(legend)
        if self._err is not None:
            median = np.full(len(t), np.nan)
            ok = np.isfinite(self._err).any(axis=1)
            if ok.any():
                median[ok] = np.nanmedian(self._err[ok], axis=1)
            grey, amber = QtGui.QColor(130, 136, 150), QtGui.QColor(245, 190, 50)
            self.reprojection.add_curve("median", t, median, pg.mkPen(grey, width=1))
            self.reprojection.add_curve("joint", t, self._err[:, j], pg.mkPen(amber, width=1.8))
            self.panels[1].set_legend([(amber, name), (grey, "median of all joints")])
        palette = [(62, 166, 245), (240, 120, 90), (120, 210, 140), (200, 140, 240)]
        legend = []
        for i, b in enumerate(self.bones_of(j)):
            a, c = sk.BONES[b]
            colour = QtGui.QColor(*palette[i % len(palette)])
            legend.append((colour, f"{_pretty(sk.JOINT_NAMES[a])} – {_pretty(sk.JOINT_NAMES[c])}"))
            raw_len = np.linalg.norm(self._coarse[:, c] - self._coarse[:, a], axis=-1)
            if both:
                faded = QtGui.QColor(colour)
                faded.setAlphaF(0.5)
                ref_len = np.linalg.norm(self._refined[:, c] - self._refined[:, a], axis=-1)
                self.bones.add_curve(f"raw_{b}", t, raw_len, pg.mkPen(faded, width=1))
                self.bones.add_curve(f"ref_{b}", t, ref_len, pg.mkPen(colour, width=2))
            else:
                self.bones.add_curve(f"raw_{b}", t, raw_len, pg.mkPen(colour, width=1.6))
        self.panels[2].set_legend(legend)


#: A pair the live pipeline skipped shows the last live result up to this old, seconds.
HOLD_S = 0.3


def held_pairs(coarse: np.ndarray, status: np.ndarray, time_s: np.ndarray, hold_s: float = HOLD_S) -> np.ndarray:
    """``(P,)`` the pair whose 3D to show for each pair: itself when it has 3D; for pairs the live pipeline
    skipped, the latest earlier pair with 3D at most ``hold_s`` seconds before; else -1.
    ``coarse (P, 17, 3)`` m, ``status (P,)``, ``time_s (P,)`` s."""
    P = len(coarse)
    idx = np.arange(P)
    has = np.isfinite(coarse).all(axis=-1).any(axis=-1)
    last = np.maximum.accumulate(np.where(has, idx, -1)) if P else idx
    recent = (last >= 0) & (time_s - time_s[np.maximum(last, 0)] <= hold_s)
    return np.where(has, idx, np.where((np.asarray(status) == "skipped") & recent, last, -1))


class ReplayView(QtWidgets.QWidget):
    """Replays one session. ``open_session(path)`` loads it in a worker (``loaded`` / ``loadFailed``)."""

    #: the :class:`ReplayData` now shown
    loaded = QtCore.Signal(object)
    #: why the session could not be opened
    loadFailed = QtCore.Signal(str)
    #: the current pair index changed (slider, playback, plot click, step)
    frameChanged = QtCore.Signal(int)
    #: the videos now show this pair's frames
    framesShown = QtCore.Signal(int)
    #: playing (True) or paused (False)
    playingChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayView")
        self.setStyleSheet(_STYLESHEET)
        self._data: ReplayData | None = None
        self._decoder: PairDecoder | None = None
        self._load_task: Task | None = None
        self._current = 0
        self._shown_pair: int | None = None
        self._playing = False
        self._speed = 1.0
        self._anchor: tuple[float, float] = (0.0, 0.0)  # (wall monotonic s, media time s)
        self._compare = COMPARE_SIDE
        self._layout_fitted = False
        self._source_pair: np.ndarray | None = None  # (P,) pair whose 3D is shown for each pair (-1: none)

        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.vsplit = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.vsplit.setHandleWidth(1)
        self.vsplit.setChildrenCollapsible(False)
        top = QtWidgets.QWidget()
        top_lay = QtWidgets.QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.setSpacing(0)
        top_lay.addWidget(self._build_media(), 1)
        top_lay.addWidget(self._build_timeline())
        self.vsplit.addWidget(top)
        self.plots = JointPlots()
        self.plots.setObjectName("replayPanel")
        self.plots.jumpRequested.connect(self.seek)
        self.vsplit.addWidget(self.plots)
        self.vsplit.setStretchFactor(0, 3)
        self.vsplit.setStretchFactor(1, 1)
        root.addWidget(self.vsplit, 1)

        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        for key, fn in (
            (QtCore.Qt.Key.Key_Space, self.toggle_play),
            (QtCore.Qt.Key.Key_Left, lambda: self.step(-1)),
            (QtCore.Qt.Key.Key_Right, lambda: self.step(1)),
        ):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        self._set_enabled(False)

    # ================================================================================================ building
    def _build_media(self) -> QtWidgets.QWidget:
        self.hsplit = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.hsplit.setHandleWidth(1)
        self.hsplit.setChildrenCollapsible(False)
        self.views = [CameraView(0), CameraView(1)]
        for v in self.views:
            v.set_message("No session open")
            wrap = QtWidgets.QWidget()
            wrap.setObjectName("replayPanel")
            lay = QtWidgets.QVBoxLayout(wrap)
            lay.setContentsMargins(6, 6, 3, 6)
            lay.addWidget(v)
            self.hsplit.addWidget(wrap)

        panel = QtWidgets.QWidget()
        panel.setObjectName("replayPanel")
        lay = QtWidgets.QVBoxLayout(panel)
        lay.setContentsMargins(6, 6, 8, 6)
        lay.setSpacing(6)
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(8)
        title = QtWidgets.QLabel("3D")
        title.setObjectName("panelTitle")
        head.addWidget(title)
        self.up_label = QtWidgets.QLabel()
        self.up_label.setObjectName("caption")
        self.up_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        head.addWidget(self.up_label, 1)
        caption = QtWidgets.QLabel("raw vs refined")
        caption.setObjectName("caption")
        head.addWidget(caption)
        segments = QtWidgets.QHBoxLayout()
        segments.setSpacing(0)
        self.side_button = QtWidgets.QPushButton("Side by side")
        self.overlay_button = QtWidgets.QPushButton("Overlay")
        group = QtWidgets.QButtonGroup(self)
        group.setExclusive(True)
        for b in (self.side_button, self.overlay_button):
            b.setObjectName("segment")
            b.setCheckable(True)
            group.addButton(b)
            segments.addWidget(b)
        head.addLayout(segments)
        self.side_button.setChecked(True)
        self.side_button.clicked.connect(lambda: self.set_compare_mode(COMPARE_SIDE))
        self.overlay_button.clicked.connect(lambda: self.set_compare_mode(COMPARE_OVERLAY))
        self.reset_view_button = QtWidgets.QPushButton("Reset view")
        self.reset_view_button.clicked.connect(self.reset_3d_view)
        head.addWidget(self.reset_view_button)
        lay.addLayout(head)
        self.live_note = QtWidgets.QLabel()
        self.live_note.setObjectName("liveNote")
        self.live_note.setWordWrap(True)
        self.live_note.setVisible(False)
        lay.addWidget(self.live_note)
        views = QtWidgets.QHBoxLayout()
        views.setSpacing(4)
        self.view3d = LinkedSkeletonView()
        self.view3d.setObjectName("replaySkeletonView")
        self.view3d_refined = LinkedSkeletonView()
        self.view3d_refined.setObjectName("replayRefinedView")
        self.view3d.link(self.view3d_refined)
        views.addWidget(self.view3d, 1)
        views.addWidget(self.view3d_refined, 1)
        self.view3d_refined.setVisible(False)
        lay.addLayout(views, 1)
        self.no3d_label = QtWidgets.QLabel(self.view3d)
        self.no3d_label.setObjectName("no3dBanner")
        self.no3d_label.setWordWrap(True)
        self.no3d_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.no3d_label.setVisible(False)
        self.view3d.installEventFilter(self)
        self.hsplit.addWidget(panel)
        self.hsplit.setStretchFactor(0, 2)
        self.hsplit.setStretchFactor(1, 2)
        self.hsplit.setStretchFactor(2, 5)
        return self.hsplit

    def _build_timeline(self) -> QtWidgets.QFrame:
        bar = QtWidgets.QFrame()
        bar.setObjectName("timeline")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(8)
        self.back_button = QtWidgets.QToolButton()
        self.back_button.setObjectName("mediaButton")
        self.back_button.setIcon(media_icon("back"))
        self.back_button.setToolTip("Previous pair (Left)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setIcon(media_icon("play", "#ffffff"))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.forward_button = QtWidgets.QToolButton()
        self.forward_button.setObjectName("mediaButton")
        self.forward_button.setIcon(media_icon("forward"))
        self.forward_button.setToolTip("Next pair (Right)")
        self.forward_button.clicked.connect(lambda: self.step(1))
        for b in (self.back_button, self.play_button, self.forward_button):
            b.setIconSize(QtCore.QSize(18, 18))
            row.addWidget(b)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("timelineSlider")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        row.addWidget(self.slider, 1)
        self.frame_label = QtWidgets.QLabel("–")
        self.frame_label.setObjectName("frameLabel")
        self.frame_label.setMinimumWidth(250)
        row.addWidget(self.frame_label)
        caption = QtWidgets.QLabel("Speed")
        caption.setObjectName("caption")
        row.addWidget(caption)
        self.speed_combo = QtWidgets.QComboBox()
        self.speed_combo.setObjectName("speedCombo")
        for s in SPEEDS:
            self.speed_combo.addItem(f"{s:g}×", s)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.currentIndexChanged.connect(lambda _i: self.set_speed(float(self.speed_combo.currentData())))
        row.addWidget(self.speed_combo)
        return bar

    def _set_enabled(self, on: bool) -> None:
        for w in (self.back_button, self.play_button, self.forward_button, self.slider, self.speed_combo, self.plots):
            w.setEnabled(on)

    # ================================================================================================ loading
    def open_session(self, path: str | Path) -> None:
        """Load the session at ``path`` in a worker, then show it (``loaded`` or ``loadFailed``)."""
        self.close_session()
        for v in self.views:
            v.set_message("Opening…")
        task = load_replay_task(path)
        task.succeeded.connect(lambda data, t=task: self.set_data(data) if t is self._load_task else None)
        task.failed.connect(lambda exc, t=task: self._on_load_failed(exc) if t is self._load_task else None)
        task.ended.connect(lambda t=task: self._task_ended(t))
        self._load_task = task
        task.start()

    def _task_ended(self, task: Task) -> None:
        task.wait()
        task.deleteLater()
        if self._load_task is task:
            self._load_task = None

    def _on_load_failed(self, exc: BaseException) -> None:
        for v in self.views:
            v.set_message("Cannot open this session")
        self.loadFailed.emit(str(exc))

    def set_data(self, data: ReplayData) -> None:
        """Show ``data`` (from :func:`app.session_workers.load_replay_data`) at its first pair."""
        self.close_session()
        self._data = data
        s = data.session
        self._decoder = PairDecoder(
            [s.video_path(n) for n in data.names], data.names, data.frame_a, data.frame_b, data.t_a, data.t_b
        )
        self._decoder.pairReady.connect(self._on_pair_ready)
        P = data.n_pairs
        for v, name in zip(self.views, data.names, strict=True):
            v.clear()
            v.set_title(name)
            v.set_message("Decoding…")
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(P - 1, 0))
        self.slider.setValue(0)
        self.slider.setPageStep(max(1, P // 20))
        self.slider.blockSignals(False)
        self._set_enabled(P > 0)
        poses = data.poses
        has_ref = data.has_refined
        for b in (self.side_button, self.overlay_button):
            b.setEnabled(has_ref)
            b.setToolTip("" if has_ref else "This session has no refined 3D: process it with refinement on.")
        for view in (self.view3d, self.view3d_refined):
            view.clear_skeletons()
            up = data.world_up if data.world_up in UP_AXES else "+z"
            view.set_world_up(up)
            view.set_cameras(data.group)
        self._source_pair = None
        self.up_label.setText(f"world up {data.world_up} ({data.world_up_reason})")
        self.up_label.setToolTip(self.up_label.text())
        self.live_note.setVisible(False)
        if poses is not None:
            self._source_pair = held_pairs(poses.coarse, poses.status, data.time_s)
            skipped = int((poses.status == "skipped").sum())
            if skipped:
                self.live_note.setText(
                    f"Results recorded live: {P - skipped} of {P} pairs were processed while recording (the others "
                    "show the last live result). Process the session for a result on every pair."
                )
                self.live_note.setVisible(True)
        self._place_floor()
        self._apply_compare_mode()
        self.plots.set_data(
            data.time_s,
            poses.coarse if poses is not None else None,
            poses.refined if poses is not None else None,
            poses.reprojection_error_px if poses is not None else None,
            data.world_up,
            keep=(poses.status != "skipped") if poses is not None else None,
        )
        self._current = -1
        self._shown_pair = None
        self._layout_fitted = False
        self._fit_layout()
        self.seek(0)
        self.reset_3d_view()
        self.loaded.emit(data)

    def close_session(self) -> None:
        """Stop playback and the decoder; forget the session."""
        self.pause()
        if self._decoder is not None:
            self._decoder.pairReady.disconnect(self._on_pair_ready)
            self._decoder.stop()
            self._decoder.deleteLater()
            self._decoder = None
        self._data = None
        self._shown_pair = None
        self._set_enabled(False)

    def stop(self) -> None:
        """Stop everything this view runs (window closing)."""
        self.close_session()
        if self._load_task is not None:
            self._load_task.stop()

    # ================================================================================================ state
    def data(self) -> ReplayData | None:
        return self._data

    def decoder(self) -> PairDecoder | None:
        return self._decoder

    def current(self) -> int:
        """The pair under the cursor."""
        return self._current

    def shown_pair(self) -> int | None:
        """The pair whose frames the videos show (may lag :meth:`current` while decoding)."""
        return self._shown_pair

    def is_playing(self) -> bool:
        return self._playing

    def speed(self) -> float:
        return self._speed

    def compare_mode(self) -> str:
        return self._compare

    def frame_text(self) -> str:
        return self.frame_label.text()

    # ================================================================================================ timeline
    def seek(self, p: int) -> None:
        """Move the timeline to pair ``p`` (clamped): 3D, plots and label now; the videos when decoded."""
        data = self._data
        if data is None or data.n_pairs == 0:
            return
        p = int(np.clip(p, 0, data.n_pairs - 1))
        if p == self._current:
            return
        self._current = p
        if self.slider.value() != p:
            self.slider.blockSignals(True)
            self.slider.setValue(p)
            self.slider.blockSignals(False)
        t = float(data.time_s[p])
        self.frame_label.setText(f"pair {p} of {data.n_pairs}   {_fmt_time(t)} / {_fmt_time(float(data.time_s[-1]))}")
        self._show_3d(p)
        self.plots.set_cursor(t)
        assert self._decoder is not None
        hit = self._decoder.request(p, ahead=self._playing)
        if hit is not None:
            self._show_pair(hit)
        self.frameChanged.emit(p)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self._current + int(delta))

    def play(self) -> None:
        data = self._data
        if data is None or data.n_pairs < 2 or self._playing:
            return
        if self._current >= data.n_pairs - 1:
            self.seek(0)
        self._playing = True
        self._anchor = (time.monotonic(), float(data.time_s[self._current]))
        self.play_button.setIcon(media_icon("pause", "#ffffff"))
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._playing = False
        self._timer.stop()
        self.play_button.setIcon(media_icon("play", "#ffffff"))
        self.playingChanged.emit(False)

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        """Playback speed factor (0.25–2)."""
        speed = float(np.clip(speed, SPEEDS[0], SPEEDS[-1]))
        if self._playing and self._data is not None:
            self._anchor = (time.monotonic(), float(self._data.time_s[self._current]))
        self._speed = speed
        idx = self.speed_combo.findData(speed)
        if idx >= 0 and idx != self.speed_combo.currentIndex():
            self.speed_combo.blockSignals(True)
            self.speed_combo.setCurrentIndex(idx)
            self.speed_combo.blockSignals(False)

    def _tick(self) -> None:
        data = self._data
        if data is None:
            self.pause()
            return
        wall0, media0 = self._anchor
        target_t = media0 + (time.monotonic() - wall0) * self._speed
        p = int(np.searchsorted(data.time_s, target_t, side="right")) - 1
        if p >= data.n_pairs - 1:
            self.seek(data.n_pairs - 1)
            self.pause()
            return
        if p > self._current:
            self.seek(p)

    def _on_slider(self, value: int) -> None:
        if self.slider.isSliderDown():
            self.pause()
        self.seek(value)

    # ================================================================================================ showing
    def _on_pair_ready(self, d: DecodedPair) -> None:
        if self._data is None or self._decoder is None or d.token != self._decoder.token:
            return
        # the pair under the cursor, or any fresher picture than the one on screen while decoding catches up
        if d.pair_index == self._current or self._shown_pair != self._current:
            self._show_pair(d)

    def _show_pair(self, d: DecodedPair) -> None:
        data = self._data
        assert data is not None
        p = d.pair_index
        for i, v in enumerate(self.views):
            frame = d.frames[i]
            if frame is None:
                v.set_problem(f"frame {int((data.frame_a, data.frame_b)[i][p])} of this video cannot be decoded")
                continue
            v.set_problem(None)
            v.set_frame(frame)
            w, h = d.sizes[i]
            v.set_info(f"{w}×{h} · frame {frame.index}")
            # a pair skipped live shows the last live 2D faded (as the Live tab did), like its 3D
            q = int(self._source_pair[p]) if self._source_pair is not None else p
            kp = data.keypoints[data.names[i]][q] if data.keypoints is not None and q >= 0 else None
            if kp is not None and (np.nan_to_num(kp[:, 2]) > 0).any():
                scaled = kp.copy()
                scaled[:, :2] *= d.scales[i]
                v.set_pose(scaled, faded=q != p)
            else:
                v.set_pose(None)
        self._shown_pair = p
        self.framesShown.emit(p)

    def _show_3d(self, p: int) -> None:
        data = self._data
        assert data is not None
        poses = data.poses
        if poses is None:
            self._set_no3d("Not processed yet: Process the session to see its 2D and 3D.")
            return
        # a pair the live pipeline skipped (it only processes the newest pair) shows the last live result
        q = int(self._source_pair[p]) if self._source_pair is not None else p
        raw = poses.coarse[q] if q >= 0 else None
        refined = poses.refined[q] if q >= 0 and poses.refined is not None else None
        raw_ok = raw is not None and bool(np.isfinite(raw).all(axis=1).any())
        ref_ok = refined is not None and bool(np.isfinite(refined).all(axis=1).any())
        overlay = self._compare == COMPARE_OVERLAY and data.has_refined
        self.view3d.set_skeleton(RAW_NAME, raw if raw_ok else None, style=RAW_OVERLAY_STYLE if overlay else "default")
        if data.has_refined:
            target = self.view3d if overlay else self.view3d_refined
            style = REFINED_OVERLAY_STYLE if overlay else "default"
            target.set_skeleton(self._refined_name(), refined if ref_ok else None, style=style)
        status = str(poses.status[p]) if p < len(poses.status) else "ok"
        if not raw_ok:
            why = {
                "no_person": "nobody was found",
                "one_view": "only one camera saw the person",
                "skipped": "not processed live (Process the session for every pair)",
                "error": "processing failed on this pair",
            }.get(status, status.replace("_", " "))
            self._set_no3d(f"No 3D in this pair — {why}")
        else:
            self._set_no3d(None)

    def shown_3d_pair(self) -> int:
        """The pair whose 3D is drawn for the current pair (an earlier one where the live pipeline skipped it)."""
        if self._source_pair is None or self._current < 0:
            return self._current
        return int(self._source_pair[self._current])

    def _refined_name(self) -> str:
        model = self._data.poses.model if self._data is not None and self._data.poses is not None else ""
        if re.fullmatch(r"[0-9a-f]{12,}", model):  # a checkpoint's content id: short and say what it is
            model = f"CV-UGCN {model[:8]}"
        return f"{REFINED_NAME} · {model}" if model else REFINED_NAME

    def skeleton(self, which: str = "raw") -> np.ndarray | None:
        """The ``(17, 3)`` m points drawn now for ``"raw"`` or ``"refined"`` (None if hidden)."""
        if which == "raw":
            return self.view3d.skeleton_points(RAW_NAME)
        name = self._refined_name()
        for view in (self.view3d_refined, self.view3d):
            if name in view.skeleton_names():
                return view.skeleton_points(name)
        return None

    def set_compare_mode(self, mode: str) -> None:
        """``"side"`` (two 3D views: raw | refined) or ``"overlay"`` (one view, two colours)."""
        if mode not in (COMPARE_SIDE, COMPARE_OVERLAY):
            raise ValueError(f"compare mode is {COMPARE_SIDE!r} or {COMPARE_OVERLAY!r}, not {mode!r}")
        self._compare = mode
        (self.side_button if mode == COMPARE_SIDE else self.overlay_button).setChecked(True)
        self._apply_compare_mode()

    def _apply_compare_mode(self) -> None:
        data = self._data
        has_ref = data is not None and data.has_refined
        side = has_ref and self._compare == COMPARE_SIDE
        name = self._refined_name()
        # skeletons live in one view or the other: remove them where they no longer belong
        if side:
            self.view3d.remove_skeleton(name)
        else:
            self.view3d_refined.remove_skeleton(name)
        self.view3d_refined.setVisible(side)
        if data is not None and 0 <= self._current < data.n_pairs:
            self._show_3d(self._current)
        if side:
            self.view3d.sync_peers()

    def _set_no3d(self, text: str | None) -> None:
        if text is None:
            self.no3d_label.setVisible(False)
            return
        self.no3d_label.setText(text)
        self.no3d_label.setVisible(True)
        self._place_no3d()

    def no3d_text(self) -> str | None:
        return self.no3d_label.text() if self.no3d_label.isVisible() else None

    def _place_no3d(self) -> None:
        v = self.view3d
        w = min(max(240, int(v.width() * 0.7)), v.width() - 20)
        self.no3d_label.setFixedWidth(max(w, 100))
        self.no3d_label.adjustSize()
        self.no3d_label.move((v.width() - self.no3d_label.width()) // 2, v.height() - self.no3d_label.height() - 36)
        self.no3d_label.raise_()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.view3d and event.type() == QtCore.QEvent.Type.Resize and self.no3d_label.isVisible():
            self._place_no3d()
        return super().eventFilter(obj, event)

    # ================================================================================================ 3D framing
    def _all_points(self) -> np.ndarray | None:
        data = self._data
        if data is None or data.poses is None:
            return None
        pts = data.poses.coarse.reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        return pts if len(pts) else None

    def _place_floor(self) -> None:
        """Floor at 0 for a declared Z-up world, else just under the lowest ankles of the session."""
        data = self._data
        assert data is not None
        floor = 0.0
        declared = data.world_up_reason == "from the calibration" and data.world_up == "+z"
        if data.poses is not None and not declared:
            ankles = data.poses.coarse[:, [sk.JOINT_INDEX["right_ankle"], sk.JOINT_INDEX["left_ankle"]]]
            heights = self.view3d.world_to_display(ankles.reshape(-1, 3))[:, 2]
            heights = heights[np.isfinite(heights)]
            if heights.size:
                floor = float(np.percentile(heights, 5)) - 0.08  # ankle joints sit ~8 cm above the floor
        for view in (self.view3d, self.view3d_refined):
            view.set_floor_height(floor)

    def reset_3d_view(self) -> None:
        """Frame the whole motion of the session, seen from behind the cameras."""
        view = self.view3d
        view.reset_view()
        pts = self._all_points()
        data = self._data
        if pts is not None:
            disp = view.world_to_display(pts)
            lo, hi = np.percentile(disp, 2, axis=0), np.percentile(disp, 98, axis=0)
            centre = 0.5 * (lo + hi)
            radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.6)
            azimuth = view.DEFAULT_AZIMUTH_DEG
            if data is not None and data.group is not None and len(data.group):
                cams = view.world_to_display(np.stack([c.center for c in data.group]))
                d = cams.mean(axis=0) - centre
                if np.hypot(d[0], d[1]) > 1e-6:
                    azimuth = math.degrees(math.atan2(d[1], d[0])) + 20.0
            half = math.radians(view.opts["fov"]) / 2
            aspect = view.height() / max(view.width(), 1)
            half = min(half, math.atan(math.tan(half) * aspect)) if aspect < 1 else half
            distance = 1.05 * radius / math.sin(half)
            view.setCameraPosition(
                pos=QtGui.QVector3D(*[float(v) for v in centre]), distance=distance, elevation=14.0, azimuth=azimuth
            )
        view.sync_peers()

    def _fit_layout(self) -> None:
        """Give the videos the width their aspect ratio needs at the current height; the 3D gets the rest."""
        data = self._data
        if data is None or self._layout_fitted or self.hsplit.width() < 100:
            return
        self._layout_fitted = True
        h = max(self.hsplit.height() - 12, 100)
        total = self.hsplit.width()
        widths = []
        for w, hh in data.sizes:
            aspect = (w / hh) if w > 0 and hh > 0 else 16 / 9
            widths.append(int(h * aspect) + 10)
        max_videos = int(total * 0.62)
        if sum(widths) > max_videos:
            scale = max_videos / sum(widths)
            widths = [int(w * scale) for w in widths]
        self.hsplit.setSizes([*widths, max(total - sum(widths), 200)])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._data is not None and not self._layout_fitted:
            QtCore.QTimer.singleShot(0, self._fit_layout)
