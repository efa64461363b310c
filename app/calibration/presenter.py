"""The calibration wizard's presenter: :class:`CalibrationPresenter`, a QObject without widgets. Qt only.

It owns one calibration run (``calibration.run``) and everything that runs for it:

- the inputs: the cameras (listed, started and stopped here) or the opened recordings;
- the :class:`calibration.run.CalibrationRun` for the inputs and the board (kept while neither changes);
- the capture :class:`~app.tasks.Task` of the page on screen (pause, automatic capture, capture now) and
  the solve task, both started with ``state.tasks``;
- saving: a saved calibration becomes the app's through ``state.load_calibration``.

Its :attr:`state` (:class:`CalibrationState`) is computed from what runs. The pages are views: they read the
presenter, call it, and show what its signals say.
"""

from __future__ import annotations

import datetime as _dt
import enum
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6 import QtCore

from app.calibration.tasks import capture_task, solve_task
from app.settings import Settings
from app.state import AppState
from app.tasks import Task
from calibration.boards import Board
from calibration.engine import CalibrationResult
from calibration.intrinsics import IntrinsicsResult
from calibration.live import CaptureControl, CaptureNotice, Notice, PreviewPacket
from calibration.run import CAMERA_NAMES, CalibrationRun, InputSpec, RecordingSet, open_recordings
from core.calibration_io import load_calibration
from core.capture import CameraSource, DeviceInfo, DeviceSource, list_devices
from core.errors import CrossViewError

log = logging.getLogger(__name__)

CameraFactory = Callable[[int, int, InputSpec], CameraSource]
DeviceLister = Callable[[], Sequence[DeviceInfo]]


class CalibrationState(enum.StrEnum):
    """What runs now: nothing, a capture (running or paused), or the solve."""

    IDLE = "idle"
    CAPTURING = "capturing"
    PAUSED = "paused"
    SOLVING = "solving"


def default_camera_factory(slot: int, index: int, spec: InputSpec) -> CameraSource:
    """A ``DeviceSource`` for camera ``slot`` (0/1) at device ``index`` with the spec's settings."""
    return DeviceSource(
        index,
        name=CAMERA_NAMES[slot],
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        fourcc="MJPG" if spec.mjpg else None,
    )


def solve_failure_text(exc: BaseException) -> str:
    """What the results page says about a failed solve: a CrossViewError's text, or a short report."""
    if isinstance(exc, CrossViewError):
        return str(exc)
    return (
        f"The calibration failed with an unexpected error ({type(exc).__name__}: {exc}). Capture again with "
        "sharper views of the whole board; if it persists, report it with the log."
    )


class CalibrationPresenter(QtCore.QObject):
    """Owns the calibration run of one wizard (see the module docstring).

    ``device_lister``/``camera_factory``: how cameras are listed and opened (tests inject simulated ones).
    """

    #: the new :class:`CalibrationState` (its value)
    stateChanged = QtCore.Signal(str)
    #: the cameras could not be started (the reason)
    devicesFailed = QtCore.Signal(str)
    #: the capture's newest :class:`calibration.live.PreviewPacket`
    packetReady = QtCore.Signal(object)
    #: a source problem of the capture ('' when it is solved)
    problem = QtCore.Signal(str)
    #: why the board is not seen ('' when it is seen)
    diagnosis = QtCore.Signal(str)
    #: something worth knowing about the capture
    info = QtCore.Signal(str)
    #: the recording played to its end (a summary)
    streamEnded = QtCore.Signal(str)
    #: done, total, message of the solve
    solveProgress = QtCore.Signal(int, int, str)
    #: the :class:`calibration.run.SolveOutcome`
    solved = QtCore.Signal(object)
    #: why the solve failed
    solveFailed = QtCore.Signal(str)
    #: the solve was cancelled
    solveCancelled = QtCore.Signal()
    #: a calibration TOML was saved (its path) and made the app's calibration
    calibrationSaved = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        *,
        device_lister: DeviceLister | None = None,
        camera_factory: CameraFactory | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.app_state = state
        self.device_lister = device_lister or list_devices
        self.camera_factory = camera_factory or default_camera_factory
        self.run: CalibrationRun | None = None
        self.spec: InputSpec | None = None
        self.last_packet: PreviewPacket | None = None
        self._sources: list[CameraSource] = []
        self._source_key: tuple | None = None
        self._recordings: RecordingSet | None = None
        self._recordings_key: tuple | None = None
        self._capture: Task | None = None
        self._capture_mode = ""
        self._control: CaptureControl | None = None
        self._auto = True
        self._solve: Task | None = None
        self._tasks: list[Task] = []
        self._state = CalibrationState.IDLE

    @property
    def settings(self) -> Settings:
        return self.app_state.settings

    # ---------------------------------------------------------------- state
    @property
    def state(self) -> CalibrationState:
        """What runs now, computed from the tasks."""
        if self.solving():
            return CalibrationState.SOLVING
        if self.capturing():
            return CalibrationState.PAUSED if self.paused() else CalibrationState.CAPTURING
        return CalibrationState.IDLE

    def _state_may_have_changed(self) -> None:
        new = self.state
        if new != self._state:
            self._state = new
            self.stateChanged.emit(str(new))

    def threads(self) -> list[Task]:
        """This presenter's tasks whose thread still runs (a forgotten solve included)."""
        return [t for t in self._tasks if t.isRunning()]

    # ---------------------------------------------------------------- cameras
    def list_devices(self) -> list[DeviceInfo]:
        """The cameras of this computer (the injected lister's); raises what the lister raises."""
        return list(self.device_lister())

    def ensure_devices(self, spec: InputSpec) -> list[CameraSource]:
        """Start the two camera sources of ``spec`` (restarted when the choice or settings changed); [] and
        :attr:`devicesFailed` when a camera cannot be opened."""
        key = spec.key()
        if key == self._source_key and self._sources:
            return self._sources
        self.stop_devices()
        if spec.kind != "cameras" or -1 in spec.devices or spec.devices[0] == spec.devices[1]:
            return []
        sources: list[CameraSource] = []
        try:
            for slot, index in enumerate(spec.devices):
                src = self.camera_factory(slot, index, spec)
                src.start()
                sources.append(src)
        except CrossViewError as exc:
            for s in sources:
                s.stop()
            self.devicesFailed.emit(str(exc))
            return []
        self._sources = sources
        self._source_key = key
        return sources

    def device_sources(self) -> list[CameraSource]:
        return list(self._sources)

    def stop_devices(self) -> None:
        for s in self._sources:
            try:
                s.stop()
            except Exception:  # stopping must go on
                log.exception("stopping camera %s failed", getattr(s, "name", s))
        self._sources = []
        self._source_key = None

    # ---------------------------------------------------------------- recordings
    def open_recordings(self, spec: InputSpec) -> RecordingSet:
        """Open and check the two recordings of ``spec`` (remembered in the settings when usable); raises a
        CrossViewError that says what to do."""
        self._recordings = self._recordings_key = None
        rec = open_recordings(spec)
        self._recordings, self._recordings_key = rec, spec.key()
        self.settings.set_calibration_paths(spec.kind, list(spec.paths))
        return rec

    def recordings_for(self, spec: InputSpec) -> RecordingSet | None:
        """The opened recordings when they are ``spec``'s, else None."""
        return self._recordings if self._recordings_key == spec.key() else None

    def forget_recordings_check(self) -> None:
        """The recording paths changed: the opened recordings no longer count as checked."""
        self._recordings_key = None

    # ---------------------------------------------------------------- the run
    def choose_inputs(self, spec: InputSpec) -> None:
        """The inputs the next run uses (the first page was left forward)."""
        self.spec = spec

    def prepare_run(self, board: Board | None) -> CalibrationRun:
        """The calibration run for the chosen inputs and ``board``, created when either changed."""
        if board is None:
            raise CrossViewError("the board definition is not valid; fix it on the board page.")
        spec = self.spec
        if spec is None:
            raise CrossViewError("choose the inputs on the first page first.")
        self.settings.calibration_board_spec = board.spec()
        self.settings.calibration_input_kind = spec.kind
        if self.run is not None and self.run.key() == (spec.key(), board):
            if spec.recorded and self.run.spec.pace != spec.pace:
                self.run.spec = spec
            return self.run
        self.stop_tasks()
        if self.run is not None:
            self.run.close()
        if spec.recorded:
            rec = self.recordings_for(spec) or open_recordings(spec)
            self.run = CalibrationRun(board, spec, recordings=rec)
        else:
            self.run = CalibrationRun(board, spec, devices=self.ensure_devices(spec))
        return self.run

    def reset_camera(self, cam: int) -> None:
        if self.run is not None:
            self.run.reset_camera(cam)

    def reset_pairs(self) -> None:
        if self.run is not None:
            self.run.reset_pairs()

    def load_intrinsics(self, cam: int, path: str, camera: str | int) -> IntrinsicsResult:
        """Use camera ``cam``'s intrinsics from a calibration TOML (a CrossViewError when they do not fit)."""
        if self.run is None:
            raise CrossViewError("there is no calibration run yet; go back to the first page.")
        return self.run.load_intrinsics(cam, path, camera)

    def clear_loaded(self, cam: int) -> None:
        """Capture camera ``cam``'s intrinsics again instead of using loaded ones."""
        if self.run is not None:
            self.run.clear_loaded(cam)

    @staticmethod
    def calibration_cameras(path: str) -> list[str]:
        """The camera names of calibration TOML ``path`` (a CrossViewError when it is unreadable)."""
        return list(load_calibration(path).group.names)

    # ---------------------------------------------------------------- capture
    def start_capture(self, mode: str, auto: bool | None = None) -> bool:
        """Start (or restart) the capture for ``mode`` ("cam0", "cam1", "pairs"); False without a run."""
        self.stop_capture()
        if self.run is None:
            return False
        if auto is not None:
            self._auto = bool(auto)
        control = CaptureControl(self._auto)
        task = capture_task(self.run, mode, control)
        task.posted.connect(self._on_notice)
        task.ended.connect(self._on_capture_ended)
        task.ended.connect(self._on_task_ended)
        self._capture, self._capture_mode, self._control = task, mode, control
        self.last_packet = None
        self._tasks.append(task)
        self.app_state.tasks.start(task)
        self._state_may_have_changed()
        return True

    def stop_capture(self) -> None:
        """Stop the capture and wait for its thread (what it still sends is ignored)."""
        task, self._capture, self._control = self._capture, None, None
        if task is None:
            return
        if not task.stop():
            log.warning("capture worker did not stop within %d ms", task.stop_timeout_ms)
        self._state_may_have_changed()

    def capturing(self, mode: str | None = None) -> bool:
        """A capture runs (for ``mode``, when given)."""
        task = self._capture
        active = task is not None and task.is_active()
        return active and (mode is None or mode == self._capture_mode)

    @property
    def capture_mode(self) -> str:
        """The mode of the current (or last started) capture."""
        return self._capture_mode

    def set_paused(self, paused: bool) -> None:
        if self._control is not None:
            self._control.set_paused(paused)
        self._state_may_have_changed()

    def paused(self) -> bool:
        return self._control is not None and self._control.paused()

    def set_auto(self, auto: bool) -> None:
        """Automatic capture (every frame offered to the engine) or manual (:meth:`capture_now`)."""
        self._auto = bool(auto)
        if self._control is not None:
            self._control.set_auto(auto)

    def capture_now(self) -> None:
        """Offer the next frame to the engine (manual capture)."""
        if self._control is not None:
            self._control.request_capture()

    def _on_notice(self, notice: object) -> None:
        if self.sender() is not self._capture or not isinstance(notice, CaptureNotice):
            return  # a stopped capture's last words
        if notice.kind is Notice.PACKET:
            pkt = self._control.take_packet() if self._control is not None else None
            if pkt is not None:
                self.last_packet = pkt
                self.packetReady.emit(pkt)
            return
        signal = {
            Notice.PROBLEM: self.problem,
            Notice.DIAGNOSIS: self.diagnosis,
            Notice.INFO: self.info,
            Notice.ENDED: self.streamEnded,
        }[notice.kind]
        signal.emit(notice.text)

    def _on_capture_ended(self) -> None:
        if self.sender() is self._capture:
            self._capture, self._control = None, None
        self._state_may_have_changed()

    def _on_task_ended(self) -> None:
        task = self.sender()
        if task in self._tasks:
            self._tasks.remove(task)

    # ---------------------------------------------------------------- solve
    def start_solve(self) -> bool:
        """Solve the run in a task (a running solve is forgotten first); False without a run."""
        self.forget_solve()
        if self.run is None:
            return False
        task = solve_task(self.run)
        task.progressed.connect(self._on_solve_progress)
        task.succeeded.connect(self._on_solved)
        task.failed.connect(self._on_solve_failed)
        task.cancelled.connect(self._on_solve_cancelled)
        task.ended.connect(self._on_task_ended)
        self._solve = task
        self._tasks.append(task)
        self.app_state.tasks.start(task)
        self._state_may_have_changed()
        return True

    def solving(self) -> bool:
        return self._solve is not None and self._solve.is_active()

    def cancel_solve(self, wait: bool = False) -> None:
        """Ask the solve to stop; ``wait``: block until it did (its outcome is then ignored)."""
        task = self._solve
        if task is None:
            return
        task.cancel()
        if wait:
            task.wait(task.stop_timeout_ms)
            self._solve = None
            self._state_may_have_changed()

    def forget_solve(self) -> None:
        """Cancel the running solve without waiting (it ends between two solver steps) and ignore its outcome."""
        task, self._solve = self._solve, None
        if task is not None:
            task.cancel()
            self._state_may_have_changed()

    def _solve_outcome(self) -> bool:
        """The signal comes from the current solve: forget it (it ended) and say True."""
        if self.sender() is not self._solve:
            return False
        self._solve = None
        self._state_may_have_changed()
        return True

    def _on_solve_progress(self, done: int, total: int, message: str) -> None:
        if self.sender() is self._solve:
            self.solveProgress.emit(done, total, message)

    def _on_solved(self, outcome: object) -> None:
        if self._solve_outcome():
            self.solved.emit(outcome)

    def _on_solve_failed(self, exc: object) -> None:
        if self._solve_outcome():
            self.solveFailed.emit(solve_failure_text(exc))  # type: ignore[arg-type]

    def _on_solve_cancelled(self) -> None:
        if self._solve_outcome():
            self.solveCancelled.emit()

    # ---------------------------------------------------------------- saving
    def default_save_path(self) -> str:
        """``<calibration folder>/calibration_<today>.toml``."""
        folder = self.settings.calibration_dir or Path.home()
        return str(folder / f"calibration_{_dt.date.today().isoformat()}.toml")

    def save(self, result: CalibrationResult, path: str) -> CalibrationResult:
        """Write ``result`` as a calibration TOML (metres), make it the app's calibration, emit
        :attr:`calibrationSaved`. Raises CrossViewError or OSError."""
        saved = result.save(path)
        self.app_state.load_calibration(saved.path)
        self.calibrationSaved.emit(str(saved.path))
        return saved

    # ---------------------------------------------------------------- lifetime
    def stop_tasks(self) -> None:
        """Stop the capture and the solve and wait for every thread of this presenter."""
        self.stop_capture()
        self.cancel_solve(wait=True)
        for t in list(self._tasks):
            t.stop()
        self._state_may_have_changed()

    def stop_all(self) -> None:
        """Stop every task and camera and drop the run's caches (the wizard is closing)."""
        self.stop_tasks()
        self.stop_devices()
        if self.run is not None:
            self.run.close()
