"""Live plots of a training run: :class:`TrainingPlots`. Qt only.

Loss terms (log scale, per epoch, plus the running batch loss), the total loss (training and validation), and the
validation reprojection error (px) and bone-length std (mm) against the triangulation alone (dashed) and the
starting model (◆ at epoch 0). x = epochs completed. Points are drawn at most every :data:`REDRAW_MS`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.theme import PALETTE
from app.training.labels import (
    BASELINE_COLOUR,
    BATCH_COLOUR,
    BEST_COLOUR,
    START_COLOUR,
    TERM_COLOURS,
    TERM_LABELS,
    TOTAL_COLOUR,
    TRAIN_COLOUR,
    VAL_COLOUR,
)
from app.widgets.build import make_label
from app.widgets.plots import style_axes
from models.reports import BatchReport, EpochReport

#: The plots are redrawn at most this often while training, milliseconds.
REDRAW_MS = 250


def _style_plot(plot: pg.PlotWidget, y_label: str, x_label: str = "epoch") -> None:
    item = plot.getPlotItem()
    style_axes(item, y_label, x_label)
    item.getViewBox().setDefaultPadding(0.05)
    plot.setMouseEnabled(x=False, y=False)


class _PlotBox(QtWidgets.QWidget):
    """A titled plot with an HTML legend line above it."""

    def __init__(self, title: str, y_label: str, log_y: bool = False) -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = make_label(title, "plotTitle")
        lay.addWidget(self.title)
        self.legend = make_label("", "plotLegend", wrap=True)
        lay.addWidget(self.legend)
        self.plot = pg.PlotWidget(background=PALETTE.base)
        self.plot.setMinimumHeight(110)
        _style_plot(self.plot, y_label)
        if log_y:
            self.plot.getPlotItem().setLogMode(x=False, y=True)
        lay.addWidget(self.plot, 1)

    def set_legend(self, entries: list[tuple[str, str]]) -> None:
        """``(palette colour name, text)`` pairs."""
        self.legend.setText("&nbsp;&nbsp;".join(f'<span style="color:{PALETTE[c]}">━ {t}</span>' for c, t in entries))


class TrainingPlots(QtWidgets.QWidget):
    """Live plots of a run: loss terms (log scale, per epoch, plus the running batch loss), total loss (training
    and validation), validation reprojection error (px) and bone-length std (mm), with the triangulation alone and
    the starting model (epoch 0) as references. x = epochs completed."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.terms: tuple[str, ...] = ()
        self._epochs = 1
        self._x: list[float] = []
        self._train: dict[str, list[float]] = {}
        self._val: dict[str, list[float]] = {}
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._best: int | None = None
        self._start: dict[str, float] = {}
        self._base: dict[str, float] = {}
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(10)
        self.losses = _PlotBox("Training loss terms", "loss (log scale)", log_y=True)
        self.total = _PlotBox("Total loss", "weighted sum")
        self.reproj = _PlotBox("Validation reprojection error", "error (px)")
        self.bones = _PlotBox("Validation bone-length std", "std (mm)")
        grid.addWidget(self.losses, 0, 0, 1, 3)
        grid.addWidget(self.total, 1, 0)
        grid.addWidget(self.reproj, 1, 1)
        grid.addWidget(self.bones, 1, 2)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 4)
        self._term_curves: dict[str, pg.PlotDataItem] = {}
        self._batch_curve = self.losses.plot.plot(pen=pg.mkPen(PALETTE[BATCH_COLOUR], width=1))
        self._total_train = self.total.plot.plot(
            pen=pg.mkPen(PALETTE[TRAIN_COLOUR], width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=PALETTE[TRAIN_COLOUR],
            symbolPen=None,
        )
        self._total_val = self.total.plot.plot(
            pen=pg.mkPen(PALETTE[VAL_COLOUR], width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=PALETTE[VAL_COLOUR],
            symbolPen=None,
        )
        self._metric_curves: dict[str, pg.PlotDataItem] = {}
        self._base_lines: dict[str, pg.InfiniteLine] = {}
        self._start_points: dict[str, pg.PlotDataItem] = {}
        self._best_lines: list[pg.InfiniteLine] = []
        for key, box in (("loss", self.total), ("reproj_px", self.reproj), ("bone_std_mm", self.bones)):
            if key != "loss":
                self._metric_curves[key] = box.plot.plot(
                    pen=pg.mkPen(PALETTE[VAL_COLOUR], width=2.2),
                    symbol="o",
                    symbolSize=6,
                    symbolBrush=PALETTE[VAL_COLOUR],
                    symbolPen=None,
                )
                dashed = pg.mkPen(PALETTE[BASELINE_COLOUR], width=1.2, style=QtCore.Qt.PenStyle.DashLine)
                line = pg.InfiniteLine(angle=0, movable=False, pen=dashed)
                line.setVisible(False)
                box.plot.addItem(line)
                self._base_lines[key] = line
            self._start_points[key] = box.plot.plot(
                [], [], pen=None, symbol="d", symbolSize=10, symbolBrush=PALETTE[START_COLOUR], symbolPen=None
            )
            best = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(PALETTE[BEST_COLOUR], width=1, style=QtCore.Qt.PenStyle.DotLine)
            )
            best.setVisible(False)
            box.plot.addItem(best)
            self._best_lines.append(best)
        self.total.set_legend([(TRAIN_COLOUR, "training"), (VAL_COLOUR, "validation"), (START_COLOUR, "◆ start")])
        metric_legend = [(VAL_COLOUR, "validation"), (BASELINE_COLOUR, "┄ triangulation"), (START_COLOUR, "◆ start")]
        self.reproj.set_legend(metric_legend)
        self.bones.set_legend(metric_legend)
        self.reset((), 1)

    def reset(self, terms: tuple[str, ...], epochs: int) -> None:
        """Forget every point; plot ``terms`` over ``epochs`` epochs."""
        self.terms = tuple(terms)
        self._epochs = max(int(epochs), 1)
        self._x, self._train, self._val = [], {}, {}
        self._batch_x, self._batch_y = [], []
        self._best = None
        self._start, self._base = {}, {}
        for c in self._term_curves.values():
            self.losses.plot.removeItem(c)
        self._term_curves = {}
        for t in (*self.terms, "loss"):
            colour = PALETTE[TOTAL_COLOUR if t == "loss" else TERM_COLOURS.get(t, "text")]
            width = 2.4 if t == "loss" else 1.8
            self._term_curves[t] = self.losses.plot.plot(
                pen=pg.mkPen(colour, width=width), symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None
            )
        entries = [(TERM_COLOURS.get(t, "text"), TERM_LABELS.get(t, t)) for t in self.terms]
        self.losses.set_legend([*entries, (TOTAL_COLOUR, "Total (weighted)"), (BATCH_COLOUR, "Batch loss")])
        for line in self._base_lines.values():
            line.setVisible(False)
        for line in self._best_lines:
            line.setVisible(False)
        for pts in self._start_points.values():
            pts.setData([], [])
        self.set_epochs(self._epochs)
        self.flush()

    def set_epochs(self, epochs: int) -> None:
        self._epochs = max(int(epochs), 1)
        for box in (self.losses, self.total, self.reproj, self.bones):
            box.plot.getPlotItem().setXRange(0, self._epochs, padding=0.02)

    def set_references(self, triangulation: dict[str, float], start: dict[str, float]) -> None:
        """The triangulation's validation metrics (dashed lines) and the starting model's (◆ at epoch 0)."""
        self._base = dict(triangulation)
        self._start = dict(start) or self._start  # a continued run keeps the first run's starting point
        for key, line in self._base_lines.items():
            v = self._base.get(key)
            if v is not None and math.isfinite(v):
                line.setValue(v)
                line.setVisible(True)
        for key, pts in self._start_points.items():
            v = self._start.get(key)
            ok = v is not None and math.isfinite(v) and (key != "loss" or v > 0)
            pts.setData([0.0] if ok else [], [v] if ok else [])
        self._redraw()

    def add_epoch(self, report: EpochReport) -> None:
        """One :class:`models.reports.EpochReport` (drawn at the next redraw, at most :data:`REDRAW_MS` later)."""
        self._x.append(float(report.epoch + 1))
        for k in (*self.terms, "loss"):
            self._train.setdefault(k, []).append(float(report.train.get(k, math.nan)))
        for k in ("loss", "reproj_px", "bone_std_mm"):
            self._val.setdefault(k, []).append(float(report.val.get(k, math.nan)))
        if report.best:
            self._best = report.epoch + 1
        self._schedule()

    def add_batch(self, p: BatchReport) -> None:
        """The running batch loss at ``epoch + batch / batches``."""
        self._batch_x.append(p.epoch + p.batch / max(p.batches, 1))
        self._batch_y.append(float(p.loss))
        self._schedule()

    def _schedule(self) -> None:
        # fast runs finish several epochs a second: redraw at a few Hz, not for every point
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Draw the points added since the last redraw now."""
        self._timer.stop()
        self._redraw()

    @staticmethod
    def _positive(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
        xa, ya = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(ya) & (ya > 0)
        return xa[ok], ya[ok]

    @staticmethod
    def _finite(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
        xa, ya = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(ya)
        return xa[ok], ya[ok]

    def _redraw(self) -> None:
        self._batch_curve.setData(*self._positive(self._batch_x, self._batch_y))
        for k, c in self._term_curves.items():
            c.setData(*self._positive(self._x, self._train.get(k, [])))
        self._total_train.setData(*self._positive(self._x, self._train.get("loss", [])))
        self._total_val.setData(*self._positive(self._x, self._val.get("loss", [])))
        for k, c in self._metric_curves.items():
            c.setData(*self._finite(self._x, self._val.get(k, [])))
        for line in self._best_lines:
            line.setVisible(self._best is not None)
            if self._best is not None:
                line.setValue(self._best)

    # --- for tests and screenshots ----------------------------------------------------------------------------
    def epochs_plotted(self) -> int:
        """Epochs whose points are drawn."""
        self.flush()
        return len(self._x)

    def curve_points(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The points drawn for a loss term, ``loss`` (training total), ``val_loss``, ``reproj_px``,
        ``bone_std_mm`` or ``batch``."""
        if name == "batch":
            item = self._batch_curve
        elif name == "val_loss":
            item = self._total_val
        elif name in self._metric_curves:
            item = self._metric_curves[name]
        else:
            item = self._term_curves[name]
        self.flush()
        x, y = item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def best_epoch(self) -> int | None:
        return self._best
