"""Exporting a processed session's 3D motion: :func:`export_session` -> TRC / C3D / CSV / JSON / BVH
(:mod:`core.export`), with the world's up axis from the session's calibration. No Qt.

Units: metres and seconds in, each format's own units out (TRC metres, C3D millimetres...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExportError, InputError, SessionError
from core.export import FORMATS, export
from core.filters import butterworth_zero_phase
from core.session.session import Session

__all__ = ["ExportSummary", "export_people", "export_session"]


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_session` wrote: the file ``out``, its ``format``, ``which`` 3D ("coarse" or
    "refined"), ``frames`` (and how many with 3D), the world's up axis and why, and ``fps`` (or None)."""

    out: str
    format: str
    which: str
    frames: int
    frames_with_3d: int
    up_axis: str
    up_axis_reason: str
    fps: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary (``python main.py export --json``)."""
        return {
            "out": self.out,
            "format": self.format,
            "which": self.which,
            "frames": self.frames,
            "frames_with_3d": self.frames_with_3d,
            "up_axis": self.up_axis,
            "up_axis_reason": self.up_axis_reason,
            "fps": self.fps,
        }


def export_session(
    session: str | os.PathLike | Session,
    fmt: str,
    out: str | os.PathLike,
    which: str | None = None,
    *,
    bvh_units: str = "m",
    lowpass_hz: float | None = None,
    person: int | None = None,
) -> ExportSummary:
    """Export a processed session's 3D motion to ``out`` in ``fmt`` (one of :data:`core.export.FORMATS`).

    ``which``: "refined" or "coarse" (default: refined when the session has it, else coarse). The world's up
    axis comes from the session's calibration (:meth:`Session.world_up`). ``lowpass_hz`` (e.g. 6): filter the motion
    with a zero-phase Butterworth first (no lag; ``core.filters.butterworth_zero_phase``). ``person``: a track id
    whose own 3D ``process --person`` wrote (default: the followed person).
    """
    s = Session.open(session)
    key = str(fmt).lower().lstrip(".")
    if key not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    poses = s.poses(person)
    if poses is None and person is not None:
        have = ", ".join(str(t) for t in s.people_tracks()) or "none"
        raise SessionError(
            f"session '{s.path}' has no 3D of person {person} (tracks with their own 3D: {have}); run "
            f"`python main.py process {s.path} --person {person}` (or --person all) first."
        )
    if poses is None:
        raise SessionError(
            f"session '{s.path}' has no 3D results yet; run `python main.py process {s.path}` first, then export."
        )
    if which is None:
        which = "refined" if poses.refined is not None else "coarse"
    if which not in ("coarse", "refined"):
        raise InputError(f"--which must be 'coarse' or 'refined', got {which!r}.")
    points = poses.refined if which == "refined" else poses.coarse
    if points is None:
        raise SessionError(
            f"session '{s.path}' has no refined poses (it was processed without refinement); export --which coarse, "
            "or process it again with a refinement model installed."
        )
    up, why = s.world_up()
    fps = s.meta.fps if s.meta.fps > 0 else None
    if lowpass_hz is not None:
        if not (np.isfinite(lowpass_hz) and lowpass_hz > 0):
            raise InputError(f"the low-pass cut-off must be a positive number of Hz, got {lowpass_hz!r}.")
        rate = fps or (1.0 / float(np.median(np.diff(poses.time_s))) if len(poses.time_s) > 1 else 0.0)
        if not rate or lowpass_hz >= rate / 2:
            raise InputError(
                f"a {lowpass_hz:g} Hz low-pass needs a frame rate above {2 * lowpass_hz:g} fps; this session's is "
                f"{rate:.1f} fps. Choose a lower cut-off (6 Hz suits human motion)."
            )
        points = butterworth_zero_phase(points, rate, float(lowpass_hz))
    path = export(
        points,
        poses.time_s,
        out,
        key,
        up_axis=up,
        fps=fps,
        reprojection_error_px=poses.reprojection_error_px,
        bvh_units=bvh_units,
    )
    valid = np.isfinite(points).all(axis=-1).any(axis=-1)
    return ExportSummary(
        out=str(path),
        format=key,
        which=which + (f", low-pass {lowpass_hz:g} Hz" if lowpass_hz is not None else ""),
        frames=int(len(points)),
        frames_with_3d=int(valid.sum()),
        up_axis=up,
        up_axis_reason=why,
        fps=fps,
    )


def export_people(
    session: str | os.PathLike | Session, fmt: str, out: str | os.PathLike, **kwargs: Any
) -> list[ExportSummary]:
    """Export every track with its own 3D (``process --person all``), each to ``<out stem>_person<ID><suffix>``;
    ``kwargs`` as :func:`export_session`. SessionError when the session has no per-person 3D."""
    s = Session.open(session)
    tracks = s.people_tracks()
    if not tracks:
        raise SessionError(
            f"session '{s.path}' has no per-person 3D; run `python main.py process {s.path} --person all` first."
        )
    out = Path(out)
    return [
        export_session(s, fmt, out.with_name(f"{out.stem}_person{t}{out.suffix}"), person=t, **kwargs) for t in tracks
    ]
