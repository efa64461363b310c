"""The Training tab's comparison page: triangulation vs the current model vs a new checkpoint on one recording.
Qt only; the numbers come from :func:`models.evaluate.compare_models`, run by the
:class:`app.training.compare_presenter.ComparePresenter` in a task.

- Choose a recording (a session with 2D keypoints, or a folder / keypoints file added in the tab), what to
  compare against (the app's active model, or the shipped default) and the new checkpoint (the one just trained,
  or any file), then Compare.
- A table gives, for each of the three, the label-free measures of ``compare_presenter.MEASURES`` (mean
  reprojection error px, bone-length std mm, jitter mm/frame²), and how the new model changes them relative to the
  current one. When the new model is worse on most of them, the verdict says to keep the current one and the
  button reads "Use it anyway" (not the default).
- A frame you can scrub (slider, arrow keys, or a click on the per-frame plot) shows the three skeletons in one
  :class:`app.widgets.skeleton_view.SkeletonView`, in the styles ``coarse`` (triangulation), ``reference`` (current
  model) and ``default`` (new model).
- "Use this model" emits :attr:`ComparePanel.useRequested` with the new checkpoint's path.

Units: pixels (reprojection error), millimetres (bone-length variation, jitter per frame²), metres (3D), seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.tasks import TaskRegistry
from app.theme import PALETTE, set_style_property
from app.training.compare_presenter import CHANGE_COLOURS, MEASURES, ComparePresenter, change, fmt, verdict
from app.widgets.build import framed, make_label
from app.widgets.plots import ClickablePlot
from app.widgets.skeleton_view import SKELETON_STYLES, UP_AXES, SkeletonView
from models.evaluate import COMPARE_KINDS, Comparison
from models.sources import TrainingSource

#: SkeletonView style of each kind (the styles SkeletonView offers).
KIND_STYLE: dict[str, str] = {"coarse": "coarse", "old": "reference", "new": "default"}


def _hex(rgba: tuple[float, float, float, float]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgba[:3]))


#: One colour per kind for the table and the per-frame plot, taken from its skeleton style.
KIND_COLOUR: dict[str, str] = {
    "coarse": _hex(SKELETON_STYLES["coarse"].mid),
    "old": _hex(SKELETON_STYLES["reference"].right),
    "new": _hex(SKELETON_STYLES["default"].left),
}


class ComparePanel(QtWidgets.QWidget):
    """Compare page (see the module docstring)."""

    #: a :class:`models.evaluate.Comparison`
    compared = QtCore.Signal(object)
    #: the error text
    compareFailed = QtCore.Signal(str)
    #: the new checkpoint's path ("Use this model")
    useRequested = QtCore.Signal(str)
    #: the frame shown
    frameChanged = QtCore.Signal(int)

    def __init__(self, tasks: TaskRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparePanel")
        self.presenter = ComparePresenter(tasks, self)
        self._frame = -1
        self._start_dir = ""

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._build_bar())
        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(14, 12, 14, 12)
        body.setSpacing(12)
        body.addWidget(self._build_results(), 0)
        body.addLayout(self._build_view(), 1)
        lay.addLayout(body, 1)
        p = self.presenter
        p.compared.connect(self._on_compared)
        p.compareFailed.connect(self.compareFailed)
        p.errorChanged.connect(self._show_error)
        p.statusChanged.connect(self.status_label.setText)
        p.progressed.connect(self._on_progress)
        p.busyChanged.connect(self._on_busy)
        self._update_actions()

    # ================================================================================================ building
    def _build_bar(self) -> QtWidgets.QFrame:
        bar = QtWidgets.QFrame()
        bar.setObjectName("subBar")
        grid = QtWidgets.QGridLayout(bar)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.setObjectName("compareSource")
        self.source_combo.setMinimumContentsLength(22)
        self.source_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.source_combo.currentIndexChanged.connect(lambda _i: self._update_actions())
        self.against_combo = QtWidgets.QComboBox()
        self.against_combo.setObjectName("compareAgainst")
        self.against_combo.setMinimumContentsLength(26)
        self.against_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.new_edit = QtWidgets.QLineEdit()
        self.new_edit.setObjectName("compareNew")
        self.new_edit.setPlaceholderText("train a model, or choose a checkpoint file")
        self.new_edit.textChanged.connect(lambda _t: self._update_actions())
        self.new_button = QtWidgets.QPushButton("Choose…")
        self.new_button.clicked.connect(self.choose_new)
        self.compare_button = QtWidgets.QPushButton("Compare")
        self.compare_button.setObjectName("primaryButton")
        self.compare_button.clicked.connect(self.compare)
        self.use_button = QtWidgets.QPushButton("Use this model")
        self.use_button.setObjectName("useButton")
        self.use_button.setToolTip("Make the new checkpoint the model that live capture and processing use")
        self.use_button.clicked.connect(self.use_model)

        def cap(text: str) -> QtWidgets.QLabel:
            lbl = make_label(text, "caption")
            return lbl

        grid.addWidget(cap("Recording"), 0, 0)
        grid.addWidget(self.source_combo, 0, 1)
        grid.addWidget(cap("Compare against"), 0, 2)
        grid.addWidget(self.against_combo, 0, 3)
        grid.addWidget(self.compare_button, 0, 5)
        grid.addWidget(cap("New model"), 1, 0)
        new_row = QtWidgets.QHBoxLayout()
        new_row.setSpacing(6)
        new_row.addWidget(self.new_edit, 1)
        new_row.addWidget(self.new_button)
        grid.addLayout(new_row, 1, 1, 1, 3)
        grid.addWidget(self.use_button, 1, 5)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(3, 2)
        grid.setColumnStretch(4, 1)
        return bar

    def _build_results(self) -> QtWidgets.QFrame:
        panel, lay = framed("card", "v", (16, 14, 16, 14), 10, width=400)
        self.result_title = make_label("No comparison yet", "sectionTitle", wrap=True)
        lay.addWidget(self.result_title)
        self.result_info = QtWidgets.QLabel(
            "Choose a recording and press Compare: the triangulation, the current model and the new one are run "
            "on every frame and measured without any 3D ground truth."
        )
        self.result_info.setObjectName("caption")
        self.result_info.setWordWrap(True)
        lay.addWidget(self.result_info)
        cols = 1 + len(MEASURES)
        self.table = QtWidgets.QTableWidget(3, cols)
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(["", *(title for _, title in MEASURES)])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for c in range(1, cols):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(c, 106)
        header.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.table.verticalHeader().setDefaultSectionSize(54)
        self.table.setFixedHeight(54 * 3 + 52)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for r, kind in enumerate(COMPARE_KINDS):
            for c in range(cols):
                item = QtWidgets.QTableWidgetItem("–")
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignCenter
                    if c
                    else QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft
                )
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setText({"coarse": "Triangulation", "old": "Current model", "new": "New model"}[kind])
            self.table.item(r, 0).setIcon(self._swatch(KIND_COLOUR[kind]))
        lay.addWidget(self.table)
        self.verdict_label = make_label("", "verdict", wrap=True)
        self.verdict_label.setVisible(False)
        lay.addWidget(self.verdict_label)
        self.notes_label = QtWidgets.QLabel(
            "<b>Reprojection error</b>: mean distance between each 3D joint projected into both cameras and the "
            "recording's 2D keypoints (smoothed in time, as in training).<br><b>Bone-length std</b>: how much "
            "each bone's length varies over the frames; a real person's bones do not change length.<br>"
            "<b>Jitter</b>: how much the joints shake from frame to frame (the second difference of their "
            "positions); lower is smoother, though real motion has some."
        )
        self.notes_label.setObjectName("caption")
        self.notes_label.setWordWrap(True)
        lay.addWidget(self.notes_label)
        self.next_label = QtWidgets.QLabel(
            "If the new model is better, press <b>Use this model</b>: live capture and session processing will "
            "refine with it from then on."
        )
        self.next_label.setObjectName("caption")
        self.next_label.setWordWrap(True)
        self.next_label.setVisible(False)
        lay.addWidget(self.next_label)
        self.warning_label = make_label("", "warnNote", wrap=True)
        self.warning_label.setVisible(False)
        lay.addWidget(self.warning_label)
        self.error_label = make_label("", "errorBanner", wrap=True)
        self.error_label.setVisible(False)
        self.error_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.error_label)
        lay.addStretch(1)
        self.status_label = make_label("", "caption")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setVisible(False)
        lay.addWidget(self.status_label)
        lay.addWidget(self.progress)
        return panel

    @staticmethod
    def _swatch(colour: str) -> QtGui.QIcon:
        pm = QtGui.QPixmap(28, 28)
        pm.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(pm)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(colour))
        p.drawEllipse(QtCore.QRectF(5, 5, 18, 18))
        p.end()
        return QtGui.QIcon(pm)

    def _build_view(self) -> QtWidgets.QVBoxLayout:
        col = QtWidgets.QVBoxLayout()
        col.setSpacing(6)
        head = QtWidgets.QHBoxLayout()
        title = make_label("3D", "sectionTitle")
        head.addWidget(title)
        self.view_info = make_label(
            "triangulation (muted) · current model (amber / teal) · new model (vivid)", "caption"
        )
        head.addWidget(self.view_info, 1)
        self.reset_button = QtWidgets.QPushButton("Reset view")
        self.reset_button.clicked.connect(self.reset_view)
        head.addWidget(self.reset_button)
        col.addLayout(head)
        self.view = SkeletonView()
        self.view.setObjectName("compareView")
        self.view.setMinimumHeight(280)
        col.addWidget(self.view, 3)
        timeline = QtWidgets.QHBoxLayout()
        timeline.setSpacing(8)
        self.prev_button = QtWidgets.QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setAutoRepeat(True)
        self.prev_button.clicked.connect(lambda: self.seek(self._frame - 1))
        self.next_button = QtWidgets.QToolButton()
        self.next_button.setText("▶")
        self.next_button.setAutoRepeat(True)
        self.next_button.clicked.connect(lambda: self.seek(self._frame + 1))
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("frameSlider")
        self.slider.valueChanged.connect(self.seek)
        self.frame_label = make_label("–", "frameLabel")
        self.frame_label.setMinimumWidth(150)
        timeline.addWidget(self.prev_button)
        timeline.addWidget(self.slider, 1)
        timeline.addWidget(self.next_button)
        timeline.addWidget(self.frame_label)
        col.addLayout(timeline)
        self.frame_values = make_label("", "frameValues", wrap=True)
        self.frame_values.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        col.addWidget(self.frame_values)
        legend = QtWidgets.QLabel(
            "  ".join(
                f'<span style="color:{KIND_COLOUR[k]}">━ {n}</span>'
                for k, n in zip(COMPARE_KINDS, ("triangulation", "current model", "new model"), strict=True)
            )
            + f'&nbsp;&nbsp;<span style="color:{PALETTE.muted}">· reprojection error per frame (px); '
            "click to jump</span>"
        )
        legend.setObjectName("plotLegend")
        col.addWidget(legend)
        self.plot = ClickablePlot("error (px)")
        self.plot.setObjectName("framePlot")
        self.plot.getPlotItem().setLabel("bottom", "frame", color=PALETTE.muted)
        self.plot.setMinimumHeight(150)
        self.plot.timeClicked.connect(lambda x: self.seek(int(round(x))))
        col.addWidget(self.plot, 1)
        for w in (self.slider, self.prev_button, self.next_button, self.reset_button):
            w.setEnabled(False)
        return col

    # ================================================================================================ inputs
    def set_sources(self, sources: list[TrainingSource], prefer: str | Path | None = None) -> None:
        """The recordings offered (those with 2D keypoints first); ``prefer`` selects one."""
        keep = Path(prefer) if prefer is not None else self.selected_source()
        self.presenter.sources = list(sources)
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        for s in self.presenter.sources:
            text = s.name + (f"  ·  {s.frames} frames" if s.has_keypoints else "  ·  needs Process")
            self.source_combo.addItem(text, str(s.path))
            if not s.has_keypoints:
                idx = self.source_combo.count() - 1
                self.source_combo.setItemData(idx, PALETTE.qcolor("muted"), QtCore.Qt.ItemDataRole.ForegroundRole)
        idx = self.source_combo.findData(str(keep)) if keep is not None else -1
        if idx < 0:
            sources = self.presenter.sources
            idx = next((i for i, s in enumerate(sources) if s.has_keypoints), 0 if sources else -1)
        self.source_combo.setCurrentIndex(idx)
        self.source_combo.blockSignals(False)
        self._update_actions()

    def select_source(self, path: str | Path) -> bool:
        idx = self.source_combo.findData(str(Path(path)))
        if idx >= 0:
            self.source_combo.setCurrentIndex(idx)
        return idx >= 0

    def selected_source(self) -> Path | None:
        data = self.source_combo.currentData()
        return Path(data) if data else None

    def set_current_model(self, path: str | Path | None, label: str = "") -> None:
        """The app's active checkpoint (None: the shipped model), offered as what to compare against."""
        p = self.presenter
        p.set_current_model(path, label)
        keep = self.against_combo.currentIndex()
        self.against_combo.clear()
        if p.current_model is not None:
            self.against_combo.addItem(f"Active model · {p.current_label}", str(p.current_model))
            self.against_combo.addItem("Shipped default model", "")
        else:
            self.against_combo.addItem("Active model · shipped default", "")
        self.against_combo.setCurrentIndex(max(0, min(keep, self.against_combo.count() - 1)))

    def against(self) -> Path | None:
        data = self.against_combo.currentData()
        return Path(data) if data else None

    def set_new_checkpoint(self, path: str | Path | None) -> None:
        self.new_edit.setText(str(path) if path else "")

    def new_checkpoint(self) -> Path | None:
        text = self.new_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_device(self, device: str) -> None:
        self.presenter.device = device

    def set_start_folder(self, folder: str | Path) -> None:
        self._start_dir = str(folder)

    def choose_new(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "New model checkpoint", self._start_dir, "CV-UGCN checkpoints (*.pt);;All files (*)"
        )
        if not path:
            return None
        self.set_new_checkpoint(path)
        return path

    # ================================================================================================ running
    @property
    def last_error(self) -> str | None:
        return self.presenter.last_error

    def is_busy(self) -> bool:
        return self.presenter.is_busy()

    def _update_actions(self) -> None:
        new = self.new_checkpoint()
        busy = self.presenter.is_busy()
        self.compare_button.setEnabled(not busy and new is not None and self.selected_source() is not None)
        self.use_button.setEnabled(new is not None and new.is_file())

    def compare(self) -> bool:
        """Run the comparison in a task (``compared`` or ``compareFailed`` follows)."""
        return self.presenter.compare(self.selected_source(), self.new_checkpoint(), self.against())

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        self._update_actions()

    def _on_progress(self, done: int, total: int, _message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_compared(self, r: Comparison) -> None:
        self.show_result(r)
        self.compared.emit(r)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def use_model(self) -> str | None:
        path = self.presenter.use_model(self.new_checkpoint())
        if path is not None:
            self.useRequested.emit(path)
        return path

    def stop(self) -> None:
        self.presenter.stop()

    # ================================================================================================ showing
    def result(self) -> Comparison | None:
        return self.presenter.result()

    def set_result(self, r: Comparison) -> None:
        """Show a comparison: table, verdict, per-frame plot and the 3D at the frame with the largest change."""
        self.presenter.set_result(r)
        self.show_result(r)

    def show_result(self, r: Comparison) -> None:
        self.result_title.setText(f"Results on {r.name}")
        self.result_info.setText(
            f"{r.frames} frames, cameras {r.pair[0]} + {r.pair[1]}. Current: {r.labels['old'].split('· ', 1)[-1]} "
            f"({r.ids['old'][:8]}). New: {r.labels['new'].split('· ', 1)[-1]} ({r.ids['new'][:8]})."
        )
        self._fill_table(r)
        text, level = verdict(r)
        self.verdict_label.setText(text)
        set_style_property(self.verdict_label, "level", level)
        self.verdict_label.setVisible(True)
        # a model that measures worse is not offered as the default choice
        self.use_button.setText("Use it anyway" if level == "bad" else "Use this model")
        self.use_button.setDefault(level == "good")
        set_style_property(self.use_button, "level", level)
        self.next_label.setVisible(True)
        self.warning_label.setText(
            "This recording was given to the training of the new model (to learn from or to validate on): these "
            "figures are not on unseen data. Compare on another recording for an honest answer."
            if r.trained_on
            else ""
        )
        self.warning_label.setVisible(r.trained_on)
        # per-frame plot
        self.plot.clear_curves()
        x = np.arange(r.frames, dtype=float)
        for kind in COMPARE_KINDS:
            width = 2.2 if kind == "new" else 1.4
            self.plot.add_curve(kind, x, r.frame_reproj_px[kind], pg.mkPen(KIND_COLOUR[kind], width=width))
        # 3D
        self.view.clear_skeletons()
        up = r.world_up if r.world_up in UP_AXES else "+z"
        self.view.set_world_up(up)
        self._place_floor(r)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(r.frames - 1, 0))
        self.slider.setPageStep(max(1, r.frames // 20))
        self.slider.blockSignals(False)
        for w in (self.slider, self.prev_button, self.next_button, self.reset_button):
            w.setEnabled(r.frames > 0)
        self._frame = -1
        diff = np.abs(r.frame_reproj_px["new"] - r.frame_reproj_px["old"])
        start = int(np.nanargmax(diff)) if np.isfinite(diff).any() else 0
        self.seek(start)
        self.reset_view()

    def _fill_table(self, r: Comparison) -> None:
        old = r.metrics["old"]
        for row, kind in enumerate(COMPARE_KINDS):
            m = r.metrics[kind]
            for col, (key, _) in enumerate(MEASURES, start=1):
                item = self.table.item(row, col)
                text = fmt(m.get(key, float("nan")))
                if kind == "new":
                    rel, level = change(m.get(key, float("nan")), old.get(key, float("nan")))
                    if rel:
                        text += f"\n{rel}"
                    item.setForeground(PALETTE.qcolor(CHANGE_COLOURS[level] if rel else "text"))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setText(text)

    def _place_floor(self, r: Comparison) -> None:
        floor = None
        declared = r.world_up_reason == "from the calibration" and r.world_up == "+z"
        if not declared:
            floor = self.view.floor_under(r.poses["coarse"])  # the ankle joints sit ~8 cm above the floor
        self.view.set_floor_height(floor if floor is not None else 0.0)

    def reset_view(self) -> None:
        """Frame the skeletons of the frame shown (large enough to compare them), seen from behind the cameras;
        all the frames when it shows none."""
        r = self.presenter.result()
        if r is None:
            self.view.reset_view()
            return
        now = np.stack([p[max(self._frame, 0)] for p in r.poses.values()])
        if np.isfinite(now).all(axis=-1).any():
            self.view.frame_points(now, r.cameras, margin=1.0, radius_scale=0.62, min_radius_m=0.8)
        else:
            everything = np.concatenate([p.reshape(-1, 3) for p in r.poses.values()])
            self.view.frame_points(everything, r.cameras, margin=1.0, radius_scale=0.5, min_radius_m=0.6)

    def frame(self) -> int:
        return self._frame

    def seek(self, k: int) -> None:
        """Show frame ``k`` (clamped) of the comparison."""
        r = self.presenter.result()
        if r is None or r.frames == 0:
            return
        k = int(np.clip(k, 0, r.frames - 1))
        if k == self._frame:
            return
        self._frame = k
        if self.slider.value() != k:
            self.slider.blockSignals(True)
            self.slider.setValue(k)
            self.slider.blockSignals(False)
        for kind in COMPARE_KINDS:
            pts = r.poses[kind][k]
            ok = bool(np.isfinite(pts).all(axis=1).any())
            self.view.set_skeleton(r.labels[kind], pts if ok else None, style=KIND_STYLE[kind])
        errs = "  ".join(
            f'<span style="color:{KIND_COLOUR[kind]}">{fmt(r.frame_reproj_px[kind][k], 1)}</span>'
            for kind in COMPARE_KINDS
        )
        bones = "  ".join(
            f'<span style="color:{KIND_COLOUR[kind]}">{fmt(r.frame_bone_dev_mm[kind][k], 1)}</span>'
            for kind in COMPARE_KINDS
        )
        self.frame_label.setText(f"frame {k + 1} of {r.frames} · {r.time_s[k]:.2f} s")
        self.frame_values.setText(
            f"This frame: reprojection error (px) {errs} &nbsp;·&nbsp; bone-length deviation (mm) {bones}"
        )
        self.plot.cursor.setValue(float(k))
        self.frameChanged.emit(k)

    def skeleton(self, kind: str) -> np.ndarray | None:
        """The ``(17, 3)`` m points drawn now for ``coarse``, ``old`` or ``new`` (None when hidden)."""
        r = self.presenter.result()
        return None if r is None else self.view.skeleton_points(r.labels[kind])

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Left:
            self.seek(self._frame - 1)
        elif event.key() == QtCore.Qt.Key.Key_Right:
            self.seek(self._frame + 1)
        else:
            super().keyPressEvent(event)
