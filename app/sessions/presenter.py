"""The Sessions tab's presenter: lists, imports, processes, recovers, renames and deletes sessions, and loads
what a replay shows, each long job as an :class:`app.tasks.Task`. Qt, no widgets.

- One job that changes sessions (import, process, recover) runs at a time; :attr:`SessionsPresenter.state`
  (a :class:`SessionsState`) is computed from it. Listing, the unfinished-recordings check and loading a replay
  run beside it.
- A job's outcome arrives AFTER the job was forgotten (``jobSucceeded`` & co. find the presenter idle): a
  status-bar message through :meth:`app.state.AppState.say`, a new listing, then the signal.
- The sessions folder is the app state's (``sessionsRootChanged``); a finished recording
  (``sessionRecorded``) is listed and selected; the active model (``model.changed``) refines processing.
- Renaming and deleting are synchronous (:mod:`core.session.manage`); they raise
  :class:`core.errors.CrossViewError` with the sentence to show.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from app.sessions.tasks import import_task, load_replay_task, process_task, recover_task, scan_task, unfinished_task
from app.state import AppState
from app.tasks import Coalescing, RegistryClosed, Task, TaskState
from core.errors import CrossViewError
from core.pipeline import describe_refine_fallbacks
from core.session import manage
from core.session.listing import SessionRow, session_row

log = logging.getLogger(__name__)

#: What the user reads for each job kind ("Import failed.", "Import cancelled").
JOB_WORDS = {"import": "Import", "process": "Processing", "recover": "Recovery"}


class SessionsState(enum.StrEnum):
    """What the Sessions tab is doing: the job that changes sessions, if any."""

    IDLE = "idle"
    IMPORTING = "importing"
    PROCESSING = "processing"
    RECOVERING = "recovering"


_STATE_OF_JOB = {
    "import": SessionsState.IMPORTING,
    "process": SessionsState.PROCESSING,
    "recover": SessionsState.RECOVERING,
}


class SessionsPresenter(QtCore.QObject):
    """The Sessions tab without widgets (see the module docstring). ``detector_factory`` replaces MediaPipe in
    processing (tests)."""

    #: the new :class:`SessionsState`
    stateChanged = QtCore.Signal(str)
    #: (rows, the session to select or None) after each listing
    listed = QtCore.Signal(object, object)
    #: a job that changes sessions started: (kind, title)
    jobStarted = QtCore.Signal(str, str)
    #: (done, total, message) of the running job
    jobProgressed = QtCore.Signal(int, int, str)
    #: (kind, summary, session path or None) when a job ended well
    jobSucceeded = QtCore.Signal(str, object, object)
    #: (kind, message)
    jobFailed = QtCore.Signal(str, str)
    #: kind
    jobCancelled = QtCore.Signal(str)
    #: paths of recordings stopped by a crash, to offer for recovery
    unfinishedFound = QtCore.Signal(object)
    #: the :class:`core.session.replay.ReplayData` asked for by :meth:`load_replay`
    replayLoaded = QtCore.Signal(object)
    #: why the replay asked for cannot be shown
    replayFailed = QtCore.Signal(str)
    #: a sentence to show in a dialog
    errorRaised = QtCore.Signal(str)
    #: the sessions folder changed (its path)
    rootChanged = QtCore.Signal(str)
    #: the refinement model changed: its label ("" when none is named)
    refineChanged = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        *,
        detector_factory: Callable[[], Any] | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.app_state = state
        self._detector_factory = detector_factory
        self._rows: list[SessionRow] = []
        self._job: Task | None = None
        self._job_kind = ""
        self._lister = Coalescing(state.tasks, self._scan_task, self)
        self._aux: list[Task] = []  # small background jobs (finding unfinished sessions)
        self._replay_task: Task | None = None
        self._select_next: Path | None = None
        self.refine_hook: Any = None
        self.refine_label = ""
        self.last_result: Any = None
        self._on_model(state.model.hook, state.model.label if state.model.hook is not None else "")
        state.model.changed.connect(self._on_model)
        state.sessionsRootChanged.connect(self._on_root_changed)
        state.sessionRecorded.connect(self.on_session_recorded)

    # --- state --------------------------------------------------------------------------------------------------
    @property
    def state(self) -> SessionsState:
        return _STATE_OF_JOB.get(self._job_kind, SessionsState.IDLE) if self._job is not None else SessionsState.IDLE

    @property
    def busy(self) -> bool:
        return self._job is not None

    def job(self) -> Task | None:
        """The job that changes sessions running now (import, process or recover), if any."""
        return self._job

    def scanning(self) -> bool:
        return self._lister.running()

    def rows(self) -> list[SessionRow]:
        return list(self._rows)

    def row(self, path: str | Path) -> SessionRow:
        """The listed row of ``path``, else a fresh one read from the folder."""
        found = next((r for r in self._rows if r.path == Path(path)), None)
        return found if found is not None else session_row(Path(path))

    # --- settings -----------------------------------------------------------------------------------------------
    def root(self) -> Path:
        """The sessions folder."""
        return self.app_state.sessions_root

    def set_root(self, path: str | Path) -> None:
        """Make ``path`` the sessions folder (the app state says so to every tab; this one lists it again)."""
        self.app_state.set_sessions_root(path)

    @property
    def refine(self) -> bool:
        """Whether Process refines (a setting)."""
        return self.app_state.settings.process_refine

    def set_refine(self, on: bool) -> None:
        self.app_state.settings.process_refine = bool(on)

    def set_refine_hook(self, hook: Any, label: str = "") -> None:
        """The learned refinement Process uses when refining (None: the shipped model, loaded then)."""
        self.refine_hook = hook
        self.refine_label = label
        self.refineChanged.emit(label)

    def _on_model(self, hook: Any, label: str) -> None:
        """The app's active model changed: Process uses it (the shipped offline model instead of the shipped live
        one, loaded when processing starts)."""
        if hook is not None and self.app_state.model.process_hook() is None:
            hook, label = None, "offline"
        self.set_refine_hook(hook, label)

    def _on_root_changed(self, path: str) -> None:
        self.rootChanged.emit(path)
        self.refresh()

    def on_session_recorded(self, path: str) -> None:
        """A recording finished: list it and select it."""
        self._select_next = Path(path)
        self.refresh()

    # --- listing ------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the sessions again (in a task; ``listed`` follows)."""
        self._lister.request()

    def _scan_task(self) -> Task:
        task = scan_task(self.root())
        task.succeeded.connect(self._on_listed)
        task.failed.connect(lambda exc: self.errorRaised.emit(f"The sessions folder cannot be listed: {exc}"))
        return task

    def _on_listed(self, rows: list[SessionRow]) -> None:
        self._rows = list(rows)
        select = self._select_next
        if select is not None and not any(r.path == select for r in rows):
            select = None  # listed before it existed: the listing asked for since will show it
        if select is not None or not self._lister.pending():
            self._select_next = None
        self.listed.emit(self.rows(), select)

    # --- jobs that change sessions ------------------------------------------------------------------------------
    def _start(self, task: Task) -> bool:
        try:
            self.app_state.tasks.start(task)
        except RegistryClosed as exc:  # the window is closing
            log.info("%s not started: %s", task.objectName(), exc)
            return False
        return True

    def _start_job(self, kind: str, task: Task, path: Path | None) -> bool:
        if self._job is not None:
            self.errorRaised.emit(f"{self._job.title} is running; wait for it or cancel it first.")
            return False
        task.progressed.connect(self.jobProgressed)
        # the outcome is handled once the job has ended, so that jobSucceeded & co. find the presenter idle
        task.ended.connect(lambda t=task, k=kind, p=path: self._job_ended(t, k, p))
        self._job, self._job_kind = task, kind
        if not self._start(task):
            self._job, self._job_kind = None, ""
            return False
        self.jobStarted.emit(kind, task.title)
        self.stateChanged.emit(self.state)
        return True

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _job_ended(self, task: Task, kind: str, path: Path | None) -> None:
        if self._job is task:
            self._job, self._job_kind = None, ""
        self.stateChanged.emit(self.state)
        if task.state is TaskState.FAILED:
            exc = task.error
            text = str(exc) if isinstance(exc, CrossViewError) else f"{type(exc).__name__}: {exc}"
            self.errorRaised.emit(f"{JOB_WORDS.get(kind, kind)} failed.\n\n{text}")
            self.refresh()
            self.jobFailed.emit(kind, text)
        elif task.state is TaskState.CANCELLED:
            self.app_state.say(f"{kind.capitalize()} cancelled; nothing was written.", 6000)
            self.refresh()
            self.jobCancelled.emit(kind)
        else:
            self._succeeded(kind, task.result)
            self.refresh()
            self.jobSucceeded.emit(kind, task.result, path)

    def _succeeded(self, kind: str, result: Any) -> None:
        self.last_result = result
        if kind == "import":
            self._select_next = Path(result.session)
            warn = result.warnings
            self.app_state.say(
                f"Imported {Path(result.session).name}: {result.pairs} pairs ({result.pairing} pairing)"
                + (f" — {warn[0]}" if warn else ""),
                6000,
            )
        elif kind == "process":
            self.app_state.say(
                f"Processed {Path(result.session).name}: {result.percent_with_3d:.0f}% of pairs with 3D; "
                f"refinement {result.refinement}"
                + (f"; {guard}." if (guard := describe_refine_fallbacks(result.refine_fallbacks)) else "."),
                6000,
            )
        elif kind == "recover":
            done = result.recovered
            self.app_state.say(f"Recovered {len(done)} session{'s' if len(done) != 1 else ''}.", 6000)
            if result.failed:
                lines = "\n".join(f"{Path(p).name}: {m}" for p, m in result.failed.items())
                self.errorRaised.emit(f"Some sessions could not be recovered:\n\n{lines}")

    def import_videos(
        self,
        video_a: str,
        video_b: str,
        calibration: str,
        out: str,
        cameras: list[str] | None = None,
        timestamps: str | None = None,
        reencode: bool = False,
    ) -> bool:
        """Import two videos as the session ``out`` (progress, Cancel)."""
        task = import_task(video_a, video_b, calibration, out, cameras, timestamps, reencode)
        return self._start_job("import", task, Path(out))

    def process(self, path: str | Path, refine: bool | None = None) -> bool:
        """Process the session at ``path``: 2D, 3D and (``refine``, default the setting) refinement for every pair."""
        refine = self.refine if refine is None else bool(refine)
        task = process_task(
            path,
            refine,
            refine_hook=self.refine_hook,
            model_id=self.refine_label,
            detector_factory=self._detector_factory,
            detector=self.app_state.settings.detector,
        )
        return self._start_job("process", task, Path(path))

    def recover(self, paths: list[str]) -> bool:
        if not paths:
            return False
        return self._start_job("recover", recover_task(paths), None)

    def check_unfinished(self) -> None:
        """Look for recordings stopped by a crash (a task); ``unfinishedFound`` when there are some."""
        task = unfinished_task(self.root())
        task.succeeded.connect(lambda paths: self.unfinishedFound.emit(list(paths)) if paths else None)
        task.ended.connect(lambda t=task: self._aux.remove(t) if t in self._aux else None)
        if self._start(task):
            self._aux.append(task)

    # --- rename / delete ------------------------------------------------------------------------------------------
    def refusal(self, r: SessionRow, verb: str) -> str | None:
        """Why ``r`` cannot be renamed or deleted now (``verb``), or None."""
        if self._job is not None:
            return f"Wait for '{self._job.title}' to finish before you {verb} a session."
        try:
            manage.check_not_recording(r.path)
        except CrossViewError as exc:
            return str(exc)
        return None

    def rename_target(self, path: Path, new_name: str) -> Path:
        """Where ``path`` would go; CrossViewError for a bad or taken name."""
        return manage.rename_target(path, new_name)

    def rename(self, path: Path, new_name: str) -> Path:
        """Rename the session folder, list it again and select it. CrossViewError (nothing changed) on failure."""
        target = manage.rename_session(path, new_name)
        self._select_next = target
        self.app_state.say(f"Renamed '{path.name}' to '{new_name}'.", 6000)
        self.refresh()
        return target

    def check_deletable(self, path: Path) -> None:
        manage.check_deletable(path)

    def move_to_trash(self, path: Path) -> bool:
        """Move the session folder to the desktop's trash; False where there is none (nothing changed)."""
        if not QtCore.QFile.moveToTrash(str(path)):
            return False
        self.app_state.say(f"Moved '{path.name}' to the trash.", 6000)
        self.refresh()
        return True

    def delete_permanently(self, path: Path) -> None:
        """Delete the session folder for good; CrossViewError when it could not be deleted completely."""
        try:
            manage.delete_session(path)
        except CrossViewError:
            self.refresh()
            raise
        self.app_state.say(f"Deleted '{path.name}'.", 6000)
        self.refresh()

    # --- replay data ----------------------------------------------------------------------------------------------
    def load_replay(self, path: str | Path) -> None:
        """Read what the replay of ``path`` shows (a task): ``replayLoaded`` or ``replayFailed``."""
        task = load_replay_task(path)
        task.succeeded.connect(lambda data, t=task: self.replayLoaded.emit(data) if t is self._replay_task else None)
        task.failed.connect(lambda exc, t=task: self.replayFailed.emit(str(exc)) if t is self._replay_task else None)
        task.ended.connect(lambda t=task: self._replay_ended(t))
        self._replay_task = task
        if not self._start(task):
            self._replay_task = None

    def forget_replay(self) -> None:
        """A replay being loaded is no longer wanted."""
        self._replay_task = None

    def _replay_ended(self, task: Task) -> None:
        if self._replay_task is task:
            self._replay_task = None

    # --- closing ------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel this presenter's tasks and wait for them (the window is closing)."""
        self._lister.stop()
        for task in [self._job, self._replay_task, *self._aux]:
            if task is not None:
                task.stop()
