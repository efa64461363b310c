"""The Record button of the Live tab, with the elapsed time and the size on disk: :class:`RecordControls`.
Widgets only; :class:`app.live.record.RecordPresenter` does the recording."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.live.presenter import LivePresenter, LiveState
from app.live.record import RecordPresenter, RecordState, format_bytes, format_elapsed
from app.state import AppState
from app.theme import set_style_property
from app.widgets.build import make_label
from app.widgets.icons import painted_icon
from app.widgets.messages import MessageBoxSlot
from core.session.recorder import RecorderStats

_BUTTON_TEXT = {
    RecordState.IDLE: "Record",
    RecordState.STARTING: "Starting…",
    RecordState.RECORDING: "Stop recording",
    RecordState.STOPPING: "Saving…",
}


def record_icon(kind: str, colour: str, size: int = 12) -> QtGui.QIcon:
    """A disc (``"record"``) or a square (``"stop"``) in palette colour ``colour``."""

    def draw(p: QtGui.QPainter, s: float) -> None:
        r = QtCore.QRectF(1.5, 1.5, s - 3, s - 3)
        if kind == "record":
            p.drawEllipse(r)
        else:
            p.drawRoundedRect(r, 1.5, 1.5)

    return painted_icon(size, colour, draw)


class RecordControls(QtWidgets.QWidget):
    """Record button, elapsed time and size on disk, for the Live tab's toolbar."""

    def __init__(
        self,
        live: LivePresenter,
        state: AppState,
        parent: QtWidgets.QWidget | None = None,
        recorder_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordControls")
        self.app_state = state
        self.presenter = RecordPresenter(live, state, self, recorder_kwargs=recorder_kwargs)
        self._boxes = MessageBoxSlot(self)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.button = QtWidgets.QPushButton("Record")
        self.button.setObjectName("recordButton")
        self.button.setMinimumWidth(104)
        self.button.clicked.connect(self._on_clicked)
        lay.addWidget(self.button)
        self.time_label = make_label("", "recordTime")
        lay.addWidget(self.time_label)
        self.size_label = make_label("", "recordSize")
        lay.addWidget(self.size_label)
        self.error_label = make_label("⚠ recording failed", "recordError")
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        p = self.presenter
        p.stateChanged.connect(self._update)
        p.statsUpdated.connect(self._on_stats)
        p.recordingFailed.connect(self._on_failed)
        p.notice.connect(self._on_notice)
        p.recordingStarted.connect(lambda path: state.say(f"Recording to {path}"))
        p.recordingFinished.connect(lambda path: state.say(f"Recording saved: {path}", 10000))
        live.stateChanged.connect(lambda _s: self._update())
        self._update()

    # --- public -------------------------------------------------------------------------------------------------
    @property
    def state(self) -> RecordState:
        return self.presenter.state

    def stop(self) -> None:
        """Stop recording and wait until the session is finalised (the capture or the window is closing)."""
        self.presenter.stop(wait=True)

    def error_box(self) -> QtWidgets.QMessageBox | None:
        return self._boxes.current

    # --- reactions ----------------------------------------------------------------------------------------------
    def _on_clicked(self) -> None:
        p = self.presenter
        if p.state is RecordState.IDLE:
            self.error_label.setVisible(False)
            p.start()
        elif p.state in (RecordState.STARTING, RecordState.RECORDING):
            p.stop(wait=False)

    def _update(self, *_args: object) -> None:
        p = self.presenter
        st = p.state
        self.button.setText(_BUTTON_TEXT[st])
        enabled = p.can_record() or st in (RecordState.STARTING, RecordState.RECORDING)
        if st in (RecordState.RECORDING, RecordState.STOPPING):
            self.button.setIcon(record_icon("stop", "white"))
        else:
            self.button.setIcon(record_icon("record", "record_icon" if enabled else "record_icon_off"))
        recording = st in (RecordState.STARTING, RecordState.RECORDING)
        set_style_property(self.button, "recording", "true" if recording else "false")
        self.button.setEnabled(enabled)
        if st is RecordState.IDLE:
            self.button.setToolTip(
                f"Record both cameras, their pairs and the live 3D into a new session in {p.sessions_root()}"
                if p.live.state is LiveState.RUNNING
                else "Start the capture first, then record it."
            )
        elif st is RecordState.RECORDING and p.folder is not None:
            self.button.setToolTip(f"Recording to {p.folder}. Click to stop.")
        self.time_label.setVisible(st is not RecordState.IDLE)
        self.size_label.setVisible(st is not RecordState.IDLE)
        if st is RecordState.STARTING:
            self.time_label.setText(format_elapsed(0))
            self.size_label.setText("")

    def _on_stats(self, s: RecorderStats) -> None:
        self.time_label.setText(f"● {format_elapsed(s.elapsed_s)}")
        self.size_label.setText(format_bytes(s.bytes_on_disk))
        drops = sum(s.frames_dropped)
        tip = (
            f"{s.frames_written[0]} frames of {s.cameras[0]}, {s.frames_written[1]} of {s.cameras[1]}; "
            f"{s.pairs_written} pairs; {s.results_written} live results"
            + (f"; {drops} frames dropped (disk too slow)" if drops else "")
        )
        self.time_label.setToolTip(tip)
        self.size_label.setToolTip(tip)

    def _on_failed(self, text: str) -> None:
        self.error_label.setVisible(True)
        self.error_label.setToolTip(text)
        self._boxes.show(QtWidgets.QMessageBox.Icon.Critical, "Recording failed", text)

    def _on_notice(self, text: str) -> None:
        self.app_state.say(text, 10000)
        if "unplugged" in text or "camera" in text:
            self._boxes.show(QtWidgets.QMessageBox.Icon.Information, "Recording stopped", text)
