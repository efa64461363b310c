"""The Sessions tab's long jobs as :class:`app.tasks.Task` s (start them with ``state.tasks.start``). Qt, no widgets.

Each wraps one ``core.session`` job: listing (:func:`scan_task`), looking for unfinished recordings
(:func:`unfinished_task`), importing, processing, exporting, recovering, and loading what a replay shows.
A cancelled import or processing ends the task as ``cancelled`` (the job raised :class:`core.jobs.Cancelled`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.tasks import Task
from core.jobs import CancelToken, Progress
from core.pipeline import RefineHook
from core.session.exporting import export_session
from core.session.importing import import_videos
from core.session.listing import scan_sessions
from core.session.processing import process_session
from core.session.recovery import find_unfinished, recover_all
from core.session.replay import load_replay_data

__all__ = [
    "default_refine_loader",
    "export_task",
    "import_task",
    "load_replay_task",
    "process_task",
    "recover_task",
    "scan_task",
    "unfinished_task",
]


def default_refine_loader() -> tuple[RefineHook | None, str, str]:
    """The shipped CV-UGCN model, loaded when processing starts without the app's active model (still loading,
    or it failed): ``(hook or None, what is used or why not, model id)``."""
    from models.refiner import load_refine_hook  # torch: imported only when processing needs it

    return load_refine_hook()


def scan_task(root: str | os.PathLike) -> Task:
    """:func:`core.session.listing.scan_sessions` (result: the rows)."""
    return Task(lambda _p, _c: scan_sessions(root), "session-scan", "Listing sessions")


def unfinished_task(root: str | os.PathLike) -> Task:
    """:func:`core.session.recovery.find_unfinished` (result: list of paths)."""
    return Task(lambda _p, _c: find_unfinished(root), "session-find-unfinished", "Looking for unfinished sessions")


def import_task(
    video_a: str,
    video_b: str,
    calibration: str,
    out: str,
    cameras: Sequence[str] | None,
    timestamps: str | None = None,
    reencode: bool = False,
) -> Task:
    """:func:`core.session.importing.import_videos` (result: its :class:`ImportSummary`)."""

    def run(progress: Progress, cancel: CancelToken) -> Any:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        return import_videos(
            video_a,
            video_b,
            calibration,
            out,
            cameras=list(cameras) if cameras else None,
            timestamps=timestamps or None,
            reencode=reencode,
            progress=progress,
            cancel=cancel,
        )

    return Task(run, "session-import", f"Importing {Path(out).name}")


def process_task(
    session: str | os.PathLike,
    refine: bool,
    refine_hook: RefineHook | None = None,
    model_id: str = "",
    detector_factory: Callable[[], Any] | None = None,
    detector: str = "",
) -> Task:
    """:func:`core.session.processing.process_session` (result: its :class:`ProcessSummary`).

    ``refine_hook``: the app's active model (``model_id`` names it); None: the shipped model, loaded in the task.
    """

    def run(progress: Progress, cancel: CancelToken) -> Any:
        return process_session(
            session,
            refine=refine,
            progress=progress,
            cancel=cancel,
            refine_hook=refine_hook if refine else None,
            model_id=model_id,
            refine_loader=default_refine_loader,
            detector_factory=detector_factory,
            detector=detector,
        )

    return Task(run, "session-process", f"Processing {Path(session).name}")


def export_task(session: str | os.PathLike, fmt: str, out: str | os.PathLike, which: str | None, **kw: Any) -> Task:
    """:func:`core.session.exporting.export_session` (result: its :class:`ExportSummary`)."""

    def run(progress: Progress, _cancel: CancelToken) -> Any:
        progress(0, 1, f"writing {Path(out).name}")
        summary = export_session(session, fmt, out, which, **kw)
        progress(1, 1, "done")
        return summary

    return Task(run, "session-export", f"Exporting {Path(session).name}")


def recover_task(paths: Sequence[str | os.PathLike]) -> Task:
    """:func:`core.session.recovery.recover_all` (result: its :class:`RecoverySummary`)."""
    return Task(lambda progress, cancel: recover_all(paths, progress, cancel), "session-recover", "Recovering sessions")


def load_replay_task(path: str | os.PathLike) -> Task:
    """:func:`core.session.replay.load_replay_data` (result: the :class:`ReplayData`)."""
    return Task(lambda _p, _c: load_replay_data(path), "session-load", f"Opening {Path(path).name}")
