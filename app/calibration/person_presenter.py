"""The presenter of "Calibrate from a person": :class:`PersonPresenter`, a QObject without widgets. Qt only.

It checks the dialog's inputs, runs :func:`calibration.person_videos.run_person_calibration` as a task (the
coverage of each view arrives while the videos are read), keeps the result, and saves it as the app's calibration
through ``state.load_calibration``. Its :attr:`state` (:class:`PersonState`) is computed from what runs.
"""

from __future__ import annotations

import enum
from pathlib import Path

from PySide6 import QtCore

from app.calibration.tasks import person_task
from app.state import AppState
from app.tasks import Task
from calibration.person import PersonCalibration
from calibration.person_videos import CoverageUpdate, PersonInputs
from core.errors import CrossViewError


class PersonState(enum.StrEnum):
    """Nothing yet, the calibration running, or a result to save."""

    IDLE = "idle"
    RUNNING = "running"
    DONE = "done"


class PersonPresenter(QtCore.QObject):
    """Runs one calibration from a person at a time. Signals: ``stateChanged(str)``, ``progressed(done, total,
    message)``, ``coverageChanged(CoverageUpdate)``, ``finished(PersonCalibration)``, ``failed(message)``,
    ``saved(path)``."""

    stateChanged = QtCore.Signal(str)
    progressed = QtCore.Signal(int, int, str)
    coverageChanged = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    saved = QtCore.Signal(str)

    def __init__(self, state: AppState, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.app_state = state
        self.result: PersonCalibration | None = None
        self.coverage: CoverageUpdate | None = None
        self._task: Task | None = None

    @property
    def state(self) -> PersonState:
        if self._task is not None and self._task.is_active():
            return PersonState.RUNNING
        return PersonState.DONE if self.result is not None else PersonState.IDLE

    def check(self, inputs: PersonInputs) -> str:
        """What is wrong with ``inputs`` ("" when they can run)."""
        for k, path in enumerate((inputs.cam0, inputs.cam1)):
            if not path or not Path(path).is_file():
                return f"Choose camera {k + 1}'s video (a file recorded at the same time as the other)."
        if Path(inputs.cam0).resolve() == Path(inputs.cam1).resolve():
            return "The two videos are the same file: choose each camera's own recording."
        if inputs.intrinsics and not Path(inputs.intrinsics).is_file():
            return f"The lens calibration '{inputs.intrinsics}' does not exist."
        if inputs.height_m is None and inputs.distance_m is None:
            return "Give the person's height or the distance between the cameras."
        return ""

    def start(self, inputs: PersonInputs) -> bool:
        """Start the calibration (False, with ``failed``, when the inputs are not usable or one already runs)."""
        problem = self.check(inputs) or (
            "A calibration is already running." if self.state is PersonState.RUNNING else ""
        )
        if problem:
            self.failed.emit(problem)
            return False
        s = self.app_state.settings
        s.person_videos = [inputs.cam0, inputs.cam1]
        s.person_intrinsics = inputs.intrinsics or ""
        if inputs.height_m is not None:
            s.person_height_m = float(inputs.height_m)
        if inputs.fov_deg is not None:
            s.person_fov_deg = float(inputs.fov_deg)
        self.result = None
        self.coverage = None
        task = person_task(inputs)
        task.progressed.connect(self.progressed)
        task.posted.connect(self._on_coverage)
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(lambda: self.failed.emit("Cancelled: nothing was saved."))
        task.ended.connect(lambda: self.stateChanged.emit(self.state.value))
        self._task = task
        self.app_state.tasks.start(task)
        self.stateChanged.emit(self.state.value)
        return True

    def cancel(self) -> None:
        if self._task is not None and self._task.is_active():
            self._task.cancel()

    def stop(self, timeout_ms: int = 10000) -> None:
        """Cancel and wait (closing the dialog or the app)."""
        if self._task is not None and self._task.is_active():
            self._task.cancel()
            self._task.stop(timeout_ms)

    def save(self, path: str) -> str | None:
        """Write the result to ``path`` and make it the app's calibration; None (with ``failed``) when it cannot."""
        if self.result is None:
            self.failed.emit("Nothing to save yet: run the calibration first.")
            return None
        try:
            saved = self.result.save(path)
            self.app_state.load_calibration(saved.path)  # type: ignore[arg-type]
        except (CrossViewError, OSError) as exc:
            self.failed.emit(f"Could not save the calibration: {exc}")
            return None
        self.result = saved
        self.saved.emit(str(saved.path))
        return str(saved.path)

    def _on_coverage(self, item: object) -> None:
        if isinstance(item, CoverageUpdate):
            self.coverage = item
            self.coverageChanged.emit(item)

    def _on_done(self, result: object) -> None:
        self.result = result  # type: ignore[assignment]
        self.finished.emit(result)

    def _on_failed(self, exc: object) -> None:
        self.failed.emit(str(exc) if isinstance(exc, CrossViewError) else f"The calibration failed: {exc}")
