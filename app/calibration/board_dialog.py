"""The "Print board…" dialog: a board's print sheet at TRUE size, as PDF or PNG (``calibration.printing``). Qt only."""

from __future__ import annotations

from pathlib import Path

import cv2
from PySide6 import QtCore, QtGui, QtWidgets

from app.theme import set_style_property
from app.widgets.build import make_label
from calibration.boards import Board
from calibration.printing import PAPER_MM, render_print_sheet, save_print_sheet
from core.errors import CrossViewError

#: Resolution of the on-screen preview of the sheet (the file uses the chosen dpi).
PREVIEW_DPI = 72.0


class PrintBoardDialog(QtWidgets.QDialog):
    """Choose paper, resolution and file, preview the sheet, save it. ``saved_path`` is set after a save."""

    def __init__(self, board: Board, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("printBoardDialog")
        self.setWindowTitle("Print the board")
        self.board = board
        self.saved_path: str | None = None
        lay = QtWidgets.QHBoxLayout(self)
        lay.setSpacing(16)

        left = QtWidgets.QVBoxLayout()
        form = QtWidgets.QFormLayout()
        self.paper_combo = QtWidgets.QComboBox()
        for name, (w, h) in PAPER_MM.items():
            self.paper_combo.addItem(f"{name}  ({w:g} × {h:g} mm)", name)
        self.dpi_spin = QtWidgets.QSpinBox()
        self.dpi_spin.setRange(150, 1200)
        self.dpi_spin.setSingleStep(50)
        self.dpi_spin.setValue(300)
        self.dpi_spin.setSuffix(" dpi")
        self.format_combo = QtWidgets.QComboBox()
        self.format_combo.addItem("PDF (recommended)", ".pdf")
        self.format_combo.addItem("PNG image", ".png")
        self.path_edit = QtWidgets.QLineEdit(str(Path.home() / self._default_name(".pdf")))
        browse = QtWidgets.QPushButton("Browse…")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("Paper:", self.paper_combo)
        form.addRow("Resolution:", self.dpi_spin)
        form.addRow("Format:", self.format_combo)
        form.addRow("File:", row)
        left.addLayout(form)
        self.info = QtWidgets.QLabel(
            f"{board.describe()}.\nPrint at 100 % (“actual size”), never “fit to page”, then check the 50 mm bar "
            "with a ruler. If it is off, measure a square and enter its real size on the board page."
        )
        self.info.setWordWrap(True)
        self.info.setMinimumWidth(360)
        left.addWidget(self.info)
        self.message = make_label("", "printMessage", wrap=True)
        left.addWidget(self.message)
        left.addStretch(1)
        buttons = QtWidgets.QDialogButtonBox()
        self.save_button = buttons.addButton("Save sheet", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Close)
        left.addWidget(buttons)
        lay.addLayout(left, 1)

        self.preview = QtWidgets.QLabel()
        self.preview.setFixedSize(300, 424)
        self.preview.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.preview.setObjectName("sheetPreview")
        lay.addWidget(self.preview)

        browse.clicked.connect(self._browse)
        self.paper_combo.currentIndexChanged.connect(self._update_preview)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.save_button.clicked.connect(lambda: self.save())
        buttons.rejected.connect(self.reject)
        for k in range(self.paper_combo.count()):  # the smallest paper the board fits on
            try:
                render_print_sheet(board, self.paper_combo.itemData(k), PREVIEW_DPI)
            except CrossViewError:
                continue
            self.paper_combo.setCurrentIndex(k)
            break
        self._update_preview()

    def _default_name(self, suffix: str) -> str:
        kind = "charuco" if self.board.kind == "charuco" else "chessboard"
        return f"{kind}_{self.board.cols}x{self.board.rows}_{self.board.square * 1000:g}mm{suffix}"

    def _format_changed(self) -> None:
        p = Path(self.path_edit.text() or self._default_name(".pdf"))
        self.path_edit.setText(str(p.with_suffix(self.format_combo.currentData())))

    def _browse(self) -> None:
        suffix = self.format_combo.currentData()
        filt = "PDF (*.pdf)" if suffix == ".pdf" else "PNG (*.png)"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save print sheet", self.path_edit.text(), filt)
        if path:
            self.path_edit.setText(path if path.lower().endswith(suffix) else path + suffix)

    def _update_preview(self) -> None:
        try:
            sheet = render_print_sheet(self.board, self.paper_combo.currentData(), PREVIEW_DPI)
        except CrossViewError as exc:
            self.preview.clear()
            self.preview.setText("Does not fit")
            self.message.setText(str(exc))
            set_style_property(self.message, "level", "error")
            self.save_button.setEnabled(False)
            return
        self.save_button.setEnabled(True)
        self.message.setText("")
        img = cv2.cvtColor(sheet.image, cv2.COLOR_GRAY2RGB)
        h, w = img.shape[:2]
        qimg = QtGui.QImage(img.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
        self.preview.setPixmap(
            QtGui.QPixmap.fromImage(qimg).scaled(
                self.preview.size() - QtCore.QSize(12, 12),
                QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
        )

    def save(self, path: str | None = None) -> str | None:
        """Write the sheet (PDF or PNG by suffix); returns the path or None on failure (message shown)."""
        path = path or self.path_edit.text().strip()
        if not path:
            self.message.setText("Choose a file to save the sheet to.")
            return None
        try:
            sheet = save_print_sheet(self.board, path, self.paper_combo.currentData(), float(self.dpi_spin.value()))
        except CrossViewError as exc:
            self.message.setText(str(exc))
            set_style_property(self.message, "level", "error")
            return None
        self.saved_path = str(path)
        set_style_property(self.message, "level", "success")
        self.message.setText(f"Saved {path} ({sheet.paper}, {sheet.dpi:g} dpi).")
        return self.saved_path
