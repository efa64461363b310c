"""Hands live results from the pipeline's thread to the GUI thread without a backlog: :class:`ResultBridge`."""

from __future__ import annotations

import threading
import time

from PySide6 import QtCore

from core.pipeline import PoseResult

#: Display rate of results and previews, Hz.
DISPLAY_HZ = 30.0


class ResultBridge(QtCore.QObject):
    """Hands pipeline results (any thread) to the GUI thread: newest only, at most one signal in flight,
    at most ``rate_hz`` deliveries per second. ``pushed``/``delivered`` count both ends."""

    resultReady = QtCore.Signal(object)
    _wake = QtCore.Signal()

    def __init__(self, rate_hz: float = DISPLAY_HZ, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._interval_s = 1.0 / rate_hz
        self._lock = threading.Lock()
        self._newest: PoseResult | None = None
        self._pending = False
        self._last_s = -1e9
        self.pushed = 0
        self.delivered = 0
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._deliver)
        self._wake.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    def push(self, result: PoseResult) -> None:
        """Called from the pipeline thread: keep ``result`` as the newest; wake the GUI if not already woken."""
        with self._lock:
            self._newest = result
            self.pushed += 1
            if self._pending:
                return
            self._pending = True
        self._wake.emit()

    def reset(self) -> None:
        """Drop anything not yet delivered."""
        with self._lock:
            self._newest = None
        self._timer.stop()

    def _deliver(self) -> None:
        remaining = self._last_s + self._interval_s - time.monotonic()
        if remaining > 0:
            self._timer.start(max(1, int(remaining * 1000)))
            return
        with self._lock:
            result, self._newest = self._newest, None
            self._pending = False
        if result is None:
            return
        self._last_s = time.monotonic()
        self.delivered += 1
        self.resultReady.emit(result)
