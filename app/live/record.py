"""Recording the live capture: :class:`RecordPresenter` (Qt, no widgets) drives a
:class:`core.session.recorder.SessionRecorder` attached to the running pipeline of a :class:`LivePresenter`.

Every frame of both cameras, every synchronised pair and every live result go into a new folder under the
sessions root. Starting and stopping (writing what is queued, finalising the session) run as
:class:`app.tasks.Task` s. While recording it polls the recorder at ~2 Hz (elapsed time, size on disk). It stops
the recording cleanly when the capture stops or a camera is unplugged, and reports a writer error (a full disk
above all) clearly; what was written stays readable. A finished recording is announced on
``AppState.sessionRecorded``. Units: seconds, bytes.
"""

from __future__ import annotations

import enum
import logging
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from app.live.presenter import LivePresenter, LiveState
from app.state import AppState
from app.tasks import Task
from core.capture import SourceState
from core.errors import CrossViewError, SessionError
from core.session.layout import new_session_path
from core.session.recorder import RecorderStats, SessionRecorder

log = logging.getLogger(__name__)

#: How often the recorder's statistics are polled, Hz.
STATS_HZ = 2.0
#: How long a synchronous stop waits for the writer to finish, seconds.
STOP_TIMEOUT_S = 30.0
#: Camera states that end a recording (the camera was unplugged or stopped).
_LOST = (SourceState.DISCONNECTED, SourceState.RECONNECTING, SourceState.ENDED, SourceState.STOPPED)


class RecordState(enum.StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    RECORDING = "recording"
    STOPPING = "stopping"


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


def _stop_recorder(rec: SessionRecorder) -> tuple[SessionRecorder, BaseException | None]:
    try:
        rec.stop(timeout=STOP_TIMEOUT_S)
    except BaseException as exc:
        return rec, exc
    return rec, None


class RecordPresenter(QtCore.QObject):
    """Records the running live session; its :class:`RecordState` is computed from its tasks and recorder.

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
        live: LivePresenter,
        state: AppState,
        parent: QtCore.QObject | None = None,
        recorder_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self.app_state = state
        self.recorder_kwargs = dict(recorder_kwargs or {})
        self._state = RecordState.IDLE
        self._recorder: SessionRecorder | None = None
        self._folder: Path | None = None
        self._start_task: Task | None = None
        self._stop_task: Task | None = None
        self.last_stats: RecorderStats | None = None
        self.last_error: str | None = None
        self.last_notice: str | None = None
        self.last_folder: Path | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / STATS_HZ))
        self._timer.timeout.connect(self._poll)
        self._writerError.connect(self._on_writer_error, QtCore.Qt.ConnectionType.QueuedConnection)
        live.stateChanged.connect(self._on_live_state)

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def state(self) -> RecordState:
        return self._state

    def _update_state(self) -> None:
        if self._stop_task is not None:
            state = RecordState.STOPPING
        elif self._start_task is not None:
            state = RecordState.STARTING
        else:
            state = RecordState.RECORDING if self._recorder is not None else RecordState.IDLE
        if state != self._state:
            self._state = state
            self.stateChanged.emit(str(state))

    @property
    def recorder(self) -> SessionRecorder | None:
        return self._recorder

    @property
    def folder(self) -> Path | None:
        """The folder being recorded (None when idle)."""
        return self._folder

    def sessions_root(self) -> Path:
        return self.app_state.sessions_root

    def can_record(self) -> bool:
        live = self.live
        return self._state is RecordState.IDLE and live.state is LiveState.RUNNING and live.session is not None

    # --- start ------------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start recording the running capture into a new folder under the sessions root (in a task)."""
        if not self.can_record():
            return False
        session = self.live.session
        assert session is not None
        problem = self._camera_lost()
        if problem:
            self._fail(f"Recording needs both cameras: {problem}.")
            return False
        pipeline, calibration, root = session.pipeline, session.calibration, self.sessions_root()
        kwargs = {"on_error": self._writerError.emit, **self.recorder_kwargs}
        refine = getattr(pipeline.processor, "refine_hook", None)
        if refine is not None and "model_id" not in kwargs:
            kwargs["model_id"] = str(getattr(refine, "model_id", "") or getattr(refine, "id", "") or "")

        def attach(_progress, _cancel) -> SessionRecorder:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SessionError(
                    f"the sessions folder '{root}' cannot be created ({exc.strerror or exc}). Choose another folder "
                    "in the Sessions tab (Choose…)."
                ) from None
            return SessionRecorder.attach(pipeline, new_session_path(root), calibration, **kwargs)

        task = Task(attach, "record-start", "Starting the recording")
        task.ended.connect(self._start_ended)
        self._start_task = task
        self.last_error = None
        self.last_notice = None
        self._update_state()
        self.app_state.tasks.start(task)
        return True

    def _start_ended(self, task: Task | None = None) -> None:
        task = task if task is not None else self.sender()
        if task is None or task is not self._start_task:
            return
        self._start_task = None
        rec = task.result if isinstance(task.result, SessionRecorder) else None
        if rec is None:
            self._update_state()
            err = task.error
            self._fail(
                f"Recording could not start: {err}"
                if isinstance(err, CrossViewError)
                else f"Recording could not start: {type(err).__name__}: {err}"
            )
            return
        self._recorder, self._folder, self.last_folder = rec, rec.folder, rec.folder
        if task.is_cancel_requested() or self.live.state is not LiveState.RUNNING:  # stopped while starting
            self._begin_stop()
            return
        self._timer.start()
        self._update_state()
        self.recordingStarted.emit(str(rec.folder))
        self._poll()

    # --- stop -------------------------------------------------------------------------------------------------
    def stop(self, wait: bool = True) -> bool:
        """Stop recording. ``wait=True`` (window closing, capture stopping synchronously): returns when the
        session is finalised; ``wait=False``: finalising runs in a task and ``recordingFinished`` follows."""
        start = self._start_task
        if start is not None:
            start.cancel()
            if not wait:
                return True
            start.wait()
            self._start_ended(start)
        if self._state is RecordState.RECORDING:
            if not wait:
                self._begin_stop()
                return True
            rec = self._detach()
            self._finish_stop(*_stop_recorder(rec))
            return True
        stop = self._stop_task
        if stop is not None and wait:
            stop.wait()
            self._stop_ended(stop)
        return True

    def _detach(self) -> SessionRecorder:
        rec = self._recorder
        assert rec is not None
        self._timer.stop()
        return rec

    def _begin_stop(self) -> None:
        rec = self._detach()
        task = Task(lambda _p, _c: _stop_recorder(rec), "record-stop", "Saving the recording")
        task.ended.connect(self._stop_ended)
        self._stop_task = task
        self._update_state()
        self.app_state.tasks.start(task)

    def _stop_ended(self, task: Task | None = None) -> None:
        task = task if task is not None else self.sender()
        if task is None or task is not self._stop_task:
            return
        self._stop_task = None
        rec, err = task.result if isinstance(task.result, tuple) else (self._recorder, task.error)
        self._finish_stop(rec, err)

    def _finish_stop(self, rec: SessionRecorder | None, err: BaseException | None) -> None:
        if rec is not None:
            self.last_stats = rec.stats()
            self.statsUpdated.emit(self.last_stats)
        folder = self._folder
        self._recorder = None
        self._folder = None
        self._update_state()
        if err is not None:
            self._fail(str(err) if isinstance(err, CrossViewError) else f"Stopping the recording failed: {err}")
        if folder is not None:
            self.recordingFinished.emit(str(folder))
            self.app_state.sessionRecorded.emit(str(folder))

    # --- reactions ----------------------------------------------------------------------------------------------
    def _on_live_state(self, state: str) -> None:
        if state in (LiveState.STOPPING, LiveState.IDLE) and self._state in (
            RecordState.STARTING,
            RecordState.RECORDING,
        ):
            self._say("Recording stopped with the capture; the session is saved.")
            if self._start_task is not None:
                self._start_task.cancel()
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
        if rec is None or self._state is not RecordState.RECORDING:
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
        if self._state is not RecordState.RECORDING or self._recorder is None:
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
