"""Processing a session: MediaPipe on both views for EVERY pair, triangulation and optional refinement ->
``keypoints2d.npz`` and ``poses3d.npz`` (:func:`process_session`). No Qt.

The refinement model is the caller's: ``core`` never knows ``models``. Callers pass a hook, or a
``refine_loader`` that loads one when processing starts (the CLI passes ``models.refiner.load_refine_hook``).
Units: pixels (2D, reprojection error), metres (3D), seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import skeleton
from core.camera import CameraGroup, cameras_for_frames
from core.errors import InputError, SessionError
from core.jobs import Cancelled, Progress, null_progress
from core.pipeline import PairProcessor, PoseResult, RefineHook, TakeRefiner, process_pairs, refine_fallbacks
from core.session.journal import Poses, write_npz
from core.session.layout import KEYPOINTS_FILE, POSES_FILE, STATUS_RECORDING, now_iso
from core.session.lock import is_recording_live
from core.session.people import PeopleCollector, PeopleTable, person_poses_file, track_poses
from core.session.session import Session
from core.triangulation import DEFAULT_MIN_CONFIDENCE

__all__ = ["ProcessSummary", "RefineLoader", "process_session"]

#: Loads the refinement when processing starts: ``() -> (hook or None, a sentence saying what is used or why
#: not, the model's id)``; it never raises (a model that cannot load is "skipped: why").
RefineLoader = Callable[[], tuple[RefineHook | None, str, str]]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessSummary:
    """What :func:`process_session` found: ``frames`` pairs, how many have 3D, the median reprojection error
    (px), whether and how they were refined, and how long it took (s)."""

    session: str
    frames: int
    frames_with_3d: int
    percent_with_3d: float
    median_reprojection_error_px: float | None
    refined: bool
    refinement: str
    model: str
    seconds: float
    seconds_per_100_frames: float | None
    no_3d_reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    detector: str = ""
    """The 2D backend that ran ("multi", "single"; empty for a test's own detector)."""
    outputs: list[str] = field(default_factory=list)
    refine_fallbacks: tuple[int, int] | None = None
    """(joints the refinement's guard gave back to the coarse pose, joints refined); None without refinement."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary (``python main.py process --json``)."""
        return {
            "session": self.session,
            "frames": self.frames,
            "frames_with_3d": self.frames_with_3d,
            "percent_with_3d": self.percent_with_3d,
            "median_reprojection_error_px": self.median_reprojection_error_px,
            "refined": self.refined,
            "refinement": self.refinement,
            "model": self.model,
            "seconds": self.seconds,
            "seconds_per_100_frames": self.seconds_per_100_frames,
            "no_3d_reasons": dict(self.no_3d_reasons),
            "detector": self.detector,
            "warnings": list(self.warnings),
            "outputs": list(self.outputs),
            "refine_fallback_joints": None if self.refine_fallbacks is None else self.refine_fallbacks[0],
            "refined_joints": None if self.refine_fallbacks is None else self.refine_fallbacks[1],
        }


class _Results:
    """The per-pair results of a run, filled in as they come: keypoints ``(2, P, 17, 3)`` px, ``coarse`` and
    ``refined`` ``(P, 17, 3)`` m, errors ``(P, 17)`` px, ``status (P,)``."""

    def __init__(self, P: int) -> None:
        J = skeleton.NUM_JOINTS
        self.kp = np.full((2, P, J, 3), np.nan, np.float32)
        self.kp[..., 2] = 0.0
        self.coarse = np.full((P, J, 3), np.nan)
        self.refined = np.full((P, J, 3), np.nan)
        self.has_refined = False
        self.err = np.full((P, J), np.nan)
        self.status = np.full(P, "skipped", dtype="U16")
        self.reasons: dict[str, int] = {}
        self.done = 0
        self.people = PeopleCollector(P)

    def add(self, r: PoseResult) -> None:
        p = r.pair_index
        self.kp[:, p] = r.keypoints2d
        self.err[p] = r.reprojection_error_px
        self.status[p] = r.status
        if r.coarse is not None:
            self.coarse[p] = r.coarse
        if r.refined is not None:
            self.refined[p] = r.refined
            self.has_refined = True
        if r.reason:
            self.reasons[r.reason] = self.reasons.get(r.reason, 0) + 1
        self.people.add(p, r.people)
        self.done += 1

    def refine_take(self, take: TakeRefiner, cameras: CameraGroup, time_s: np.ndarray, warnings: list[str]) -> None:
        """Refine every pair with 3D at once (a refinement that looks ahead); a failing model leaves the coarse
        poses and says so in ``warnings``."""
        ok = self.status == "ok"
        if not ok.any():
            return
        coarse = np.where(ok[:, None, None], self.coarse, np.nan)
        try:
            kp = np.moveaxis(self.kp, 0, 1).astype(np.float64)
            refined = np.asarray(take.refine_take(kp, coarse, cameras, time_s))
        except Exception as exc:  # a failing model must not lose the processing
            log.exception("take refinement failed")
            warnings.append(f"the refinement failed ({exc}); the poses are not refined.")
            return
        if refined.shape != coarse.shape:
            warnings.append(f"the refinement returned poses of shape {refined.shape}; they were not used.")
            return
        self.refined[ok] = refined[ok]
        self.has_refined = True


def refine_fallbacks_of(summary: dict[str, Any]) -> tuple[int, int] | None:
    """(joints kept coarse by the guard, joints refined) from a summary dict (``ProcessSummary.to_dict()`` or a
    session's ``meta.processing``), or None when the run did not count them."""
    kept, refined = summary.get("refine_fallback_joints"), summary.get("refined_joints")
    if not isinstance(kept, int) or not isinstance(refined, int):
        return None
    return kept, refined


def process_session(
    session: str | os.PathLike | Session,
    refine: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    refine_hook: RefineHook | None = None,
    model_id: str = "",
    refine_loader: RefineLoader | None = None,
    detector_factory: Callable[[], Any] | None = None,
    detector: str = "",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    prefetch: int = 4,
    person: str | int = "followed",
) -> ProcessSummary:
    """Detect, triangulate (and refine) EVERY pair of a session; write ``keypoints2d.npz`` and ``poses3d.npz``.

    Both cameras' MediaPipe detectors run in parallel (:class:`core.pipeline.PairProcessor`), the videos decode
    ahead in their own threads and the refinement of pair N overlaps the detection of pair N + 1
    (:func:`core.pipeline.process_pairs`). ``refine``: use ``refine_hook`` (named ``model_id``), else the hook
    ``refine_loader()`` loads when processing starts; without either, refinement is skipped with a note.
    ``detector`` names the 2D backend ("multi" or "single", default ``core.detection.DEFAULT_DETECTOR``);
    ``detector_factory`` replaces MediaPipe (tests). Raises :class:`core.jobs.Cancelled` when ``cancel`` is set
    before every pair was processed (nothing is written).

    Everyone seen is written to ``people2d.npz`` (:mod:`core.session.people`); ``poses3d.npz`` is the followed
    person. ``person``: "followed" (default), a track id, or "all": each chosen track's 3D is also written to its own
    ``poses3d_person<ID>.npz`` (left/right repaired over the whole take, not refined).
    """
    wanted = _person_choice(person)
    t_start = time.perf_counter()
    report = progress or null_progress
    s = Session.open(session)
    _check_finished(s)
    s.check()
    cal = s.calibration()
    _, warnings = cameras_for_frames(cal.group, s.frame_sizes())
    P = len(s.pairs())
    hook, note, model = _refinement(refine, refine_hook, model_id, refine_loader)
    report(0, P, "starting the detectors")
    factory = detector_factory
    if factory is None:
        from core.detection import DEFAULT_DETECTOR
        from core.detection import detector_factory as make_factory

        detector = str(detector or DEFAULT_DETECTOR)
        factory = make_factory(detector, offline=True)
    else:
        detector = ""
    results = _Results(P)
    fresh = getattr(hook, "fresh", None)  # a hook that remembers recent frames: one of its own for this take
    hook = fresh() if callable(fresh) else hook
    take = hook if isinstance(hook, TakeRefiner) else None  # refines after every pair is triangulated
    per_pair = None if take is not None else hook
    proc = PairProcessor(cal.group, refine_hook=per_pair, min_confidence=min_confidence, detector_factory=factory)
    frames = s.iter_pairs(prefetch=prefetch)
    try:
        for r in process_pairs(frames, proc, cancel=cancel):
            results.add(r)
            report(results.done, P, f"pair {results.done}/{P}")
    finally:
        with contextlib.suppress(Exception):
            frames.close()  # type: ignore[attr-defined]
        proc.close()
    if results.done < P:
        raise Cancelled(f"processing was cancelled after {results.done} of {P} pairs; nothing was written.")
    if take is not None:
        report(P, P, "refining the whole take")
        results.refine_take(take, proc.cameras, s.time_s(), warnings)
    seconds = time.perf_counter() - t_start
    for w in proc.warnings:
        if w not in warnings:
            warnings.append(w)
    if refine and hook is not None and not results.has_refined:
        warnings.append("the refinement hook ran but produced no refined pose (see the log).")
    _write_results(s, results, model)
    outputs = _write_people(s, results.people.table(), cal.group, wanted, min_confidence, warnings)
    summary = _summary(s, results, note, model, seconds, warnings)
    fallbacks = refine_fallbacks(hook) if results.has_refined else None
    summary = dataclasses.replace(
        summary, detector=detector, outputs=summary.outputs + outputs, refine_fallbacks=fallbacks
    )
    s.meta.processing = {k: v for k, v in summary.to_dict().items() if k not in ("session", "outputs")}
    s.meta.processing["when"] = now_iso()
    s.save_meta()
    return summary


def _person_choice(person: str | int) -> str | int:
    """ "followed", "all" or a track id (int); InputError otherwise."""
    text = str(person).strip().lower()
    if text in ("followed", "all"):
        return text
    try:
        track = int(text)
    except ValueError:
        track = -1
    if track < 0:
        raise InputError(f"--person must be 'followed', 'all' or a track id (0, 1, ...), got {person!r}.")
    return track


def _write_people(
    s: Session, table: PeopleTable, group: CameraGroup, wanted: str | int, min_confidence: float, warnings: list[str]
) -> list[str]:
    """Write people2d.npz and the chosen tracks' poses3d_person<ID>.npz; returns the files written."""
    try:
        out = [str(table.write(s.path))]
        if wanted == "followed":
            return out
        seen = table.tracks()
        chosen = list(seen) if wanted == "all" else [wanted]
        if wanted != "all" and wanted not in seen:
            known = ", ".join(f"{t} ({n} pairs)" for t, n in seen.items()) or "none"
            warnings.append(f"--person {wanted}: no such person was seen by both cameras; tracks seen: {known}.")
            return out
        time_s = s.time_s()
        for track in chosen:
            path = s.path / person_poses_file(track)
            write_npz(path, track_poses(table, track, time_s, group, min_confidence).to_arrays())
            out.append(str(path))
    except OSError as exc:
        raise SessionError(f"could not write the people into '{s.path}': {exc.strerror or exc}.") from None
    if wanted == "all" and len(out) == 1:
        warnings.append("--person all: nobody was seen by both cameras, so no per-person files were written.")
    return out


def _check_finished(s: Session) -> None:
    if s.meta.status == STATUS_RECORDING:
        if is_recording_live(s.path):
            raise SessionError(f"session '{s.path}' is still being recorded; stop the recording first.")
        raise SessionError(
            f"session '{s.path}' was not finished (the app or the computer stopped while recording). Recover it "
            "first (the app offers it on start; or core.session.recover), then process it."
        )


def _refinement(
    refine: bool, refine_hook: RefineHook | None, model_id: str, refine_loader: RefineLoader | None
) -> tuple[RefineHook | None, str, str]:
    """``(hook or None, what the summary says about refinement, model id)``."""
    if not refine:
        return None, "disabled", ""
    if refine_hook is not None:
        return refine_hook, "refinement hook given by the caller", model_id
    if refine_loader is not None:
        return refine_loader()
    return None, "skipped: no refinement model was given", ""


def _write_results(s: Session, results: _Results, model: str) -> None:
    time_s = s.time_s()
    kp_arrays = {
        s.names[0]: results.kp[0],
        s.names[1]: results.kp[1],
        "time_s": time_s,
        "units": np.array("px"),
        "joint_names": np.array(skeleton.JOINT_NAMES),
    }
    refined = results.refined if results.has_refined else None
    poses = Poses(
        time_s, results.coarse, refined, results.err, results.status, model=model if results.has_refined else ""
    )
    try:
        write_npz(s.path / KEYPOINTS_FILE, kp_arrays)
        write_npz(s.path / POSES_FILE, poses.to_arrays())
    except OSError as exc:
        raise SessionError(f"could not write the results into '{s.path}': {exc.strerror or exc}.") from None


def _summary(
    s: Session, results: _Results, note: str, model: str, seconds: float, warnings: list[str]
) -> ProcessSummary:
    P = len(results.status)
    ok = results.status == "ok"
    finite_err = results.err[ok][np.isfinite(results.err[ok])]
    return ProcessSummary(
        session=str(s.path),
        frames=P,
        frames_with_3d=int(ok.sum()),
        percent_with_3d=float(100.0 * ok.mean()) if P else 0.0,
        median_reprojection_error_px=float(np.median(finite_err)) if finite_err.size else None,
        refined=results.has_refined,
        refinement=note,
        model=model if results.has_refined else "",
        seconds=seconds,
        seconds_per_100_frames=100.0 * seconds / P if P else None,
        no_3d_reasons=dict(results.reasons),
        warnings=warnings,
        outputs=[str(s.path / KEYPOINTS_FILE), str(s.path / POSES_FILE)],
    )
