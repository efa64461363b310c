"""Export 3D motion to other tools: TRC (OpenSim), C3D, wide CSV, JSON and BVH (Blender); read TRC back.

Every exporter takes the same input, an :class:`ExportMotion` (see :mod:`core.export.motion`): points
``(P, 17, 3)`` metres in the session world frame (H36M-17, NaN missing), ``time_s`` ``(P,)`` seconds, the
world's up axis, the fps, and optionally reprojection errors ``(P, 17)`` pixels.

Frames and units per format (one module each, one entry each in :data:`WRITERS`):

- TRC (:mod:`.trc`): OpenSim Y-up frame (:func:`up_axis_rotation`), metres; missing = ``NaN``.
- C3D (:mod:`.c3d`): the same Y-up frame, millimetres; missing = residual -1 with coordinates 0.
- CSV (:mod:`.csv_json`): the session world frame, metres / seconds / pixels; missing = empty field.
- JSON (:mod:`.csv_json`): the session world frame (plus the rotation to Y-up), metres / seconds / pixels;
  missing = ``null``.
- BVH (:mod:`.bvh_writer`): Y-up, rooted at the pelvis, metres (or centimetres) and degrees; gaps interpolated.
  Reading a BVH back is :mod:`core.bvh`'s.

Every file is written to a temporary file in the target folder and renamed over the target only when it is
complete (:mod:`.files`), so a failed export never leaves a half-written file behind.

A new format is one module with a :data:`~core.export.motion.Writer` (``writer(path, motion, options)``) and
one entry in :data:`WRITERS`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.export.bvh_writer import bvh_writer, save_bvh, skeleton_to_bvh, write_bvh
from core.export.c3d import c3d_writer
from core.export.csv_json import csv_columns, csv_writer, json_writer
from core.export.motion import ExportMotion, ExportOptions, Writer, to_yup, up_axis_rotation
from core.export.trc import TrcData, read_trc, trc_writer

__all__ = [
    "FORMATS",
    "WRITERS",
    "ExportError",
    "ExportMotion",
    "ExportOptions",
    "TrcData",
    "Writer",
    "csv_columns",
    "export",
    "format_from_path",
    "read_trc",
    "save_bvh",
    "skeleton_to_bvh",
    "to_yup",
    "up_axis_rotation",
    "write_bvh",
]

#: The writer of each export format, in the order shown to users.
WRITERS: dict[str, Writer] = {
    "trc": trc_writer,
    "c3d": c3d_writer,
    "csv": csv_writer,
    "json": json_writer,
    "bvh": bvh_writer,
}

#: The export formats, in the order shown to users.
FORMATS: tuple[str, ...] = tuple(WRITERS)
_SUFFIXES = {f".{f}": f for f in FORMATS}


def format_from_path(path: str | os.PathLike[str]) -> str:
    """The export format named by a file's suffix (``.trc`` -> ``"trc"``); ExportError if unknown."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ExportError(
            f"cannot tell the export format from {str(path)!r} (suffix {suffix or 'none'!r}); "
            f"use one of the formats {', '.join(FORMATS)} (suffixes {', '.join(_SUFFIXES)}) or pass fmt."
        )
    return _SUFFIXES[suffix]


def export(
    points: np.ndarray,
    time_s: np.ndarray,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    up_axis: str,
    fps: float | None = None,
    reprojection_error_px: np.ndarray | None = None,
    bvh_units: str = "m",
) -> Path:
    """Write ``points`` ``(P, 17, 3)`` m (world frame) at ``time_s`` ``(P,)`` s to ``path`` in format ``fmt``.

    ``fmt`` is one of :data:`FORMATS` (default: from the path's suffix). ``reprojection_error_px`` ``(P, 17)`` is
    written by CSV and JSON only; ``bvh_units`` (``"m"`` or ``"cm"``) by BVH only. Returns the path written.
    Raises :class:`ExportError` for bad input, an unknown format or an unwritable path.
    """
    path = Path(path)
    if fmt is None:
        fmt = format_from_path(path)
    key = str(fmt).lower().lstrip(".")
    if key not in WRITERS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    motion = ExportMotion(points, time_s, up_axis, fps, reprojection_error_px)
    return WRITERS[key](path, motion, ExportOptions(bvh_units=bvh_units))
