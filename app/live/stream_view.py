"""The Stream control of the Live tab: a Stream toggle with its settings (protocol, host, ports, fps, which 3D)
in a drop-down, and the frames sent. Widgets only; :class:`app.live.stream.StreamPresenter` does the streaming."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.live.presenter import LivePresenter
from app.live.stream import StreamPresenter, StreamState
from app.state import AppState
from app.theme import set_style_property
from app.widgets.build import make_label
from app.widgets.messages import MessageBoxSlot
from core.stream.frame import SOURCES
from core.stream.live import PROTOCOL_LABELS, StreamConfig
from core.stream.streamer import StreamStats

_SOURCE_LABELS = {"raw": "Raw (triangulated)", "refined": "Refined", "smoothed": "Smoothed (as shown)"}
_HELP = (
    "VMC: VSeeFace, Unity (EVMC4U), Blender (VMC4B) and other VMC receivers listen on port 39539. "
    "JSON: one line per frame, world metres, Z up (see the README)."
)


class StreamControls(QtWidgets.QWidget):
    """Stream toggle + settings drop-down + "n sent" label, for the Live tab's toolbar."""

    def __init__(self, live: LivePresenter, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("streamControls")
        self.presenter = StreamPresenter(live, state, self)
        self._boxes = MessageBoxSlot(self)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.button = QtWidgets.QToolButton()
        self.button.setObjectName("streamButton")
        self.button.setText("Stream")
        self.button.setCheckable(True)
        self.button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.button.setMenu(self._build_menu())
        self.button.toggled.connect(self._on_toggled)
        lay.addWidget(self.button)
        self.status_label = make_label("", "streamStatus")
        lay.addWidget(self.status_label)
        p = self.presenter
        p.stateChanged.connect(self._update)
        p.statsUpdated.connect(self._on_stats)
        p.streamFailed.connect(self._on_failed)
        self._load(p.config())
        self._update()

    # --- construction -------------------------------------------------------------------------------------------
    def _build_menu(self) -> QtWidgets.QMenu:
        menu = QtWidgets.QMenu(self)
        box = QtWidgets.QWidget()
        box.setObjectName("streamSettings")
        form = QtWidgets.QFormLayout(box)
        form.setContentsMargins(12, 10, 12, 10)
        self.protocol_combo = QtWidgets.QComboBox()
        for key, label in PROTOCOL_LABELS.items():
            self.protocol_combo.addItem(label, key)
        self.host_edit = QtWidgets.QLineEdit()
        self.host_edit.setPlaceholderText("127.0.0.1")
        self.vmc_port_spin = QtWidgets.QSpinBox()
        self.json_port_spin = QtWidgets.QSpinBox()
        for spin in (self.vmc_port_spin, self.json_port_spin):
            spin.setRange(1, 65535)
        self.fps_spin = QtWidgets.QSpinBox()
        self.fps_spin.setRange(1, 120)
        self.fps_spin.setSuffix(" fps")
        self.source_combo = QtWidgets.QComboBox()
        for key in SOURCES:
            self.source_combo.addItem(_SOURCE_LABELS[key], key)
        form.addRow("Protocol", self.protocol_combo)
        form.addRow("Host", self.host_edit)
        form.addRow("VMC port", self.vmc_port_spin)
        form.addRow("JSON port", self.json_port_spin)
        form.addRow("At most", self.fps_spin)
        form.addRow("3D", self.source_combo)
        hint = make_label(_HELP, "caption")
        hint.setWordWrap(True)
        hint.setMaximumWidth(300)
        form.addRow(hint)
        for combo in (self.protocol_combo, self.source_combo):
            combo.currentIndexChanged.connect(self._save)
        for spin in (self.vmc_port_spin, self.json_port_spin, self.fps_spin):
            spin.editingFinished.connect(self._save)
        self.host_edit.editingFinished.connect(self._save)
        action = QtWidgets.QWidgetAction(menu)
        action.setDefaultWidget(box)
        menu.addAction(action)
        return menu

    def _load(self, c: StreamConfig) -> None:
        self._loading = True
        self.protocol_combo.setCurrentIndex(max(self.protocol_combo.findData(c.protocol), 0))
        self.host_edit.setText(c.host)
        self.vmc_port_spin.setValue(int(c.vmc_port))
        self.json_port_spin.setValue(int(c.json_port))
        self.fps_spin.setValue(int(round(c.fps)))
        self.source_combo.setCurrentIndex(max(self.source_combo.findData(c.source), 0))
        self._loading = False

    def form_config(self) -> StreamConfig:
        """What the form says."""
        return StreamConfig(
            protocol=str(self.protocol_combo.currentData()),
            host=self.host_edit.text().strip() or "127.0.0.1",
            vmc_port=self.vmc_port_spin.value(),
            json_port=self.json_port_spin.value(),
            fps=float(self.fps_spin.value()),
            source=str(self.source_combo.currentData()),
        )

    # --- public -------------------------------------------------------------------------------------------------
    @property
    def state(self) -> StreamState:
        return self.presenter.state

    def stop(self) -> None:
        """Stop sending (the capture or the window is closing)."""
        self.presenter.stop()

    def error_box(self) -> QtWidgets.QMessageBox | None:
        return self._boxes.current

    # --- reactions ----------------------------------------------------------------------------------------------
    def _save(self, *_args: object) -> None:
        if not self._loading:
            self.presenter.set_config(self.form_config())
            self._update()

    def _on_toggled(self, on: bool) -> None:
        if on != self.presenter.enabled:
            if on:
                self.presenter.set_config(self.form_config())
            self.presenter.set_enabled(on)

    def _update(self, *_args: object) -> None:
        st = self.presenter.state
        self.button.blockSignals(True)
        self.button.setChecked(st is not StreamState.OFF)
        self.button.blockSignals(False)
        set_style_property(self.button, "streaming", "true" if st is StreamState.SENDING else "false")
        described = self.presenter.config().describe()
        self.button.setToolTip(
            {
                StreamState.OFF: f"Stream the live 3D to {described}. The arrow changes where.",
                StreamState.WAITING: f"Streaming is on: it starts with the capture ({described}).",
                StreamState.SENDING: f"Streaming to {described}. Click to stop.",
            }[st]
        )
        if st is StreamState.WAITING:
            self.status_label.setText("waits for the capture")
        elif st is StreamState.OFF:
            self.status_label.setText("")

    def _on_stats(self, s: StreamStats) -> None:
        if self.presenter.state is StreamState.SENDING:
            self.status_label.setText(f"⇢ {s.sent} sent" + (f", {s.dropped} dropped" if s.dropped else ""))
            self.status_label.setToolTip(s.summary())

    def _on_failed(self, text: str) -> None:
        self._update()
        self._boxes.show(QtWidgets.QMessageBox.Icon.Warning, "Streaming", text)
