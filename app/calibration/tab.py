"""The Calibration tab: the app's stereo calibration (cameras, figures, verdict, frusta in 3D), "Open…",
"From a person…" (no board: :mod:`app.calibration.person_dialog`) and "Calibrate…" (the wizard). Qt only.

The tab shows ``state.calibration`` whenever ``state.calibrationChanged`` says it changed. "Open…" and the
wizard's Save make a file the app's calibration through ``state.load_calibration``; the tab then emits
:attr:`CalibrationTab.calibrationOpened` / :attr:`CalibrationTab.calibrationSaved` (path) as well. Its look is
``app/theme/calibration.qss`` (``QWidget#calibrationTab``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.calibration.person_dialog import PersonCalibrationDialog
from app.calibration.widgets import VERDICTS, Banner, aim_at_rig, clear_grid, figure_label, fmt, level_of, panel
from app.calibration.wizard import CalibrationWizard
from app.state import AppState
from app.theme import set_style_property
from app.widgets.build import framed, make_label
from core.calibration_io import CalibrationFile
from core.camera import convergence_angle_deg
from core.errors import CrossViewError

log = logging.getLogger(__name__)


class CalibrationTab(QtWidgets.QWidget):
    """Shows the app's calibration and opens the calibration wizard.

    ``state``: the app's state (the calibration shown, the settings that remember folders and the wizard's
    last inputs, the task registry).
    """

    calibrationSaved = QtCore.Signal(str)
    calibrationOpened = QtCore.Signal(str)

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationTab")
        self.state = state
        self._wizard: CalibrationWizard | None = None
        self._person: PersonCalibrationDialog | None = None
        self.calibration: CalibrationFile | None = None

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._build_toolbar())
        body = QtWidgets.QWidget()
        body_lay = QtWidgets.QHBoxLayout(body)
        body_lay.setContentsMargins(14, 12, 14, 14)
        body_lay.setSpacing(12)
        lay.addWidget(body, 1)
        body_lay.addWidget(self._build_left(), 0)
        view_panel, view_lay = panel("Cameras in 3D")
        from app.widgets.skeleton_view import SkeletonView

        self.view = SkeletonView(show_legend=False)
        view_lay.addWidget(self.view, 1)
        body_lay.addWidget(view_panel, 1)

        self.open_button.clicked.connect(lambda: self.open_file())
        self.calibrate_button.clicked.connect(lambda: self.open_wizard())
        self.person_button.clicked.connect(lambda: self.open_person_dialog())
        state.calibrationChanged.connect(self._on_calibration_changed)
        app = QtWidgets.QApplication.instance()
        if app is not None:  # a safety net: never leave a capture or solve thread running at exit
            app.aboutToQuit.connect(self.stop)
        if state.calibration is not None:
            self.set_calibration(state.calibration)

    def _build_toolbar(self) -> QtWidgets.QFrame:
        """The title, the file shown, "Open…" and "Calibrate…"."""
        bar, row = framed("toolbar", "h", (14, 8, 14, 8), 10)
        title = make_label("Stereo calibration", "tabTitle")
        self.file_label = make_label("No calibration loaded", "muted")
        self.file_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.open_button = QtWidgets.QPushButton("Open…")
        self.open_button.setToolTip("Load a calibration TOML (anipose/Pose2Sim layout; FreeMoCap and Caliscope too)")
        self.calibrate_button = QtWidgets.QPushButton("Calibrate…")
        self.calibrate_button.setObjectName("primary")
        self.calibrate_button.setToolTip("Calibrate two cameras (or recordings) with the step-by-step wizard")
        row.addWidget(title)
        row.addSpacing(8)
        row.addWidget(self.file_label, 1)
        self.person_button = QtWidgets.QPushButton("From a person…")
        self.person_button.setToolTip("No board: calibrate from two videos of a person walking around the shared view")
        row.addWidget(self.open_button)
        row.addWidget(self.person_button)
        row.addWidget(self.calibrate_button)
        return bar

    def _build_left(self) -> QtWidgets.QWidget:
        """The verdict and advice, the figures and the cameras table."""
        left = QtWidgets.QVBoxLayout()
        left.setSpacing(10)
        self.banner = Banner()
        left.addWidget(self.banner)
        summary_panel, summary_lay = panel()
        head = QtWidgets.QHBoxLayout()
        self.verdict_label = make_label("", "verdict")
        self.verdict_label.hide()
        self.headline = make_label("No calibration yet", "advice", wrap=True)
        head.addWidget(self.verdict_label, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.headline, 1)
        summary_lay.addLayout(head)
        self.advice_label = QtWidgets.QLabel(
            "Calibrate your two cameras with the wizard (about five minutes with a printed board), or open an "
            "existing calibration file. Without a calibration CrossView cannot measure in 3D."
        )
        self.advice_label.setObjectName("muted")
        self.advice_label.setWordWrap(True)
        summary_lay.addWidget(self.advice_label)
        left.addWidget(summary_panel)

        fig_panel, fig_lay = panel("Figures")
        self.figures = QtWidgets.QGridLayout()
        self.figures.setHorizontalSpacing(16)
        self.figures.setVerticalSpacing(5)
        fig_lay.addLayout(self.figures)
        left.addWidget(fig_panel)
        cam_panel, cam_lay = panel("Cameras")
        self.cameras_table = QtWidgets.QTableWidget(0, 6)
        self.cameras_table.setObjectName("camerasTable")
        self.cameras_table.setHorizontalHeaderLabels(["Camera", "Size", "fx (px)", "fy (px)", "k1", "Centre x y z (m)"])
        self.cameras_table.verticalHeader().hide()
        self.cameras_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cameras_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.cameras_table.horizontalHeader().setStretchLastSection(True)
        self.cameras_table.setWordWrap(False)
        cam_lay.addWidget(self.cameras_table)
        left.addWidget(cam_panel)
        left.addStretch(1)
        left_w = QtWidgets.QWidget()
        left_w.setLayout(left)
        left_w.setMinimumWidth(460)
        left_w.setMaximumWidth(560)
        return left_w

    # ---------------------------------------------------------------- the wizard
    def open_wizard(self) -> CalibrationWizard:
        """Open (or raise) the calibration wizard; returns it."""
        if self._wizard is not None and self._wizard.isVisible():
            self._wizard.raise_()
            self._wizard.activateWindow()
            return self._wizard
        wiz = CalibrationWizard(self.state, self.window())
        wiz.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        wiz.calibrationSaved.connect(self._on_saved)
        wiz.destroyed.connect(self._wizard_gone)
        self._wizard = wiz
        wiz.show()
        return wiz

    def open_person_dialog(self) -> PersonCalibrationDialog:
        """Open (or raise) "Calibrate from a person"; returns it."""
        if self._person is not None and self._person.isVisible():
            self._person.raise_()
            return self._person
        dlg = PersonCalibrationDialog(self.state, self.window())
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.presenter.saved.connect(self._on_saved)
        dlg.destroyed.connect(self._person_gone)
        self._person = dlg
        dlg.show()
        return dlg

    def _person_gone(self, *_args) -> None:
        self._person = None

    def wizard(self) -> CalibrationWizard | None:
        """The open wizard, if any."""
        return self._wizard

    def _wizard_gone(self, *_args) -> None:
        self._wizard = None

    def _on_saved(self, path: str) -> None:
        """The wizard saved ``path`` (already the app's calibration, shown through the state)."""
        self.calibrationSaved.emit(path)

    def _on_calibration_changed(self, calib: CalibrationFile | None) -> None:
        if calib is not None:
            self.set_calibration(calib)

    def stop(self) -> None:
        """Close the wizard and stop its tasks and cameras (the main window is closing)."""
        if self._wizard is not None:
            self._wizard.stop_all()
            self._wizard.close()
        if self._person is not None:
            self._person.presenter.stop()
            self._person.close()

    # ---------------------------------------------------------------- files
    def open_file(self, path: str | None = None) -> str | None:
        """Choose a calibration TOML (dialog when ``path`` is None) and make it the app's calibration (the tab
        shows it), emit :attr:`calibrationOpened`. A bad file is explained in the tab's banner (None)."""
        if path is None:
            start = str(self.state.settings.calibration_dir or Path.home())
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open calibration", start, "Calibration (*.toml);;All files (*)"
            )
            if not path:
                return None
        try:
            self.state.load_calibration(path)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return None
        self.calibrationOpened.emit(path)
        return path

    # ---------------------------------------------------------------- showing
    def set_calibration(self, calib: CalibrationFile) -> None:
        """Show a loaded ``core.calibration_io.CalibrationFile``: cameras, figures, verdict, frusta."""
        self.calibration = calib
        self.banner.set_message("")
        group = calib.group
        md = calib.metadata or {}
        name = calib.path.name if calib.path is not None else "calibration"
        self.file_label.setText(f"{calib.path}" if calib.path is not None else name)
        self.file_label.setToolTip(self.file_label.text())
        verdict = str(md.get("verdict", "")).lower()
        self.verdict_label.setVisible(verdict in VERDICTS)
        if verdict in VERDICTS:
            self.verdict_label.setText(verdict.upper())
            set_style_property(self.verdict_label, "level", verdict)
        cams = group.names
        self.headline.setText(f"{name}: {len(group)} cameras ({', '.join(cams)})")
        advice = str(md.get("advice", "") or "")
        note = calib.units_note if calib.units_assumed else ""
        text = ("Advice: " + advice) if advice else ("Made by CrossView: nothing to improve." if verdict else "")
        self.advice_label.setText("\n".join(t for t in (text, note) if t) or "No quality figures in this file.")
        self._fill_figures(calib)
        self._fill_cameras(calib)
        up = calib.world_up or ("-y" if group.origin is not None else "+z")
        self.view.set_world_up(up if up in ("+z", "-y", "+y") else "+z")
        centres = np.stack([c.center for c in group])
        span = float(np.ptp(centres, axis=0).max()) if len(group) > 1 else 1.0
        depth = float(np.clip(0.3 * span, 0.1, 0.6))
        self.view.set_cameras(group, depth_m=depth)
        ahead = [c.camera_to_world(np.array([0.0, 0.0, 2.0 * depth])) for c in group]
        aim_at_rig(self.view, group, np.concatenate([centres, np.stack(ahead)]), margin=1.3)

    def _fill_figures(self, calib: CalibrationFile) -> None:
        clear_grid(self.figures)
        md = calib.metadata or {}
        group = calib.group
        rows: list[tuple[str, str, str | None]] = []
        if "stereo_rms_px" in md or "error" in md:
            v = md.get("stereo_rms_px", md.get("error"))
            rows.append(("Stereo RMS", fmt(_num(v), 3, " px"), level_of(_num(v), 0.5, 1.0)))
        for cam, v in dict(md.get("intrinsics_rms_px", {}) or {}).items():
            rows.append((f"{cam} RMS", fmt(_num(v), 3, " px"), level_of(_num(v), 0.5, 1.0)))
        if "epipolar_error_px" in md:
            rows.append(("Epipolar error (held-out)", fmt(_num(md["epipolar_error_px"]), 3, " px"), None))
        if len(group) >= 2:
            base = float(np.linalg.norm(group[1].center - group[0].center))
            rows.append((f"Baseline {group[0].name}–{group[1].name}", fmt(base, 3, " m"), None))
            rows.append(("Convergence", fmt(convergence_angle_deg(group[0], group[1]), 1, "°"), None))
        if "pairs" in md:
            rows.append(("Stereo pairs", str(md["pairs"]), None))
        if md.get("board"):
            rows.append(("Board", str(md["board"]), None))
        if md.get("date"):
            rows.append(("Date", str(md["date"]), None))
        up = calib.world_up
        rows.append(("World", f"{md.get('origin', group.origin or 'file')} ({up or 'unknown'} up)", None))
        rows.append(("Units", f"{calib.units}" + (" (assumed)" if calib.units_assumed else ""), None))
        for r, (name, value, level) in enumerate(rows):
            a = make_label(name, "muted")
            b = figure_label(value, level)
            b.setWordWrap(True)
            self.figures.addWidget(a, r, 0, QtCore.Qt.AlignmentFlag.AlignTop)
            self.figures.addWidget(b, r, 1)
        self.figures.setColumnStretch(1, 1)

    def _fill_cameras(self, calib: CalibrationFile) -> None:
        group = calib.group
        t = self.cameras_table
        t.setRowCount(len(group))
        for r, cam in enumerate(group):
            c = cam.center
            vals = [
                cam.name,
                f"{cam.size[0]}×{cam.size[1]}",
                f"{cam.K[0, 0]:.1f}",
                f"{cam.K[1, 1]:.1f}",
                f"{cam.dist[0]:+.3f}",
                f"{c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f}",
            ]
            for k, v in enumerate(vals):
                item = QtWidgets.QTableWidgetItem(v)
                if k:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, k, item)
        t.resizeColumnsToContents()
        t.setFixedHeight(t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount())) + 6)


def _num(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
