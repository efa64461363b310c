"""The calibration feature's tasks: the capture loop and the solve, as :class:`app.tasks.Task`. Qt only.

The work itself is Qt-free (:class:`calibration.live.CaptureJob`, :func:`calibration.run.solve_run`); a task
runs it in its own thread and reports by signals (the capture's notices arrive as ``posted`` items).
"""

from __future__ import annotations

from app.tasks import Task
from calibration.live import CaptureControl, CaptureJob
from calibration.person_videos import PersonInputs, run_person_calibration
from calibration.run import CalibrationRun, solve_run

#: How long stopping a capture waits for its thread, milliseconds.
CAPTURE_STOP_MS = 5000
#: How long stopping a solve waits for its thread (it stops between two solver steps), milliseconds.
SOLVE_STOP_MS = 10000


def capture_task(run: CalibrationRun, mode: str, control: CaptureControl) -> Task:
    """A task that plays ``run``'s feed for ``mode`` ("cam0", "cam1", "pairs"); each
    :class:`calibration.live.CaptureNotice` arrives as ``posted``, packets wait in ``control.take_packet()``."""

    def post(notice: object) -> None:
        task.post(notice)

    task = Task(
        CaptureJob(run, mode, control, on_notice=post),
        "calibration-capture",
        f"Calibration capture ({mode})",
        stop_timeout_ms=CAPTURE_STOP_MS,
    )
    return task


def solve_task(run: CalibrationRun) -> Task:
    """A task that solves ``run`` (progress in thousandths) and succeeds with a
    :class:`calibration.run.SolveOutcome`; cancelling it ends in ``cancelled``."""
    return Task(
        lambda progress, cancel: solve_run(run, progress, cancel),
        "calibration-solve",
        "Calibrating",
        stop_timeout_ms=SOLVE_STOP_MS,
    )


def person_task(inputs: PersonInputs) -> Task:
    """A task that calibrates from two videos of a person (:func:`calibration.person_videos.run_person_calibration`);
    each :class:`~calibration.person_videos.CoverageUpdate` arrives as ``posted``, the result as ``succeeded``."""

    def job(progress, cancel):  # noqa: ANN001, ANN202 - the Task contract
        return run_person_calibration(inputs, progress, cancel, on_coverage=task.post)

    task = Task(job, "calibration-person", "Calibrating from a person", stop_timeout_ms=SOLVE_STOP_MS)
    return task
