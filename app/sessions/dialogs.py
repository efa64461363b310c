"""The Sessions tab's small dialogs: :class:`ImportDialog` (two videos, their calibration, an optional
capture-time CSV, the session's name) and :class:`RecoveryDialog` (recordings stopped by a crash). Qt only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from app.sessions.text import describe_unfinished
from app.settings import Settings
from app.widgets.build import make_label
from core.errors import CrossViewError
from core.session.importing import guess_camera
from core.session.layout import new_session_path
from core.session.manage import valid_session_name


class ImportDialog(QtWidgets.QDialog):
    """Two videos, their calibration (which two cameras), an optional capture-time CSV, the session's name."""

    def __init__(self, root: Path, settings: Settings | None, parent: QtWidgets.QWidget | None = None):
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
        self.error_label = make_label("", "importError", wrap=True)
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
        folder = self._settings.import_dir if self._settings is not None else None
        return str(folder) if folder is not None else ""

    def _remember(self, path: str) -> None:
        if self._settings is not None:
            self._settings.import_dir = Path(path).parent

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
        elif not name or not valid_session_name(name):
            self._show_error("Give the session a folder name (letters, digits, '-', '_' and '.'; no '/').")
        elif Path(v["out"]).exists():
            self._show_error(f"A session named '{name}' already exists in {self._root}; choose another name.")
        else:
            self.accept()


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
            item = QtWidgets.QListWidgetItem(describe_unfinished(p))
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

    def selected(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == QtCore.Qt.CheckState.Checked:
                out.append(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        return out
