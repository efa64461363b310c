"""Shared pyqtgraph plots. Qt only.

- :class:`RatePlot`: frame rates (left axis, frames/s) and latency (right axis, ms) over the last 30 s; samples
  come at ~2 Hz from the Live tab's statistics; x is seconds relative to the newest sample.
- :class:`ClickablePlot`: a time plot whose clicks report the time clicked, with a cursor line (the replay's
  joint plots, the model comparison).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import PALETTE

WINDOW_S = 30.0
PAIRED_COLOUR = PALETTE.paired_series
PROCESSED_COLOUR = PALETTE.accent
LATENCY_COLOUR = PALETTE.caution


class RatePlot(QtWidgets.QWidget):
    """Paired and processed fps and median end-to-end latency over the last :data:`WINDOW_S` seconds."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, window_s: float = WINDOW_S) -> None:
        super().__init__(parent)
        self.window_s = float(window_s)
        n = int(window_s * 4) + 8
        self._t: deque[float] = deque(maxlen=n)
        self._paired: deque[float] = deque(maxlen=n)
        self._processed: deque[float] = deque(maxlen=n)
        self._latency: deque[float] = deque(maxlen=n)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        legend = QtWidgets.QLabel(
            f'<span style="color:{PROCESSED_COLOUR}">━ processed fps</span>&nbsp;&nbsp;'
            f'<span style="color:{PAIRED_COLOUR}">━ paired fps</span>&nbsp;&nbsp;'
            f'<span style="color:{LATENCY_COLOUR}">━ latency ms (right)</span>'
            f'&nbsp;&nbsp;<span style="color:{PALETTE.muted}">· last {window_s:.0f} s</span>'
        )
        legend.setObjectName("plotLegend")
        lay.addWidget(legend)

        self.plot = pg.PlotWidget(background=PALETTE.base)
        self.plot.setMinimumHeight(70)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setContentsMargins(0, 2, 0, 0)
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setXRange(-self.window_s, 0, padding=0)
        item.getViewBox().setYRange(0, 30, padding=0)
        item.getViewBox().enableAutoRange(axis="y", enable=False)
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(PALETTE.border))
            axis.setTextPen(pg.mkPen(PALETTE.muted))
        item.getAxis("left").setWidth(32)
        item.getAxis("bottom").setHeight(18)
        item.showAxis("right")
        self._vb2 = pg.ViewBox()
        self._vb2.setMouseEnabled(x=False, y=False)
        item.scene().addItem(self._vb2)
        item.getAxis("right").linkToView(self._vb2)
        item.getAxis("right").setWidth(38)
        self._vb2.setXLink(item)
        item.getViewBox().sigResized.connect(self._sync_views)
        self._paired_curve = item.plot(pen=pg.mkPen(PAIRED_COLOUR, width=1.4))
        self._processed_curve = item.plot(pen=pg.mkPen(PROCESSED_COLOUR, width=2))
        self._latency_curve = pg.PlotDataItem(pen=pg.mkPen(LATENCY_COLOUR, width=1.6))
        self._vb2.addItem(self._latency_curve)
        self._vb2.setYRange(0, 500, padding=0)
        lay.addWidget(self.plot, 1)

    def _sync_views(self) -> None:
        item = self.plot.getPlotItem()
        self._vb2.setGeometry(item.getViewBox().sceneBoundingRect())
        self._vb2.linkedViewChanged(item.getViewBox(), self._vb2.XAxis)

    def clear(self) -> None:
        for d in (self._t, self._paired, self._processed, self._latency):
            d.clear()
        self._redraw()

    def add(self, t_s: float, paired_fps: float, processed_fps: float, latency_ms: float) -> None:
        """One sample at ``t_s`` seconds (monotonic clock): fps values and the median latency in ms (NaN: none)."""
        self._t.append(float(t_s))
        self._paired.append(float(paired_fps))
        self._processed.append(float(processed_fps))
        self._latency.append(float(latency_ms))
        while self._t and self._t[-1] - self._t[0] > self.window_s + 1.0:
            for d in (self._t, self._paired, self._processed, self._latency):
                d.popleft()
        self._redraw()

    def samples(self) -> int:
        return len(self._t)

    def _redraw(self) -> None:
        if not self._t:
            for c in (self._paired_curve, self._processed_curve, self._latency_curve):
                c.setData([], [])
            return
        t = np.asarray(self._t) - self._t[-1]
        paired, processed, lat = (np.asarray(d) for d in (self._paired, self._processed, self._latency))
        self._paired_curve.setData(t, paired)
        self._processed_curve.setData(t, processed)
        ok = np.isfinite(lat)
        self._latency_curve.setData(t[ok], lat[ok])
        fps_top = max(10.0, float(np.nanmax(np.concatenate([paired, processed]))) * 1.2)
        self.plot.getPlotItem().getViewBox().setYRange(0, fps_top, padding=0)
        lat_top = max(100.0, float(lat[ok].max()) * 1.2) if ok.any() else 500.0
        self._vb2.setYRange(0, lat_top, padding=0)
        self._sync_views()


def style_axes(item: pg.PlotItem, y_label: str, x_label: str) -> None:
    """The app's look of a plot's axes: palette pens, labelled axes without SI prefixes, a faint grid, no
    context menu or auto-range button."""
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(PALETTE.border))
        axis.setTextPen(pg.mkPen(PALETTE.muted))
        axis.enableAutoSIPrefix(False)
    item.setLabel("left", y_label, color=PALETTE.muted)
    item.setLabel("bottom", x_label, color=PALETTE.muted)
    item.showGrid(x=True, y=True, alpha=0.12)
    item.setMenuEnabled(False)
    item.hideButtons()


class ClickablePlot(pg.PlotWidget):
    """A time plot whose left clicks report the time (x) clicked; a vertical line marks the current time."""

    timeClicked = QtCore.Signal(float)

    def __init__(self, y_label: str) -> None:
        super().__init__(background=PALETTE.base)
        self.setMinimumHeight(120)
        item = self.getPlotItem()
        style_axes(item, y_label, "time (s)")
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.getViewBox().setDefaultPadding(0.04)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(PALETTE.accent, width=1.5))
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
