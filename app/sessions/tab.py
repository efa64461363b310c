"""The Sessions tab's view: list, manage, process, export and replay the sessions under the sessions folder.
Widgets only; the work is the :class:`app.sessions.presenter.SessionsPresenter`'s.

- List: one row per session folder under the sessions folder (``state.sessions_root``; Choose…): date,
  duration, cameras, frames, whether 3D and refinement exist, status, size. Refresh, Import… (two videos +
  calibration + optional capture-time CSV, :class:`app.sessions.dialogs.ImportDialog`), Process (2D, 3D and
  optional refinement for every pair), Export… (:class:`app.sessions.export_dialog.ExportDialog`), Rename… and
  Delete… (each confirmed; delete moves to the trash, or deletes after a second confirmation where there is
  no trash; nothing is deleted on any error).
- Replay (:class:`app.sessions.replay.ReplayView`): double-click a session or press Open.
- Recovery: :meth:`SessionsTab.check_unfinished` (the app calls it at start) offers to recover recordings
  stopped by a crash (:class:`app.sessions.dialogs.RecoveryDialog`).

One job that changes sessions runs at a time, with a progress bar and Cancel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.sessions.dialogs import ImportDialog, RecoveryDialog
from app.sessions.export_dialog import ExportDialog
from app.sessions.presenter import SessionsPresenter, SessionsState
from app.sessions.replay import ReplayView
from app.sessions.text import (
    COLUMNS,
    DETAIL_KEYS,
    cell_colour,
    details,
    details_note,
    empty_text,
    format_size,
    replay_info,
    row_cells,
)
from app.state import AppState
from app.tasks import Task
from app.theme import PALETTE
from app.widgets.build import framed, make_label, vline
from app.widgets.messages import MessageBoxSlot
from core.errors import CrossViewError
from core.session.listing import SessionRow

log = logging.getLogger(__name__)


class SessionsTab(QtWidgets.QWidget):
    """Sessions: list and manage, import, process, export, replay, recover. ``detector_factory`` replaces
    MediaPipe in processing (tests)."""

    #: the rows after each refresh (list of :class:`SessionRow`)
    listed = QtCore.Signal(object)
    #: (kind, summary) when a job ends well: kind is "import", "process", "recover"
    taskSucceeded = QtCore.Signal(str, object)
    #: (kind, message)
    taskFailed = QtCore.Signal(str, str)
    #: kind
    taskCancelled = QtCore.Signal(str)
    #: (done, total, message) of the running job
    taskProgressed = QtCore.Signal(int, int, str)
    #: paths of unfinished recordings offered for recovery
    recoveryOffered = QtCore.Signal(object)
    #: the text of every error shown
    errorShown = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        parent: QtWidgets.QWidget | None = None,
        *,
        detector_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sessionsTab")
        self.app_state = state
        self.presenter = SessionsPresenter(state, detector_factory=detector_factory, parent=self)
        self._rows: list[SessionRow] = []
        self._boxes = MessageBoxSlot(self)
        self._import_dialog: ImportDialog | None = None
        self._export_dialog: ExportDialog | None = None
        self._recovery_dialog: RecoveryDialog | None = None
        self._replay: Path | None = None
        self.last_error: str | None = None

        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self._build_list_page())
        self.stack.addWidget(self._build_replay_page())
        root.addWidget(self.stack, 1)
        root.addWidget(self._build_task_bar())
        self._connect()
        self._update_root_label()
        self._show_refine_label(self.presenter.refine_label)
        self._update_actions()

    @property
    def last_result(self) -> Any:
        """The summary of the last job that ended well."""
        return self.presenter.last_result

    # ================================================================================================ building
    def _build_list_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setObjectName("sessionsPage")
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._build_list_toolbar())
        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(14, 12, 14, 12)
        body.setSpacing(12)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self._build_table(), 1)
        self.empty_label = make_label("", "emptyState", wrap=True)
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setVisible(False)
        left.addWidget(self.empty_label, 1)
        body.addLayout(left, 1)
        body.addWidget(self._build_details())
        lay.addLayout(body, 1)
        return page

    def _build_list_toolbar(self) -> QtWidgets.QFrame:
        bar, row = framed("toolbar", "h", (14, 8, 14, 8), 8)
        caption = make_label("Sessions folder", "caption")
        row.addWidget(caption)
        self.root_label = make_label("", "rootLabel")
        self.root_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.root_label)
        self.choose_root_button = QtWidgets.QPushButton("Choose…")
        self.choose_root_button.setToolTip("Choose the folder where sessions are recorded and listed")
        self.choose_root_button.clicked.connect(self.choose_root)
        row.addWidget(self.choose_root_button)
        row.addStretch(1)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.refresh_button)
        self.import_button = QtWidgets.QPushButton("Import…")
        self.import_button.setToolTip("Make a session from two videos and their calibration")
        self.import_button.clicked.connect(self.import_dialog_open)
        row.addWidget(self.import_button)
        return bar

    def _build_table(self) -> QtWidgets.QTableWidget:
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("sessionsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(32)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.open_replay(self._rows[r].path))
        return self.table

    def _build_details(self) -> QtWidgets.QFrame:
        panel, lay = framed("detailsPanel", "v", (16, 14, 16, 14), 8, width=360)
        self.detail_title = make_label("No session selected", "detailTitle", wrap=True)
        lay.addWidget(self.detail_title)
        self.detail_form = QtWidgets.QFormLayout()
        self.detail_form.setHorizontalSpacing(12)
        self.detail_form.setVerticalSpacing(5)
        self.detail_values: dict[str, QtWidgets.QLabel] = {}
        for key in DETAIL_KEYS:
            k = make_label(key, "detailKey")
            v = make_label("–", "detailValue", wrap=True)
            v.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_form.addRow(k, v)
            self.detail_values[key] = v
        lay.addLayout(self.detail_form)
        self.detail_note = make_label("", "detailNote", wrap=True)
        lay.addWidget(self.detail_note)
        self.detail_error = make_label("", "detailError", wrap=True)
        self.detail_error.setVisible(False)
        lay.addWidget(self.detail_error)
        lay.addStretch(1)
        self._build_detail_buttons(lay)
        return panel

    def _build_detail_buttons(self, lay: QtWidgets.QVBoxLayout) -> None:
        self.open_button = QtWidgets.QPushButton("Open replay")
        self.open_button.setObjectName("primaryButton")
        self.open_button.setMinimumHeight(34)
        self.open_button.clicked.connect(lambda: self.open_replay())
        lay.addWidget(self.open_button)
        proc = QtWidgets.QHBoxLayout()
        self.process_button = QtWidgets.QPushButton("Process")
        self.process_button.setToolTip("MediaPipe 2D in both views, triangulation (and refinement) for every pair")
        self.process_button.clicked.connect(lambda: self.process())
        self.refine_check = QtWidgets.QCheckBox("Refine (CV-UGCN)")
        self.refine_check.setChecked(self.presenter.refine)
        self.refine_check.toggled.connect(self.presenter.set_refine)
        proc.addWidget(self.process_button, 1)
        proc.addWidget(self.refine_check)
        lay.addLayout(proc)
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setToolTip("Write the 3D motion as TRC, C3D, CSV, JSON or BVH")
        self.export_button.clicked.connect(lambda: self.export_dialog_open())
        lay.addWidget(self.export_button)
        manage = QtWidgets.QHBoxLayout()
        self.rename_button = QtWidgets.QPushButton("Rename…")
        self.rename_button.clicked.connect(lambda: self.rename())
        self.delete_button = QtWidgets.QPushButton("Delete…")
        self.delete_button.setObjectName("dangerButton")
        self.delete_button.clicked.connect(lambda: self.delete())
        manage.addWidget(self.rename_button)
        manage.addWidget(self.delete_button)
        lay.addLayout(manage)

    def _build_replay_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setObjectName("sessionsPage")
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        bar, row = framed("toolbar", "h", (14, 8, 14, 8), 10)
        self.back_button = QtWidgets.QPushButton("←  All sessions")
        self.back_button.clicked.connect(self.show_list)
        row.addWidget(self.back_button)
        row.addWidget(vline())
        self.replay_title = make_label("", "replayTitle")
        row.addWidget(self.replay_title)
        self.replay_info = make_label("", "caption")
        row.addWidget(self.replay_info, 1)
        self.replay_process_button = QtWidgets.QPushButton("Process")
        self.replay_process_button.clicked.connect(lambda: self.process(self._replay_path()))
        row.addWidget(self.replay_process_button)
        self.replay_export_button = QtWidgets.QPushButton("Export…")
        self.replay_export_button.clicked.connect(lambda: self.export_dialog_open(self._replay_path()))
        row.addWidget(self.replay_export_button)
        lay.addWidget(bar)
        self.replay = ReplayView()
        self.replay.loaded.connect(self._on_replay_loaded)
        self.replay.loadFailed.connect(self._on_replay_failed)
        lay.addWidget(self.replay, 1)
        return page

    def _build_task_bar(self) -> QtWidgets.QFrame:
        bar, row = framed("taskBar", "h", (14, 6, 14, 6), 10)
        self.task_label = QtWidgets.QLabel()
        self.task_label.setMinimumWidth(280)
        row.addWidget(self.task_label)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("taskProgress")
        self.progress_bar.setRange(0, 0)
        row.addWidget(self.progress_bar, 1)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_task)
        row.addWidget(self.cancel_button)
        self.task_bar = bar
        bar.setVisible(False)
        return bar

    def _connect(self) -> None:
        p = self.presenter
        p.listed.connect(self._on_listed)
        p.stateChanged.connect(self._on_state)
        p.jobStarted.connect(self._on_job_started)
        p.jobProgressed.connect(self._on_progress)
        p.jobSucceeded.connect(self._on_job_succeeded)
        p.jobFailed.connect(self.taskFailed)
        p.jobCancelled.connect(self.taskCancelled)
        p.unfinishedFound.connect(self._offer_recovery)
        p.replayLoaded.connect(self.replay.set_data)
        p.replayFailed.connect(self.replay.show_load_failed)
        p.errorRaised.connect(self._show_error)
        p.rootChanged.connect(lambda _path: self._update_root_label())
        p.refineChanged.connect(self._show_refine_label)

    # ================================================================================================ root, listing
    def root(self) -> Path:
        """The sessions folder."""
        return self.presenter.root()

    def set_root(self, path: str | Path) -> None:
        self.presenter.set_root(path)

    def choose_root(self) -> str | None:
        start = str(self.root()) if self.root().is_dir() else str(Path.home())
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Sessions folder", start)
        if not path:
            return None
        self.set_root(path)
        return path

    def _update_root_label(self) -> None:
        root = self.root()
        home = Path.home()
        text = f"~/{root.relative_to(home)}" if root.is_relative_to(home) else str(root)
        self.root_label.setText(text)
        self.root_label.setToolTip(str(root))

    def rows(self) -> list[SessionRow]:
        return list(self._rows)

    def row_names(self) -> list[str]:
        return [r.name for r in self._rows]

    def refresh(self) -> None:
        """List the sessions again (in a task; ``listed`` follows)."""
        self.presenter.refresh()

    def _on_listed(self, rows: list[SessionRow], select: Path | None) -> None:
        selected = self.selected_row()
        keep = select or (selected.path if selected is not None else None)
        self._rows = list(rows)
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for c, v in enumerate(row_cells(r)):
                item = QtWidgets.QTableWidgetItem(v)
                colour = cell_colour(r, c, v)
                if colour is not None:
                    item.setForeground(PALETTE.qcolor(colour))
                if c == 0:
                    item.setToolTip(str(r.path))
                t.setItem(i, c, item)
        empty = not rows
        t.setVisible(not empty)
        self.empty_label.setVisible(empty)
        if empty:
            self.empty_label.setText(empty_text(self.root()))
        idx = next((i for i, r in enumerate(rows) if keep is not None and r.path == keep), 0 if rows else -1)
        if idx >= 0:
            t.selectRow(idx)
        self._update_actions()
        self.listed.emit(self.rows())

    def selected_row(self) -> SessionRow | None:
        sel = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not sel:
            return None
        i = sel[0].row()
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def select(self, name_or_path: str | Path) -> bool:
        """Select a session row by folder name or path; False when absent."""
        for i, r in enumerate(self._rows):
            if r.name == str(name_or_path) or r.path == Path(name_or_path):
                self.table.selectRow(i)
                return True
        return False

    # ================================================================================================ details
    def _update_actions(self) -> None:
        r = self.selected_row()
        busy = self.presenter.busy
        usable = r is not None and r.usable
        self.open_button.setEnabled(usable)
        self.process_button.setEnabled(usable and not busy)
        self.export_button.setEnabled(usable and r.has_3d and not busy)
        self.rename_button.setEnabled(r is not None and r.status != "recording" and not busy)
        self.delete_button.setEnabled(r is not None and r.status != "recording" and not busy)
        self.import_button.setEnabled(not busy)
        self.choose_root_button.setEnabled(not busy)
        self.refine_check.setEnabled(not busy)
        replay = self._replay_path()
        self.replay_process_button.setEnabled(replay is not None and not busy)
        row = self._row_for(replay) if replay is not None else None
        self.replay_export_button.setEnabled(row is not None and row.has_3d and not busy)
        self._show_details(r)

    def _show_details(self, r: SessionRow | None) -> None:
        if r is None:
            self.detail_title.setText("No session selected")
            for lbl in self.detail_values.values():
                lbl.setText("–")
            self.detail_note.setText("")
            self.detail_error.setVisible(False)
            return
        self.detail_title.setText(r.name)
        for key, text in details(r).items():
            self.detail_values[key].setText(text)
        self.detail_note.setText(details_note(r))
        self.detail_error.setText(r.error or "")
        self.detail_error.setVisible(bool(r.error))

    def _row_for(self, path: Path | None) -> SessionRow | None:
        return next((r for r in self._rows if r.path == path), None)

    def _target(self, path: str | Path | None) -> SessionRow | None:
        if path is not None:
            return self.presenter.row(path)
        return self.selected_row()

    # ================================================================================================ jobs
    @property
    def state(self) -> SessionsState:
        return self.presenter.state

    def task(self) -> Task | None:
        """The job running now (import, process or recover), if any."""
        return self.presenter.job()

    def cancel_task(self) -> None:
        job = self.presenter.job()
        if job is not None:
            self.presenter.cancel_job()
            self.cancel_button.setEnabled(False)
            self.task_label.setText(f"{job.title}: cancelling…")

    def _on_job_started(self, _kind: str, title: str) -> None:
        self.task_label.setText(f"{title}…")
        self.progress_bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.task_bar.setVisible(True)

    def _on_state(self, state: str) -> None:
        if state == SessionsState.IDLE:
            self.task_bar.setVisible(False)
        self._update_actions()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            if self.progress_bar.maximum() != 1000:
                self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * min(done, total) / total))
        job = self.presenter.job()
        self.task_label.setText(f"{job.title if job is not None else ''}: {message}")
        self.taskProgressed.emit(done, total, message)

    def _on_job_succeeded(self, kind: str, result: Any, path: Path | None) -> None:
        if kind == "process" and path is not None and self._replay_path() == path:
            self._load_replay(path)  # show the new results
        self.taskSucceeded.emit(kind, result)

    # --- import -------------------------------------------------------------------------------------------------
    def import_dialog_open(self) -> ImportDialog:
        """Show the import dialog (non-blocking); accepting it starts the import."""
        dlg = ImportDialog(self.root(), self.app_state.settings, self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda d=dlg: self.import_videos(**d.values()))
        dlg.destroyed.connect(lambda *_: setattr(self, "_import_dialog", None))
        self._import_dialog = dlg
        dlg.open()
        return dlg

    def import_dialog(self) -> ImportDialog | None:
        return self._import_dialog

    def import_videos(self, **values: Any) -> bool:
        """Import two videos as a session (the keywords of :meth:`SessionsPresenter.import_videos`)."""
        return self.presenter.import_videos(**values)

    # --- process ------------------------------------------------------------------------------------------------
    def set_refine_hook(self, hook: Any, label: str = "") -> None:
        """The learned refinement used by Process when Refine is on (None: the default model, if installed)."""
        self.presenter.set_refine_hook(hook, label)

    def _show_refine_label(self, label: str) -> None:
        self.refine_check.setText(f"Refine ({label})" if label and len(label) <= 16 else "Refine (CV-UGCN)")

    def process(self, path: str | Path | None = None) -> bool:
        """Process the selected session (or ``path``): 2D, 3D and optional refinement for every pair."""
        r = self._target(path)
        if r is None or not r.usable:
            self._show_error("Select a finished session to process.")
            return False
        if self._replay_path() == r.path:
            self.replay.pause()
        return self.presenter.process(r.path, self.refine_check.isChecked())

    # --- recovery -----------------------------------------------------------------------------------------------
    def check_unfinished(self) -> None:
        """Look for recordings stopped by a crash (a task) and offer to recover them."""
        self.presenter.check_unfinished()

    def _offer_recovery(self, paths: list[Path]) -> None:
        dlg = RecoveryDialog(list(paths), self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda d=dlg: self.recover(d.selected()))
        dlg.destroyed.connect(lambda *_: setattr(self, "_recovery_dialog", None))
        self._recovery_dialog = dlg
        dlg.open()
        self.recoveryOffered.emit(list(paths))

    def recovery_dialog(self) -> RecoveryDialog | None:
        return self._recovery_dialog

    def recover(self, paths: list[str]) -> bool:
        return self.presenter.recover(paths)

    # --- export -------------------------------------------------------------------------------------------------
    def export_dialog_open(self, path: str | Path | None = None) -> ExportDialog | None:
        r = self._target(path)
        if r is None or not r.has_3d:
            self._show_error("Process the session first: there is no 3D to export yet.")
            return None
        dlg = ExportDialog(r.path, r.has_refined, self.app_state, parent=self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.exported.connect(lambda s: self.app_state.say(f"Exported {s.out}", 6000))
        dlg.destroyed.connect(lambda *_: setattr(self, "_export_dialog", None))
        self._export_dialog = dlg
        dlg.open()
        return dlg

    def export_dialog(self) -> ExportDialog | None:
        return self._export_dialog

    # --- rename / delete ----------------------------------------------------------------------------------------
    def _refused(self, r: SessionRow, verb: str) -> bool:
        why = self.presenter.refusal(r, verb)
        if why is not None:
            self._show_error(why)
        return why is not None

    def _ask(self, title: str, text: str) -> bool:
        return QtWidgets.QMessageBox.question(self, title, text) == QtWidgets.QMessageBox.StandardButton.Yes

    def rename(self, path: str | Path | None = None) -> Path | None:
        """Ask for a new name, confirm, rename the session folder. Returns the new path, or None."""
        r = self._target(path)
        if r is None or self._refused(r, "rename"):
            return None
        new, ok = QtWidgets.QInputDialog.getText(
            self, "Rename session", f"New name for '{r.name}':", QtWidgets.QLineEdit.EchoMode.Normal, r.name
        )
        new = (new or "").strip()
        if not ok or not new or new == r.name:
            return None
        try:
            self.presenter.rename_target(r.path, new)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return None
        if not self._ask("Rename session", f"Rename '{r.name}' to '{new}'?"):
            return None
        if self._replay_path() == r.path:
            self.show_list()
        try:
            return self.presenter.rename(r.path, new)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return None

    def delete(self, path: str | Path | None = None) -> bool:
        """Confirm, then move the session folder to the trash (or, where there is none, delete it after a second
        confirmation). Nothing is deleted on any error. True when the folder is gone."""
        r = self._target(path)
        if r is None or self._refused(r, "delete"):
            return False
        folder = r.path
        try:
            self.presenter.check_deletable(folder)
        except CrossViewError as exc:
            self._show_error(str(exc))
            return False
        question = f"Delete the session '{r.name}' ({format_size(r.size_bytes)})?\n\nIt will be moved to the trash."
        if not self._ask("Delete session", question):
            return False
        if self._replay_path() == folder:
            self.show_list()
        if not self.presenter.move_to_trash(folder):
            question = (
                f"'{r.name}' cannot be moved to the trash on this system. Delete it permanently? This cannot be undone."
            )
            if not self._ask("Delete permanently?", question):
                return False
            try:
                self.presenter.delete_permanently(folder)
            except CrossViewError as exc:
                self._show_error(str(exc))
                return False
        return not folder.exists()

    # ================================================================================================ replay
    def open_replay(self, path: str | Path | None = None) -> bool:
        r = self._target(path)
        if r is None or not r.usable:
            if r is not None and r.status == "unfinished":
                self._show_error(f"'{r.name}' was not finished; recover it first (Refresh offers it).")
            return False
        self._replay = r.path
        self.replay_title.setText(r.name)
        self.replay_info.setText(replay_info(r))
        self.stack.setCurrentIndex(1)
        self._load_replay(r.path)
        self._update_actions()
        return True

    def _load_replay(self, path: Path) -> None:
        self.replay.show_opening()
        self.presenter.load_replay(path)

    def _replay_path(self) -> Path | None:
        return self._replay if self.stack.currentIndex() == 1 else None

    def show_list(self) -> None:
        self.presenter.forget_replay()
        self.replay.close_session()
        self._replay = None
        self.stack.setCurrentIndex(0)
        self._update_actions()

    def _on_replay_loaded(self, data: Any) -> None:
        if data.warnings:
            self.app_state.say(data.warnings[0], 10000)

    def _on_replay_failed(self, text: str) -> None:
        self._show_error(f"This session cannot be replayed.\n\n{text}")

    # ================================================================================================ window
    def _show_error(self, text: str) -> None:
        """A non-blocking warning dialog."""
        self.last_error = text
        log.warning("Sessions tab: %s", text)
        self._boxes.show(QtWidgets.QMessageBox.Icon.Warning, "Sessions", text)
        self.errorShown.emit(text)

    def error_box(self) -> QtWidgets.QMessageBox | None:
        return self._boxes.current

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.stack.currentIndex() == 0:
            self.refresh()  # cheap (a task): sessions may have been recorded or imported meanwhile

    def stop(self) -> None:
        """Stop every job of this tab and the replay (window closing); waits for them."""
        self.replay.stop()
        if self._export_dialog is not None:
            self._export_dialog.stop()
        self.presenter.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)
