"""The CV-UGCN model in use for live capture and processing (one per application).

The checkpoint path is a setting (``model/active``; default: the model shipped in models/weights/).
Loading it (torch import, TorchScript trace) takes a moment, so it happens in a worker thread and the
result is announced with :attr:`ActiveModel.changed`; tabs connect their ``set_refine_hook`` to it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6 import QtCore

log = logging.getLogger(__name__)

SETTINGS_KEY = "model/active"


class ActiveModel(QtCore.QObject):
    """Holds the refinement hook of the active checkpoint; emits ``changed(hook | None, label)``."""

    changed = QtCore.Signal(object, str)
    failed = QtCore.Signal(str)
    _done = QtCore.Signal(object, str, str)  # hook, label, path (from the loader thread)

    def __init__(self, settings: QtCore.QSettings | None = None, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings if settings is not None else QtCore.QSettings("CrossView", "CrossView")
        self.hook: object | None = None
        self.label = "no model loaded"
        self._path: Path | None = None
        self._thread: threading.Thread | None = None
        self._done.connect(self._on_done)

    def path(self) -> Path:
        """The checkpoint in use: the setting if it names an existing file, else the shipped model."""
        from models.checkpoint import DEFAULT_CHECKPOINT

        saved = self._settings.value(SETTINGS_KEY, "", type=str)
        return Path(saved) if saved and Path(saved).is_file() else DEFAULT_CHECKPOINT

    def set_path(self, path: str | Path | None) -> None:
        """Make ``path`` the active checkpoint (None: back to the shipped model) and load it."""
        self._settings.setValue(SETTINGS_KEY, "" if path is None else str(path))
        self._settings.sync()
        self.load()

    def load(self) -> None:
        """Load the active checkpoint in a worker thread; ``changed`` or ``failed`` follows."""
        path = self.path()

        def work() -> None:
            try:
                from models.refiner import default_refine_hook

                hook, label = default_refine_hook(path)
                self._done.emit(hook, label, str(path))
            except Exception as exc:  # a damaged checkpoint must not stop the app
                log.exception("could not load model %s", path)
                self._done.emit(None, f"model '{path.name}' could not be loaded: {exc}", str(path))

        self._thread = threading.Thread(target=work, name="model-loader", daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the current load finished (tests and shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _on_done(self, hook: object | None, label: str, path: str) -> None:
        self.hook, self.label, self._path = hook, label, Path(path)
        if hook is None and "could not be loaded" in label:
            self.failed.emit(label)
        self.changed.emit(hook, label)
