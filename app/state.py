"""The application's shared state, passed to every tab explicitly: :class:`AppState`. Qt, no widgets.

- ``settings``: the typed :class:`app.settings.Settings`;
- ``tasks``: the :class:`app.tasks.TaskRegistry` that runs long work and stops it when the window closes;
- the active calibration (``calibrationChanged``), the active CV-UGCN model (``model.changed``), the sessions
  folder (``sessionsRootChanged``), ``sessionRecorded`` when a recording was finished, and ``message`` (a
  status-bar sentence, :meth:`AppState.say`).

Tabs read it and connect to its signals; no tab looks another tab up.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6 import QtCore

from app.settings import Settings
from app.tasks import Task, TaskRegistry
from core.calibration_io import CalibrationFile, load_calibration

log = logging.getLogger(__name__)


def default_sessions_root() -> Path:
    """``~/CrossView/sessions``."""
    return Path.home() / "CrossView" / "sessions"


class ActiveModel(QtCore.QObject):
    """The CV-UGCN checkpoint in use for live capture and processing, and its refinement hook.

    The path is the setting ``active_model`` (default: the model shipped in ``models/weights/``). Loading
    (torch import, TorchScript trace) takes a moment, so it runs as a :class:`Task`; ``changed(hook, label)``
    follows, or ``failed(text)`` and ``changed(None, text)`` for a damaged checkpoint.
    """

    changed = QtCore.Signal(object, str)
    failed = QtCore.Signal(str)

    def __init__(self, settings: Settings, tasks: TaskRegistry, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._tasks = tasks
        self.hook: object | None = None
        self.label = "no model loaded"
        self._task: Task | None = None

    def chosen(self) -> Path | None:
        """The checkpoint the user chose, when it names an existing file (None: the shipped model)."""
        saved = self._settings.active_model
        return saved if saved is not None and saved.is_file() else None

    def path(self) -> Path:
        """The checkpoint in use: the chosen one, else the shipped model."""
        from models.checkpoint import DEFAULT_CHECKPOINT

        return self.chosen() or DEFAULT_CHECKPOINT

    def process_hook(self) -> object | None:
        """The refinement Process is given: the loaded hook, or None (Process loads the model itself) while the
        shipped model is active and a shipped offline one (two-sided, whole takes) exists to replace it there."""
        from models.checkpoint import OFFLINE_CHECKPOINT

        return None if self.chosen() is None and OFFLINE_CHECKPOINT.is_file() else self.hook

    def set_path(self, path: str | Path | None) -> None:
        """Make ``path`` the active checkpoint (None: back to the shipped model) and load it."""
        self._settings.active_model = None if path is None else Path(path)
        self._settings.sync()
        self.load()

    def load(self) -> Task:
        """Load the active checkpoint in a task; ``changed`` or ``failed`` follows."""
        path = self.path()

        def work(_progress, _cancel) -> tuple[object | None, str]:
            from models.refiner import default_refine_hook

            return default_refine_hook(path)

        task = Task(work, "model-loader", f"Loading {path.name}")
        task.succeeded.connect(lambda r: self._done(r[0], r[1]))
        task.failed.connect(lambda exc, p=path: self._load_failed(exc, p))
        self._task = task
        return self._tasks.start(task)

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the current load finished (tests and shutdown)."""
        task = self._task
        return task is None or task.wait(timeout_ms)

    def _load_failed(self, exc: BaseException, path: Path) -> None:  # a damaged model must not stop the app
        log.error("could not load model %s: %s", path, exc)
        label = f"model '{path.name}' could not be loaded: {exc}"
        self._done(None, label)
        self.failed.emit(label)

    def _done(self, hook: object | None, label: str) -> None:
        self.hook, self.label = hook, label
        self._task = None
        self.changed.emit(hook, label)


class AppState(QtCore.QObject):
    """What the tabs share (see the module docstring). ``tasks`` defaults to a registry of its own."""

    #: the new active calibration (a :class:`CalibrationFile`) or None
    calibrationChanged = QtCore.Signal(object)
    #: the sessions folder changed (its path)
    sessionsRootChanged = QtCore.Signal(str)
    #: a recording was finalised (the session folder)
    sessionRecorded = QtCore.Signal(str)
    #: a short message for the status bar, and how long to show it (ms)
    message = QtCore.Signal(str, int)
    #: a permanent status-bar field (key, text; empty text hides it), e.g. the stream's status
    statusField = QtCore.Signal(str, str)

    def __init__(
        self,
        settings: Settings | None = None,
        tasks: TaskRegistry | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.tasks = tasks if tasks is not None else TaskRegistry(self)
        self.model = ActiveModel(self.settings, self.tasks, self)
        self._calibration: CalibrationFile | None = None
        self._calibration_path: Path | None = None

    def say(self, text: str, timeout_ms: int = 5000) -> None:
        """Show ``text`` in the window's status bar for ``timeout_ms``."""
        self.message.emit(str(text), int(timeout_ms))

    def set_status(self, key: str, text: str) -> None:
        """Show ``text`` in the status bar's permanent field ``key`` until changed ("" hides it)."""
        self.statusField.emit(str(key), str(text))

    # --- calibration --------------------------------------------------------------------------------------------
    @property
    def calibration(self) -> CalibrationFile | None:
        return self._calibration

    @property
    def calibration_path(self) -> Path | None:
        return self._calibration_path

    def load_calibration(self, path: str | Path) -> CalibrationFile:
        """Read a calibration TOML (milliseconds) and make it the active one. ``CrossViewError`` when it is bad."""
        calib = load_calibration(path)
        self.settings.calibration_dir = Path(path).resolve().parent
        self.set_calibration(calib, Path(path))
        return calib

    def set_calibration(self, calib: CalibrationFile | None, path: Path | None = None) -> None:
        self._calibration = calib
        self._calibration_path = path if calib is not None else None
        self.calibrationChanged.emit(calib)

    # --- sessions -------------------------------------------------------------------------------------------------
    @property
    def sessions_root(self) -> Path:
        """The folder that holds the sessions (the setting, else ``~/CrossView/sessions``)."""
        return self.settings.sessions_root or default_sessions_root()

    def set_sessions_root(self, path: str | Path) -> None:
        self.settings.sessions_root = Path(path).expanduser()
        self.settings.sync()
        self.sessionsRootChanged.emit(str(self.sessions_root))

    def models_folder(self) -> Path:
        """Where trained checkpoints go: the setting, else ``<sessions root>/../models``."""
        return self.settings.models_folder or self.sessions_root.parent / "models"
