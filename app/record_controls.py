"""The Record button of the Live tab and its controller: records everything while the live pipeline runs. Qt only.

:class:`RecordController` attaches a :class:`core.recorder.SessionRecorder` to the running
:class:`core.pipeline.LivePipeline` of a :class:`app.live_controller.LiveController` (every frame of both
cameras, every synchronised pair, every live result) into a new folder under the sessions root
(:func:`app.session_workers.sessions_root`). Starting and stopping (writing what is queued, finalising the
session) run in worker threads. While recording it polls :meth:`SessionRecorder.stats` at ~2 Hz (elapsed time,
size on disk). It stops the recording cleanly when the capture stops or a camera is unplugged, and reports a
writer error (a full disk above all) clearly; what was written stays readable.

:class:`RecordControls` is the widget placed in ``LiveTab.extra_controls``: the button, the elapsed time and
the size. Units: seconds, bytes.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.live_controller import Job, LiveController
from app.session_workers import sessions_root
from app.style import BORDER, MUTED, PANEL, TEXT
from app.widgets.messages import MessageBoxSlot, status_message
from core.capture import SourceState
from core.errors import CrossViewError, SessionError
from core.recorder import RecorderStats, SessionRecorder
from core.session import new_session_path

log = logging.getLogger(__name__)

#: How often the recorder's statistics are polled, Hz.
STATS_HZ = 2.0
#: How long a synchronous stop waits for the writer to finish, seconds.
STOP_TIMEOUT_S = 30.0
#: Camera states that end a recording (the camera was unplugged or stopped).
_LOST = (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.ENDED, SourceState.STOPPED)

_STYLE = f"""
QPushButton#recordButton {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 6px; padding: 5px 14px;
    font-weight: 600;
}}
QPushButton#recordButton:hover {{ border-color: #e0564b; }}
QPushButton#recordButton:disabled {{ color: #5d6470; }}
QPushButton#recordButton[recording="true"] {{ background: #c8463c; border-color: #c8463c; color: white; }}
QLabel#recordTime {{ color: #ff8a80; font-family: monospace; font-weight: 700; }}
QLabel#recordSize {{ color: {MUTED}; font-family: monospace; }}
QLabel#recordError {{ color: #ff9b91; font-weight: 600; }}
"""


def _icon(kind: str, colour: str, size: int = 12) -> QtGui.QIcon:
    """A disc (record) or a square (stop), drawn crisp at 2x."""
    pm = QtGui.QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(colour))
    r = QtCore.QRectF(1.5, 1.5, size - 3, size - 3)
    if kind == "record":
        p.drawEllipse(r)
    else:
        p.drawRoundedRect(r, 1.5, 1.5)
    p.end()
    return QtGui.QIcon(pm)


def format_elapsed(seconds: float) -> str:
    m, s = divmod(int(max(seconds, 0.0)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_bytes(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} kB"


class RecordController(QtCore.QObject):
    """Records the running live session. States: idle -> starting -> recording -> stopping -> idle.

    ``recorder_kwargs`` go to :class:`SessionRecorder` (tests inject a failing ``opener``).
    """

    stateChanged = QtCore.Signal(str)
    #: the session folder, once the recorder writes it
    recordingStarted = QtCore.Signal(str)
    #: the session folder, once it is finalised (complete, or as far as a failing disk allowed)
    recordingFinished = QtCore.Signal(str)
    #: a :class:`RecorderStats` at ~2 Hz while recording
    statsUpdated = QtCore.Signal(object)
    #: a writer error (disk full, drive gone) or a start failure, as a sentence for the user
    recordingFailed = QtCore.Signal(str)
    #: why the recording stopped by itself (capture stopped, camera unplugged)
    notice = QtCore.Signal(str)
    _writerError = QtCore.Signal(object)

    def __init__(
        self,
        live: LiveController,
        settings: QtCore.QSettings,
        parent: QtCore.QObject | None = None,
        recorder_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self._settings = settings
        self.recorder_kwargs = dict(recorder_kwargs or {})
        self._state = "idle"
        self._recorder: SessionRecorder | None = None
        self._folder: Path | None = None
        self._job: Job | None = None
        self._cancel_start = threading.Event()
        self.last_stats: RecorderStats | None = None
        self.last_error: str | None = None
        self.last_notice: str | None = None
        self.last_folder: Path | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / STATS_HZ))
        self._timer.timeout.connect(self._poll)
        self._writerError.connect(self._on_writer_error, QtCore.Qt.ConnectionType.QueuedConnection)
        live.stateChanged.connect(self._on_live_state)

    # --- state ---------------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def recorder(self) -> SessionRecorder | None:
        return self._recorder

    @property
    def folder(self) -> Path | None:
        """The folder being recorded (None when idle)."""
        return self._folder

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def can_record(self) -> bool:
        return self._state == "idle" and self.live.state == "running" and self.live.session is not None

    # --- start ---------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start recording the running capture into a new folder under the sessions root (worker thread)."""
        if not self.can_record():
            return False
        session = self.live.session
        assert session is not None
        problem = self._camera_lost()
        if problem:
            self._fail(f"Recording needs both cameras: {problem}.")
            return False
        pipeline = session.pipeline
        calibration = session.calibration
        root = sessions_root(self._settings)
        kwargs = {"on_error": self._writerError.emit, **self.recorder_kwargs}
        refine = getattr(pipeline.processor, "refine_hook", None)
        if refine is not None and "model_id" not in kwargs:
            kwargs["model_id"] = str(getattr(refine, "model_id", "") or getattr(refine, "id", "") or "")
        self._cancel_start = threading.Event()

        def attach() -> SessionRecorder:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SessionError(
                    f"the sessions folder '{root}' cannot be created ({exc.strerror or exc}). Choose another folder "
                    "in the Sessions tab (Choose…)."
                ) from None
            return SessionRecorder.attach(pipeline, new_session_path(root), calibration, **kwargs)

        job = Job(attach, "record-start", self)
        job.done.connect(lambda _r, _e, j=job: self._start_done(j), QtCore.Qt.ConnectionType.QueuedConnection)
        self._job = job
        self.last_error = None
        self.last_notice = None
        self._set_state("starting")
        job.start()
        return True

    def _start_done(self, job: Job) -> None:
        if job.handled:
            return
        job.handled = True
        job.wait()
        job.deleteLater()
        if self._job is job:
            self._job = None
        rec = job.result if isinstance(job.result, SessionRecorder) else None
        if job.error is not None or rec is None:
            self._set_state("idle")
            err = job.error
            self._fail(
                f"Recording could not start: {err}"
                if isinstance(err, CrossViewError)
                else f"Recording could not start: {type(err).__name__}: {err}"
            )
            return
        self._recorder = rec
        self._folder = rec.folder
        self.last_folder = rec.folder
        if self._cancel_start.is_set() or self.live.state != "running":  # stopped while starting
            self._set_state("recording")
            self._begin_stop()
            return
        self._timer.start()
        self._set_state("recording")
        self.recordingStarted.emit(str(rec.folder))
        self._poll()

    # --- stop ----------------------------------------------------------------------------------------------
    def stop(self, wait: bool = True) -> bool:
        """Stop recording. ``wait=True`` (window closing, capture stopping synchronously): returns when the
        session is finalised; ``wait=False``: finalising runs in a worker and ``recordingFinished`` follows."""
        if self._state == "starting":
            self._cancel_start.set()
            job = self._job
            if not wait or job is None:
                return True
            job.wait()
            self._start_done(job)
        if self._state == "recording":
            if not wait:
                self._begin_stop()
                return True
            rec = self._detach()
            self._finish_stop(*self._stop_recorder(rec))
            return True
        if self._state == "stopping" and wait and self._job is not None:
            job = self._job
            job.wait()
            self._stop_done(job)
        return True

    def _detach(self) -> SessionRecorder:
        rec = self._recorder
        assert rec is not None
        self._timer.stop()
        self._set_state("stopping")
        return rec

    @staticmethod
    def _stop_recorder(rec: SessionRecorder) -> tuple[SessionRecorder, BaseException | None]:
        try:
            rec.stop(timeout=STOP_TIMEOUT_S)
        except BaseException as exc:
            return rec, exc
        return rec, None

    def _begin_stop(self) -> None:
        rec = self._detach()
        job = Job(lambda: self._stop_recorder(rec), "record-stop", self)
        job.done.connect(lambda _r, _e, j=job: self._stop_done(j), QtCore.Qt.ConnectionType.QueuedConnection)
        self._job = job
        job.start()

    def _stop_done(self, job: Job) -> None:
        if job.handled:
            return
        job.handled = True
        job.wait()
        job.deleteLater()
        if self._job is job:
            self._job = None
        rec, err = job.result if isinstance(job.result, tuple) else (self._recorder, job.error)
        self._finish_stop(rec, err)

    def _finish_stop(self, rec: SessionRecorder | None, err: BaseException | None) -> None:
        if rec is not None:
            self.last_stats = rec.stats()
            self.statsUpdated.emit(self.last_stats)
        folder = self._folder
        self._recorder = None
        self._folder = None
        self._set_state("idle")
        if err is not None:
            self._fail(str(err) if isinstance(err, CrossViewError) else f"Stopping the recording failed: {err}")
        if folder is not None:
            self.recordingFinished.emit(str(folder))

    # --- reactions -----------------------------------------------------------------------------------------
    def _on_live_state(self, state: str) -> None:
        if state in ("stopping", "idle") and self._state in ("starting", "recording"):
            self._say("Recording stopped with the capture; the session is saved.")
            if self._state == "starting":
                self._cancel_start.set()
            else:
                self._begin_stop()

    def _camera_lost(self) -> str | None:
        session = self.live.session
        if session is None:
            return None
        for src in session.sources:
            st = src.status()
            if st.state in _LOST:
                return f"camera '{src.name}' is {st.state.value}" + (f" ({st.reason})" if st.reason else "")
        return None

    def _poll(self) -> None:
        rec = self._recorder
        if rec is None or self._state != "recording":
            return
        stats = rec.stats()
        self.last_stats = stats
        self.statsUpdated.emit(stats)
        if stats.error is not None or rec.state == "failed":
            self._on_writer_error(rec.error or SessionError(stats.error or "the recording failed"))
            return
        lost = self._camera_lost()
        if lost:
            self._say(
                f"Recording stopped: {lost}. The {stats.elapsed_s:.0f} s recorded until then are saved in "
                f"'{rec.folder.name}'."
            )
            self._begin_stop()

    def _on_writer_error(self, exc: BaseException) -> None:
        if self._state != "recording" or self._recorder is None:
            return
        self._fail(str(exc))
        self._begin_stop()

    def _fail(self, text: str) -> None:
        self.last_error = text
        log.warning("recording: %s", text)
        self.recordingFailed.emit(text)

    def _say(self, text: str) -> None:
        self.last_notice = text
        log.info("recording: %s", text)
        self.notice.emit(text)


class RecordControls(QtWidgets.QWidget):
    """Record button, elapsed time and size on disk, for ``LiveTab.extra_controls``."""

    def __init__(
        self,
        live: LiveController,
        settings: QtCore.QSettings,
        parent: QtWidgets.QWidget | None = None,
        recorder_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordControls")
        self.setStyleSheet(_STYLE)
        self.controller = RecordController(live, settings, self, recorder_kwargs=recorder_kwargs)
        self._boxes = MessageBoxSlot(self)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.button = QtWidgets.QPushButton("Record")
        self.button.setObjectName("recordButton")
        self.button.setMinimumWidth(104)
        self.button.clicked.connect(self._on_clicked)
        lay.addWidget(self.button)
        self.time_label = QtWidgets.QLabel()
        self.time_label.setObjectName("recordTime")
        lay.addWidget(self.time_label)
        self.size_label = QtWidgets.QLabel()
        self.size_label.setObjectName("recordSize")
        lay.addWidget(self.size_label)
        self.error_label = QtWidgets.QLabel("⚠ recording failed")
        self.error_label.setObjectName("recordError")
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        c = self.controller
        c.stateChanged.connect(self._update)
        c.statsUpdated.connect(self._on_stats)
        c.recordingFailed.connect(self._on_failed)
        c.notice.connect(self._on_notice)
        c.recordingStarted.connect(lambda path: self._message(f"Recording to {path}"))
        c.recordingFinished.connect(lambda path: self._message(f"Recording saved: {path}", 10000))
        live.stateChanged.connect(lambda _s: self._update())
        self._update()

    # --- public --------------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.controller.state

    def stop(self) -> None:
        """Stop recording and wait until the session is finalised (the capture or the window is closing)."""
        self.controller.stop(wait=True)

    def error_box(self) -> QtWidgets.QMessageBox | None:
        return self._boxes.current

    # --- reactions -----------------------------------------------------------------------------------------
    def _on_clicked(self) -> None:
        c = self.controller
        if c.state == "idle":
            self.error_label.setVisible(False)
            c.start()
        elif c.state in ("starting", "recording"):
            c.stop(wait=False)

    def _update(self, *_args: object) -> None:
        c = self.controller
        st = c.state
        recording = st in ("starting", "recording")
        self.button.setText(
            {"idle": "Record", "starting": "Starting…", "recording": "Stop recording", "stopping": "Saving…"}[st]
        )
        enabled = c.can_record() or st in ("starting", "recording")
        if st in ("recording", "stopping"):
            self.button.setIcon(_icon("stop", "#ffffff"))
        else:
            self.button.setIcon(_icon("record", "#ff5a4e" if enabled else "#6b4a4a"))
        self.button.setProperty("recording", "true" if recording else "false")
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        self.button.setEnabled(enabled)
        root = sessions_root(c._settings)
        if st == "idle":
            self.button.setToolTip(
                f"Record both cameras, their pairs and the live 3D into a new session in {root}"
                if c.live.state == "running"
                else "Start the capture first, then record it."
            )
        elif st == "recording" and c.folder is not None:
            self.button.setToolTip(f"Recording to {c.folder}. Click to stop.")
        self.time_label.setVisible(st != "idle")
        self.size_label.setVisible(st != "idle")
        if st == "starting":
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
        self._show_box(QtWidgets.QMessageBox.Icon.Critical, "Recording failed", text)

    def _on_notice(self, text: str) -> None:
        self._message(text, 10000)
        if "unplugged" in text or "camera" in text:
            self._show_box(QtWidgets.QMessageBox.Icon.Information, "Recording stopped", text)

    def _show_box(self, icon: QtWidgets.QMessageBox.Icon, title: str, text: str) -> None:
        self._boxes.show(icon, title, text)

    def _message(self, text: str, timeout_ms: int = 5000) -> None:
        status_message(self, text, timeout_ms)
