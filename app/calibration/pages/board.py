"""Page 2 of the calibration wizard: the board (chessboard or ChArUco, or a board TOML, Caliscope's charuco.toml
included), its preview, and a print sheet at true size. Qt only."""

from __future__ import annotations

from pathlib import Path

import cv2
from PySide6 import QtCore, QtGui, QtWidgets

from app.calibration.board_dialog import PrintBoardDialog
from app.calibration.pages.base import WizardPage
from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import bgr_to_qimage, panel
from app.theme import PALETTE
from app.widgets.build import make_label
from calibration.boards import ARUCO_DICTIONARIES, Board
from calibration.io import load_board, save_board
from calibration.printing import render_board
from core.errors import CrossViewError

#: The dot that marks a chessboard's corner 0 in the preview (BGR, the palette's "bad").
CORNER0_BGR = PALETTE.rgb("bad")[::-1]


class BoardPage(WizardPage):
    """Page 2: the calibration board (chessboard or ChArUco), its preview and a print sheet."""

    def __init__(self, presenter: CalibrationPresenter) -> None:
        super().__init__(
            presenter,
            "2 · Describe the board",
            "Enter the printed board exactly (count the INNER corners of a chessboard), or load a board file.",
        )
        self._board: Board | None = None
        outer = QtWidgets.QVBoxLayout(self)
        outer.addWidget(self.banner)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(16)
        outer.addLayout(body, 1)
        body.addWidget(self._build_form(), 2)
        body.addWidget(self._build_preview(), 3)
        for w in (self.cols_spin, self.rows_spin):
            w.valueChanged.connect(self._changed)
        for w in (self.square_spin, self.marker_spin):
            w.valueChanged.connect(self._changed)
        self.dict_combo.currentIndexChanged.connect(self._changed)
        for w in (self.legacy_box, self.inverted_box, self.radio_chess, self.radio_charuco):
            w.toggled.connect(self._changed)
        self.load_button.clicked.connect(lambda: self.load_board_file())
        self.save_button.clicked.connect(lambda: self.save_board_file())
        self.print_button.clicked.connect(self.open_print_dialog)
        self._pixmap: QtGui.QPixmap | None = None
        self._changed()

    def _build_form(self) -> QtWidgets.QFrame:
        """The board's type, size, square and marker sizes, dictionary and print options, and the file buttons."""
        form_panel, form_lay = panel("Board")
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(9)
        kinds = QtWidgets.QHBoxLayout()
        self.radio_chess = QtWidgets.QRadioButton("Chessboard")
        self.radio_charuco = QtWidgets.QRadioButton("ChArUco")
        self.radio_chess.setChecked(True)
        kinds.addWidget(self.radio_chess)
        kinds.addSpacing(18)
        kinds.addWidget(self.radio_charuco)
        kinds.addStretch(1)
        form.addRow("Type:", kinds)
        self.cols_spin, self.rows_spin = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for sp, v in ((self.cols_spin, 9), (self.rows_spin, 6)):
            sp.setRange(2, 40)
            sp.setValue(v)
        size_row = QtWidgets.QHBoxLayout()
        size_row.addWidget(self.cols_spin)
        size_row.addWidget(QtWidgets.QLabel("×"))
        size_row.addWidget(self.rows_spin)
        size_row.addStretch(1)
        self.size_label = QtWidgets.QLabel("Inner corners:")
        form.addRow(self.size_label, size_row)
        self.square_spin = QtWidgets.QDoubleSpinBox()
        self.square_spin.setRange(1.0, 1000.0)
        self.square_spin.setDecimals(2)
        self.square_spin.setValue(25.0)
        self.square_spin.setSuffix(" mm")
        self.square_spin.setToolTip(
            "Measure a printed square with a ruler. Unknown? Enter 1000 mm: lengths then come out in squares."
        )
        form.addRow("Square size:", self.square_spin)
        self.marker_spin = QtWidgets.QDoubleSpinBox()
        self.marker_spin.setRange(0.5, 999.0)
        self.marker_spin.setDecimals(2)
        self.marker_spin.setValue(18.75)
        self.marker_spin.setSuffix(" mm")
        self.marker_label = QtWidgets.QLabel("Marker size:")
        form.addRow(self.marker_label, self.marker_spin)
        self.dict_combo = QtWidgets.QComboBox()
        self.dict_combo.addItems(list(ARUCO_DICTIONARIES))
        self.dict_combo.setCurrentText("DICT_4X4_50")
        self.dict_label = QtWidgets.QLabel("Dictionary:")
        form.addRow(self.dict_label, self.dict_combo)
        self.legacy_box = QtWidgets.QCheckBox("Legacy layout (boards made with OpenCV before 4.6)")
        form.addRow("", self.legacy_box)
        self.inverted_box = QtWidgets.QCheckBox("Printed inverted (white on black)")
        form.addRow("", self.inverted_box)
        form_lay.addLayout(form)
        form_lay.addSpacing(6)
        buttons = QtWidgets.QHBoxLayout()
        self.load_button = QtWidgets.QPushButton("Load board file…")
        self.save_button = QtWidgets.QPushButton("Save board file…")
        self.print_button = QtWidgets.QPushButton("Print board…")
        for b in (self.load_button, self.save_button, self.print_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        form_lay.addLayout(buttons)
        self.describe_label = make_label("", "muted", wrap=True)
        form_lay.addWidget(self.describe_label)
        form_lay.addStretch(1)
        tips = QtWidgets.QLabel(
            "Tips: a rigid, flat board gives the best results. ChArUco boards can be seen partly (any corner "
            "counts); a chessboard must be seen whole. Caliscope's charuco.toml can be loaded as is."
        )
        tips.setObjectName("muted")
        tips.setWordWrap(True)
        form_lay.addWidget(tips)
        return form_panel

    def _build_preview(self) -> QtWidgets.QFrame:
        prev_panel, prev_lay = panel("Preview")
        self.preview = QtWidgets.QLabel()
        self.preview.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(320, 260)
        self.preview.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
        prev_lay.addWidget(self.preview, 1)
        self.preview_caption = make_label("", "muted")
        self.preview_caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        prev_lay.addWidget(self.preview_caption)
        return prev_panel

    # ---------------------------------------------------------------- board
    def board(self) -> Board | None:
        return self._board

    def set_board(self, board: Board) -> None:
        """Show ``board`` in the form."""
        widgets = (
            self.cols_spin,
            self.rows_spin,
            self.square_spin,
            self.marker_spin,
            self.dict_combo,
            self.legacy_box,
            self.inverted_box,
            self.radio_chess,
            self.radio_charuco,
        )
        for w in widgets:
            w.blockSignals(True)
        try:
            (self.radio_charuco if board.kind == "charuco" else self.radio_chess).setChecked(True)
            self.cols_spin.setValue(board.cols)
            self.rows_spin.setValue(board.rows)
            self.square_spin.setValue(board.square * 1000)
            if board.kind == "charuco":
                self.marker_spin.setValue(board.marker * 1000)
                self.dict_combo.setCurrentText(board.dictionary)
                self.legacy_box.setChecked(board.legacy)
            self.inverted_box.setChecked(board.inverted)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._changed(exact=board)

    def _form_board(self) -> Board:
        charuco = self.radio_charuco.isChecked()
        square = self.square_spin.value() / 1000.0
        if charuco:
            return Board.charuco(
                self.cols_spin.value(),
                self.rows_spin.value(),
                square,
                self.marker_spin.value() / 1000.0,
                self.dict_combo.currentText(),
                legacy=self.legacy_box.isChecked(),
                inverted=self.inverted_box.isChecked(),
            )
        return Board.chessboard(self.cols_spin.value(), self.rows_spin.value(), square, self.inverted_box.isChecked())

    def _changed(self, *_args, exact: Board | None = None) -> None:
        """Rebuild the board from the form (``exact``: the board just shown, kept as is, without the form's
        rounding to 0.01 mm)."""
        charuco = self.radio_charuco.isChecked()
        for w in (self.marker_spin, self.marker_label, self.dict_combo, self.dict_label, self.legacy_box):
            w.setVisible(charuco)
        self.size_label.setText("Squares:" if charuco else "Inner corners:")
        try:
            board = exact if exact is not None else self._form_board()
        except CrossViewError as exc:
            self._board = None
            self.banner.set_message(str(exc), "error")
            self.describe_label.setText("")
            self.preview.clear()
            self.preview_caption.setText("")
            self._pixmap = None
        else:
            self._board = board
            note = ""
            if board.orientation_ambiguous:
                note = (
                    f"A {board.cols}x{board.rows} chessboard looks the same turned by 180°, so the two cameras may "
                    "number its corners differently: prefer an odd cols + rows (e.g. 9x6) or a ChArUco board."
                )
            self.banner.set_message(note, "warning")
            self.describe_label.setText(f"{board.describe()}\nSpec: {board.spec()}")
            self._render_preview(board)
        self.completeChanged.emit()

    def _render_preview(self, board: Board) -> None:
        sw, sh = board.size_m
        px_per_m = max(8.5 / board.square, 520.0 / max(sw, sh))
        try:
            img = render_board(board, px_per_m)
        except CrossViewError as exc:
            self.preview_caption.setText(str(exc))
            return
        if board.inverted:
            q = int(round(0.5 * board.square * px_per_m))
            img = cv2.copyMakeBorder(img, q, q, q, q, cv2.BORDER_CONSTANT, value=0)
        pad = max(6, img.shape[1] // 40)
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
        h, w = img.shape
        if board.kind == "chessboard":  # mark corner 0 (next to the dark top-left square)
            colour = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            sq = board.square * px_per_m
            off = pad + (int(round(0.5 * board.square * px_per_m)) if board.inverted else 0)
            cv2.circle(colour, (int(off + sq), int(off + sq)), max(4, int(sq / 6)), CORNER0_BGR, -1, cv2.LINE_AA)
            img = colour
        self._pixmap = QtGui.QPixmap.fromImage(bgr_to_qimage(img))
        self._fit_preview()
        self.preview_caption.setText(
            f"Printed size {sw * 1000:.0f} × {sh * 1000:.0f} mm"
            + (" (plus a dark border)" if board.inverted else "")
            + ("  ·  red dot: corner 0" if board.kind == "chessboard" else "")
        )

    def _fit_preview(self) -> None:
        if self._pixmap is None:
            return
        size = self.preview.size()
        self.preview.setPixmap(
            self._pixmap.scaled(
                size, QtCore.Qt.AspectRatioMode.KeepAspectRatio, QtCore.Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_preview()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self._fit_preview)

    def isComplete(self) -> bool:
        return self._board is not None

    # ---------------------------------------------------------------- files
    def load_board_file(self, path: str | None = None) -> Board | None:
        """Load a board TOML (CrossView's or Caliscope's charuco.toml); a file dialog when ``path`` is None."""
        if path is None:
            start = str(self.settings.calibration_board_dir or Path.home())
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Load board", str(start), "Board TOML (*.toml);;All files (*)"
            )
            if not path:
                return None
        try:
            board = load_board(path)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return None
        self.settings.calibration_board_dir = Path(path).parent
        self.set_board(board)
        self.banner.set_message(f"Loaded {Path(path).name}: {board.describe()}.", "success")
        return board

    def save_board_file(self, path: str | None = None) -> str | None:
        board = self._board
        if board is None:
            return None
        if path is None:
            start = (self.settings.calibration_board_dir or Path.home()) / "board.toml"
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save board", str(start), "Board TOML (*.toml)")
            if not path:
                return None
        try:
            out = save_board(board, path)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return None
        self.banner.set_message(f"Board saved to {out}.", "success")
        return str(out)

    def open_print_dialog(self) -> None:
        if self._board is None:
            return
        dlg = PrintBoardDialog(self._board, self)
        dlg.exec()

    def validatePage(self) -> bool:
        if self._board is None:
            return False
        try:
            self.presenter.prepare_run(self._board)
        except CrossViewError as exc:
            self.banner.set_message(str(exc), "error")
            return False
        return True
