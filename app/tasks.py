"""The one way the app runs long work off the GUI thread: :class:`Task` (a QThread) and :class:`TaskRegistry`.

A task runs a job of the :mod:`core.jobs` contract, ``fn(progress, cancel) -> result``, and reports by signals,
all queued to the GUI thread:

- ``progressed(done, total, message)``, throttled to :data:`PROGRESS_INTERVAL_S` (the final report always);
- ``posted(item)``: anything the job streams while it runs (a preview packet, a training report), sent through
  :meth:`Task.post`, which any thread may call;
- then exactly one of ``succeeded(result)``, ``failed(exception)`` or ``cancelled()`` (the job raised
  :class:`core.jobs.Cancelled`), and ``ended()`` last.

The :class:`TaskRegistry` (owned by the main window through :class:`app.state.AppState`) starts tasks, knows
which run, and stops them all when the window closes. Presenters compute their state from the tasks they hold.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from core.errors import CrossViewError
from core.jobs import Cancelled, CancelToken, Progress, throttled

log = logging.getLogger(__name__)

#: How often a task reports progress to the GUI at most, seconds.
PROGRESS_INTERVAL_S = 0.05
#: How long closing the window waits for each task by default, milliseconds.
DEFAULT_STOP_TIMEOUT_MS = 15000

Job = Callable[[Progress, CancelToken], Any]


class TaskState(enum.StrEnum):
    """Where a task is; the last three are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class Task(QtCore.QThread):
    """Runs ``fn(progress, cancel)`` in its own thread; see the module docstring for the signals.

    ``name`` names the thread (logs, tests); ``title`` is what the user sees ("Importing take_3").
    ``stop_timeout_ms`` is how long :meth:`stop` waits by default.
    """

    #: done, total, message
    progressed = QtCore.Signal(int, int, str)
    #: an item the job streamed with :meth:`post`
    posted = QtCore.Signal(object)
    #: the job's result
    succeeded = QtCore.Signal(object)
    #: the exception that ended the job
    failed = QtCore.Signal(object)
    #: the job stopped because it was cancelled (it raised ``core.jobs.Cancelled``)
    cancelled = QtCore.Signal()
    #: always emitted last, after one of the three above
    ended = QtCore.Signal()

    def __init__(
        self,
        fn: Job,
        name: str,
        title: str = "",
        *,
        stop_timeout_ms: int = DEFAULT_STOP_TIMEOUT_MS,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = title or name
        self.stop_timeout_ms = int(stop_timeout_ms)
        self._fn = fn
        self.token = CancelToken()
        self._report = throttled(self._emit_progress, PROGRESS_INTERVAL_S)
        self._state = TaskState.PENDING
        self.result: Any = None
        self.error: BaseException | None = None

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def state(self) -> TaskState:
        return self._state

    @property
    def was_cancelled(self) -> bool:
        return self._state is TaskState.CANCELLED

    def is_active(self) -> bool:
        """Started and not yet ended (its ``ended`` signal may still be on its way)."""
        return self._state in (TaskState.PENDING, TaskState.RUNNING) and self.isRunning()

    # --- control (any thread) -----------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop at its next check (returns at once)."""
        self.token.cancel()

    def is_cancel_requested(self) -> bool:
        return self.token.is_set()

    def stop(self, timeout_ms: int | None = None) -> bool:
        """Cancel and wait for the thread; False when it did not end in time."""
        self.token.cancel()
        if not self.isRunning():
            return True
        return self.wait(self.stop_timeout_ms if timeout_ms is None else int(timeout_ms))

    def post(self, item: object) -> None:
        """Stream ``item`` to the GUI thread as :attr:`posted` (callable from the job's thread)."""
        self.posted.emit(item)

    # --- thread -------------------------------------------------------------------------------------------------
    def _emit_progress(self, done: int, total: int, message: str = "") -> None:
        self.progressed.emit(done, total, message)

    def run(self) -> None:
        self._state = TaskState.RUNNING
        try:
            self.result = self._fn(self._report, self.token)
        except Cancelled:
            self._state = TaskState.CANCELLED
            self.cancelled.emit()
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            if not isinstance(exc, CrossViewError):
                log.exception("%s failed", self.objectName())
            self.error = exc
            self._state = TaskState.FAILED
            self.failed.emit(exc)
        else:
            self._state = TaskState.SUCCEEDED
            self.succeeded.emit(self.result)
        self.ended.emit()


class RegistryClosed(RuntimeError):  # noqa: N818 - a state, not a fault
    """The window is closing: the registry starts no new task."""


class TaskRegistry(QtCore.QObject):
    """The tasks of one window: starts them, lists the running ones, stops them all on close.

    A finished task is forgotten (and deleted later) once its ``ended`` signal reached the GUI thread.
    """

    #: a task was started
    taskStarted = QtCore.Signal(object)
    #: a task ended (after its own ``ended``)
    taskEnded = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[Task] = []
        self._closed = False

    def start(self, task: Task) -> Task:
        """Start ``task`` and keep it until it ends. Refused (:class:`RegistryClosed`) after :meth:`stop_all`."""
        if self._closed:
            raise RegistryClosed("the window is closing; no new work can start")
        self._tasks.append(task)
        # a bound slot, not a lambda: Qt drops the queued call when the registry is gone first
        task.ended.connect(self._on_task_ended, QtCore.Qt.ConnectionType.QueuedConnection)
        task.start()
        self.taskStarted.emit(task)
        return task

    def running(self) -> list[Task]:
        """Tasks started and not yet forgotten, oldest first."""
        return list(self._tasks)

    def busy(self) -> bool:
        return bool(self._tasks)

    def wait_all(self, timeout_ms: int = DEFAULT_STOP_TIMEOUT_MS) -> bool:
        """Wait (without cancelling) until every task's thread ended; False on timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        for t in list(self._tasks):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if not t.wait(left):
                return False
        return True

    def stop_all(self, close: bool = True) -> bool:
        """Cancel every task, then wait for each (its own ``stop_timeout_ms``), newest first.

        ``close``: refuse new tasks afterwards (the window is closing). False when a thread did not end.
        """
        self._closed = self._closed or close
        tasks = list(reversed(self._tasks))
        for t in tasks:
            t.cancel()
        ok = True
        for t in tasks:
            if not t.stop():
                log.warning("task %s did not stop within %d ms", t.objectName(), t.stop_timeout_ms)
                ok = False
        return ok

    @QtCore.Slot()
    def _on_task_ended(self) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._forget(task)

    def _forget(self, task: Task) -> None:
        if task in self._tasks:
            task.wait()
            self._tasks.remove(task)
            self.taskEnded.emit(task)
            task.deleteLater()


class Coalescing(QtCore.QObject):
    """One task of a kind at a time (a listing, a scan): asked while one runs, it runs once more after that one
    ends, so requests never queue up and the last one is always served.

    ``make()`` builds a fresh task (with its result slots connected); :meth:`request` starts it through
    ``tasks`` unless the window is closing.
    """

    def __init__(self, tasks: TaskRegistry, make: Callable[[], Task], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._make = make
        self._task: Task | None = None
        self._again = False

    def request(self) -> Task | None:
        """Run the task now, or once more after the running one; the task started now, else None."""
        if self._task is not None:
            self._again = True
            return None
        task = self._make()
        task.ended.connect(self._ended)
        try:
            self._tasks.start(task)
        except RegistryClosed as exc:  # nothing new starts
            log.info("%s not started: %s", task.objectName(), exc)
            return None
        self._task = task
        return task

    def running(self) -> bool:
        return self._task is not None

    def pending(self) -> bool:
        """Asked again while the current task runs (it will run once more)."""
        return self._again

    def task(self) -> Task | None:
        return self._task

    def stop(self) -> None:
        """Cancel the running task and wait for it; nothing runs again."""
        self._again = False
        if self._task is not None:
            self._task.stop()

    @QtCore.Slot()
    def _ended(self) -> None:
        if self.sender() is not self._task:
            return
        self._task = None
        if self._again:
            self._again = False
            self.request()
