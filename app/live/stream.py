"""Streaming the live 3D to other apps: :class:`StreamPresenter` (Qt, no widgets) runs a
:class:`core.stream.live.LiveStream` on the running capture of a :class:`LivePresenter`.

Streaming is switched on and off by the user; while it is on, it runs whenever the capture runs (it starts with
the capture and stops with it). The settings (protocol, host, ports, fps, which 3D) are remembered. Statistics
are polled at 2 Hz and shown in a status-bar field. A host that cannot be resolved or a bad port is reported as a
sentence, and streaming switches off.
"""

from __future__ import annotations

import enum

from PySide6 import QtCore

from app.live.presenter import LivePresenter, LiveState
from app.state import AppState
from core.errors import CrossViewError
from core.live import LiveSession
from core.stream.live import LiveStream, StreamConfig
from core.stream.streamer import StreamStats

#: How often the stream's statistics are polled, Hz.
STATS_HZ = 2.0


class StreamState(enum.StrEnum):
    OFF = "off"
    WAITING = "waiting"  # on, the capture is not running
    SENDING = "sending"


class StreamPresenter(QtCore.QObject):
    """Switch streaming on/off and keep it attached to the live capture (see the module docstring)."""

    stateChanged = QtCore.Signal(str)
    #: a :class:`StreamStats` at 2 Hz while sending
    statsUpdated = QtCore.Signal(object)
    #: why streaming could not start, as a sentence for the user
    streamFailed = QtCore.Signal(str)

    def __init__(self, live: LivePresenter, state: AppState, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self.app_state = state
        self._enabled = False
        self._stream: LiveStream | None = None
        self.last_stats: StreamStats | None = None
        self.last_error: str | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / STATS_HZ))
        self._timer.timeout.connect(self._poll)
        live.started.connect(self._on_started)
        live.stateChanged.connect(self._on_live_state)

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def state(self) -> StreamState:
        if self._stream is not None:
            return StreamState.SENDING
        return StreamState.WAITING if self._enabled else StreamState.OFF

    @property
    def enabled(self) -> bool:
        return self._enabled

    def config(self) -> StreamConfig:
        """The remembered settings."""
        s = self.app_state.settings
        return StreamConfig(
            protocol=s.stream_protocol,
            host=s.stream_host,
            vmc_port=s.stream_vmc_port,
            json_port=s.stream_json_port,
            fps=float(s.stream_fps),
            source=s.stream_source,
        )

    def set_config(self, config: StreamConfig) -> None:
        """Remember ``config``; a running stream restarts with it when it changed."""
        if config == self.config():
            return
        s = self.app_state.settings
        s.stream_protocol, s.stream_host = config.protocol, config.host
        s.stream_vmc_port, s.stream_json_port = int(config.vmc_port), int(config.json_port)
        s.stream_fps, s.stream_source = int(round(config.fps)), config.source
        if self._stream is not None:
            self._close()
            self._open()

    # --- actions ----------------------------------------------------------------------------------------------
    def set_enabled(self, on: bool) -> bool:
        """Switch streaming on or off; False when it could not start (``streamFailed`` says why)."""
        self._enabled = bool(on)
        ok = True
        if not on:
            self._close()
        elif self.live.state is LiveState.RUNNING and self.live.session is not None:
            ok = self._open()
        self.stateChanged.emit(str(self.state))
        return ok

    def stop(self) -> None:
        """Stop sending (the capture or the window is closing); stays enabled for the next capture."""
        self._close()
        self.stateChanged.emit(str(self.state))

    # --- reactions --------------------------------------------------------------------------------------------
    def _on_started(self, _session: LiveSession) -> None:
        if self._enabled and self._stream is None:
            self._open()
            self.stateChanged.emit(str(self.state))

    def _on_live_state(self, state: str) -> None:
        if state in (LiveState.STOPPING, LiveState.IDLE) and self._stream is not None:
            self.stop()

    def _open(self) -> bool:
        session = self.live.session
        if session is None:
            return False
        config = self.config()
        try:
            self._stream = LiveStream(config, session.pipeline, session.world_up)
        except CrossViewError as exc:
            self._enabled = False
            self.last_error = str(exc)
            self.streamFailed.emit(f"Streaming could not start: {exc}")
            return False
        self.last_error = None
        self.app_state.say(f"Streaming to {config.describe()}")
        self._timer.start()
        return True

    def _close(self) -> None:
        self._timer.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            self.last_stats = stream.stop()
            self.statsUpdated.emit(self.last_stats)
        self.app_state.set_status("stream", "")

    def _poll(self) -> None:
        if self._stream is None:
            return
        self.last_stats = self._stream.stats()
        self.statsUpdated.emit(self.last_stats)
        self.app_state.set_status("stream", f"⇢ {self.last_stats.summary()}")
