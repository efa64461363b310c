"""The Live tab's presenter: runs a live capture without ever blocking the GUI thread. Qt, no widgets.

- :class:`LivePresenter` starts a :class:`core.live.StartSpec` (opening files or devices, loading the
  calibration, starting MediaPipe: seconds) and stops it in :class:`app.tasks.Task` s, and reports by signals
  (``started`` / ``startFailed`` / ``stopped``). ``stop(wait=True)`` is the synchronous version used when the
  window closes. Its :class:`LiveState` is computed from what runs: a start task, a session, a stop task.
- Results: the pipeline calls back from its own thread; a :class:`app.live.bridge.ResultBridge` keeps ONLY the
  newest result, delivered at most at the display rate.
- Statistics: ``statsReady`` at ~2 Hz with :class:`LiveStats`; the pipeline's own error (an ``InputError``
  from the resolution check, a detector failure...) stops it and is reported once by ``pipelineFailed``.
- Cameras are listed in a task (``devicesListed``); probing can be slow on some platforms.

Units: seconds and milliseconds (timings), pixels (images), metres (3D).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6 import QtCore

from app.live.bridge import DISPLAY_HZ, ResultBridge
from app.tasks import Task, TaskRegistry
from app.widgets.skeleton_view import UP_AXES
from core.calibration_io import CalibrationFile, infer_world_up
from core.camera import CameraGroup
from core.capture import DeviceInfo, Frame, SourceStatus, list_devices
from core.errors import CrossViewError
from core.live import LiveSession, SourceChoice, StartSpec, build_session, start_spec
from core.pipeline import LivePipeline, PipelineStats, RefineHook

log = logging.getLogger(__name__)

#: Rate of statistics updates, Hz.
STATS_HZ = 2.0
#: How long a synchronous stop waits for a start or stop task, milliseconds.
WORKER_WAIT_MS = 15000


class LiveState(enum.StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


@dataclass
class LiveStats:
    """One statistics snapshot for the status panel (``t_s`` is ``time.monotonic()``)."""

    t_s: float
    stats: PipelineStats
    camera_problem: str | None
    sources: tuple[SourceStatus, SourceStatus]
    target_boxes: list = field(default_factory=list)


def display_world_up(calib: CalibrationFile | None, group: CameraGroup) -> tuple[str, str]:
    """The world's up axis among those the 3D view can show, and how it was decided (a short phrase)."""
    return infer_world_up(calib, group, allowed=tuple(UP_AXES))


class LivePresenter(QtCore.QObject):
    """Start/stop a live session off the GUI thread and forward what it produces (see the module docstring)."""

    #: The new :class:`LiveState`.
    stateChanged = QtCore.Signal(str)
    #: A :class:`LiveSession` that is now running.
    started = QtCore.Signal(object)
    #: The exception that kept a session from starting.
    startFailed = QtCore.Signal(object)
    #: Everything started by the last session has stopped.
    stopped = QtCore.Signal()
    #: The newest :class:`PoseResult` (GUI thread, at most ``DISPLAY_HZ`` per second).
    resultReady = QtCore.Signal(object)
    #: A :class:`LiveStats` snapshot, ~``STATS_HZ`` per second while running.
    statsReady = QtCore.Signal(object)
    #: The pipeline stopped itself on this error (e.g. a frame size the calibration cannot describe).
    pipelineFailed = QtCore.Signal(object)
    #: The cameras found (a list of :class:`DeviceInfo`; empty when listing failed).
    devicesListed = QtCore.Signal(object)

    def __init__(
        self,
        tasks: TaskRegistry,
        device_lister: Callable[[], list[DeviceInfo]] = list_devices,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._device_lister = device_lister
        self._devices: list[DeviceInfo] | None = None
        self._device_task: Task | None = None
        self._session: LiveSession | None = None
        self._start_task: Task | None = None
        self._stop_task: Task | None = None
        self._state = LiveState.IDLE
        self._stopping = False  # a synchronous stop is under way
        self._unsubscribe: Callable[[], None] | None = None
        self.refine_hook: RefineHook | None = None
        self.refine_enabled = False
        self.smoothing: tuple[bool, float] = (True, 0.5)
        self.detector = ""
        """The 2D backend the next start uses ("multi" or "single"; empty: the default)."""
        self.bridge = ResultBridge(DISPLAY_HZ, self)
        self.bridge.resultReady.connect(self.resultReady)
        self._stats_timer = QtCore.QTimer(self)
        self._stats_timer.setInterval(int(1000 / STATS_HZ))
        self._stats_timer.timeout.connect(self._poll_stats)

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def state(self) -> LiveState:
        return self._state

    def _computed_state(self) -> LiveState:
        if self._stop_task is not None or self._stopping:
            return LiveState.STOPPING
        if self._start_task is not None:
            return LiveState.STARTING
        return LiveState.RUNNING if self._session is not None else LiveState.IDLE

    def _update_state(self) -> None:
        state = self._computed_state()
        if state != self._state:
            self._state = state
            self.stateChanged.emit(str(state))

    @property
    def session(self) -> LiveSession | None:
        """The running session (None unless running)."""
        return self._session

    @property
    def pipeline(self) -> LivePipeline | None:
        return self._session.pipeline if self._session is not None else None

    # --- devices ------------------------------------------------------------------------------------------------
    def refresh_devices(self) -> bool:
        """List the cameras again in a task; False while a listing is under way."""
        if self._device_task is not None:
            return False
        task = Task(lambda _p, _c: list(self._device_lister()), "list-devices", "Looking for cameras")
        task.succeeded.connect(self._devices_found)
        task.failed.connect(self._devices_failed)
        task.ended.connect(self._device_task_ended)
        self._device_task = task
        self._tasks.start(task)
        return True

    def devices(self) -> list[DeviceInfo] | None:
        """The cameras found (None until the first listing ended)."""
        return None if self._devices is None else list(self._devices)

    def listing(self) -> bool:
        return self._device_task is not None

    def _devices_found(self, devices: list[DeviceInfo]) -> None:
        self._devices = list(devices)
        self.devicesListed.emit(list(devices))

    def _devices_failed(self, exc: BaseException) -> None:
        log.warning("listing cameras failed: %s", exc)
        self._devices_found([])

    def _device_task_ended(self) -> None:
        self._device_task = None

    # --- start ------------------------------------------------------------------------------------------------
    def start_choice(self, choice: SourceChoice, calibration: CalibrationFile | None) -> bool:
        """Start the user's choice of source with ``calibration``; ``InputError`` when it cannot run."""
        return self.start(start_spec(choice, calibration))

    def start(self, spec: StartSpec) -> bool:
        """Start ``spec`` in a task (the presenter's refine hook and smoothing apply unless the spec has its own
        hook); False when a session is already starting, running or stopping."""
        if self._state is not LiveState.IDLE:
            return False
        if spec.refine_hook is None:
            spec.refine_hook = self.refine_hook
        spec.refine_enabled = self.refine_enabled and spec.refine_hook is not None
        spec.smoothing = self.smoothing
        if not spec.detector:
            spec.detector = self.detector
        task = Task(lambda _p, cancel: build_session(spec, cancel, tuple(UP_AXES)), "live-start", spec.label)
        task.ended.connect(self._start_ended)
        self._start_task = task
        self._update_state()
        self._tasks.start(task)
        return True

    def _start_ended(self, task: Task | None = None) -> None:
        task = task if task is not None else self.sender()
        if task is None or task is not self._start_task:  # already handled by a synchronous stop
            return
        self._start_task = None
        session = task.result if task.state == "succeeded" else None
        if session is not None and task.is_cancel_requested():  # stop() was asked while starting
            self._begin_stop(session)
            return
        if session is None:
            self._update_state()
            if task.error is not None:
                self.startFailed.emit(task.error)
            self.stopped.emit()
            return
        self._session = session
        self.bridge.reset()
        self._unsubscribe = session.pipeline.subscribe(self.bridge.push)
        self._stats_timer.start()
        self._update_state()
        self.started.emit(session)

    # --- stop -------------------------------------------------------------------------------------------------
    def stop(self, wait: bool = False) -> bool:
        """Stop the session, whatever its state. ``wait=False``: the pipeline stops in a task and ``stopped``
        follows; ``wait=True``: everything is stopped when this returns (window closing). Returns False only
        when some thread did not end in time."""
        start = self._start_task
        if start is not None:
            start.cancel()
            if not wait:
                return True
            if not start.wait(WORKER_WAIT_MS):
                return False
            self._abandon_start(start)
        if self._session is not None:
            session = self._detach()
            if not wait:
                self._begin_stop(session)
                return True
            self._stopping = True
            self._update_state()
            try:
                ok = session.pipeline.stop()
            finally:
                self._stopping = False
            self._finish_stop()
            return ok
        stop = self._stop_task
        if stop is not None and wait:
            finished = stop.wait(WORKER_WAIT_MS)
            self._stop_ended(stop)  # now, not when its queued ``ended`` arrives
            return bool(finished and stop.result is not False)
        return True

    def _abandon_start(self, task: Task) -> None:
        """A synchronous stop while starting: stop what the finished start ``task`` opened, now (its queued
        ``ended`` is ignored when it arrives)."""
        self._start_task = None
        if task.state == "succeeded" and isinstance(task.result, LiveSession):
            task.result.pipeline.stop()
        self._finish_stop()

    def _begin_stop(self, session: LiveSession) -> None:
        task = Task(lambda _p, _c: session.pipeline.stop(), "live-stop", "Stopping the capture")
        task.failed.connect(lambda exc: log.error("stopping the live pipeline failed: %s", exc))
        task.ended.connect(self._stop_ended)
        self._stop_task = task
        self._update_state()
        self._tasks.start(task)

    def _stop_ended(self, task: Task | None = None) -> None:
        task = task if task is not None else self.sender()
        if task is not None and self._stop_task is task:
            self._stop_task = None
            self._finish_stop()

    def _detach(self) -> LiveSession:
        session = self._session
        assert session is not None
        self._stats_timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.bridge.reset()
        self._session = None
        return session

    def _finish_stop(self) -> None:
        self._update_state()
        self.stopped.emit()

    # --- pass-through to the pipeline ---------------------------------------------------------------------------
    def select_person(self, view: int, x_px: float, y_px: float) -> None:
        """Follow the person at full-image pixel (x, y) of view 0 or 1."""
        if self.pipeline is not None:
            self.pipeline.select_person(view, x_px, y_px)

    def release_person(self) -> None:
        if self.pipeline is not None:
            self.pipeline.release_person()

    def set_smoothing(self, enabled: bool, strength: float) -> None:
        self.smoothing = (bool(enabled), float(strength))
        if self.pipeline is not None:
            self.pipeline.set_smoothing(enabled, strength)

    def set_refine(self, hook: RefineHook | None, enabled: bool) -> None:
        self.refine_hook = hook
        self.refine_enabled = bool(enabled) and hook is not None
        if self.pipeline is not None:
            self.pipeline.set_refine_hook(hook)
            self.pipeline.set_refine_enabled(self.refine_enabled)

    def latest_frame(self, view: int) -> Frame | None:
        """The newest frame of camera ``view`` (straight from its source; independent of pairing)."""
        session = self._session
        return session.sources[view].latest() if session is not None else None

    def source_status(self, view: int) -> SourceStatus | None:
        session = self._session
        return session.sources[view].status() if session is not None else None

    def target_boxes(self) -> list:
        """The followed person's box ``(x0, y0, x1, y1)`` px per view (None where not locked)."""
        pipe = self.pipeline
        return pipe.processor.target_boxes() if pipe is not None else [None, None]

    def camera_names(self) -> list[str]:
        return self._session.camera_names if self._session is not None else []

    # --- statistics -----------------------------------------------------------------------------------------------
    def _poll_stats(self) -> None:
        pipe = self.pipeline
        if pipe is None:
            return
        if pipe.error is not None:
            err = pipe.error
            self.stop()
            if not isinstance(err, CrossViewError):
                err = RuntimeError(f"the live pipeline stopped: {type(err).__name__}: {err}")
            self.pipelineFailed.emit(err)
            return
        session = self._session
        assert session is not None
        st = session.sources
        self.statsReady.emit(
            LiveStats(
                t_s=time.monotonic(),
                stats=pipe.stats(),
                camera_problem=pipe.camera_problem(),
                sources=(st[0].status(), st[1].status()),
                target_boxes=self.target_boxes(),
            )
        )
