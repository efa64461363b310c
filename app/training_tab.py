"""The Training tab: fine-tune CV-UGCN on the user's own recordings, watch it learn, compare, and use it. Qt only.

- **Set up** (left panel): tick recordings (the sessions under the sessions root, with their frame counts, and
  folders or keypoints files added with "Add folder…" / "Add file…"); the starting checkpoint (the shipped
  model, the active one, recent ones in the models folder, or any file); epochs, learning rate, batch size;
  the loss weights (:class:`models.losses.LossConfig` presets, every term editable); the device (CUDA when
  ``torch.cuda.is_available()``, else the CUDA entry is disabled with the reason); the output checkpoint
  (default: a timestamped file in the models folder, QSettings ``training/models_folder``, by default
  ``<sessions root>/../models``).
- **Run**: Start / Pause / Stop. Training runs in a separate process driven by
  :class:`app.training_workers.TrainingWorker`, so the window stays responsive. A progress bar with the epoch
  and an ETA (paused time left out), and live pyqtgraph plots: every loss term and the running batch loss, the
  total training and validation loss, and the validation metrics (reprojection error in px, bone-length std in
  mm) against the triangulation alone and the starting model. Stop (or closing the window) keeps the best
  checkpoint so far; Continue picks a stopped run up from its saved state.
- **Afterwards** (:class:`app.model_compare.ComparePanel`): the triangulation, the current model and the new one
  on a chosen recording, with a scrubbable 3D frame; "Use this model" emits :attr:`TrainingTab.modelChosen`.
- **Errors** (nothing ticked, a session without 2D keypoints, a bad checkpoint, CUDA without a GPU) are shown
  in the tab, in words that say what to do.

Torch is imported by workers only (the app starts without it); the tab enables Start once they are ready.
The choices made (epochs, batch, learning rate, loss weights, device, starting model, added folders) are kept in
the settings (``training/...``).
Units: seconds (ETA, times), pixels (reprojection error), millimetres (bone-length std), metres (3D).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app import model_compare
from app.model_compare import ComparePanel
from app.session_workers import Task, sessions_root
from app.style import ACCENT, BASE, BORDER, MUTED, PANEL, TEXT, WINDOW
from app.training_workers import (
    EXTRA_SOURCES_KEY,
    CheckpointInfo,
    Environment,
    RemoteError,
    TrainingPlan,
    TrainingProgress,
    TrainingSource,
    TrainingStarted,
    TrainingWorker,
    active_checkpoint,
    check_sources,
    checkpoint_task,
    models_folder,
    new_checkpoint_path,
    probe_task,
    recent_checkpoints,
    scan_task,
    set_models_folder,
    source_for_path,
    training_threads,
)
from core.errors import CrossViewError, InputError, ModelError

log = logging.getLogger(__name__)

#: What each loss term is called in the tab (keys: :data:`models.losses.TERMS`).
TERM_LABELS: dict[str, str] = {
    "transform": "3D consistency",
    "reproj": "2D reprojection",
    "cross_reproj": "Cross-view 2D",
    "bone_dir": "Bone direction",
    "bone_length": "Bone length",
    "symmetry": "Symmetry",
    "temporal": "Smoothness",
}
#: What each term asks of the refined poses (tooltips).
TERM_HELP: dict[str, str] = {
    "transform": "The two views' 3D poses, carried into each other's camera frame, must agree (paper)",
    "reproj": "Each view's 3D pose must project onto that view's 2D keypoints (paper)",
    "cross_reproj": "Camera 1's pose carried into camera 2 must project onto camera 2's keypoints, and back (paper)",
    "bone_dir": "Each bone must point the same way in both views (paper; 0.1 was best there)",
    "bone_length": "Each bone keeps the recording's median length: a person's bones do not change length",
    "symmetry": "Left and right bones have the same length",
    "temporal": "Consecutive frames do not jump",
}
TERM_COLOURS: dict[str, str] = {
    "transform": "#3ea6f5",
    "reproj": "#f5a53e",
    "cross_reproj": "#ef6f5e",
    "bone_dir": "#8fe3a9",
    "bone_length": "#c792ea",
    "symmetry": "#4dd0c4",
    "temporal": "#f2d16b",
}
TOTAL_COLOUR = "#e3e6ec"
BATCH_COLOUR = "#6d7587"
VAL_COLOUR = "#3ea6f5"
TRAIN_COLOUR = "#e3e6ec"
BASELINE_COLOUR = "#9aa1ae"
START_COLOUR = "#f5a53e"
DEFAULT_PRESET = "finetune"
#: The plots are redrawn at most this often while training, milliseconds.
REDRAW_MS = 250
PRESET_HELP: dict[str, str] = {
    "finetune": "for your recordings: paper terms + light structure terms",
    "paper": "the paper's three terms; bone direction at 0.1",
    "structure-heavy": "paper terms + strong bone length, symmetry, smoothness",
    "2d-only": "single- and cross-view reprojection only",
    "custom": "your own weights",
}
ROBUST_LABELS = {"l2": "squared (L2)", "huber": "Huber", "cauchy": "Cauchy"}

# QSettings keys of the last choices
K_EPOCHS, K_LR, K_BATCH = "training/epochs", "training/lr", "training/batch_size"
K_PRESET, K_DEVICE, K_INIT = "training/loss_preset", "training/device", "training/init"
K_WEIGHTS = "training/loss_weights"  # JSON of the LossConfig fields, for a custom preset

IDLE, PREPARING, TRAINING, PAUSED, STOPPING = "idle", "preparing", "training", "paused", "stopping"

_STYLESHEET = (
    f"""
QWidget#trainingTab {{ background: {WINDOW}; }}
QFrame#setupPanel {{ background: {BASE}; border-right: 1px solid {BORDER}; }}
QScrollArea#setupScroll, QWidget#setupInner {{ background: {BASE}; border: none; }}
QLabel#sectionTitle {{ color: {TEXT}; font-weight: 700; font-size: 13px; }}
QLabel#stepBadge {{
    color: {ACCENT}; background: rgba(62, 166, 245, 0.14); border-radius: 9px; font-weight: 700; font-size: 11px;
    min-width: 18px; max-width: 18px; min-height: 18px; max-height: 18px;
}}
QLabel#caption {{ color: {MUTED}; font-size: 12px; }}
QLabel#fieldLabel {{ color: {TEXT}; }}
QLabel#okNote {{ color: #8fe3a9; font-size: 12px; }}
QLabel#errorBanner {{
    color: #ffd7d2; background: rgba(255, 107, 107, 0.12); border: 1px solid rgba(255, 107, 107, 0.5);
    border-radius: 6px; padding: 6px 10px;
}}
QLabel#doneBanner {{
    color: #d8f5e2; background: rgba(143, 227, 169, 0.10); border: 1px solid rgba(143, 227, 169, 0.45);
    border-radius: 6px; padding: 6px 10px;
}}
QLabel#runTitle {{ color: {TEXT}; font-size: 16px; font-weight: 700; }}
QLabel#eta {{ color: {TEXT}; font-size: 14px; font-weight: 600; font-family: monospace; }}
QLabel#plotTitle {{ color: {TEXT}; font-size: 12px; font-weight: 600; }}
QLabel#plotLegend {{ color: {MUTED}; font-size: 11px; }}
QLabel#stateChip {{
    color: {ACCENT}; background: rgba(62, 166, 245, 0.12); border: 1px solid rgba(62, 166, 245, 0.45);
    border-radius: 10px; padding: 2px 10px; font-size: 12px; font-weight: 600;
}}
QTreeWidget {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 6px;
    selection-background-color: rgba(62, 166, 245, 0.28); selection-color: {TEXT};
}}
QTreeWidget::item {{ padding: 3px 2px; }}
QHeaderView::section {{
    background: {PANEL}; color: {MUTED}; border: none; border-bottom: 1px solid {BORDER}; padding: 4px 6px;
}}
QLineEdit, QSpinBox, QDoubleSpinBox {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 5px; padding: 3px 6px;
}}
QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus {{ border-color: {ACCENT}; }}
QSpinBox:disabled, QDoubleSpinBox:disabled, QLineEdit:disabled {{ color: #5d6470; }}
QComboBox QAbstractItemView {{ background: {PANEL}; color: {TEXT}; selection-background-color: {ACCENT}; }}
QPushButton#primaryButton {{
    background: {ACCENT}; color: white; border: 1px solid {ACCENT}; font-weight: 700; padding: 6px 18px;
}}
QPushButton#primaryButton:hover {{ background: #5cb5f7; }}
QPushButton#primaryButton:disabled {{ background: #2a4a63; border-color: #2a4a63; color: #b8c4d0; }}
QPushButton#dangerButton {{ color: #ff9b91; }}
QPushButton#segment {{ border-radius: 0; padding: 5px 16px; }}
QPushButton#segment:checked {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #5d6470; }}
QProgressBar {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 5px; height: 14px; text-align: center;
    color: {TEXT}; font-size: 11px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QPlainTextEdit#trainLog {{
    background: {BASE}; color: {MUTED}; border: 1px solid {BORDER}; border-radius: 6px; font-family: monospace;
    font-size: 11px;
}}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
"""
    + model_compare.STYLESHEET
)


def format_eta(seconds: float | None) -> str:
    """``1:02:03``, ``4:05`` or ``12 s``; ``–`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _style_plot(plot: pg.PlotWidget, y_label: str, x_label: str = "epoch") -> None:
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(BORDER))
        axis.setTextPen(pg.mkPen(MUTED))
        axis.enableAutoSIPrefix(False)
    item.setLabel("left", y_label, color=MUTED)
    item.setLabel("bottom", x_label, color=MUTED)
    item.showGrid(x=True, y=True, alpha=0.12)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().setDefaultPadding(0.05)
    plot.setMouseEnabled(x=False, y=False)


class _PlotBox(QtWidgets.QWidget):
    """A titled plot with an HTML legend line above it."""

    def __init__(self, title: str, y_label: str, log_y: bool = False) -> None:
        super().__init__()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = QtWidgets.QLabel(title)
        self.title.setObjectName("plotTitle")
        lay.addWidget(self.title)
        self.legend = QtWidgets.QLabel()
        self.legend.setObjectName("plotLegend")
        self.legend.setWordWrap(True)
        lay.addWidget(self.legend)
        self.plot = pg.PlotWidget(background=BASE)
        self.plot.setMinimumHeight(110)
        _style_plot(self.plot, y_label)
        if log_y:
            self.plot.getPlotItem().setLogMode(x=False, y=True)
        lay.addWidget(self.plot, 1)

    def set_legend(self, entries: list[tuple[str, str]]) -> None:
        self.legend.setText("&nbsp;&nbsp;".join(f'<span style="color:{c}">━ {t}</span>' for c, t in entries))


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
        self._batch_curve = self.losses.plot.plot(pen=pg.mkPen(BATCH_COLOUR, width=1))
        self._total_train = self.total.plot.plot(
            pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=5, symbolBrush=TRAIN_COLOUR, symbolPen=None
        )
        self._total_val = self.total.plot.plot(
            pen=pg.mkPen(VAL_COLOUR, width=2), symbol="o", symbolSize=5, symbolBrush=VAL_COLOUR, symbolPen=None
        )
        self._metric_curves: dict[str, pg.PlotDataItem] = {}
        self._base_lines: dict[str, pg.InfiniteLine] = {}
        self._start_points: dict[str, pg.PlotDataItem] = {}
        self._best_lines: list[pg.InfiniteLine] = []
        for key, box in (("loss", self.total), ("reproj_px", self.reproj), ("bone_std_mm", self.bones)):
            if key != "loss":
                self._metric_curves[key] = box.plot.plot(
                    pen=pg.mkPen(VAL_COLOUR, width=2.2),
                    symbol="o",
                    symbolSize=6,
                    symbolBrush=VAL_COLOUR,
                    symbolPen=None,
                )
                line = pg.InfiniteLine(
                    angle=0, movable=False, pen=pg.mkPen(BASELINE_COLOUR, width=1.2, style=QtCore.Qt.PenStyle.DashLine)
                )
                line.setVisible(False)
                box.plot.addItem(line)
                self._base_lines[key] = line
            self._start_points[key] = box.plot.plot(
                [], [], pen=None, symbol="d", symbolSize=10, symbolBrush=START_COLOUR, symbolPen=None
            )
            best = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen("#8fe3a9", width=1, style=QtCore.Qt.PenStyle.DotLine)
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
            colour = TOTAL_COLOUR if t == "loss" else TERM_COLOURS.get(t, TEXT)
            width = 2.4 if t == "loss" else 1.8
            self._term_curves[t] = self.losses.plot.plot(
                pen=pg.mkPen(colour, width=width), symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None
            )
        entries = [(TERM_COLOURS.get(t, TEXT), TERM_LABELS.get(t, t)) for t in self.terms]
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

    def add_epoch(self, report: Any) -> None:
        """One :class:`models.train.EpochReport` (drawn at the next redraw, at most :data:`REDRAW_MS` later)."""
        self._x.append(float(report.epoch + 1))
        for k in (*self.terms, "loss"):
            self._train.setdefault(k, []).append(float(report.train.get(k, math.nan)))
        for k in ("loss", "reproj_px", "bone_std_mm"):
            self._val.setdefault(k, []).append(float(report.val.get(k, math.nan)))
        if report.best:
            self._best = report.epoch + 1
        self._schedule()

    def add_batch(self, p: TrainingProgress) -> None:
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


def _section(number: int, title: str) -> tuple[QtWidgets.QWidget, QtWidgets.QVBoxLayout]:
    w = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    head = QtWidgets.QHBoxLayout()
    head.setSpacing(8)
    badge = QtWidgets.QLabel(str(number))
    badge.setObjectName("stepBadge")
    badge.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    head.addWidget(badge)
    t = QtWidgets.QLabel(title)
    t.setObjectName("sectionTitle")
    head.addWidget(t, 1)
    lay.addLayout(head)
    return w, lay


def _caption(text: str = "") -> QtWidgets.QLabel:
    lbl = QtWidgets.QLabel(text)
    lbl.setObjectName("caption")
    lbl.setWordWrap(True)
    return lbl


class TrainingTab(QtWidgets.QWidget):
    """Training: set up, run with live plots, compare, use. See the module docstring.

    ``settings``: where the sessions root, the models folder and the last choices are kept (default: the user's).
    """

    #: the checkpoint the user chose with "Use this model" (the app makes it the active model)
    modelChosen = QtCore.Signal(str)
    #: :class:`app.training_workers.Environment` once torch is loaded (Start is enabled then)
    environmentReady = QtCore.Signal(object)
    #: the list of :class:`app.training_workers.TrainingSource` after each refresh
    sourcesListed = QtCore.Signal(object)
    #: :class:`app.training_workers.CheckpointInfo`, or the error text, after a starting checkpoint was checked
    checkpointChecked = QtCore.Signal(object)
    #: :class:`app.training_workers.TrainingStarted`: the data is ready, training begins
    trainingStarted = QtCore.Signal(object)
    #: :class:`app.training_workers.TrainingProgress` (~10 Hz)
    progressed = QtCore.Signal(object)
    #: :class:`models.train.EpochReport` after each epoch (the plots have its points already)
    epochFinished = QtCore.Signal(object)
    #: :class:`models.train.TrainResult` when a run ends (finished, stopped or early-stopped)
    trainingFinished = QtCore.Signal(object)
    #: the error text when a run failed
    trainingFailed = QtCore.Signal(str)
    #: a run stopped before its first batch (nothing written)
    trainingCancelled = QtCore.Signal()
    #: ``idle``, ``preparing``, ``training``, ``paused``, ``stopping``
    stateChanged = QtCore.Signal(str)
    #: the text of every error shown in the tab
    errorShown = QtCore.Signal(str)
    #: :class:`app.training_workers.Comparison` / its error text
    compared = QtCore.Signal(object)
    compareFailed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, settings: QtCore.QSettings | None = None) -> None:
        super().__init__(parent)
        if settings is None:
            from app.main_window import default_settings

            settings = default_settings()
        self._settings = settings
        self.setObjectName("trainingTab")
        self.setStyleSheet(_STYLESHEET)
        self.env: Environment | None = None
        self._sources: list[TrainingSource] = []
        self._checked: set[str] = set()
        self._worker: TrainingWorker | None = None
        self._aux: list[Task] = []
        self._scan: Task | None = None
        self._scan_again = False
        self._state = IDLE
        self._out_edited = False
        self._applying_preset = False
        self._registered_window: QtWidgets.QWidget | None = None
        self._t_start = 0.0
        self._last_progress: TrainingProgress | None = None
        self._started: TrainingStarted | None = None
        self._epochs_done = 0
        self._last_out: Path | None = None
        self._can_continue = False
        self._picked: list[Path] = []
        self._checked_init: dict[str, CheckpointInfo | str] = {}
        self.last_error: str | None = None
        self.last_result: Any = None
        self.log_lines: list[str] = []

        root = QtWidgets.QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_setup())
        root.addLayout(self._build_right(), 1)
        self._load_settings()
        self._elapsed_timer = QtCore.QTimer(self)
        self._elapsed_timer.setInterval(1000)
        self._elapsed_timer.timeout.connect(self._update_run_labels)
        self._set_state(IDLE)
        self._start_aux(probe_task(), self._on_environment)
        self.refresh()

    # ================================================================================================ building
    def _build_setup(self) -> QtWidgets.QFrame:
        panel = QtWidgets.QFrame()
        panel.setObjectName("setupPanel")
        panel.setFixedWidth(440)
        outer = QtWidgets.QVBoxLayout(panel)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName("setupScroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QtWidgets.QWidget()
        inner.setObjectName("setupInner")
        lay = QtWidgets.QVBoxLayout(inner)
        lay.setContentsMargins(16, 12, 16, 8)
        lay.setSpacing(12)

        # 1. recordings
        sec, s = _section(1, "Recordings to learn from")
        self.root_label = _caption()
        s.addWidget(self.root_label)
        self.source_tree = QtWidgets.QTreeWidget()
        self.source_tree.setObjectName("sourceList")
        self.source_tree.setColumnCount(3)
        self.source_tree.setHeaderLabels(["Recording", "Frames", "2D"])
        self.source_tree.setRootIsDecorated(False)
        self.source_tree.setUniformRowHeights(True)
        self.source_tree.setMinimumHeight(120)
        self.source_tree.setMaximumHeight(136)
        header = self.source_tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.source_tree.itemChanged.connect(self._on_source_item_changed)
        self.source_tree.itemSelectionChanged.connect(self._update_actions)
        s.addWidget(self.source_tree)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(6)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.add_folder_button = QtWidgets.QPushButton("Add folder…")
        self.add_folder_button.setToolTip(
            "A session folder from elsewhere, or a folder with 2D keypoints (.npz) and the cameras' calibration (.toml)"
        )
        self.add_folder_button.clicked.connect(self.add_folder)
        self.add_file_button = QtWidgets.QPushButton("Add file…")
        self.add_file_button.setToolTip("A keypoints .npz with its calibration .toml beside it")
        self.add_file_button.clicked.connect(self.add_file)
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("Take an added folder or file off the list (nothing is deleted)")
        self.remove_button.clicked.connect(self.remove_selected_source)
        for b in (self.refresh_button, self.add_folder_button, self.add_file_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        s.addLayout(row)
        self.sources_note = _caption()
        s.addWidget(self.sources_note)
        lay.addWidget(sec)

        # 2. starting model
        sec, s = _section(2, "Starting model")
        row = QtWidgets.QHBoxLayout()
        self.init_combo = QtWidgets.QComboBox()
        self.init_combo.setObjectName("initCombo")
        self.init_combo.setMinimumContentsLength(20)
        self.init_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.init_combo.currentIndexChanged.connect(lambda _i: self._on_init_changed())
        row.addWidget(self.init_combo, 1)
        self.init_button = QtWidgets.QPushButton("Choose file…")
        self.init_button.clicked.connect(self.choose_init)
        row.addWidget(self.init_button)
        s.addLayout(row)
        self.init_info = _caption("")
        s.addWidget(self.init_info)
        lay.addWidget(sec)

        # 3. training settings
        sec, s = _section(3, "Training")
        form = QtWidgets.QGridLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        self.epochs_spin = QtWidgets.QSpinBox()
        self.epochs_spin.setObjectName("epochsSpin")
        self.epochs_spin.setRange(1, 10000)
        self.epochs_spin.setValue(30)
        self.lr_spin = QtWidgets.QDoubleSpinBox()
        self.lr_spin.setObjectName("lrSpin")
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.lr_spin.setValue(1e-3)
        self.lr_spin.setToolTip("Adam (AMSGrad) learning rate; multiplied by 0.9 when the loss stalls for 10 epochs")
        self.batch_spin = QtWidgets.QSpinBox()
        self.batch_spin.setObjectName("batchSpin")
        self.batch_spin.setRange(2, 65536)
        self.batch_spin.setValue(256)
        self.batch_spin.setToolTip("Frames per optimisation step (the paper: 256)")
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.addItem("Automatic", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.addItem("CUDA GPU", "cuda")
        self.device_combo.currentIndexChanged.connect(lambda _i: self._on_device_changed())
        for r, (label, w) in enumerate(
            (("Epochs", self.epochs_spin), ("Batch size", self.batch_spin), ("Learning rate", self.lr_spin))
        ):
            lbl = QtWidgets.QLabel(label)
            lbl.setObjectName("fieldLabel")
            form.addWidget(lbl, r // 2, (r % 2) * 2)
            form.addWidget(w, r // 2, (r % 2) * 2 + 1)
        lbl = QtWidgets.QLabel("Device")
        lbl.setObjectName("fieldLabel")
        form.addWidget(lbl, 2, 0)
        form.addWidget(self.device_combo, 2, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        s.addLayout(form)
        self.device_note = _caption("Looking for a CUDA GPU…")
        s.addWidget(self.device_note)
        lay.addWidget(sec)

        # 4. loss
        sec, s = _section(4, "Loss weights")
        row = QtWidgets.QHBoxLayout()
        lbl = QtWidgets.QLabel("Preset")
        lbl.setObjectName("fieldLabel")
        row.addWidget(lbl)
        self.preset_combo = QtWidgets.QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.currentIndexChanged.connect(lambda _i: self._on_preset_chosen())
        row.addWidget(self.preset_combo, 1)
        s.addLayout(row)
        self.preset_note = _caption()
        s.addWidget(self.preset_note)
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        self.weight_spins: dict[str, QtWidgets.QDoubleSpinBox] = {}
        for i, (term, label) in enumerate(TERM_LABELS.items()):
            r, c = i // 2, (i % 2) * 4
            swatch = QtWidgets.QLabel("●")
            swatch.setStyleSheet(f"color: {TERM_COLOURS[term]}; font-size: 12px;")
            name = QtWidgets.QLabel(label)
            name.setObjectName("fieldLabel")
            name.setToolTip(TERM_HELP[term])
            spin = QtWidgets.QDoubleSpinBox()
            spin.setObjectName(f"weight_{term}")
            spin.setDecimals(3)
            spin.setRange(0.0, 1000.0)
            spin.setSingleStep(0.05)
            spin.setFixedWidth(74)
            spin.setToolTip(f"{TERM_HELP[term]}. Weight 0 switches the term off.")
            spin.valueChanged.connect(lambda _v: self._on_weights_edited())
            grid.addWidget(swatch, r, c)
            grid.addWidget(name, r, c + 1)
            grid.addWidget(spin, r, c + 2)
            self.weight_spins[term] = spin
        grid.setColumnMinimumWidth(3, 10)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(5, 1)
        s.addLayout(grid)
        row = QtWidgets.QHBoxLayout()
        lbl = QtWidgets.QLabel("2D penalty")
        lbl.setObjectName("fieldLabel")
        row.addWidget(lbl)
        self.robust_combo = QtWidgets.QComboBox()
        self.robust_combo.setObjectName("robustCombo")
        for k, v in ROBUST_LABELS.items():
            self.robust_combo.addItem(v, k)
        self.robust_combo.setToolTip("How 2D errors are penalised: robust ones ignore single bad detections")
        self.robust_combo.currentIndexChanged.connect(lambda _i: self._on_weights_edited())
        row.addWidget(self.robust_combo, 1)
        self.robust_scale = QtWidgets.QDoubleSpinBox()
        self.robust_scale.setRange(0.5, 200.0)
        self.robust_scale.setDecimals(1)
        self.robust_scale.setSuffix(" px")
        self.robust_scale.setToolTip("Pixel error where the robust penalty starts to flatten")
        self.robust_scale.valueChanged.connect(lambda _v: self._on_weights_edited())
        row.addWidget(self.robust_scale)
        s.addLayout(row)
        lay.addWidget(sec)

        # 5. output
        sec, s = _section(5, "Save the new model as")
        row = QtWidgets.QHBoxLayout()
        self.out_edit = QtWidgets.QLineEdit()
        self.out_edit.setObjectName("outEdit")
        self.out_edit.textEdited.connect(lambda _t: setattr(self, "_out_edited", True))
        row.addWidget(self.out_edit, 1)
        self.out_button = QtWidgets.QPushButton("Choose…")
        self.out_button.clicked.connect(self.choose_output)
        row.addWidget(self.out_button)
        s.addLayout(row)
        self.out_note = _caption()
        s.addWidget(self.out_note)
        lay.addWidget(sec)
        lay.addStretch(1)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)

        # run controls, always visible
        bottom = QtWidgets.QFrame()
        bl = QtWidgets.QVBoxLayout(bottom)
        bl.setContentsMargins(16, 8, 16, 14)
        bl.setSpacing(8)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName("errorBanner")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)
        bl.addWidget(self.error_label)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(8)
        self.start_button = QtWidgets.QPushButton("Start training")
        self.start_button.setObjectName("primaryButton")
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("dangerButton")
        self.stop_button.setToolTip("Stop after the current batch; the best model so far is kept")
        self.stop_button.clicked.connect(self.stop_training)
        row.addWidget(self.start_button, 2)
        row.addWidget(self.pause_button, 1)
        row.addWidget(self.stop_button, 1)
        bl.addLayout(row)
        outer.addWidget(bottom)
        return panel

    def _build_right(self) -> QtWidgets.QVBoxLayout:
        col = QtWidgets.QVBoxLayout()
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        bar = QtWidgets.QFrame()
        bar.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(0)
        group = QtWidgets.QButtonGroup(self)
        self.page_buttons: list[QtWidgets.QPushButton] = []
        for i, text in enumerate(("Progress", "Compare")):
            b = QtWidgets.QPushButton(text)
            b.setObjectName("segment")
            b.setCheckable(True)
            group.addButton(b, i)
            row.addWidget(b)
            self.page_buttons.append(b)
        self.page_buttons[0].setChecked(True)
        group.idClicked.connect(self.show_page)
        row.addSpacing(14)
        self.state_chip = QtWidgets.QLabel()
        self.state_chip.setObjectName("stateChip")
        row.addWidget(self.state_chip)
        row.addStretch(1)
        self.header_info = QtWidgets.QLabel()
        self.header_info.setObjectName("caption")
        row.addWidget(self.header_info)
        col.addWidget(bar)
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self._build_progress_page())
        self.compare = ComparePanel()
        self.compare.compared.connect(self.compared)
        self.compare.compareFailed.connect(self._on_compare_failed)
        self.compare.useRequested.connect(self._use_model)
        self.pages.addWidget(self.compare)
        col.addWidget(self.pages, 1)
        return col

    def _build_progress_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.setSpacing(8)
        head = QtWidgets.QHBoxLayout()
        self.run_title = QtWidgets.QLabel("Not started")
        self.run_title.setObjectName("runTitle")
        head.addWidget(self.run_title)
        head.addStretch(1)
        self.elapsed_label = QtWidgets.QLabel()
        self.elapsed_label.setObjectName("caption")
        head.addWidget(self.elapsed_label)
        head.addSpacing(14)
        self.eta_label = QtWidgets.QLabel()
        self.eta_label.setObjectName("eta")
        head.addWidget(self.eta_label)
        lay.addLayout(head)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("trainProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        lay.addWidget(self.progress_bar)
        self.run_info = _caption(
            "Tick one or more processed sessions, check the settings and press Start training. The network learns "
            "from cross-view consistency of your own recordings: no 3D ground truth and no labelling needed."
        )
        lay.addWidget(self.run_info)
        self.done_banner = QtWidgets.QFrame()
        db = QtWidgets.QHBoxLayout(self.done_banner)
        db.setContentsMargins(0, 0, 0, 0)
        db.setSpacing(8)
        self.done_label = QtWidgets.QLabel()
        self.done_label.setObjectName("doneBanner")
        self.done_label.setWordWrap(True)
        self.done_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        db.addWidget(self.done_label, 1)
        self.continue_button = QtWidgets.QPushButton("Continue training")
        self.continue_button.setToolTip("Continue the stopped run from its saved state, up to the epochs set")
        self.continue_button.clicked.connect(lambda: self.start(resume=True))
        db.addWidget(self.continue_button)
        self.goto_compare_button = QtWidgets.QPushButton("Compare →")
        self.goto_compare_button.setObjectName("primaryButton")
        self.goto_compare_button.clicked.connect(lambda: self.show_page(1))
        db.addWidget(self.goto_compare_button)
        self.done_banner.setVisible(False)
        lay.addWidget(self.done_banner)
        self.plots = TrainingPlots()
        lay.addWidget(self.plots, 1)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setObjectName("trainLog")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        self.log_view.setFixedHeight(86)
        self.log_view.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.log_view)
        return page

    def show_page(self, index: int) -> None:
        """0: progress and plots; 1: comparison."""
        self.pages.setCurrentIndex(int(index))
        self.page_buttons[int(index)].setChecked(True)

    # ================================================================================================ settings
    def _load_settings(self) -> None:
        s = self._settings
        self.epochs_spin.setValue(int(s.value(K_EPOCHS, 30)))
        self.lr_spin.setValue(float(s.value(K_LR, 1e-3)))
        self.batch_spin.setValue(int(s.value(K_BATCH, 256)))
        dev = str(s.value(K_DEVICE, "auto"))
        idx = self.device_combo.findData(dev if dev in ("auto", "cpu") else "auto")
        self.device_combo.setCurrentIndex(max(idx, 0))
        self._update_root_label()
        self._fill_init_combo(str(s.value(K_INIT, "")) or None)
        self._new_output()
        for w in (self.preset_combo, self.robust_combo, self.robust_scale, *self.weight_spins.values()):
            w.setEnabled(False)
        self.preset_note.setText("Loading the loss presets…")

    def _save_settings(self) -> None:
        s = self._settings
        s.setValue(K_EPOCHS, self.epochs_spin.value())
        s.setValue(K_LR, self.lr_spin.value())
        s.setValue(K_BATCH, self.batch_spin.value())
        s.setValue(K_DEVICE, self.device())
        s.setValue(K_PRESET, self.preset())
        s.setValue(K_WEIGHTS, json.dumps(self.loss_weights()))
        s.setValue(K_INIT, str(self.init_checkpoint() or ""))
        s.sync()

    def _extra_sources(self) -> list[str]:
        value = self._settings.value(EXTRA_SOURCES_KEY, [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def _set_extra_sources(self, paths: list[str]) -> None:
        self._settings.setValue(EXTRA_SOURCES_KEY, list(paths))
        self._settings.sync()

    def _update_root_label(self) -> None:
        root = sessions_root(self._settings)
        home = Path.home()
        text = f"~/{root.relative_to(home)}" if root.is_relative_to(home) else str(root)
        self.root_label.setText(f"Sessions in {text}")
        self.root_label.setToolTip(f"{root}\nTick the recordings to learn from (they need 2D keypoints: Process).")

    def models_folder(self) -> Path:
        return models_folder(self._settings)

    def set_models_folder(self, path: str | Path) -> None:
        set_models_folder(self._settings, path)
        self._fill_init_combo(self.init_checkpoint())
        if not self._out_edited:
            self._new_output()

    # ================================================================================================ environment
    def _start_aux(self, task: Task, on_result, on_error=None) -> Task:
        task.succeeded.connect(on_result)
        if on_error is not None:
            task.failed.connect(on_error)
        else:
            task.failed.connect(lambda exc: self._show_error(str(exc)))
        task.ended.connect(lambda t=task: self._aux_ended(t))
        self._aux.append(task)
        task.start()
        return task

    def _aux_ended(self, task: Task) -> None:
        task.wait()
        task.deleteLater()
        if task in self._aux:
            self._aux.remove(task)

    def _on_environment(self, env: Environment) -> None:
        self.env = env
        i = self.device_combo.findData("cuda")
        item = self.device_combo.model().item(i)
        if env.cuda:
            self.device_combo.setItemText(i, f"CUDA · {env.cuda_name or 'GPU'}")
            item.setEnabled(True)
            self.device_combo.setItemData(i, "", QtCore.Qt.ItemDataRole.ToolTipRole)
            self.device_combo.setItemText(self.device_combo.findData("auto"), "Automatic (CUDA)")
            dev = str(self._settings.value(K_DEVICE, "auto"))
            if dev == "cuda":
                self.device_combo.setCurrentIndex(i)
        else:
            self.device_combo.setItemText(i, "CUDA GPU (none found)")
            item.setEnabled(False)
            self.device_combo.setItemData(
                i,
                f"No CUDA GPU is available (torch {env.torch_version}: torch.cuda.is_available() is False). "
                "Training runs on the CPU.",
                QtCore.Qt.ItemDataRole.ToolTipRole,
            )
            self.device_combo.setItemText(self.device_combo.findData("auto"), "Automatic (CPU)")
        self._on_device_changed()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for name in env.presets:
            self.preset_combo.addItem(name, name)
        self.preset_combo.blockSignals(False)
        for w in (self.preset_combo, self.robust_combo, self.robust_scale, *self.weight_spins.values()):
            w.setEnabled(True)
        for term, spin in self.weight_spins.items():
            spin.setVisible(term in env.terms)
        saved = str(self._settings.value(K_PRESET, DEFAULT_PRESET))
        self.set_preset(saved if saved in env.presets else DEFAULT_PRESET)
        if saved == "custom":
            self._restore_custom_weights()
        self._update_actions()
        self.environmentReady.emit(env)

    def cuda_available(self) -> bool:
        """``torch.cuda.is_available()`` (from the probe; asked directly if the probe has not answered yet)."""
        if self.env is not None:
            return self.env.cuda
        import torch

        return bool(torch.cuda.is_available())

    def _on_device_changed(self) -> None:
        dev = self.device()
        if self.env is None:
            return
        if self.env.cuda:
            text = f"CUDA GPU: {self.env.cuda_name or 'available'}"
            text += " · training runs on it." if dev in ("auto", "cuda") else " · training runs on the CPU (chosen)."
        else:
            text = "No CUDA GPU found: training runs on the CPU."
        self.device_note.setText(text)
        self.device_note.setToolTip(f"torch {self.env.torch_version}: torch.cuda.is_available() is {self.env.cuda}")
        self.compare.set_device(dev)

    def device(self) -> str:
        return str(self.device_combo.currentData())

    def set_device(self, device: str) -> None:
        """``auto``, ``cpu`` or ``cuda`` (even when disabled: Start then says why it cannot be used)."""
        idx = self.device_combo.findData(device)
        if idx < 0:
            raise ValueError(f"device is auto, cpu or cuda, not {device!r}")
        self.device_combo.setCurrentIndex(idx)

    # ================================================================================================ loss
    def preset(self) -> str:
        return str(self.preset_combo.currentData() or "custom")

    def set_preset(self, name: str) -> None:
        """Fill the weights from a :class:`models.losses.LossConfig` preset."""
        if self.env is None or name not in self.env.presets:
            raise ValueError(f"unknown loss preset {name!r}")
        idx = self.preset_combo.findData(name)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(idx)
        self.preset_combo.blockSignals(False)
        self._drop_custom_item()
        d = self.env.presets[name]
        self._applying_preset = True
        try:
            for term, spin in self.weight_spins.items():
                spin.setValue(float(d.get(term, 0.0)))
            self.robust_combo.setCurrentIndex(max(self.robust_combo.findData(d.get("robust", "huber")), 0))
            self.robust_scale.setValue(float(d.get("robust_scale_px", 10.0)))
        finally:
            self._applying_preset = False
        self.preset_note.setText(PRESET_HELP.get(name, "").capitalize() + ".")
        self._update_weight_styles()

    def _restore_custom_weights(self) -> None:
        try:
            d = json.loads(str(self._settings.value(K_WEIGHTS, "")))
        except ValueError:
            return
        if not isinstance(d, dict):
            return
        self._applying_preset = True
        try:
            for term, spin in self.weight_spins.items():
                if isinstance(d.get(term), int | float):
                    spin.setValue(float(d[term]))
            if d.get("robust") in ROBUST_LABELS:
                self.robust_combo.setCurrentIndex(self.robust_combo.findData(d["robust"]))
            if isinstance(d.get("robust_scale_px"), int | float):
                self.robust_scale.setValue(float(d["robust_scale_px"]))
        finally:
            self._applying_preset = False
        self._on_weights_edited()

    def _on_preset_chosen(self) -> None:
        name = self.preset()
        if name != "custom" and self.env is not None:
            self.set_preset(name)

    def _drop_custom_item(self) -> None:
        idx = self.preset_combo.findData("custom")
        if idx >= 0 and self.preset_combo.currentIndex() != idx:
            self.preset_combo.blockSignals(True)
            self.preset_combo.removeItem(idx)
            self.preset_combo.blockSignals(False)

    def _on_weights_edited(self) -> None:
        if self._applying_preset or self.env is None:
            return
        d = self.loss_weights()
        match = next(
            (
                n
                for n, p in self.env.presets.items()
                if all(abs(float(p[t]) - float(d[t])) < 1e-9 for t in self.env.terms)
                and p.get("robust") == d["robust"]
                and abs(float(p.get("robust_scale_px", 0)) - d["robust_scale_px"]) < 1e-9
            ),
            None,
        )
        self.preset_combo.blockSignals(True)
        if match is not None:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(match))
            self._drop_custom_item()
        else:
            if self.preset_combo.findData("custom") < 0:
                self.preset_combo.addItem("custom", "custom")
            self.preset_combo.setCurrentIndex(self.preset_combo.findData("custom"))
        self.preset_combo.blockSignals(False)
        self.preset_note.setText(PRESET_HELP.get(self.preset(), "").capitalize() + ".")
        self._update_weight_styles()

    def _update_weight_styles(self) -> None:
        for spin in self.weight_spins.values():
            spin.setStyleSheet("" if spin.value() > 0 else f"color: {MUTED};")

    def loss_weights(self) -> dict[str, Any]:
        """The :class:`models.losses.LossConfig` fields set in the tab."""
        d: dict[str, Any] = {t: float(s.value()) for t, s in self.weight_spins.items()}
        d["robust"] = str(self.robust_combo.currentData())
        d["robust_scale_px"] = float(self.robust_scale.value())
        return d

    def set_loss_weight(self, term: str, value: float) -> None:
        self.weight_spins[term].setValue(float(value))

    # ================================================================================================ sources
    def refresh(self) -> None:
        """List the recordings again (in a worker; ``sourcesListed`` follows)."""
        if self._scan is not None:
            self._scan_again = True
            return
        self._update_root_label()
        task = scan_task(sessions_root(self._settings), self._extra_sources())
        self._scan = task

        def ended(t: Task = task) -> None:
            self._aux_ended(t)
            if self._scan is t:
                self._scan = None
            if self._scan_again:
                self._scan_again = False
                self.refresh()

        task.succeeded.connect(self._on_sources)
        task.failed.connect(lambda exc: self._show_error(f"The recordings cannot be listed: {exc}"))
        task.ended.connect(ended)
        self._aux.append(task)
        task.start()

    def _on_sources(self, sources: list[TrainingSource]) -> None:
        self._sources = list(sources)
        t = self.source_tree
        t.blockSignals(True)
        t.clear()
        for s in self._sources:
            item = QtWidgets.QTreeWidgetItem(
                [s.name + ("  (added)" if s.external else ""), str(s.frames) if s.frames else "–", ""]
            )
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, str(s.path))
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                0, QtCore.Qt.CheckState.Checked if str(s.path) in self._checked else QtCore.Qt.CheckState.Unchecked
            )
            item.setTextAlignment(1, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            if s.has_keypoints and s.usable:
                item.setText(2, "✓")
                item.setForeground(2, QtGui.QBrush(QtGui.QColor("#8fe3a9")))
                tip = f"{s.path}\n{s.frames} frames of 2D keypoints" + (
                    f", cameras {', '.join(s.cameras)}" if s.cameras else ""
                )
            else:
                item.setText(2, "needs Process" if s.kind == "session" and not s.has_keypoints else "unusable")
                item.setForeground(2, QtGui.QBrush(QtGui.QColor("#f5a53e")))
                item.setForeground(0, QtGui.QBrush(QtGui.QColor(MUTED)))
                tip = f"{s.path}\n{s.problem}"
            for c in range(3):
                item.setToolTip(c, tip)
            t.addTopLevelItem(item)
        t.blockSignals(False)
        known = {str(s.path) for s in self._sources}
        self._checked &= known
        if not self._sources:
            self.sources_note.setText(
                "No sessions yet. Record one (Live tab) or import videos and Process them (Sessions tab), or "
                "Add folder… with 2D keypoints and a calibration."
            )
        else:
            self._update_sources_note()
        self.compare.set_sources([s for s in self._sources if s.has_keypoints] or self._sources)
        self._update_actions()
        self.sourcesListed.emit(list(self._sources))

    def _update_sources_note(self) -> None:
        chosen = self.checked_sources()
        frames = sum(s.frames for s in chosen)
        missing = sum(1 for s in self._sources if not s.has_keypoints)
        text = f"{len(chosen)} ticked · {frames} frames" if chosen else "Nothing ticked yet."
        if missing:
            text += f" · {missing} without 2D keypoints (Process them in the Sessions tab)."
        self.sources_note.setText(text)

    def _on_source_item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        path = str(item.data(0, QtCore.Qt.ItemDataRole.UserRole))
        if item.checkState(0) == QtCore.Qt.CheckState.Checked:
            self._checked.add(path)
        else:
            self._checked.discard(path)
        self._update_sources_note()

    def sources(self) -> list[TrainingSource]:
        return list(self._sources)

    def source_names(self) -> list[str]:
        return [s.name for s in self._sources]

    def checked_sources(self) -> list[TrainingSource]:
        return [s for s in self._sources if str(s.path) in self._checked]

    def set_checked(self, name_or_path: str | Path, checked: bool = True) -> bool:
        """Tick (or untick) a recording by name or path; False when it is not listed."""
        for i in range(self.source_tree.topLevelItemCount()):
            item = self.source_tree.topLevelItem(i)
            s = self._sources[i]
            if s.name == str(name_or_path) or s.path == Path(name_or_path):
                item.setCheckState(0, QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)
                return True
        return False

    def add_source(self, path: str | Path) -> TrainingSource:
        """Add a folder or keypoints file to the list (remembered), ticked when usable; ``problem`` says why not."""
        path = Path(path).expanduser()
        src = source_for_path(path)
        extra = self._extra_sources()
        if str(path) not in extra and not any(s.path == path for s in self._sources):
            extra.append(str(path))
            self._set_extra_sources(extra)
        if src.usable:
            self._checked.add(str(path))
        else:
            self._show_error(src.problem or f"'{path}' cannot be trained on.")
        self.refresh()
        return src

    def add_folder(self) -> str | None:
        start = str(sessions_root(self._settings).parent)
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Add a session or keypoints folder", start)
        if not path:
            return None
        self.add_source(path)
        return path

    def add_file(self) -> str | None:
        start = str(sessions_root(self._settings).parent)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Add a keypoints file", start, "2D keypoints (*.npz);;All files (*)"
        )
        if not path:
            return None
        self.add_source(path)
        return path

    def remove_selected_source(self) -> None:
        items = self.source_tree.selectedItems()
        if not items:
            return
        path = str(items[0].data(0, QtCore.Qt.ItemDataRole.UserRole))
        extra = [p for p in self._extra_sources() if str(Path(p).expanduser()) != path and p != path]
        self._set_extra_sources(extra)
        self._checked.discard(path)
        self.refresh()

    # ================================================================================================ checkpoints
    def _fill_init_combo(self, select: str | Path | None = None) -> None:
        combo = self.init_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Shipped default model", "")
        active = active_checkpoint(self._settings)
        seen: set[str] = {""}
        if active is not None:
            combo.addItem(f"Active model · {active.name}", str(active))
            seen.add(str(active))
        for p in recent_checkpoints(self.models_folder()):
            if str(p) in seen:
                continue
            when = QtCore.QDateTime.fromSecsSinceEpoch(int(p.stat().st_mtime)).toString("yyyy-MM-dd HH:mm")
            combo.addItem(f"{p.name}  ·  {when}", str(p))
            seen.add(str(p))
        for p in self._picked:
            if str(p) not in seen:
                combo.addItem(p.name, str(p))
                seen.add(str(p))
        idx = combo.findData(str(select)) if select else 0
        combo.setCurrentIndex(max(idx, 0))
        combo.blockSignals(False)
        self._on_init_changed()

    def init_checkpoint(self) -> Path | None:
        """The starting checkpoint chosen (None: the shipped model)."""
        data = self.init_combo.currentData()
        return Path(data) if data else None

    def set_init_checkpoint(self, path: str | Path | None) -> None:
        """Start from ``path`` (None: the shipped model); it is checked in a worker (``checkpointChecked``)."""
        if path is not None and self.init_combo.findData(str(path)) < 0:
            self._picked.append(Path(path))
        self._fill_init_combo(path)

    def choose_init(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Starting checkpoint", str(self.models_folder()), "CV-UGCN checkpoints (*.pt);;All files (*)"
        )
        if not path:
            return None
        self.set_init_checkpoint(path)
        return path

    def _on_init_changed(self) -> None:
        path = self.init_checkpoint()
        key = str(path or "")
        cached = self._checked_init.get(key)
        if cached is not None:
            self._show_init_info(cached)
            return
        self.init_info.setObjectName("caption")
        self.init_info.setStyleSheet("")
        self.init_info.setText("Checking the checkpoint…")

        def ok(info: CheckpointInfo, k: str = key) -> None:
            self._checked_init[k] = info
            if str(self.init_checkpoint() or "") == k:
                self._show_init_info(info)
            self.checkpointChecked.emit(info)

        def bad(exc: BaseException, k: str = key) -> None:
            text = str(exc) if isinstance(exc, CrossViewError) else f"{type(exc).__name__}: {exc}"
            self._checked_init[k] = text
            if str(self.init_checkpoint() or "") == k:
                self._show_init_info(text)
            self.checkpointChecked.emit(text)

        self._start_aux(checkpoint_task(path), ok, bad)

    def _show_init_info(self, info: CheckpointInfo | str) -> None:
        if isinstance(info, CheckpointInfo):
            self.init_info.setStyleSheet("")
            self.init_info.setText(info.summary())
            self.init_info.setToolTip(str(info.path))
        else:
            self.init_info.setStyleSheet("color: #ff9b91;")
            self.init_info.setText(info)
            self.init_info.setToolTip("")

    # ================================================================================================ output
    def _new_output(self) -> None:
        self.out_edit.setText(str(new_checkpoint_path(self.models_folder())))
        self._out_edited = False
        self.out_note.setText(f"Models folder: {self.models_folder()}")

    def output_path(self) -> Path | None:
        text = self.out_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_output_path(self, path: str | Path) -> None:
        self.out_edit.setText(str(path))
        self._out_edited = True

    def choose_output(self) -> str | None:
        start = str(self.output_path() or self.models_folder())
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the new model as", start, "CV-UGCN checkpoints (*.pt)"
        )
        if not path:
            return None
        if not path.endswith(".pt"):
            path += ".pt"
        self.set_output_path(path)
        return path

    # ================================================================================================ running
    def state(self) -> str:
        return self._state

    def is_running(self) -> bool:
        return self._worker is not None

    def worker(self) -> TrainingWorker | None:
        return self._worker

    def _set_state(self, state: str) -> None:
        self._state = state
        labels = {
            IDLE: "Ready" if self.env is not None else "Loading…",
            PREPARING: "Preparing data",
            TRAINING: "Training",
            PAUSED: "Paused",
            STOPPING: "Stopping…",
        }
        self.state_chip.setText(labels[state])
        self._update_actions()
        self.stateChanged.emit(state)

    def _update_actions(self) -> None:
        running = self._worker is not None
        ready = self.env is not None
        self.start_button.setEnabled(ready and not running)
        self.pause_button.setEnabled(running and self._state in (TRAINING, PAUSED, PREPARING))
        self.pause_button.setText("Resume" if self._state == PAUSED else "Pause")
        self.stop_button.setEnabled(running and self._state != STOPPING)
        for w in (
            self.source_tree,
            self.add_folder_button,
            self.add_file_button,
            self.refresh_button,
            self.init_combo,
            self.init_button,
            self.epochs_spin,
            self.lr_spin,
            self.batch_spin,
            self.device_combo,
            self.out_edit,
            self.out_button,
        ):
            w.setEnabled(not running)
        for w in (self.preset_combo, self.robust_combo, self.robust_scale, *self.weight_spins.values()):
            w.setEnabled(not running and ready)
        sel = self.source_tree.selectedItems()
        external = bool(sel) and any(
            s.external and str(s.path) == str(sel[0].data(0, QtCore.Qt.ItemDataRole.UserRole)) for s in self._sources
        )
        self.remove_button.setEnabled(not running and external)
        self.continue_button.setVisible(self._can_continue)
        self.continue_button.setEnabled(not running and self._can_continue)
        if not ready:
            self.start_button.setToolTip("Loading torch and the models…")
        else:
            self.start_button.setToolTip("")

    def start(self, resume: bool = False) -> bool:
        """Check the setup and start training in a worker; False (and a message in the tab) when it cannot."""
        if self._worker is not None:
            return False
        self._set_error(None)
        try:
            plan = self._plan(resume)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return False
        self._save_settings()
        worker = TrainingWorker(plan)
        worker.started_training.connect(self._on_started)
        worker.progressed.connect(self._on_progress)
        worker.epochFinished.connect(self._on_epoch)
        worker.logged.connect(self._append_log)
        worker.ended.connect(lambda w=worker: self._worker_ended(w))
        self._worker = worker
        self._last_out = plan.out
        self._can_continue = False
        self.done_banner.setVisible(False)
        if not resume:
            self.plots.reset(tuple(t for t in TERM_LABELS if plan.loss.get(t)), plan.epochs)
            self.log_view.clear()
            self.log_lines = []
            self._epochs_done = 0
        else:
            self.plots.set_epochs(plan.epochs)
        self._last_progress = None
        self._started = None
        self._t_start = time.monotonic()
        self.progress_bar.setValue(0 if not resume else self.progress_bar.value())
        self.run_title.setText("Preparing the data…")
        self.eta_label.setText("")
        self.run_info.setText(
            f"{len(plan.sources)} recording(s) · {plan.epochs} epochs · batch {plan.batch_size} · lr {plan.lr:g} · "
            f"loss '{plan.loss_preset}' · saving to {plan.out.name}"
        )
        self.header_info.setText(f"→ {plan.out}")
        self._register_with_window()
        self.show_page(0)
        self._set_state(PREPARING)
        self._elapsed_timer.start()
        worker.start()
        return True

    def _plan(self, resume: bool) -> TrainingPlan:
        if self.env is None:
            raise InputError("Torch and the models are still loading; wait a moment and press Start again.")
        chosen = self.checked_sources()
        check_sources(chosen)
        device = self.device()
        if device == "cuda" and not self.cuda_available():
            raise ModelError(
                "CUDA was chosen but this computer has no usable CUDA GPU (torch.cuda.is_available() is False). "
                "Choose CPU or Automatic as the device."
            )
        out = self._last_out if resume else self.output_path()
        if out is None:
            raise InputError("Give the file to save the new model to (step 5).")
        if out.suffix != ".pt":
            raise InputError(f"'{out.name}': a model checkpoint file name ends in .pt.")
        state = out.with_name(out.name + ".state.pt")
        if resume and not state.is_file():
            raise InputError(f"There is no saved state to continue from ('{state}'); start a new training.")
        if not resume and (out.exists() or state.exists()):
            raise InputError(
                f"'{out}' already exists; choose another file name (step 5) so that it is not overwritten."
            )
        init = self.init_checkpoint()
        cached = self._checked_init.get(str(init or ""))
        if isinstance(cached, str):
            raise ModelError(cached)
        loss = self.loss_weights()
        if not any(loss[t] > 0 for t in TERM_LABELS):
            raise InputError("Every loss weight is 0: give at least one term a weight above 0 (step 4).")
        return TrainingPlan(
            sources=[str(s.path) for s in chosen],
            out=out,
            epochs=self.epochs_spin.value(),
            lr=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            device=device,
            loss=loss,
            init=str(init) if init else None,
            loss_preset=self.preset(),
            resume=resume,
            threads=training_threads(),
        )

    def toggle_pause(self) -> None:
        if self._state == PAUSED:
            self.resume()
        else:
            self.pause()

    def pause(self) -> bool:
        """Hold training between batches (Resume continues)."""
        if self._worker is None or self._state not in (TRAINING, PREPARING):
            return False
        self._worker.pause()
        self._set_state(PAUSED)
        self.run_title.setText(self.run_title.text().split("  ·  paused")[0] + "  ·  paused")
        return True

    def resume(self) -> bool:
        if self._worker is None or self._state != PAUSED:
            return False
        self._worker.resume()
        self._set_state(TRAINING if self._started is not None else PREPARING)
        self._update_run_labels()
        return True

    def stop_training(self) -> bool:
        """Stop after the current batch without waiting (the best checkpoint so far is kept)."""
        if self._worker is None:
            return False
        self._worker.request_stop()
        self._set_state(STOPPING)
        self.run_title.setText("Stopping after the current batch…")
        return True

    def _on_started(self, st: TrainingStarted) -> None:
        self._started = st
        if self._state == PREPARING:
            self._set_state(TRAINING)
        if st.resumed_from_epoch == 0:
            self.plots.reset(st.terms, st.epochs)
        self.plots.set_references(st.triangulation, st.start_model)
        base = st.triangulation
        start = st.start_model
        bits = [f"{st.train_samples} training / {st.val_samples} validation frames ({st.split})", f"device {st.device}"]
        if math.isfinite(base.get("reproj_px", math.nan)):
            bone = base.get("bone_std_mm", math.nan)
            bits.append(f"triangulation on validation: {base['reproj_px']:.2f} px, bones ±{bone:.1f} mm")
        if start:
            r0, b0 = start.get("reproj_px", math.nan), start.get("bone_std_mm", math.nan)
            bits.append(f"starting model: {r0:.2f} px, ±{b0:.1f} mm")
        self.run_info.setText(" · ".join(bits))
        self.trainingStarted.emit(st)
        self._update_run_labels()

    def _on_progress(self, p: TrainingProgress) -> None:
        self._last_progress = p
        self.plots.add_batch(p)
        self.progress_bar.setValue(int(round(1000 * min(max(p.fraction, 0.0), 1.0))))
        self.progress_bar.setFormat(f"{100 * p.fraction:.0f} %")
        self._update_run_labels()
        self.progressed.emit(p)

    def _on_epoch(self, report: Any) -> None:
        self._epochs_done = report.epoch + 1
        self.plots.add_epoch(report)
        self.epochFinished.emit(report)

    def _update_run_labels(self) -> None:
        if self._worker is None:
            return
        elapsed = time.monotonic() - self._t_start
        self.elapsed_label.setText(f"elapsed {format_eta(elapsed)}")
        p = self._last_progress
        if p is None:
            if self._state == PREPARING:
                self.run_title.setText("Preparing the data…")
            return
        title = f"Epoch {p.epoch + 1} of {p.epochs}  ·  batch {p.batch} of {p.batches}"
        if self._state == PAUSED:
            title += "  ·  paused"
        elif self._state == STOPPING:
            title = "Stopping after the current batch…"
        self.run_title.setText(title)
        self.eta_label.setText(f"ETA {format_eta(p.eta_s)}")

    def last_progress(self) -> TrainingProgress | None:
        """The last progress report of the current (or last) run."""
        return self._last_progress

    def eta_text(self) -> str:
        return self.eta_label.text()

    def _append_log(self, text: str) -> None:
        self.log_lines.append(text)
        self.log_view.appendPlainText(text)

    def _worker_ended(self, worker: TrainingWorker) -> None:
        worker.wait()
        worker.deleteLater()
        self.plots.flush()
        self._update_run_labels()  # the final elapsed time
        if self._worker is worker:
            self._worker = None
        self._elapsed_timer.stop()
        self._set_state(IDLE)
        self.eta_label.setText("")
        out = worker.plan.out
        state_file = out.with_name(out.name + ".state.pt")
        if worker.error is not None:
            exc = worker.error
            text = str(exc) if isinstance(exc, CrossViewError | RemoteError) else f"{type(exc).__name__}: {exc}"
            self.run_title.setText("Training failed")
            self._show_error(f"Training failed. {text}")
            self.trainingFailed.emit(text)
            return
        if worker.was_cancelled:
            self.run_title.setText("Stopped before training started; nothing was saved.")
            self.trainingCancelled.emit()
            return
        res = worker.result
        self.last_result = res
        how = {"finished": "Finished", "early_stopping": "Stopped early (no improvement)", "stopped": "Stopped"}.get(
            res.stopped, res.stopped
        )
        best = res.best_val or {}
        figures = ""
        if isinstance(best.get("reproj_px"), int | float):
            figures = f": validation {best['reproj_px']:.2f} px, bones ±{best.get('bone_std_mm', math.nan):.1f} mm"
        self.run_title.setText(f"{how} after {self._epochs_done} epoch{'s' if self._epochs_done != 1 else ''}")
        self.done_label.setText(
            f"<b>{how}.</b> Best epoch {res.best_epoch + 1}{figures}. Saved to {res.checkpoint} "
            f"(id {res.checkpoint_id[:8]}). Compare it with the current model before you use it."
        )
        self.done_banner.setVisible(True)
        self._can_continue = res.stopped == "stopped" and state_file.is_file()
        if res.stopped == "finished":
            self.progress_bar.setValue(1000)
            self.progress_bar.setFormat("100 %")
        self.compare.set_new_checkpoint(res.checkpoint)
        self.compare.set_current_model(active_checkpoint(self._settings))
        trained = worker.plan.sources
        if trained:
            self.compare.select_source(trained[0])
        self._fill_init_combo(self.init_checkpoint())
        if not self._out_edited or (self.output_path() == out):
            self._new_output()  # the next run gets a new file; Continue keeps writing this one
        self._update_actions()
        self.trainingFinished.emit(res)

    # ================================================================================================ after
    def _use_model(self, path: str) -> None:
        self.modelChosen.emit(path)
        self.compare.set_current_model(Path(path), Path(path).name)
        self._fill_init_combo(self.init_checkpoint())
        self._show_message(f"Live capture and processing now use {Path(path).name}.")

    def _on_compare_failed(self, text: str) -> None:
        self.errorShown.emit(text)
        self.compareFailed.emit(text)

    # ================================================================================================ messages
    def _set_error(self, text: str | None) -> None:
        self.error_label.setText(text or "")
        self.error_label.setVisible(bool(text))

    def _show_error(self, text: str) -> None:
        """An error in the tab (under the setup, above Start): what is wrong and what to do."""
        self.last_error = text
        log.warning("Training tab: %s", text)
        self._set_error(text)
        self.errorShown.emit(text)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    def _show_message(self, text: str, timeout_ms: int = 6000) -> None:
        show = getattr(self.window(), "show_message", None)
        if callable(show) and self.window() is not self:
            show(text, timeout_ms)

    # ================================================================================================ window
    def _register_with_window(self) -> None:
        win = self.window()
        register = getattr(win, "register_closeable", None)
        if win is not self and callable(register) and self._registered_window is not win:
            register(self)
            self._registered_window = win

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._register_with_window()
        self.compare.set_current_model(active_checkpoint(self._settings))
        self.compare.set_start_folder(self.models_folder())
        if self._worker is None:
            self.refresh()

    def stop(self) -> None:
        """Stop training cleanly (the best checkpoint so far and the state are saved) and every other job of the
        tab; waits for them (window closing). The choices made in the tab are remembered."""
        if self.env is not None:
            self._save_settings()
        if self._worker is not None:
            self._worker.stop()
        self.compare.stop()
        for task in list(self._aux):
            task.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)
