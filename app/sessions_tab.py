"""The Sessions tab: list, manage, process, export and replay the sessions under the sessions folder. Qt only.

- List (:class:`SessionsTab`): one row per session folder under the sessions root (QSettings ``sessions/root``,
  default ``~/CrossView/sessions``; Choose…): date, duration, cameras, frames, whether 3D and refinement
  exist, status, size. Refresh, Import… (two videos + calibration + optional capture-time CSV), Process (2D,
  3D and optional refinement for every pair), Export… (:class:`app.export_dialog.ExportDialog`), Rename… and
  Delete… (each confirmed; delete moves to the trash, or deletes after a second confirmation where there is
  no trash; nothing is deleted on any error).
- Replay (:class:`app.replay_view.ReplayView`): double-click a session or press Open.
- Recovery: the first time the tab is shown it looks for recordings stopped by a crash
  (:func:`core.session.find_unfinished`) and offers to recover them (:func:`core.session.recover`).

Every long job (listing, import, processing, export, recovery, loading a replay) runs in a worker thread
(:mod:`app.session_workers`) and reports by signals; one job that changes sessions runs at a time, with a
progress bar and Cancel. Closing the window stops them.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.export_dialog import ExportDialog
from app.replay_view import ReplayView
from app.session_workers import (
    SessionRow,
    Task,
    import_task,
    process_task,
    recover_task,
    scan_task,
    sessions_root,
    set_sessions_root,
    unfinished_task,
)
from app.style import ACCENT, BASE, BORDER, MUTED, PANEL, TEXT, WINDOW
from app.widgets.messages import MessageBoxSlot, register_with_window, status_message
from core.errors import CrossViewError
from core.session import SESSION_FILE, Session, is_recording_live, new_session_path

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = ("Name", "Date", "Duration", "Cameras", "Frames", "3D", "Refined", "Status", "Size")
_YES = "✓"
_NO = "–"

_STYLESHEET = f"""
QWidget#sessionsPage {{ background: {WINDOW}; }}
QLabel#caption {{ color: {MUTED}; }}
QLabel#rootLabel {{ color: {TEXT}; }}
QLabel#detailTitle {{ color: {TEXT}; font-size: 16px; font-weight: 700; }}
QLabel#detailKey {{ color: {MUTED}; }}
QLabel#detailValue {{ color: {TEXT}; }}
QLabel#detailNote {{ color: {MUTED}; font-size: 12px; }}
QLabel#detailError {{ color: #ff9b91; font-size: 12px; }}
QLabel#emptyState {{ color: {MUTED}; font-size: 14px; }}
QLabel#replayTitle {{ color: {TEXT}; font-size: 15px; font-weight: 700; }}
QFrame#detailsPanel {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
QFrame#taskBar {{ background: {BASE}; border-top: 1px solid {BORDER}; }}
QFrame#vline {{ color: {BORDER}; }}
QTableWidget {{
    background: {BASE}; alternate-background-color: #1a1c22; color: {TEXT}; border: 1px solid {BORDER};
    border-radius: 8px; gridline-color: transparent; selection-background-color: rgba(62, 166, 245, 0.28);
    selection-color: {TEXT};
}}
QTableWidget::item {{ padding: 4px 8px; }}
QHeaderView::section {{
    background: {PANEL}; color: {MUTED}; border: none; border-bottom: 1px solid {BORDER}; padding: 6px 8px;
    font-weight: 600;
}}
QPushButton#primaryButton {{
    background: {ACCENT}; color: white; border: 1px solid {ACCENT}; font-weight: 700; padding: 5px 16px;
}}
QPushButton#primaryButton:hover {{ background: #5cb5f7; }}
QPushButton#primaryButton:disabled {{ background: #2a4a63; border-color: #2a4a63; color: #b8c4d0; }}
QPushButton#dangerButton {{ color: #ff9b91; }}
QPushButton:disabled {{ color: #5d6470; }}
QProgressBar {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 5px; height: 12px; text-align: center;
    color: {TEXT}; font-size: 11px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QCheckBox:disabled {{ color: #5d6470; }}
"""


def _vline() -> QtWidgets.QFrame:
    line = QtWidgets.QFrame()
    line.setObjectName("vline")
    line.setFrameShape(QtWidgets.QFrame.Shape.VLine)
    line.setFixedHeight(22)
    return line


def format_duration(seconds: float) -> str:
    if not seconds or seconds <= 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_size(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def _format_date(d: _dt.datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d is not None else "–"


def guess_camera(video: str | Path, names: list[str]) -> str | None:
    """The calibration camera whose number matches the video's file name (``cam01.mp4`` -> ``cam_01``)."""
    digits = re.findall(r"\d+", Path(video).stem)
    if not digits:
        return None
    n = int(digits[-1])
    hits = [c for c in names if re.findall(r"\d+", c) and int(re.findall(r"\d+", c)[-1]) == n]
    return hits[0] if len(hits) == 1 else None


# ================================================================================================ dialogs


class ImportDialog(QtWidgets.QDialog):
    """Two videos, their calibration (which two cameras), an optional capture-time CSV, the session's name."""

    def __init__(self, root: Path, settings: QtCore.QSettings | None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle("Import two videos as a session")
        self.setMinimumWidth(680)
        self._root = root
        self._settings = settings
        self._cal_names: list[str] = []
        self._name_edited = False
        lay = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            "Two videos of the same scene filmed together, and the calibration of their cameras. Without a "
            "capture-time CSV, frame k of one video is paired with frame k of the other. The videos are copied "
            "unchanged into the session folder."
        )
        intro.setWordWrap(True)
        intro.setObjectName("caption")
        lay.addWidget(intro)
        form = QtWidgets.QFormLayout()
        form.setVerticalSpacing(8)
        self.video_edits: list[QtWidgets.QLineEdit] = []
        self.video_buttons: list[QtWidgets.QPushButton] = []
        self.camera_combos: list[QtWidgets.QComboBox] = []
        for k in range(2):
            edit, button = self._path_row(form, f"Video {'AB'[k]}", lambda _checked=False, k=k: self.choose_video(k))
            self.video_edits.append(edit)
            self.video_buttons.append(button)
        self.calib_edit, self.calib_button = self._path_row(form, "Calibration", self.choose_calibration)
        cams = QtWidgets.QHBoxLayout()
        for k in range(2):
            combo = QtWidgets.QComboBox()
            combo.setMinimumContentsLength(10)
            self.camera_combos.append(combo)
            cams.addWidget(QtWidgets.QLabel(f"video {'AB'[k]} is"))
            cams.addWidget(combo, 1)
        form.addRow("Cameras", cams)
        self.ts_edit, self.ts_button = self._path_row(form, "Timestamps (optional)", self.choose_timestamps)
        self.ts_edit.setPlaceholderText("CSV of capture times (CrossView or Caliscope layout)")
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.textEdited.connect(lambda _t: setattr(self, "_name_edited", True))
        form.addRow("Session name", self.name_edit)
        self.reencode_check = QtWidgets.QCheckBox("Re-encode the videos to MJPEG (larger; fast frame-exact seeking)")
        form.addRow("", self.reencode_check)
        lay.addLayout(form)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setStyleSheet("color: #ff9b91;")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Import")
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.calib_edit.editingFinished.connect(self._load_calibration_names)

    def _path_row(self, form: QtWidgets.QFormLayout, label: str, chooser: Callable[[], object]):
        row = QtWidgets.QHBoxLayout()
        edit = QtWidgets.QLineEdit()
        button = QtWidgets.QPushButton("Choose…")
        button.clicked.connect(chooser)
        row.addWidget(edit, 1)
        row.addWidget(button)
        form.addRow(label, row)
        return edit, button

    def _last_dir(self) -> str:
        return str(self._settings.value("paths/import_dir", "")) if self._settings is not None else ""

    def _remember(self, path: str) -> None:
        if self._settings is not None:
            self._settings.setValue("paths/import_dir", str(Path(path).parent))

    def choose_video(self, k: int) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Video {'AB'[k]}", self._last_dir(), "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)"
        )
        if not path:
            return None
        self._remember(path)
        self.video_edits[k].setText(path)
        self._guess_cameras()
        self._default_name()
        return path

    def choose_calibration(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Calibration", self._last_dir(), "Calibration (*.toml);;All files (*)"
        )
        if not path:
            return None
        self._remember(path)
        self.calib_edit.setText(path)
        self._load_calibration_names()
        return path

    def choose_timestamps(self) -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Capture times (optional)", self._last_dir(), "CSV (*.csv);;All files (*)"
        )
        if not path:
            return None
        self.ts_edit.setText(path)
        return path

    def _load_calibration_names(self) -> None:
        from core.calibration_io import load_calibration

        text = self.calib_edit.text().strip()
        self._cal_names = []
        if text:
            try:
                self._cal_names = load_calibration(text).group.names  # a small TOML: fast
                self.error_label.setVisible(False)
            except CrossViewError as exc:
                self._show_error(str(exc))
        for k, combo in enumerate(self.camera_combos):
            combo.clear()
            for n in self._cal_names:
                combo.addItem(n, n)
            if k < len(self._cal_names):
                combo.setCurrentIndex(k)
        self._guess_cameras()

    def _guess_cameras(self) -> None:
        for k, combo in enumerate(self.camera_combos):
            guess = guess_camera(self.video_edits[k].text(), self._cal_names)
            if guess is not None:
                combo.setCurrentIndex(combo.findData(guess))

    def _default_name(self) -> None:
        if self._name_edited:
            return
        stems = [Path(e.text()).stem for e in self.video_edits if e.text().strip()]
        prefix = "-".join(stems) if stems else "import"
        self.name_edit.setText(new_session_path(self._root, prefix=re.sub(r"[^\w.-]+", "_", prefix)).name)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(True)

    def values(self) -> dict[str, Any]:
        """What to import: the keyword arguments of :meth:`SessionsTab.import_videos`."""
        cams = [c.currentData() for c in self.camera_combos]
        return {
            "video_a": self.video_edits[0].text().strip(),
            "video_b": self.video_edits[1].text().strip(),
            "calibration": self.calib_edit.text().strip(),
            "cameras": cams if all(cams) else None,
            "timestamps": self.ts_edit.text().strip() or None,
            "out": str(self._root / self.name_edit.text().strip()),
            "reencode": self.reencode_check.isChecked(),
        }

    def _try_accept(self) -> None:
        v = self.values()
        name = self.name_edit.text().strip()
        if not v["video_a"] or not v["video_b"]:
            self._show_error("Choose both videos.")
        elif not v["calibration"]:
            self._show_error("Choose the calibration of the two cameras (a TOML file).")
        elif v["cameras"] is not None and v["cameras"][0] == v["cameras"][1]:
            self._show_error("Video A and video B must be two different cameras of the calibration.")
        elif not name or not _valid_name(name):
            self._show_error("Give the session a folder name (letters, digits, '-', '_' and '.'; no '/').")
        elif Path(v["out"]).exists():
            self._show_error(f"A session named '{name}' already exists in {self._root}; choose another name.")
        else:
            self.accept()


def _valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not name.startswith(".") and not re.search(r"[/\\\x00]", name)


class RecoveryDialog(QtWidgets.QDialog):
    """Lists recordings stopped by a crash and asks whether to recover them (each can be unticked)."""

    def __init__(self, paths: list[Path], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryDialog")
        self.setWindowTitle("Unfinished recordings")
        self.setMinimumWidth(560)
        lay = QtWidgets.QVBoxLayout(self)
        text = QtWidgets.QLabel(
            f"<b>{len(paths)} recording{'s were' if len(paths) > 1 else ' was'} not finished</b> (CrossView or the "
            "computer stopped while recording). Recovering keeps every complete frame, rebuilds the results "
            "recorded live and makes the session usable again. Nothing is deleted."
        )
        text.setWordWrap(True)
        lay.addWidget(text)
        self.list = QtWidgets.QListWidget()
        for p in paths:
            item = QtWidgets.QListWidgetItem(self._describe(p))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, str(p))
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Checked)
            self.list.addItem(item)
        lay.addWidget(self.list)
        buttons = QtWidgets.QDialogButtonBox()
        self.recover_button = buttons.addButton("Recover", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.later_button = buttons.addButton("Not now", QtWidgets.QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    @staticmethod
    def _describe(p: Path) -> str:
        try:
            m = Session.open(p).meta
            when = _format_date(_dt.datetime.fromisoformat(m.created)) if m.created else "?"
            frames = " + ".join(f"{c.frames} {c.name}" for c in m.cameras)
            return f"{p.name}    ·  started {when}  ·  about {frames} frames when last saved"
        except (CrossViewError, ValueError):
            return p.name

    def selected(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == QtCore.Qt.CheckState.Checked:
                out.append(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        return out


# ================================================================================================ the tab


class SessionsTab(QtWidgets.QWidget):
    """Sessions: list and manage, import, process, export, replay, recover."""

    #: the rows after each refresh (list of :class:`SessionRow`)
    listed = QtCore.Signal(object)
    #: (kind, result) when a job ends well: kind is "import", "process", "recover"
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
        parent: QtWidgets.QWidget | None = None,
        settings: QtCore.QSettings | None = None,
        *,
        detector_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        if settings is None:
            from app.main_window import default_settings

            settings = default_settings()
        self.setObjectName("page")
        self.setStyleSheet(_STYLESHEET)
        self._settings = settings
        self._detector_factory = detector_factory
        self._refine_hook: Any = None
        self._refine_label = ""
        self._rows: list[SessionRow] = []
        self._task: Task | None = None
        self._task_kind = ""
        self._task_path: Path | None = None
        self._scan: Task | None = None
        self._scan_again = False
        self._aux: list[Task] = []  # small background jobs (finding unfinished sessions)
        self._select_after_scan: Path | None = None
        self._boxes = MessageBoxSlot(self)
        self._import_dialog: ImportDialog | None = None
        self._export_dialog: ExportDialog | None = None
        self._recovery_dialog: RecoveryDialog | None = None
        self._replay: Path | None = None
        self.last_error: str | None = None
        self.last_result: Any = None

        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self._build_list_page())
        self.stack.addWidget(self._build_replay_page())
        root.addWidget(self.stack, 1)
        root.addWidget(self._build_task_bar())
        self._update_root_label()
        self._update_actions()

    # ================================================================================================ building
    def _build_list_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setObjectName("sessionsPage")
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        bar = QtWidgets.QFrame()
        bar.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(8)
        caption = QtWidgets.QLabel("Sessions folder")
        caption.setObjectName("caption")
        row.addWidget(caption)
        self.root_label = QtWidgets.QLabel()
        self.root_label.setObjectName("rootLabel")
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
        lay.addWidget(bar)

        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(14, 12, 14, 12)
        body.setSpacing(12)
        left = QtWidgets.QVBoxLayout()
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
        left.addWidget(self.table, 1)
        self.empty_label = QtWidgets.QLabel()
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setVisible(False)
        left.addWidget(self.empty_label, 1)
        body.addLayout(left, 1)
        body.addWidget(self._build_details())
        lay.addLayout(body, 1)
        return page

    def _build_details(self) -> QtWidgets.QFrame:
        panel = QtWidgets.QFrame()
        panel.setObjectName("detailsPanel")
        panel.setFixedWidth(360)
        lay = QtWidgets.QVBoxLayout(panel)
        lay.setContentsMargins(16, 14, 16, 14)
        lay.setSpacing(8)
        self.detail_title = QtWidgets.QLabel("No session selected")
        self.detail_title.setObjectName("detailTitle")
        self.detail_title.setWordWrap(True)
        lay.addWidget(self.detail_title)
        self.detail_form = QtWidgets.QFormLayout()
        self.detail_form.setHorizontalSpacing(12)
        self.detail_form.setVerticalSpacing(5)
        self.detail_values: dict[str, QtWidgets.QLabel] = {}
        for key in ("Status", "Origin", "Created", "Duration", "Cameras", "Pairs", "3D", "Refined", "Size"):
            k = QtWidgets.QLabel(key)
            k.setObjectName("detailKey")
            v = QtWidgets.QLabel("–")
            v.setObjectName("detailValue")
            v.setWordWrap(True)
            v.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_form.addRow(k, v)
            self.detail_values[key] = v
        lay.addLayout(self.detail_form)
        self.detail_note = QtWidgets.QLabel()
        self.detail_note.setObjectName("detailNote")
        self.detail_note.setWordWrap(True)
        lay.addWidget(self.detail_note)
        self.detail_error = QtWidgets.QLabel()
        self.detail_error.setObjectName("detailError")
        self.detail_error.setWordWrap(True)
        self.detail_error.setVisible(False)
        lay.addWidget(self.detail_error)
        lay.addStretch(1)

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
        self.refine_check.setChecked(str(self._settings.value("sessions/refine", "true")).lower() == "true")
        self.refine_check.toggled.connect(
            lambda on: self._settings.setValue("sessions/refine", "true" if on else "false")
        )
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
        return panel

    def _build_replay_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setObjectName("sessionsPage")
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        bar = QtWidgets.QFrame()
        bar.setObjectName("toolbar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(10)
        self.back_button = QtWidgets.QPushButton("←  All sessions")
        self.back_button.clicked.connect(self.show_list)
        row.addWidget(self.back_button)
        row.addWidget(_vline())
        self.replay_title = QtWidgets.QLabel()
        self.replay_title.setObjectName("replayTitle")
        row.addWidget(self.replay_title)
        self.replay_info = QtWidgets.QLabel()
        self.replay_info.setObjectName("caption")
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
        bar = QtWidgets.QFrame()
        bar.setObjectName("taskBar")
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(14, 6, 14, 6)
        row.setSpacing(10)
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

    # ================================================================================================ root, listing
    def root(self) -> Path:
        """The sessions folder."""
        return sessions_root(self._settings)

    def set_root(self, path: str | Path) -> None:
        set_sessions_root(self._settings, path)
        self._update_root_label()
        self.refresh()

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
        """List the sessions again (in a worker; ``listed`` follows)."""
        if self._scan is not None:
            self._scan_again = True
            return
        task = scan_task(self.root())
        task.succeeded.connect(self._on_listed)
        task.failed.connect(lambda exc: self._show_error(f"The sessions folder cannot be listed: {exc}"))
        task.ended.connect(lambda t=task: self._scan_ended(t))
        self._scan = task
        self._register_with_window()
        task.start()

    def _scan_ended(self, task: Task) -> None:
        task.wait()
        task.deleteLater()
        if self._scan is task:
            self._scan = None
        if self._scan_again:
            self._scan_again = False
            self.refresh()

    def _on_listed(self, rows: list[SessionRow]) -> None:
        selected = self.selected_row()
        keep = self._select_after_scan or (selected.path if selected is not None else None)
        self._select_after_scan = None
        self._rows = list(rows)
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(rows))
        for i, r in enumerate(rows):
            frames = " / ".join(str(r.frames.get(c, 0)) for c in r.cameras) if r.cameras else "–"
            status = {"unfinished": "unfinished — recover", "recording": "recording now"}.get(r.status, r.status)
            if r.error and r.status in ("complete", "recovered"):
                status += " (stopped early)"
            values = [
                r.name,
                _format_date(r.created),
                format_duration(r.duration_s),
                " + ".join(r.cameras) if r.cameras else "–",
                frames,
                (_YES + (" live" if r.results_source == "live" else "")) if r.has_3d else _NO,
                _YES if r.has_refined else _NO,
                status,
                format_size(r.size_bytes),
            ]
            for c, v in enumerate(values):
                item = QtWidgets.QTableWidgetItem(v)
                if c in (5, 6):
                    item.setForeground(QtGui.QColor("#8fe3a9" if v.startswith(_YES) else MUTED))
                if c == 7 and r.status not in ("complete", "recovered"):
                    item.setForeground(QtGui.QColor("#f5a53e" if r.status != "unreadable" else "#ff9b91"))
                if c == 0:
                    item.setToolTip(str(r.path))
                t.setItem(i, c, item)
        empty = not rows
        t.setVisible(not empty)
        self.empty_label.setVisible(empty)
        if empty:
            self.empty_label.setText(
                f"No sessions in {self.root()} yet.\n\nRecord one in the Live tab (● Record while the capture runs), "
                "or Import… two videos and their calibration."
            )
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

    def on_session_recorded(self, path: str) -> None:
        """A recording finished (Live tab): list it and select it."""
        self._select_after_scan = Path(path)
        self.refresh()

    # ================================================================================================ details
    def _update_actions(self) -> None:
        r = self.selected_row()
        busy = self._task is not None
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
        v = self.detail_values
        if r is None:
            self.detail_title.setText("No session selected")
            for lbl in v.values():
                lbl.setText("–")
            self.detail_note.setText("")
            self.detail_error.setVisible(False)
            return
        self.detail_title.setText(r.name)
        v["Status"].setText(r.status)
        v["Origin"].setText(r.origin or "–")
        v["Created"].setText(_format_date(r.created))
        v["Duration"].setText(f"{format_duration(r.duration_s)}  ({r.fps:.0f} fps)" if r.fps else "–")
        v["Cameras"].setText(", ".join(f"{c}: {r.frames.get(c, 0)} frames" for c in r.cameras) if r.cameras else "–")
        v["Pairs"].setText(str(r.pairs))
        v["3D"].setText(
            ("yes, recorded live" if r.results_source == "live" else "yes") if r.has_3d else "not yet — Process it"
        )
        v["Refined"].setText("yes" if r.has_refined else "no")
        v["Size"].setText(format_size(r.size_bytes))
        notes = []
        p = r.processing or {}
        if p:
            med = p.get("median_reprojection_error_px")
            med_text = f", median reprojection error {med:.1f} px" if isinstance(med, int | float) else ""
            notes.append(
                f"Processed {str(p.get('when', ''))[:16].replace('T', ' ')}: {p.get('percent_with_3d', 0):.0f}% of "
                f"pairs with 3D{med_text}; refinement {p.get('refinement', '?')}."
            )
        notes += r.notes[-3:]
        self.detail_note.setText("\n".join(notes))
        self.detail_error.setText(r.error or "")
        self.detail_error.setVisible(bool(r.error))

    def _row_for(self, path: Path | None) -> SessionRow | None:
        return next((r for r in self._rows if r.path == path), None)

    def _target(self, path: str | Path | None) -> SessionRow | None:
        if path is not None:
            row = self._row_for(Path(path))
            if row is None:
                from app.session_workers import session_row

                row = session_row(Path(path))
            return row
        return self.selected_row()

    # ================================================================================================ jobs
    def _start_task(self, kind: str, task: Task, path: Path | None) -> bool:
        if self._task is not None:
            self._show_error(f"{self._task.title} is running; wait for it or cancel it first.")
            return False
        self._task, self._task_kind, self._task_path = task, kind, path
        task.progressed.connect(self._on_progress)
        # the outcome is handled once the job has ended, so that taskSucceeded & co. find the tab idle
        task.ended.connect(lambda t=task, k=kind, p=path: self._task_ended(t, k, p))
        self.task_label.setText(f"{task.title}…")
        self.progress_bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.task_bar.setVisible(True)
        self._register_with_window()
        task.start()
        self._update_actions()
        return True

    def task(self) -> Task | None:
        """The job running now (import, process or recover), if any."""
        return self._task

    def cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.task_label.setText(f"{self._task.title}: cancelling…")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            if self.progress_bar.maximum() != 1000:
                self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * min(done, total) / total))
        title = self._task.title if self._task is not None else ""
        self.task_label.setText(f"{title}: {message}")
        self.taskProgressed.emit(done, total, message)

    def _on_task_succeeded(self, kind: str, result: Any, path: Path | None) -> None:
        self.last_result = result
        if kind == "import":
            self._select_after_scan = Path(result["session"])
            warn = result.get("warnings") or []
            self._show_message(
                f"Imported {Path(result['session']).name}: {result['pairs']} pairs ({result['pairing']} pairing)"
                + (f" — {warn[0]}" if warn else "")
            )
        elif kind == "process":
            self._show_message(
                f"Processed {Path(result['session']).name}: {result['percent_with_3d']:.0f}% of pairs with 3D; "
                f"refinement {result['refinement']}."
            )
            if path is not None and self._replay_path() == path:
                self.replay.open_session(path)  # show the new results
        elif kind == "recover":
            failed = result.get("failed") or {}
            done = result.get("recovered") or []
            self._show_message(f"Recovered {len(done)} session{'s' if len(done) != 1 else ''}.")
            if failed:
                lines = "\n".join(f"{Path(p).name}: {m}" for p, m in failed.items())
                self._show_error(f"Some sessions could not be recovered:\n\n{lines}")
        self.refresh()
        self.taskSucceeded.emit(kind, result)

    def _on_task_failed(self, kind: str, exc: BaseException) -> None:
        what = {"import": "Import", "process": "Processing", "recover": "Recovery"}.get(kind, kind)
        text = str(exc) if isinstance(exc, CrossViewError) else f"{type(exc).__name__}: {exc}"
        self._show_error(f"{what} failed.\n\n{text}")
        self.refresh()
        self.taskFailed.emit(kind, text)

    def _on_task_cancelled(self, kind: str) -> None:
        self._show_message(f"{kind.capitalize()} cancelled; nothing was written.")
        self.refresh()
        self.taskCancelled.emit(kind)

    def _task_ended(self, task: Task, kind: str, path: Path | None) -> None:
        task.wait()
        task.deleteLater()
        if self._task is task:
            self._task = None
            self._task_path = None
        self.task_bar.setVisible(False)
        self._update_actions()
        if task.error is not None:
            self._on_task_failed(kind, task.error)
        elif task.was_cancelled:
            self._on_task_cancelled(kind)
        else:
            self._on_task_succeeded(kind, task.result, path)

    # --- import -------------------------------------------------------------------------------------------------
    def import_dialog_open(self) -> ImportDialog:
        """Show the import dialog (non-blocking); accepting it starts the import."""
        dlg = ImportDialog(self.root(), self._settings, self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda d=dlg: self.import_videos(**d.values()))
        dlg.destroyed.connect(lambda *_: setattr(self, "_import_dialog", None))
        self._import_dialog = dlg
        dlg.open()
        return dlg

    def import_dialog(self) -> ImportDialog | None:
        return self._import_dialog

    def import_videos(
        self,
        video_a: str,
        video_b: str,
        calibration: str,
        out: str,
        cameras: list[str] | None = None,
        timestamps: str | None = None,
        reencode: bool = False,
    ) -> bool:
        """Import two videos as the session ``out`` in a worker (progress, Cancel)."""
        task = import_task(video_a, video_b, calibration, out, cameras, timestamps, reencode)
        return self._start_task("import", task, Path(out))

    # --- process ------------------------------------------------------------------------------------------------
    def set_refine_hook(self, hook: Any, label: str = "") -> None:
        """The learned refinement used by Process when Refine is on (None: the default model, if installed)."""
        self._refine_hook = hook
        self._refine_label = label
        self.refine_check.setText(f"Refine ({label})" if label and len(label) <= 16 else "Refine (CV-UGCN)")

    def process(self, path: str | Path | None = None) -> bool:
        """Process the selected session (or ``path``) in a worker: 2D, 3D and optional refinement for every pair."""
        r = self._target(path)
        if r is None or not r.usable:
            self._show_error("Select a finished session to process.")
            return False
        refine = self.refine_check.isChecked()
        task = process_task(
            r.path,
            refine,
            refine_hook=self._refine_hook,
            model_id=self._refine_label,
            detector_factory=self._detector_factory,
        )
        if self._replay_path() == r.path:
            self.replay.pause()
        return self._start_task("process", task, r.path)

    # --- recovery -----------------------------------------------------------------------------------------------
    def check_unfinished(self) -> None:
        """Look for recordings stopped by a crash (worker) and offer to recover them."""
        task = unfinished_task(self.root())
        task.succeeded.connect(self._on_unfinished)
        task.ended.connect(lambda t=task: self._aux_ended(t))
        self._aux.append(task)
        self._register_with_window()
        task.start()

    def _aux_ended(self, task: Task) -> None:
        task.wait()
        task.deleteLater()
        if task in self._aux:
            self._aux.remove(task)

    def _on_unfinished(self, paths: list[Path]) -> None:
        if not paths:
            return
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
        if not paths:
            return False
        return self._start_task("recover", recover_task(paths), None)

    # --- export -------------------------------------------------------------------------------------------------
    def export_dialog_open(self, path: str | Path | None = None) -> ExportDialog | None:
        r = self._target(path)
        if r is None or not r.has_3d:
            self._show_error("Process the session first: there is no 3D to export yet.")
            return None
        dlg = ExportDialog(r.path, r.has_refined, settings=self._settings, parent=self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.exported.connect(lambda s: self._show_message(f"Exported {s['out']}"))
        dlg.destroyed.connect(lambda *_: setattr(self, "_export_dialog", None))
        self._export_dialog = dlg
        dlg.open()
        return dlg

    def export_dialog(self) -> ExportDialog | None:
        return self._export_dialog

    # --- rename / delete ----------------------------------------------------------------------------------------
    def _refuse_busy(self, r: SessionRow, verb: str) -> bool:
        if self._task is not None:
            self._show_error(f"Wait for '{self._task.title}' to finish before you {verb} a session.")
            return True
        if is_recording_live(r.path):
            self._show_error(f"'{r.name}' is being recorded; stop the recording first.")
            return True
        return False

    def rename(self, path: str | Path | None = None) -> Path | None:
        """Ask for a new name, confirm, rename the session folder. Returns the new path, or None."""
        r = self._target(path)
        if r is None or self._refuse_busy(r, "rename"):
            return None
        new, ok = QtWidgets.QInputDialog.getText(
            self, "Rename session", f"New name for '{r.name}':", QtWidgets.QLineEdit.EchoMode.Normal, r.name
        )
        new = (new or "").strip()
        if not ok or not new or new == r.name:
            return None
        if not _valid_name(new):
            self._show_error(f"'{new}' cannot be a folder name: use letters, digits, '-', '_' and '.' (no '/').")
            return None
        target = r.path.with_name(new)
        if target.exists():
            self._show_error(f"'{new}' already exists in {r.path.parent}; choose another name.")
            return None
        answer = QtWidgets.QMessageBox.question(self, "Rename session", f"Rename '{r.name}' to '{new}'?")
        if answer != QtWidgets.QMessageBox.StandardButton.Yes:
            return None
        if self._replay_path() == r.path:
            self.show_list()
        try:
            r.path.rename(target)
        except OSError as exc:
            self._show_error(f"'{r.name}' could not be renamed: {exc.strerror or exc}. Nothing was changed.")
            return None
        self._select_after_scan = target
        self._show_message(f"Renamed '{r.name}' to '{new}'.")
        self.refresh()
        return target

    def delete(self, path: str | Path | None = None) -> bool:
        """Confirm, then move the session folder to the trash (or, where there is none, delete it after a second
        confirmation). Nothing is deleted on any error. True when the folder is gone."""
        r = self._target(path)
        if r is None or self._refuse_busy(r, "delete"):
            return False
        folder = r.path
        if not (folder / SESSION_FILE).is_file():
            self._show_error(f"'{folder}' does not look like a session folder any more; nothing was deleted.")
            return False
        answer = QtWidgets.QMessageBox.question(
            self,
            "Delete session",
            f"Delete the session '{r.name}' ({format_size(r.size_bytes)})?\n\nIt will be moved to the trash.",
        )
        if answer != QtWidgets.QMessageBox.StandardButton.Yes:
            return False
        if self._replay_path() == folder:
            self.show_list()
        if QtCore.QFile.moveToTrash(str(folder)):
            self._show_message(f"Moved '{r.name}' to the trash.")
        else:
            answer = QtWidgets.QMessageBox.question(
                self,
                "Delete permanently?",
                f"'{r.name}' cannot be moved to the trash on this system. Delete it permanently? "
                "This cannot be undone.",
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                self._show_error(f"'{r.name}' could not be deleted completely: {exc.strerror or exc}.")
                self.refresh()
                return False
            self._show_message(f"Deleted '{r.name}'.")
        self.refresh()
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
        self.replay_info.setText(
            f"{' + '.join(r.cameras)} · {r.pairs} pairs · {r.fps:.0f} fps · {format_duration(r.duration_s)}"
        )
        self.stack.setCurrentIndex(1)
        self.replay.open_session(r.path)
        self._update_actions()
        return True

    def _replay_path(self) -> Path | None:
        return self._replay if self.stack.currentIndex() == 1 else None

    def show_list(self) -> None:
        self.replay.close_session()
        self._replay = None
        self.stack.setCurrentIndex(0)
        self._update_actions()

    def _on_replay_loaded(self, data: Any) -> None:
        if data.warnings:
            self._show_message(data.warnings[0], 10000)

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

    def _show_message(self, text: str, timeout_ms: int = 6000) -> None:
        status_message(self, text, timeout_ms)

    def _register_with_window(self) -> None:
        register_with_window(self)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._register_with_window()
        if self.stack.currentIndex() == 0:
            self.refresh()  # cheap (a worker): sessions may have been recorded or imported meanwhile

    def stop(self) -> None:
        """Stop every job of this tab and the replay (window closing); waits for them."""
        self.replay.stop()
        for dlg in (self._export_dialog,):
            if dlg is not None:
                dlg.stop()
        for task in [self._task, self._scan, *self._aux]:
            if task is not None:
                task.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)
