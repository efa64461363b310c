"""The Export dialog of the Sessions tab: format, which 3D (triangulated or refined), output file; the export
runs as a task (:func:`app.sessions.tasks.export_task`) and the dialog shows the file written. Qt only.

Formats and their units come from :data:`core.export.FORMATS` (TRC: OpenSim Y-up, metres; C3D: Y-up,
millimetres; CSV / JSON: the session's world frame, metres and seconds; BVH: Y-up, metres).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.sessions.tasks import export_task
from app.state import AppState
from app.tasks import Task, TaskState
from app.theme import set_style_property
from app.widgets.build import make_label
from core.export import FORMATS
from core.session.exporting import ExportSummary

log = logging.getLogger(__name__)

#: What each format is for, shown in the format list (units included).
FORMAT_DESCRIPTIONS: dict[str, str] = {
    "trc": "TRC — OpenSim markers · Y-up · metres",
    "c3d": "C3D — biomechanics tools · Y-up · millimetres",
    "csv": "CSV — one row per pair · world frame · metres, seconds",
    "json": "JSON — per pair, with reprojection errors · world frame · metres",
    "bvh": "BVH — Blender / animation · Y-up · metres · gaps interpolated",
}


class ExportDialog(QtWidgets.QDialog):
    """Export one processed session. ``exported(summary)`` (an :class:`ExportSummary`) when a file was written,
    ``exportFailed(text)`` on error. Opened with ``open()`` (non-blocking); the export itself runs as a task of
    ``state.tasks``; the last format and folder are the settings ``export_format`` and ``export_dir``."""

    exported = QtCore.Signal(object)
    exportFailed = QtCore.Signal(str)

    def __init__(
        self,
        session_path: str | Path,
        has_refined: bool,
        state: AppState,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export 3D motion")
        self.setMinimumWidth(620)
        self.session_path = Path(session_path)
        self.has_refined = bool(has_refined)
        self._state = state
        self._settings = state.settings
        self._task: Task | None = None
        self.result: ExportSummary | None = None
        self.last_error: str | None = None

        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(10)
        head = QtWidgets.QLabel(f"<b>{self.session_path.name}</b>")
        lay.addWidget(head)
        lay.addLayout(self._build_form())
        self._build_result(lay)
        lay.addLayout(self._build_buttons())

        last_fmt = self._settings.export_format
        idx = self.format_combo.findData(last_fmt)
        self.format_combo.setCurrentIndex(max(idx, 0))
        self.path_edit.setText(str(self._default_path()))
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.refined_radio.toggled.connect(self._on_format_changed)
        self._on_format_changed()

    def _build_form(self) -> QtWidgets.QFormLayout:
        form = QtWidgets.QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        self.format_combo = QtWidgets.QComboBox()
        self.format_combo.setObjectName("exportFormat")
        for f in FORMATS:
            self.format_combo.addItem(FORMAT_DESCRIPTIONS.get(f, f.upper()), f)
        form.addRow("Format", self.format_combo)

        which_row = QtWidgets.QHBoxLayout()
        self.refined_radio = QtWidgets.QRadioButton("Refined (CV-UGCN)")
        self.coarse_radio = QtWidgets.QRadioButton("Triangulated (raw)")
        self.refined_radio.setEnabled(self.has_refined)
        if not self.has_refined:
            self.refined_radio.setToolTip("This session has no refined 3D: process it with refinement on first.")
        (self.refined_radio if self.has_refined else self.coarse_radio).setChecked(True)
        which_row.addWidget(self.refined_radio)
        which_row.addWidget(self.coarse_radio)
        which_row.addStretch(1)
        form.addRow("3D", which_row)

        self.bvh_units = QtWidgets.QComboBox()
        self.bvh_units.addItem("metres", "m")
        self.bvh_units.addItem("centimetres", "cm")
        self.bvh_units_label = QtWidgets.QLabel("BVH units")
        form.addRow(self.bvh_units_label, self.bvh_units)

        path_row = QtWidgets.QHBoxLayout()
        self.path_edit = QtWidgets.QLineEdit()
        self.path_edit.setObjectName("exportPath")
        self.browse_button = QtWidgets.QPushButton("Choose…")
        self.browse_button.clicked.connect(self.choose_path)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form.addRow("Save to", path_row)
        return form

    def _build_result(self, lay: QtWidgets.QVBoxLayout) -> None:
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.setTextVisible(False)
        lay.addWidget(self.progress)
        self.result_label = make_label("", "exportResult", wrap=True)
        self.result_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setVisible(False)
        lay.addWidget(self.result_label)

    def _build_buttons(self) -> QtWidgets.QHBoxLayout:
        buttons = QtWidgets.QHBoxLayout()
        self.show_button = QtWidgets.QPushButton("Show in folder")
        self.show_button.setVisible(False)
        self.show_button.clicked.connect(self._show_in_folder)
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_button.setObjectName("primaryButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.export_button)
        return buttons

    # --- values -------------------------------------------------------------------------------------------
    def fmt(self) -> str:
        return str(self.format_combo.currentData())

    def which(self) -> str:
        return "refined" if self.refined_radio.isChecked() and self.has_refined else "coarse"

    def out_path(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    def set_format(self, fmt: str) -> None:
        idx = self.format_combo.findData(fmt.lower().lstrip("."))
        if idx < 0:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.format_combo.setCurrentIndex(idx)

    def task(self) -> Task | None:
        """The export running now, if any."""
        return self._task

    def _default_path(self) -> Path:
        folder = self._settings.export_dir
        base = folder if folder is not None and folder.is_dir() else self.session_path
        return base / f"{self.session_path.name}_{self.which()}.{self.fmt()}"

    def _on_format_changed(self, *_args: object) -> None:
        is_bvh = self.fmt() == "bvh"
        self.bvh_units.setVisible(is_bvh)
        self.bvh_units_label.setVisible(is_bvh)
        text = self.path_edit.text().strip()
        if text:
            p = Path(text)
            stem = p.stem
            for w in ("_refined", "_coarse"):  # keep the default name in step with "which"
                if stem.endswith(w):
                    stem = stem[: -len(w)] + f"_{self.which()}"
            self.path_edit.setText(str(p.with_name(f"{stem}.{self.fmt()}")))

    def choose_path(self) -> str | None:
        fmt = self.fmt()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export to", str(self.out_path()), f"{fmt.upper()} (*.{fmt});;All files (*)"
        )
        if not path:
            return None
        p = Path(path)
        if p.suffix.lower() != f".{fmt}":
            p = p.with_name(p.name + f".{fmt}")
        self.path_edit.setText(str(p))
        return str(p)

    # --- running ------------------------------------------------------------------------------------------
    def export(self) -> bool:
        """Start the export (a task); False when it cannot start (no path, a file not to be replaced...)."""
        if self._task is not None:
            return False
        out = self.out_path()
        if not self.path_edit.text().strip():
            self._fail("Choose where to save the file (Choose…).")
            return False
        if out.is_dir():
            self._fail(f"'{out}' is a folder; give a file name.")
            return False
        if out.exists():
            answer = QtWidgets.QMessageBox.question(
                self, "Replace file?", f"'{out.name}' already exists in {out.parent}. Replace it?"
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
        kw = {"bvh_units": str(self.bvh_units.currentData())} if self.fmt() == "bvh" else {}
        task = export_task(self.session_path, self.fmt(), out, self.which(), **kw)
        task.ended.connect(lambda t=task: self._on_ended(t))
        self._task = task
        self.result = None
        self.last_error = None
        self.result_label.setVisible(False)
        self.show_button.setVisible(False)
        self.progress.setVisible(True)
        self.export_button.setEnabled(False)
        self._settings.export_format = self.fmt()
        self._settings.export_dir = out.parent
        self._state.tasks.start(task)
        return True

    def _on_done(self, summary: ExportSummary) -> None:
        self.result = summary
        set_style_property(self.result_label, "level", "good")
        self.result_label.setText(
            f"Saved {summary.out}\n{summary.frames} frames ({summary.frames_with_3d} with 3D), "
            f"{summary.which} 3D, {summary.format.upper()}; world up {summary.up_axis} ({summary.up_axis_reason})."
        )
        self.result_label.setVisible(True)
        self.show_button.setVisible(True)
        self.exported.emit(summary)

    def _fail(self, text: str) -> None:
        self.last_error = text
        set_style_property(self.result_label, "level", "error")
        self.result_label.setText(text)
        self.result_label.setVisible(True)
        self.exportFailed.emit(text)

    def _on_ended(self, task: Task) -> None:
        if self._task is task:
            self._task = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        if task.state is TaskState.FAILED:
            self._fail(str(task.error))
        elif task.state is TaskState.SUCCEEDED and task.result is not None:
            self._on_done(task.result)

    def _show_in_folder(self) -> None:
        if self.result:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(Path(self.result.out).parent)))

    def stop(self) -> None:
        """Wait for a running export (closing the window)."""
        if self._task is not None:
            self._task.stop()

    def done(self, r: int) -> None:  # closing while exporting: let the short export finish first
        if self._task is not None:
            self._task.wait()
        super().done(r)
