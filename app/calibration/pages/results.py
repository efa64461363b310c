"""Page 6 of the calibration wizard: the solve (progress, Cancel), the verdict and figures, per-view error bars,
a rectified preview with epipolar lines, the camera frusta in 3D, an optional floor frame, Save, and "redo"
buttons that go back to a step. Qt only."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.calibration.pages.base import PAGE_BOARD, PAGE_CAM0, PAGE_CAM1, PAGE_STEREO, WizardPage
from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import (
    FrameView,
    aim_at_rig,
    clear_grid,
    figure_label,
    fmt,
    panel,
    user_text,
)
from app.theme import PALETTE, set_style_property
from app.widgets.build import make_label
from calibration.engine import CalibrationResult
from calibration.live import downscale
from calibration.run import SolveOutcome
from calibration.stereo import board_points
from core.errors import CrossViewError

#: The buttons that go back to a step, and the page each one goes to.
REDO_BUTTONS = (
    (PAGE_CAM0, "Redo camera 1"),
    (PAGE_CAM1, "Redo camera 2"),
    (PAGE_STEREO, "Redo pairs"),
    (PAGE_BOARD, "Change board"),
)


class ResultsPage(WizardPage):
    """Page 6: solve, show the verdict and the evidence, save. ``redoRequested(page)`` asks the wizard to go
    back to a step."""

    redoRequested = QtCore.Signal(int)

    def __init__(self, presenter: CalibrationPresenter) -> None:
        super().__init__(
            presenter,
            "6 · Results",
            "The calibration, how good it is, and the evidence. Save it to use it for capture.",
        )
        self.setFinalPage(True)
        self.outcome: SolveOutcome | None = None
        self.base_result: CalibrationResult | None = None
        self.result: CalibrationResult | None = None
        self.saved_path: str | None = None
        self.pair_index = -1
        self.solve_failed = ""
        self.board_points: list[np.ndarray] = []  # board corners of each kept pair in the world, metres
        self.view3d = None  # created on first use (OpenGL)
        self._board_items: list = []

        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(self.banner)
        lay.addWidget(self._build_progress_row())
        self._build_header(lay)
        self.content = QtWidgets.QWidget()
        self._build_content(self.content)
        lay.addWidget(self.content, 1)
        lay.addLayout(self._build_actions())
        presenter.solveProgress.connect(self._on_progress)
        presenter.solved.connect(self._on_solved)
        presenter.solveFailed.connect(self._on_failed)
        presenter.solveCancelled.connect(self._on_cancelled)
        self._set_result_visible(False)

    # ---------------------------------------------------------------- building
    def _build_progress_row(self) -> QtWidgets.QWidget:
        """The progress bar and Cancel, shown while solving."""
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
        self.cancel_button.clicked.connect(self.cancel_solve)
        return self.progress_row

    def _build_header(self, lay: QtWidgets.QVBoxLayout) -> None:
        """The verdict, the summary and the advice."""
        head = QtWidgets.QHBoxLayout()
        self.verdict_label = make_label("", "verdict")
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

    def _build_content(self, content: QtWidgets.QWidget) -> None:
        """Figures, the error chart and the 3D view above, the rectified pair below."""
        grid = QtWidgets.QGridLayout(content)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(10)
        fig_panel, fig_lay = panel("Figures")
        self.figures = QtWidgets.QGridLayout()
        self.figures.setHorizontalSpacing(14)
        self.figures.setVerticalSpacing(4)
        fig_lay.addLayout(self.figures)
        fig_lay.addStretch(1)
        grid.addWidget(fig_panel, 0, 0)
        grid.addWidget(self._build_chart(), 0, 1)
        view_panel, view_lay = panel("Cameras in 3D")
        self._view_lay = view_lay
        grid.addWidget(view_panel, 0, 2)
        grid.addWidget(self._build_rectified(), 1, 0, 1, 3)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 4)
        grid.setColumnStretch(2, 3)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 6)

    def _build_chart(self) -> QtWidgets.QFrame:
        chart_panel, chart_lay = panel()
        chart_head = QtWidgets.QHBoxLayout()
        t = make_label("Error per view", "sectionTitle")
        chart_head.addWidget(t)
        chart_head.addStretch(1)
        self.chart_combo = QtWidgets.QComboBox()
        chart_head.addWidget(self.chart_combo)
        chart_lay.addLayout(chart_head)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(PALETTE.panel)
        self.chart.setMinimumHeight(200)
        self.chart.setLabel("left", "RMS", units="px")
        self.chart.showGrid(y=True, alpha=0.2)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.getPlotItem().hideButtons()
        self.chart.getPlotItem().setMenuEnabled(False)
        for ax in ("left", "bottom"):
            axis = self.chart.getAxis(ax)
            axis.setPen(pg.mkPen(PALETTE.muted))
            axis.setTextPen(pg.mkPen(PALETTE.muted))
        self.bar_items: list[pg.BarGraphItem] = []
        chart_lay.addWidget(self.chart, 1)
        self.chart_combo.currentIndexChanged.connect(self._draw_chart)
        return chart_panel

    def _build_rectified(self) -> QtWidgets.QFrame:
        rect_panel, rect_lay = panel()
        rect_head = QtWidgets.QHBoxLayout()
        t = make_label("Rectified pair: a feature sits on the same line in both images", "sectionTitle")
        rect_head.addWidget(t)
        rect_head.addStretch(1)
        self.prev_pair = QtWidgets.QPushButton("◀")
        self.next_pair = QtWidgets.QPushButton("▶")
        self.pair_label = make_label("", "muted")
        rect_head.addWidget(self.prev_pair)
        rect_head.addWidget(self.pair_label)
        rect_head.addWidget(self.next_pair)
        rect_lay.addLayout(rect_head)
        self.rectified = FrameView()
        self.rectified.set_heat_visible(False)
        self.rectified.setMinimumHeight(220)
        rect_lay.addWidget(self.rectified, 1)
        self.prev_pair.clicked.connect(lambda: self.show_pair(self.pair_index - 1))
        self.next_pair.clicked.connect(lambda: self.show_pair(self.pair_index + 1))
        return rect_panel

    def _build_actions(self) -> QtWidgets.QHBoxLayout:
        """The floor frame, the redo buttons and Save."""
        actions = QtWidgets.QHBoxLayout()
        self.floor_box = QtWidgets.QCheckBox(
            "The board in the pair shown lies on the floor: use it as the world (Z up)"
        )
        actions.addWidget(self.floor_box)
        actions.addStretch(1)
        self.redo_buttons = {}
        for page, text in REDO_BUTTONS:
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(lambda _=False, p=page: self.redo(p))
            self.redo_buttons[page] = b
            actions.addWidget(b)
        actions.addSpacing(12)
        self.save_button = QtWidgets.QPushButton("Save…")
        self.save_button.setObjectName("primary")
        actions.addWidget(self.save_button)
        self.floor_box.toggled.connect(self._floor_toggled)
        self.save_button.clicked.connect(lambda: self.save())
        return actions

    # ---------------------------------------------------------------- solving
    def entered(self) -> None:
        self.start_solve()

    def left(self) -> None:
        self._forget_solve()

    def start_solve(self) -> None:
        self._forget_solve()
        self.outcome = self.base_result = self.result = None
        self.saved_path = None
        self.solve_failed = ""
        self.banner.set_message("")
        self._set_result_visible(False)
        self.completeChanged.emit()
        if self.presenter.run is None:
            self.banner.set_message("Nothing to calibrate: go back to the first page.", "error")
            return
        self.progress_row.show()
        self.progress.setValue(0)
        self.progress_label.setText("Calibrating…")
        self.cancel_button.setEnabled(True)
        self.presenter.start_solve()

    def cancel_solve(self, wait: bool = False) -> None:
        """Ask the solve to stop. ``wait``: block until it did (closing); otherwise it ends in the background
        (between two steps of the solver) and the page says so."""
        if not self.presenter.solving():
            return
        self.presenter.cancel_solve(wait)
        self.cancel_button.setEnabled(False)
        self.progress_label.setText("Cancelling…")
        if wait:
            self.progress_row.hide()

    def _forget_solve(self) -> None:
        """Cancel the running solve without waiting for it and ignore its outcome."""
        self.progress_row.hide()
        self.presenter.forget_solve()

    def solving(self) -> bool:
        return self.presenter.solving()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setValue(int(round(1000 * done / total)) if total > 0 else 0)
        self.progress_label.setText(message[:1].upper() + message[1:])

    def _on_failed(self, message: str) -> None:
        self.progress_row.hide()
        self.solve_failed = message
        self.banner.set_message(f"The calibration failed: {message} Use the buttons below to redo a step.", "error")
        for b in self.redo_buttons.values():
            b.setVisible(True)
        self.completeChanged.emit()

    def _on_cancelled(self) -> None:
        self.progress_row.hide()
        self.solve_failed = "cancelled"
        self.banner.set_message("Calibration cancelled. Press Back to capture more, or redo a step.", "info")
        self.completeChanged.emit()

    def _on_solved(self, outcome: SolveOutcome) -> None:
        self.progress_row.hide()
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
        set_style_property(self.verdict_label, "level", verdict)
        s = result.stereo
        self.summary_label.setText(
            f"Stereo RMS {s.rms:.2f} px · epipolar error {s.epipolar_px:.2f} px (held-out) · baseline "
            f"{s.baseline_m:.3f} m · {s.n_pairs} pairs"
        )
        advice = ("Advice: " + user_text(result.advice)) if result.advice else "Nothing to improve: well done."
        if s.bundle is not None:
            advice += "\n" + s.bundle.note[0].upper() + s.bundle.note[1:] + "."
        self.advice_label.setText(advice)
        self._fill_figures(result)
        self._show_3d(result)

    def _fill_figures(self, result: CalibrationResult) -> None:
        clear_grid(self.figures)
        s = result.stereo
        levels = {c.name: c.level for c in result.quality.checks}
        rows: list[tuple[str, str, str | None]] = [
            ("Stereo RMS", fmt(s.rms, 3, " px"), levels.get("stereo_rms_px")),
        ]
        for k, ir in enumerate(result.intrinsics):
            name = ir.camera.name
            src = "loaded" if ir.source != "calibrated" else name
            rows.append((f"Camera {k + 1} RMS ({src})", fmt(ir.rms, 3, " px"), levels.get(f"{name}_rms_px")))
        sig = s.sigma
        rows += [
            ("Epipolar error (held-out)", fmt(s.epipolar_px, 3, " px"), None),
            ("Solver", "bundle adjustment" if s.solver == "bundle adjustment" else "stereo solve", None),
            (
                "Baseline",
                fmt(s.baseline_m, 3, " m") + _pm(sig.get("baseline_m"), 1000, " mm"),
                levels.get("baseline_ratio"),
            ),
            ("Rotation uncertainty", _pm(sig.get("rotation_deg"), 1, "°", 2).strip() or "—", None),
            ("Convergence", fmt(s.convergence_deg, 1, "°"), None),
            ("Working distance", fmt(s.working_distance_m, 2, " m"), None),
            ("Pairs", f"{s.n_pairs}" + (f" ({len(s.heldout)} held out)" if s.heldout else ""), levels.get("pairs")),
        ]
        for k, ir in enumerate(result.intrinsics):
            K = ir.camera.K
            f_sigma = _pm(sig.get(f"fx_{k}"), 1, " px")
            rows.append((f"Camera {k + 1} focal fx / fy", f"{K[0, 0]:.0f} / {K[1, 1]:.0f}{f_sigma or ' px'}", None))
        rows.append(("World", f"{result.origin} ({result.world_up} up)", None))
        for r, (name, value, level) in enumerate(rows):
            a = make_label(name, "muted")
            b = figure_label(value, level)
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
            offset=(8, 4),
            labelTextColor=PALETTE.text,
            brush=pg.mkBrush(PALETTE.qcolor("window", 200 / 255)),
            colCount=3,
            verSpacing=-4,
        )
        if which == "pairs":
            err = self._draw_pair_bars(plot, legend, res)
            plot.setLabel("bottom", "stereo pair")
        else:
            ir = res.intrinsics[int(which)]
            err = np.asarray(ir.per_view_errors, float)
            x = np.arange(1, len(err) + 1, dtype=float)
            colour = PALETTE.accent if which == 0 else PALETTE.second_series
            bar = pg.BarGraphItem(x=x, height=err, width=0.7, brush=colour, pen=None)
            plot.addItem(bar)
            legend.addItem(bar, f"camera {int(which) + 1} view")
            self.bar_items.append(bar)
            plot.setLabel("bottom", "view")
        top = float(np.nanmax(err)) if err.size else 1.0
        for y, colour in ((0.5, PALETTE.good), (1.0, PALETTE.warn)):
            if y < 1.6 * top + 0.1:
                plot.addItem(
                    pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine))
                )
        plot.setYRange(0, max(top * 1.5, 0.3))
        plot.setXRange(0.3, len(err) + 0.7 if len(err) else 1)

    def _draw_pair_bars(self, plot: pg.PlotItem, legend: pg.LegendItem, res: CalibrationResult) -> np.ndarray:
        """Both cameras' error per stereo pair ``(P, 2)`` px as bars, the held-out pairs marked; returns them."""
        err = np.asarray(res.stereo.per_pair_errors, float).reshape(-1, 2)
        x = np.arange(1, len(err) + 1, dtype=float)
        for k, colour in enumerate((PALETTE.accent, PALETTE.second_series)):
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
                brush=pg.mkBrush(PALETTE.text),
                pen=None,
            )
            plot.addItem(marks)
            legend.addItem(marks, "held out")
        return err

    def _show_3d(self, result: CalibrationResult) -> None:
        """The camera frusta and the board corners of every kept pair (the pair shown in the preview brighter)."""
        import pyqtgraph.opengl as gl

        from app.widgets.skeleton_view import SkeletonView

        if self.view3d is None:
            self.view3d = SkeletonView(show_legend=False)
            self.view3d.setMinimumSize(220, 180)
            self._view_lay.addWidget(self.view3d, 1)
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
            (np.concatenate(others) if others else np.zeros((0, 3)), PALETTE.rgba_f("board_corners", 0.8), 4.0),
            (boards[shown] if shown >= 0 else np.zeros((0, 3)), PALETTE.rgba_f("board_corners_shown"), 7.0),
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
            + f" · same-corner {axis} differ by {fmt(err, 2, ' px')}"
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
        """Forget the step of ``page`` (a camera's views, or the pairs) and go back to it."""
        if page in (PAGE_CAM0, PAGE_CAM1):
            self.presenter.reset_camera(page - PAGE_CAM0)
        elif page == PAGE_STEREO:
            self.presenter.reset_pairs()
        self.redoRequested.emit(page)

    def default_save_path(self) -> str:
        return self.presenter.default_save_path()

    def save(self, path: str | None = None) -> str | None:
        """Write the calibration TOML (metres) and make it the app's; a file dialog when ``path`` is None.
        Returns the path, or None when cancelled or failed."""
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
            saved = self.presenter.save(self.result, path)
        except (CrossViewError, OSError) as exc:
            self.banner.set_message(f"Could not save the calibration: {exc}", "error")
            return None
        self.result = saved
        self.saved_path = str(saved.path)
        self.banner.set_message(f"Saved to {self.saved_path} (metres). CrossView now uses this calibration.", "success")
        return self.saved_path

    def isComplete(self) -> bool:
        return self.result is not None

    def validatePage(self) -> bool:
        if self.result is None:
            return False
        if self.saved_path is None:
            return self.save() is not None
        return True


def _pm(sigma: float | None, scale: float, unit: str, digits: int = 1) -> str:
    """`` ± sigma`` in ``unit`` (``sigma * scale``), or "" when it is unknown."""
    if sigma is None or not np.isfinite(sigma):
        return ""
    return f" ± {sigma * scale:.{digits}f}{unit}"
