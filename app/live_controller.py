"""Presenter/worker bridge of the Live tab: runs a :class:`core.pipeline.LivePipeline` without ever blocking
the GUI thread, and brings its results and statistics to the GUI thread by signals. Qt only, no widgets.

- Starting (opening files or devices, loading the calibration, starting MediaPipe: seconds) and stopping run
  in a :class:`QtCore.QThread` and report by signal (:attr:`LiveController.started` / ``startFailed`` /
  ``stopped``). ``stop(wait=True)`` is the synchronous version used when the window closes.
- Results: the pipeline calls back from its own thread; :class:`ResultBridge` keeps ONLY the newest
  result and has at most one queued signal in flight, delivered at most at the display rate. However fast
  the pipeline runs, the GUI never receives a backlog.
- Statistics: :attr:`LiveController.statsReady` at ~2 Hz with :class:`core.pipeline.PipelineStats`, the camera
  problem sentence and the pipeline's own error (an ``InputError`` from the resolution check, a detector
  failure...), which stops the pipeline and is reported once by :attr:`LiveController.pipelineFailed`.

Units: seconds and milliseconds (timings), pixels (images), metres (3D).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6 import QtCore

from app.widgets.skeleton_view import UP_AXES
from core import calibration_io
from core.calibration_io import CalibrationFile
from core.camera import CameraGroup
from core.capture import CameraSource, Frame, SourceStatus
from core.detection import PoseDetector
from core.errors import CalibrationFileError, CrossViewError
from core.pipeline import LivePipeline, PipelineStats, PoseResult, RefineHook

log = logging.getLogger(__name__)

#: Display rate of results and previews, Hz.
DISPLAY_HZ = 30.0
#: Rate of statistics updates, Hz.
STATS_HZ = 2.0
#: How long a synchronous stop waits for a start or stop worker, milliseconds.
WORKER_WAIT_MS = 15000


def infer_world_up(calib: CalibrationFile | None, group: CameraGroup) -> tuple[str, str]:
    """The world's up axis among those the 3D view can show, and how it was decided (a short phrase)."""
    return calibration_io.infer_world_up(calib, group, allowed=tuple(UP_AXES))


@dataclass
class StartSpec:
    """What the Live tab asks to run.

    ``make_sources()`` returns the two camera sources (called in the worker thread: opening may be slow).
    ``calibration`` is a :class:`CalibrationFile`, a :class:`CameraGroup`, or a callable returning one
    (called in the worker). ``cameras``: which two calibration cameras, in source order (default: the first
    two). ``detector_factory`` makes one 2D detector per camera (MediaPipe by default).
    """

    label: str
    make_sources: Callable[[], Sequence[CameraSource]]
    calibration: CalibrationFile | CameraGroup | Callable[[], CalibrationFile | CameraGroup]
    cameras: tuple[str, str] | None = None
    detector_factory: Callable[[], PoseDetector] = PoseDetector
    refine_hook: RefineHook | None = None
    refine_enabled: bool = False
    smoothing: tuple[bool, float] = (True, 0.5)


@dataclass
class LiveSession:
    """A running pipeline and what the GUI needs to show it."""

    label: str
    pipeline: LivePipeline
    group: CameraGroup  # the two cameras, in source order (world frame, metres)
    calibration: CalibrationFile | None
    world_up: str
    world_up_reason: str

    @property
    def sources(self) -> list[CameraSource]:
        return self.pipeline.sources

    @property
    def camera_names(self) -> list[str]:
        return [s.name for s in self.pipeline.sources]


@dataclass
class LiveStats:
    """One statistics snapshot for the status panel (``t_s`` is ``time.monotonic()``)."""

    t_s: float
    stats: PipelineStats
    camera_problem: str | None
    sources: tuple[SourceStatus, SourceStatus]
    target_boxes: list = field(default_factory=list)


def _resolve_group(spec: StartSpec) -> tuple[CameraGroup, CalibrationFile | None]:
    calib = spec.calibration() if callable(spec.calibration) else spec.calibration
    if isinstance(calib, CalibrationFile):
        group, cfile = calib.group, calib
    else:
        group, cfile = calib, None
    if spec.cameras is not None:
        group = group.subset(spec.cameras)
    elif len(group) > 2:
        group = group.subset(group.names[:2])
    if len(group) != 2:
        raise CalibrationFileError(
            f"live 3D needs a calibration of two cameras; this one holds {len(group)} ({', '.join(group.names)}). "
            "Calibrate both cameras together in the Calibration tab."
        )
    return group, cfile


def build_session(spec: StartSpec, cancel: threading.Event | None = None) -> LiveSession | None:
    """Make the sources and the pipeline and start it (blocking; run it off the GUI thread).

    Returns None (with everything stopped again) when ``cancel`` was set meanwhile.
    """
    group, cfile = _resolve_group(spec)
    sources = list(spec.make_sources())
    try:
        pipeline = LivePipeline(sources, group, refine_hook=spec.refine_hook, detector_factory=spec.detector_factory)
    except BaseException:
        for s in sources:
            s.stop(timeout=0.5)
        raise
    up, why = infer_world_up(cfile, group)
    session = LiveSession(spec.label, pipeline, group, cfile, up, why)
    pipeline.set_refine_enabled(spec.refine_enabled)
    pipeline.set_smoothing(*spec.smoothing)
    if cancel is not None and cancel.is_set():
        pipeline.stop()
        return None
    try:
        pipeline.start()
    except BaseException:
        pipeline.stop()
        raise
    return session


class Job(QtCore.QThread):
    """Runs ``fn()`` in a QThread; ``done(result, error)`` is emitted (queued to the GUI thread) at the end."""

    done = QtCore.Signal(object, object)

    def __init__(self, fn: Callable[[], object], name: str, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.setObjectName(name)
        self.result: object = None
        self.error: BaseException | None = None
        self.handled = False

    def run(self) -> None:
        try:
            self.result = self._fn()
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            log.debug("%s failed", self.objectName(), exc_info=True)
            self.error = exc
        self.done.emit(self.result, self.error)


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


class LiveController(QtCore.QObject):
    """Start/stop a live session off the GUI thread and forward what it produces.

    States: ``"idle"`` -> ``"starting"`` -> ``"running"`` -> ``"stopping"`` -> ``"idle"``.
    """

    #: The new state's name.
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

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._state = "idle"
        self._session: LiveSession | None = None
        self._start_job: Job | None = None
        self._stop_job: Job | None = None
        self._cancel = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self.bridge = ResultBridge(DISPLAY_HZ, self)
        self.bridge.resultReady.connect(self.resultReady)
        self._stats_timer = QtCore.QTimer(self)
        self._stats_timer.setInterval(int(1000 / STATS_HZ))
        self._stats_timer.timeout.connect(self._poll_stats)

    # --- state --------------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def session(self) -> LiveSession | None:
        """The running session (None unless running)."""
        return self._session

    @property
    def pipeline(self) -> LivePipeline | None:
        return self._session.pipeline if self._session is not None else None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # --- start ----------------------------------------------------------------------------------------------

    def start(self, spec: StartSpec) -> bool:
        """Start ``spec`` in a worker thread; False when a session is already starting, running or stopping."""
        if self._state != "idle":
            return False
        self._cancel = threading.Event()
        cancel = self._cancel
        job = Job(lambda: build_session(spec, cancel), "live-start", self)
        job.done.connect(lambda _r, _e, j=job: self._start_done(j), QtCore.Qt.ConnectionType.QueuedConnection)
        self._start_job = job
        self._set_state("starting")
        job.start()
        return True

    def _start_done(self, job: Job) -> None:
        if job.handled:
            return
        job.handled = True
        job.wait()
        job.deleteLater()
        if self._start_job is job:
            self._start_job = None
        session = job.result if isinstance(job.result, LiveSession) else None
        if job.error is not None or session is None:
            self._set_state("idle")
            if job.error is not None:
                self.startFailed.emit(job.error)
            self.stopped.emit()
            return
        if self._cancel.is_set():  # stop() was asked while starting: stop what was started, off this thread
            self._set_state("stopping")
            self._start_stop_job(session)
            return
        self._session = session
        self.bridge.reset()
        self._unsubscribe = session.pipeline.subscribe(self.bridge.push)
        self._stats_timer.start()
        self._set_state("running")
        self.started.emit(session)

    # --- stop -----------------------------------------------------------------------------------------------

    def stop(self, wait: bool = False) -> bool:
        """Stop the session, whatever its state. ``wait=False``: the pipeline stops in a worker thread and
        ``stopped`` follows; ``wait=True``: everything is stopped when this returns (window closing).
        Returns False only when some thread did not end in time."""
        if self._state == "starting":
            self._cancel.set()
            job = self._start_job
            if not wait or job is None:
                return True
            job.wait(WORKER_WAIT_MS)
            self._start_done(job)
        if self._state == "running" and self._session is not None:
            session = self._detach()
            self._set_state("stopping")
            if not wait:
                self._start_stop_job(session)
                return True
            ok = session.pipeline.stop()
            self._finish_stop()
            return ok
        if self._state == "stopping" and wait and self._stop_job is not None:
            job = self._stop_job
            finished = job.wait(WORKER_WAIT_MS)
            self._stop_done(job)
            return bool(finished and job.result is not False)
        return True

    def _start_stop_job(self, session: LiveSession) -> None:
        job = Job(session.pipeline.stop, "live-stop", self)
        job.done.connect(lambda _r, _e, j=job: self._stop_done(j), QtCore.Qt.ConnectionType.QueuedConnection)
        self._stop_job = job
        job.start()

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

    def _stop_done(self, job: Job) -> None:
        if job.handled:
            return
        job.handled = True
        job.wait()
        job.deleteLater()
        if self._stop_job is job:
            self._stop_job = None
        if job.error is not None:
            log.error("stopping the live pipeline failed: %s", job.error)
        self._finish_stop()

    def _finish_stop(self) -> None:
        self._set_state("idle")
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
        if self.pipeline is not None:
            self.pipeline.set_smoothing(enabled, strength)

    def set_refine(self, hook: RefineHook | None, enabled: bool) -> None:
        if self.pipeline is not None:
            self.pipeline.set_refine_hook(hook)
            self.pipeline.set_refine_enabled(enabled)

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

    # --- statistics -------------------------------------------------------------------------------------------

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
