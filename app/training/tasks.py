"""The Training tab's long work as :class:`app.tasks.Task`\\ s (the jobs are in ``models``; torch loads there).

- :func:`training_task`: :func:`models.train_process.run_training_process` (training in a separate process); its
  events arrive as ``posted((kind, payload))``, the :class:`models.reports.TrainResult` as ``succeeded``.
- :func:`probe_task`, :func:`scan_task`, :func:`checkpoint_task`, :func:`compare_task`: the environment (torch,
  a GPU), the recordings, a starting checkpoint's summary, and a comparison of two models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.tasks import Task
from core.jobs import CancelToken, Progress
from models.evaluate import Comparison, compare_models
from models.reports import TrainResult
from models.sources import checkpoint_info, probe_environment, scan_training_sources
from models.train_process import TrainingControls, TrainingPlan, run_training_process

#: How long stopping waits for the training process to end cleanly before it is killed, milliseconds.
TRAINING_STOP_TIMEOUT_MS = 60_000
#: How long a killed training process is waited for, milliseconds.
KILL_WAIT_MS = 10_000


def training_task(plan: TrainingPlan, controls: TrainingControls) -> Task:
    """Train ``plan`` in a separate process, paused / resumed / killed through ``controls``; cancelling the task
    stops the run after the current batch (the best checkpoint so far is kept)."""
    task: Task

    def job(progress: Progress, cancel: CancelToken) -> TrainResult:
        return run_training_process(plan, lambda kind, payload: task.post((kind, payload)), progress, cancel, controls)

    task = Task(job, "training-worker", f"Training {plan.out.name}", stop_timeout_ms=TRAINING_STOP_TIMEOUT_MS)
    return task


def stop_training_task(task: Task, controls: TrainingControls) -> bool:
    """Stop a training task and wait (the window is closing): the process ends after its batch, or it is killed
    after :data:`TRAINING_STOP_TIMEOUT_MS`. False when even that did not end it."""
    if task.stop():
        return True
    controls.kill()
    return task.wait(KILL_WAIT_MS)


def probe_task() -> Task:
    return Task(lambda _p, _c: probe_environment(), "training-probe", "Looking for a GPU")


def scan_task(root: str | Path, extra: Sequence[str | Path] = ()) -> Task:
    extra = list(extra)
    return Task(lambda _p, _c: scan_training_sources(root, extra), "training-scan", "Listing recordings")


def checkpoint_task(path: str | Path | None) -> Task:
    return Task(lambda _p, _c: checkpoint_info(path), "training-checkpoint", "Reading the checkpoint")


def compare_task(
    source: str | Path, old: str | Path | None, new: str | Path, device: str = "auto", labels: dict | None = None
) -> Task:
    """:func:`models.evaluate.compare_models` in a task (result: a :class:`models.evaluate.Comparison`)."""

    def run(progress: Progress, cancel: CancelToken) -> Comparison:
        return compare_models(source, old, new, device, labels, progress, cancel)

    return Task(run, "training-compare", f"Comparing models on {Path(source).name}")
