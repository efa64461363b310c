"""TRC (OpenSim, Pose2Sim): metres in the Y-up frame; written and read back."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.export.files import check_target, write_file
from core.export.motion import ExportMotion, ExportOptions, fmt_rate
from core.skeleton import MARKER_NAMES


def trc_writer(path: Path, motion: ExportMotion, options: ExportOptions) -> Path:
    """Write an OpenSim TRC file: metres, Y-up (:func:`up_axis_rotation`), markers ``core.skeleton.MARKER_NAMES``.

    Layout is Pose2Sim's byte for byte in the header (5 tab-separated lines: ``PathFileType 4 (X/Y/Z) <name>``,
    the 8 metadata keys, their values, ``Frame#  Time  <marker>...`` with each name followed by two empty
    fields, then ``X1 Y1 Z1 ...``), data rows ``Frame#`` from 1, ``Time`` = ``time_s`` as given, 6 decimals.

    Missing coordinates are written as ``NaN``. Pose2Sim writes empty fields (pandas' default); OpenSim 4's
    TRCFileAdapter reads both empty fields and ``NaN`` (strtod) as missing, but its tokenizer drops an *empty
    last field*, so a row whose last marker is missing and written as empty fields fails its column count,
    and older OpenSim versions merge consecutive tabs. ``NaN`` keeps every row the same width for OpenSim,
    Pose2Sim (pandas) and numpy readers.

    The ``"trc"`` entry of :data:`core.export.WRITERS` (the reprojection errors and ``options`` are not used).
    """
    m = motion.checked()
    check_target(path)
    P = len(m.points)
    M = len(MARKER_NAMES)
    rate = fmt_rate(m.fps)
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{Path(path).name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        "\t".join([rate, rate, str(P), str(M), "m", rate, "1", str(P)]),
        "Frame#\tTime\t" + "\t\t\t".join(MARKER_NAMES) + "\t\t",
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, M + 1)),
    ]
    xyz = m.yup().reshape(P, 3 * M)
    row = "%d\t%.6f" + "\t%.6f" * (3 * M)
    body = "\n".join(row % (i + 1, t, *r) for i, (t, r) in enumerate(zip(m.time_s.tolist(), xyz.tolist())))
    text = "\n".join(header) + "\n" + body.replace("nan", "NaN") + "\n"
    return write_file(path, text.encode("utf-8"))


@dataclass(frozen=True)
class TrcData:
    """A TRC file read back: ``points`` ``(F, M, 3)`` in metres (converted from the file's ``units``)."""

    marker_names: tuple[str, ...]
    frame: np.ndarray  # (F,) int, the Frame# column
    time_s: np.ndarray  # (F,) seconds
    points: np.ndarray  # (F, M, 3) metres, NaN missing
    units: str  # the file's Units field ('m', 'mm', 'cm')
    data_rate: float


_UNIT_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}


def _read_header(path: Path, lines: list[str]) -> tuple[tuple[str, ...], float, str]:
    """``(marker names, DataRate, units)`` of a TRC's 5-line header; InputError when it is not one."""
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise InputError(f"{path} is not a TRC file (it must start with a 5-line 'PathFileType' header).")
    keys = [k for k in lines[1].strip().split("\t") if k]
    vals = [v for v in lines[2].strip().split("\t") if v]
    meta = dict(zip(keys, vals))
    try:
        n_markers = int(meta["NumMarkers"])
        rate = float(meta["DataRate"])
    except (KeyError, ValueError) as exc:
        raise InputError(f"{path}: the TRC header lacks a valid NumMarkers/DataRate ({exc}).") from exc
    units = meta.get("Units", "m").strip().lower()
    if units not in _UNIT_TO_M:
        raise InputError(f"{path}: unknown TRC Units {units!r}; expected m, mm or cm.")
    names = tuple(n.strip() for n in lines[3].split("\t")[2:] if n.strip())
    if len(names) != n_markers:
        raise InputError(f"{path}: header says {n_markers} markers but names {len(names)}.")
    return names, rate, units


def read_trc(path: str | os.PathLike[str]) -> TrcData:
    """Read a TRC file (ours, Pose2Sim's, OpenSim's): empty fields and ``NaN`` are missing; units to metres."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read TRC file {path}: {exc.strerror or exc}.") from exc
    names, rate, units = _read_header(path, lines)
    n_markers = len(names)
    width = 2 + 3 * n_markers
    rows = []
    for line in lines[5:]:
        fields = line.rstrip("\r\n").split("\t")
        if not line.strip():
            continue
        fields = (fields + [""] * width)[:width]
        rows.append([f.strip() or "nan" for f in fields])
    try:
        data = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    except ValueError as exc:
        raise InputError(f"{path}: a TRC data row holds a non-number ({exc}).") from exc
    pts = data[:, 2:].reshape(len(rows), n_markers, 3) * _UNIT_TO_M[units]
    return TrcData(names, data[:, 0].astype(np.int64), data[:, 1], pts, units, rate)
