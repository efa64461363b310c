"""The comparison page's presenter: :class:`ComparePresenter` (a QObject without widgets) and its verdicts.

It checks what the user chose (a recording with 2D keypoints, a new checkpoint file), runs
:func:`models.evaluate.compare_models` as a task and reports by signals; :func:`change` and :func:`verdict` say
what the figures mean (lower is better for both measures). Levels are names the stylesheet selects on.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6 import QtCore

from app.tasks import RegistryClosed, Task, TaskRegistry
from app.training.tasks import compare_task
from app.widgets.formatting import number
from core.errors import CrossViewError
from models.evaluate import Comparison
from models.sources import TrainingSource

#: The palette colour of each level of :func:`change` (the table's figures).
CHANGE_COLOURS = {"better": "ok_text", "worse": "error_text", "same": "muted"}


def fmt(v: float | None, digits: int = 2) -> str:
    """``v`` with ``digits`` decimals; ``–`` when unknown."""
    return number(v, digits)


def change(new: float, old: float) -> tuple[str, str]:
    """The relative change text (``-12.3 %``) and its level ``better`` / ``worse`` / ``same`` (lower is better);
    ``("", "same")`` when it cannot be measured."""
    if not (math.isfinite(new) and math.isfinite(old)) or old == 0:
        return "", "same"
    rel = (new - old) / abs(old) * 100
    level = "better" if rel < -0.5 else ("worse" if rel > 0.5 else "same")
    return f"{rel:+.1f} %", level


#: The label-free measures the comparison shows: key of ``Comparison.metrics``, column title. Lower is better.
MEASURES: tuple[tuple[str, str], ...] = (
    ("reproj_px", "Reprojection\nerror (px)"),
    ("bone_std_mm", "Bone-length\nstd (mm)"),
    ("jitter_mm", "Jitter\n(mm/frame²)"),
)


def verdict(r: Comparison) -> tuple[str, str]:
    """What the comparison says about the new model, and its level ``good`` / ``bad`` / ``mixed``.

    ``bad`` (worse on most measures) means "keep the current one": the page then does not offer the new model as
    the default choice."""
    old, new = r.metrics["old"], r.metrics["new"]
    keys = [k for k, _ in MEASURES if math.isfinite(old.get(k, math.nan)) and math.isfinite(new.get(k, math.nan))]
    levels = [change(new[k], old[k])[1] for k in keys]
    worse, better = levels.count("worse"), levels.count("better")
    n = len(keys)
    if n and better == n:
        return f"The new model is better than the current one on all {n} measures.", "good"
    if n and worse > n / 2:
        return (
            f"The new model is worse than the current one on {worse} of {n} measures on this recording: keep the "
            "current one.",
            "bad",
        )
    if n and worse == 0:
        return f"The new model is better on {better} of {n} measures and no worse on the others.", "good"
    return f"Mixed: the new model is better on {better} of {n} measures and worse on {worse}.", "mixed"


class ComparePresenter(QtCore.QObject):
    """Runs comparisons for the comparison page (see the module docstring)."""

    #: a :class:`models.evaluate.Comparison`
    compared = QtCore.Signal(object)
    #: the error text (also shown in the page)
    compareFailed = QtCore.Signal(str)
    #: the error shown in the page ("": none)
    errorChanged = QtCore.Signal(str)
    #: the status line under the results
    statusChanged = QtCore.Signal(str)
    #: done, total, message of the comparison running
    progressed = QtCore.Signal(int, int, str)
    #: a comparison started (True) or ended (False)
    busyChanged = QtCore.Signal(bool)

    def __init__(self, tasks: TaskRegistry, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.sources: list[TrainingSource] = []
        self.current_model: Path | None = None
        self.current_label = "shipped default"
        self.device = "auto"
        self._task: Task | None = None
        self._result: Comparison | None = None
        self.last_error: str | None = None

    def set_current_model(self, path: str | Path | None, label: str = "") -> None:
        """The app's active checkpoint (None: the shipped model), offered as what to compare against."""
        self.current_model = Path(path) if path else None
        self.current_label = label or (Path(path).name if path else "shipped default")

    def source(self, path: Path | None) -> TrainingSource | None:
        return next((s for s in self.sources if s.path == path), None)

    def is_busy(self) -> bool:
        return self._task is not None

    def result(self) -> Comparison | None:
        return self._result

    def compare(self, source: Path | None, new: Path | None, old: Path | None) -> bool:
        """Compare ``new`` with ``old`` (None: the shipped model) on ``source`` in a task; False (and an error)
        when something is missing."""
        if self._task is not None:
            return False
        self._set_error(None)
        if source is None:
            return self._fail("Choose a recording to compare on (a session with 2D keypoints).")
        if new is None:
            return self._fail("Train a model first, or choose the checkpoint file to compare.")
        src = self.source(source)
        if src is not None and src.problem:
            return self._fail(src.problem)
        labels = {
            "coarse": "Triangulation",
            "old": f"Current · {old.name if old else 'shipped default'}",
            "new": f"New · {new.name}",
        }
        task = compare_task(source, old, new, self.device, labels)
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(self._on_result)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(lambda: self.statusChanged.emit("Comparison cancelled."))
        task.ended.connect(lambda t=task: self._ended(t))
        try:
            self._tasks.start(task)
        except RegistryClosed as exc:  # the window is closing
            return self._fail(str(exc))
        self._task = task
        self.statusChanged.emit(f"Comparing on {source.name}…")
        self.busyChanged.emit(True)
        return True

    def use_model(self, new: Path | None) -> str | None:
        """The checkpoint to make the app's model ("Use this model"); None (and an error) when there is none."""
        if new is None or not new.is_file():
            self._fail("There is no new checkpoint file to use yet.")
            return None
        return str(new)

    def stop(self) -> None:
        if self._task is not None:
            self._task.stop()

    def set_result(self, r: Comparison) -> None:
        self._result = r
        self.statusChanged.emit(
            f"{r.samples} samples · {r.frames} frames of {r.pair[0]} + {r.pair[1]} · {r.seconds:.1f} s"
        )

    # --- the task ---------------------------------------------------------------------------------------------
    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progressed.emit(done, total, message)
        self.statusChanged.emit(f"Comparing: {message}…")

    def _on_result(self, r: Comparison) -> None:
        self._finish_task()
        self.set_result(r)
        self.compared.emit(r)

    def _on_failed(self, exc: BaseException) -> None:
        self._finish_task()
        text = str(exc) if isinstance(exc, CrossViewError) else f"{type(exc).__name__}: {exc}"
        self.statusChanged.emit("")
        self._fail(f"The comparison failed.\n{text}")

    def _finish_task(self) -> None:
        self._task = None
        self.busyChanged.emit(False)

    def _ended(self, task: Task) -> None:
        if self._task is task:  # cancelled
            self._finish_task()

    def _fail(self, text: str) -> bool:
        self._set_error(text)
        self.compareFailed.emit(text)
        return False

    def _set_error(self, text: str | None) -> None:
        self.last_error = text
        self.errorChanged.emit(text or "")
