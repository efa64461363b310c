"""Export 3D motion to other tools: TRC (OpenSim), C3D, wide CSV, JSON and BVH (Blender); read TRC and BVH back.

Every exporter takes the same input:

- ``points`` ``(P, 17, 3)`` metres in the session's world frame, H36M-17 order (``core.skeleton``), NaN where
  a joint is missing;
- ``time_s`` ``(P,)`` seconds, strictly increasing;
- ``up_axis``: the world's up axis as a spec string (``"+z"`` for a Z-up lab or floor frame, ``"-y"`` for
  camera 1's frame: x right, y down, z forward);
- ``fps``: the frame rate (estimated from ``time_s`` when not given);
- optionally ``reprojection_error_px`` ``(P, 17)`` pixels (kept by the CSV and JSON formats).

Frames and units per format:

- TRC: OpenSim Y-up frame (:func:`up_axis_rotation`), metres; missing = ``NaN`` (see :func:`write_trc`).
- C3D: the same Y-up frame, millimetres; missing = residual -1 with coordinates 0.
- CSV: the session world frame, metres / seconds / pixels; missing = empty field.
- JSON: the session world frame (plus the rotation to Y-up), metres / seconds / pixels; missing = ``null``.
- BVH: Y-up, rooted at the pelvis, metres (or centimetres) and degrees; gaps interpolated.

Every file is written to a temporary file in the target folder and renamed over the target only when it is
complete, so a failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ExportError, InputError
from core.skeleton import BONES, JOINT_NAMES, JOINT_PART, MARKER_NAMES, NUM_JOINTS, PARENTS, PART_NAMES, SIDE
from core.up_axis import rotation_to_y_up

__all__ = [
    "FORMATS",
    "BvhMotion",
    "ExportError",
    "TrcData",
    "bvh_forward_kinematics",
    "bvh_joint_positions",
    "csv_columns",
    "export",
    "format_from_path",
    "read_bvh",
    "read_trc",
    "save_bvh",
    "skeleton_to_bvh",
    "to_yup",
    "up_axis_rotation",
    "write_bvh",
    "write_c3d",
    "write_csv",
    "write_json",
    "write_trc",
]

#: The export formats, in the order shown to users.
FORMATS: tuple[str, ...] = ("trc", "c3d", "csv", "json", "bvh")
_SUFFIXES = {f".{f}": f for f in FORMATS}


# ----------------------------------------------------------------------------- frames


def up_axis_rotation(up_axis: str) -> np.ndarray:
    """Rotation ``(3, 3)`` from a world frame with the given up axis to an OpenSim-style Y-up frame.

    Apply as ``p_yup = R @ p_world``; the convention is :func:`core.up_axis.rotation_to_y_up`'s. An unknown
    axis raises :class:`ExportError`.
    """
    try:
        return rotation_to_y_up(up_axis)
    except InputError as exc:
        raise ExportError(str(exc)) from None


def to_yup(points: np.ndarray, up_axis: str) -> np.ndarray:
    """World points ``(..., 3)`` to the OpenSim Y-up frame of :func:`up_axis_rotation` (same unit, NaN kept)."""
    return np.asarray(points, dtype=np.float64) @ up_axis_rotation(up_axis).T


# ----------------------------------------------------------------------------- input checks and file writing


@dataclass(frozen=True)
class _Motion:
    points: np.ndarray  # (P, 17, 3) metres, world frame, NaN missing
    time_s: np.ndarray  # (P,)
    fps: float
    up_axis: str
    error_px: np.ndarray | None  # (P, 17) or None


def _check_motion(
    points: np.ndarray,
    time_s: np.ndarray,
    up_axis: str,
    fps: float | None,
    reprojection_error_px: np.ndarray | None = None,
) -> _Motion:
    try:
        pts = np.array(points, dtype=np.float64)
        t = np.array(time_s, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"points and time_s must be numeric arrays ({exc}).") from exc
    if pts.ndim != 3 or pts.shape[1:] != (NUM_JOINTS, 3):
        raise ExportError(
            f"points must have shape (P, {NUM_JOINTS}, 3) (H36M-17 joints, metres), got {pts.shape}; "
            "map detector keypoints to H36M-17 with core.skeleton first."
        )
    P = len(pts)
    if P == 0:
        raise ExportError("nothing to export: the motion has 0 frames. Record or load a session with frames first.")
    if len(t) != P:
        raise ExportError(f"time_s has {len(t)} values but points has {P} frames; give one time per frame.")
    if not np.all(np.isfinite(t)):
        raise ExportError("time_s contains NaN or infinite values; every frame needs a finite time in seconds.")
    if P > 1 and np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ExportError(
            f"time_s must increase strictly, but frame {i + 1} (t={t[i + 1]:.6f} s) does not come after frame {i} "
            f"(t={t[i]:.6f} s); drop duplicated frames or sort them by time."
        )
    pts[~np.isfinite(pts).all(axis=-1)] = np.nan  # a joint is either fully known or missing
    up_axis_rotation(up_axis)  # validates the spec
    if fps is None:
        if P < 2:
            raise ExportError("cannot estimate the frame rate from a single frame; pass fps explicitly.")
        fps = 1.0 / float(np.median(np.diff(t)))
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ExportError(f"fps must be a positive number of frames per second, got {fps!r}.")
    err = None
    if reprojection_error_px is not None:
        err = np.array(reprojection_error_px, dtype=np.float64)
        if err.shape != (P, NUM_JOINTS):
            raise ExportError(
                f"reprojection_error_px must have shape ({P}, {NUM_JOINTS}) (pixels per frame and joint), "
                f"got {err.shape}."
            )
        err[~np.isfinite(err)] = np.nan
    return _Motion(pts, t, fps, up_axis, err)


def _check_target(path: str | os.PathLike[str]) -> Path:
    """The output path, checked before any work: not a folder, in an existing folder."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder; give a file name such as {path / 'motion.trc'}.")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(
            f"cannot write {path}: the folder {folder} does not exist (or is not a folder); "
            "choose an existing folder or create it first."
        )
    return path


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed when complete."""
    path = _check_target(path)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(
            f"cannot write {path}: {exc.strerror or exc}; choose a folder you are allowed to write to."
        ) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(
            f"cannot write {path}: {exc.strerror or exc}; check the disk has space and the file is not open "
            "in another program."
        ) from exc
    return path


def _fmt_rate(fps: float) -> str:
    """A frame rate as TRC/JSON text: '60' for integral rates, else up to 6 significant digits."""
    return str(int(round(fps))) if abs(fps - round(fps)) < 1e-9 else f"{fps:.6g}"


# ----------------------------------------------------------------------------- dispatch


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
    if key not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    if key == "trc":
        return write_trc(path, points, time_s, up_axis=up_axis, fps=fps)
    if key == "c3d":
        return write_c3d(path, points, time_s, up_axis=up_axis, fps=fps)
    if key == "csv":
        return write_csv(path, points, time_s, up_axis=up_axis, fps=fps, reprojection_error_px=reprojection_error_px)
    if key == "json":
        return write_json(path, points, time_s, up_axis=up_axis, fps=fps, reprojection_error_px=reprojection_error_px)
    return write_bvh(path, points, time_s, up_axis=up_axis, fps=fps, units=bvh_units)


# ----------------------------------------------------------------------------- TRC


def write_trc(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
) -> Path:
    """Write an OpenSim TRC file: metres, Y-up (:func:`up_axis_rotation`), markers ``core.skeleton.MARKER_NAMES``.

    Layout is Pose2Sim's byte for byte in the header (5 tab-separated lines: ``PathFileType 4 (X/Y/Z) <name>``,
    the 8 metadata keys, their values, ``Frame#  Time  <marker>...`` with each name followed by two empty
    fields, then ``X1 Y1 Z1 ...``), data rows ``Frame#`` from 1, ``Time`` = ``time_s`` as given, 6 decimals.

    Missing coordinates are written as ``NaN``. Pose2Sim writes empty fields (pandas' default); OpenSim 4's
    TRCFileAdapter reads both empty fields and ``NaN`` (strtod) as missing, but its tokenizer drops an *empty
    last field*, so a row whose last marker is missing and written as empty fields fails its column count,
    and older OpenSim versions merge consecutive tabs. ``NaN`` keeps every row the same width for OpenSim,
    Pose2Sim (pandas) and numpy readers.
    """
    m = _check_motion(points, time_s, up_axis, fps)
    _check_target(path)
    P = len(m.points)
    M = len(MARKER_NAMES)
    rate = _fmt_rate(m.fps)
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{Path(path).name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        "\t".join([rate, rate, str(P), str(M), "m", rate, "1", str(P)]),
        "Frame#\tTime\t" + "\t\t\t".join(MARKER_NAMES) + "\t\t",
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, M + 1)),
    ]
    xyz = to_yup(m.points, m.up_axis).reshape(P, 3 * M)
    row = "%d\t%.6f" + "\t%.6f" * (3 * M)
    body = "\n".join(row % (i + 1, t, *r) for i, (t, r) in enumerate(zip(m.time_s.tolist(), xyz.tolist())))
    text = "\n".join(header) + "\n" + body.replace("nan", "NaN") + "\n"
    return _write_atomic(Path(path), text.encode("utf-8"))


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


def read_trc(path: str | os.PathLike[str]) -> TrcData:
    """Read a TRC file (ours, Pose2Sim's, OpenSim's): empty fields and ``NaN`` are missing; units to metres."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read TRC file {path}: {exc.strerror or exc}.") from exc
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


# ----------------------------------------------------------------------------- C3D


def write_c3d(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
) -> Path:
    """Write a C3D file (float format, Intel): millimetres in the same Y-up frame as the TRC export.

    ``POINT:UNITS = "mm"``, ``POINT:LABELS`` = ``MARKER_NAMES``, ``POINT:DESCRIPTIONS`` = ``JOINT_NAMES``,
    ``POINT:RATE`` = fps, ``POINT:X_SCREEN/Y_SCREEN = +X/+Y`` (Y up), first frame 1. Residuals: 0 for a
    valid point (computed, not measured, per the C3D convention), -1 and coordinates 0 for a missing one.
    Frames are assumed evenly spaced at ``fps`` (C3D stores no per-frame times).
    """
    import c3d  # local import: only this format needs the package

    m = _check_motion(points, time_s, up_axis, fps)
    _check_target(path)
    P = len(m.points)
    xyz_mm = to_yup(m.points, m.up_axis) * 1000.0
    valid = np.isfinite(xyz_mm).all(axis=-1)
    raw = np.zeros((P, NUM_JOINTS, 4), dtype="<f4")
    raw[..., :3] = np.where(valid[..., None], xyz_mm, 0.0)
    raw[..., 3] = np.where(valid, 0.0, -1.0)

    class _Writer(c3d.Writer):
        # c3d 0.6 writes frame by frame and leaves stale coordinates on invalid points; write all at once.
        def _write_frames(self, handle):  # type: ignore[override]
            handle.write(raw.tobytes())
            self._pad_block(handle)

    writer = _Writer(point_rate=m.fps, analog_rate=0.0, point_scale=-1.0, point_units="mm")
    writer.set_point_labels(list(MARKER_NAMES))
    width = max(len(n) for n in JOINT_NAMES)
    writer.point_group.add_str(
        "DESCRIPTIONS", "H36M-17 joint of each point", "".join(n.ljust(width) for n in JOINT_NAMES), width, NUM_JOINTS
    )
    writer.set_screen_axis("+X", "+Y")
    writer.set_start_frame(1)
    placeholder = (np.zeros((NUM_JOINTS, 5), np.float32), np.zeros((0, 0), np.float32))
    writer.add_frames([placeholder] * P)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No analog data found")
        writer.write(buf)
    return _write_atomic(Path(path), buf.getvalue())


# ----------------------------------------------------------------------------- CSV


def csv_columns() -> list[str]:
    """The wide CSV columns: frame, time_s, ``<joint>_x/_y/_z`` for every joint, then ``<joint>_err``."""
    xyz = [f"{n}_{a}" for n in JOINT_NAMES for a in "xyz"]
    return ["frame", "time_s", *xyz, *(f"{n}_err" for n in JOINT_NAMES)]


def write_csv(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
    reprojection_error_px: np.ndarray | None = None,
) -> Path:
    """Write a wide CSV, one row per frame, columns :func:`csv_columns` (joint names = ``JOINT_NAMES``).

    Line 1 is a ``#`` comment stating units and frame: positions in metres in the session world frame (its
    up axis is named), time in seconds, ``_err`` = reprojection error in pixels. Line 2 is the header. ``frame``
    is the 0-based session frame index. Missing values are empty fields. Read with
    ``pandas.read_csv(path, comment="#")`` or ``numpy.genfromtxt(path, delimiter=",", skip_header=2)``.
    """
    m = _check_motion(points, time_s, up_axis, fps, reprojection_error_px)
    _check_target(path)
    P = len(m.points)
    err = m.error_px if m.error_px is not None else np.full((P, NUM_JOINTS), np.nan)
    comment = (
        "# CrossView 3D joints (H36M-17). Units: time_s in seconds (s); <joint>_x,_y,_z in metres (m) in the "
        f"session world frame, up axis {m.up_axis.strip()}; <joint>_err = reprojection error in pixels (px). "
        f"fps={_fmt_rate(m.fps)}. Empty field = missing."
    )
    row = "%d,%.6f," + ",".join(["%.6f"] * (3 * NUM_JOINTS)) + "," + ",".join(["%.3f"] * NUM_JOINTS)
    data = np.concatenate([m.points.reshape(P, -1), err], axis=1).tolist()
    body = "\n".join(row % (i, t, *r) for i, (t, r) in enumerate(zip(m.time_s.tolist(), data)))
    text = comment + "\n" + ",".join(csv_columns()) + "\n" + body.replace(",nan", ",") + "\n"
    return _write_atomic(Path(path), text.encode("utf-8"))


# ----------------------------------------------------------------------------- JSON


def write_json(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
    reprojection_error_px: np.ndarray | None = None,
) -> Path:
    """Write one self-describing JSON document (UTF-8), one frame per line.

    Top-level keys: ``format`` ("crossview-motion"), ``version`` (1), ``units`` (position m, time s,
    reprojection error px), ``frame`` (the session world frame), ``up_axis``, ``to_yup_rotation`` (3x3, rows,
    see :func:`up_axis_rotation`), ``fps``, ``num_frames``, ``joint_names``, ``marker_names``, ``bones``
    (``[parent, child]`` joint names), ``parents`` (indices, -1 root) and ``frames``: a list of
    ``{"frame": i, "time_s": t, "joints": [[x, y, z] | null, ...17], "reprojection_error_px": [e | null, ...17]}``
    (the error list only when errors were given). A joint with any missing coordinate is ``null``.
    """
    m = _check_motion(points, time_s, up_axis, fps, reprojection_error_px)
    _check_target(path)
    valid = np.isfinite(m.points).all(axis=-1)
    joints = np.round(m.points, 6).tolist()
    for f, j in np.argwhere(~valid).tolist():
        joints[f][j] = None
    errors = None
    if m.error_px is not None:
        errors = np.round(m.error_px, 3).tolist()
        for f, j in np.argwhere(~np.isfinite(m.error_px)).tolist():
            errors[f][j] = None
    head = {
        "format": "crossview-motion",
        "version": 1,
        "units": {"position": "m", "time": "s", "reprojection_error": "px"},
        "frame": "session world frame",
        "up_axis": m.up_axis.strip(),
        "to_yup_rotation": up_axis_rotation(m.up_axis).tolist(),
        "fps": m.fps,
        "num_frames": len(m.points),
        "joint_names": list(JOINT_NAMES),
        "marker_names": list(MARKER_NAMES),
        "bones": [[JOINT_NAMES[a], JOINT_NAMES[b]] for a, b in BONES.tolist()],
        "parents": PARENTS.tolist(),
    }
    lines = []
    for i, (t, js) in enumerate(zip(m.time_s.tolist(), joints)):
        frame: dict[str, object] = {"frame": i, "time_s": round(t, 6), "joints": js}
        if errors is not None:
            frame["reprojection_error_px"] = errors[i]
        lines.append(json.dumps(frame, separators=(",", ":"), allow_nan=False))
    text = json.dumps(head, indent=1)[:-2] + ',\n "frames": [\n' + ",\n".join(lines) + "\n ]\n}\n"
    return _write_atomic(Path(path), text.encode("utf-8"))


# ----------------------------------------------------------------------------- rotations (batched)


def _axis_rotation(axis: int, angle_rad: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about coordinate axis 0/1/2 by ``angle_rad`` ``(...)``."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    R = np.zeros((*np.shape(angle_rad), 3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def _zxy_from_matrix(R: np.ndarray) -> np.ndarray:
    """Euler angles ``(..., 3)`` radians ``(z, x, y)`` with ``R = Rz(z) @ Rx(x) @ Ry(y)`` for ``R`` ``(..., 3, 3)``."""
    sx = np.clip(R[..., 2, 1], -1.0, 1.0)
    x = np.arcsin(sx)
    z = np.arctan2(-R[..., 0, 1], R[..., 1, 1])
    y = np.arctan2(-R[..., 2, 0], R[..., 2, 2])
    lock = np.abs(sx) > 1.0 - 1e-10  # gimbal lock: put all of the z/y rotation on z
    z = np.where(lock, np.arctan2(R[..., 1, 0], R[..., 0, 0]), z)
    y = np.where(lock, 0.0, y)
    return np.stack([z, x, y], axis=-1)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors ``(..., 3)`` and a validity mask ``(...)`` (finite, non-zero length)."""
    n = np.linalg.norm(v, axis=-1)
    ok = np.isfinite(n) & (n > 1e-12)
    u = np.where(ok[..., None], v / np.where(ok, n, 1.0)[..., None], 0.0)
    return u, ok


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-angle rotations ``(..., 3, 3)`` taking unit ``a`` onto unit ``b`` (both ``(..., 3)``).

    Anti-parallel pairs turn by 180 degrees about an axis perpendicular to ``a``.
    """
    a, b = np.broadcast_arrays(a, b)
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)
    K = np.zeros((*v.shape[:-1], 3, 3))
    K[..., 0, 1], K[..., 0, 2] = -v[..., 2], v[..., 1]
    K[..., 1, 0], K[..., 1, 2] = v[..., 2], -v[..., 0]
    K[..., 2, 0], K[..., 2, 1] = -v[..., 1], v[..., 0]
    eye = np.broadcast_to(np.eye(3), K.shape)
    opposite = c < -1.0 + 1e-9
    R = eye + K + (K @ K) / np.where(opposite, 1.0, 1.0 + c)[..., None, None]
    if np.any(opposite):
        # axis: a crossed with the basis vector least aligned with it
        e = np.eye(3)[np.argmin(np.abs(a), axis=-1)]
        axis, _ = _unit(np.cross(a, e))
        flip = 2.0 * axis[..., :, None] * axis[..., None, :] - eye
        R = np.where(opposite[..., None, None], flip, R)
    return R


def _kabsch(rest: np.ndarray, target: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations ``(P, 3, 3)`` minimising ``sum_k w |R rest_k - target_k|^2``, and a well-posed mask ``(P,)``.

    ``rest`` ``(K, 3)``, ``target`` ``(P, K, 3)``, ``weight`` ``(P, K)``. Ill-posed frames (all weighted vectors
    parallel, or none) are flagged False.
    """
    H = np.einsum("pk,ki,pkj->pij", weight, rest, np.nan_to_num(target))
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.swapaxes(Vt, -1, -2) @ np.swapaxes(U, -1, -2)))
    d = np.where(d == 0, 1.0, d)
    D = np.zeros_like(H)
    D[:, 0, 0] = 1.0
    D[:, 1, 1] = 1.0
    D[:, 2, 2] = d
    R = np.swapaxes(Vt, -1, -2) @ D @ np.swapaxes(U, -1, -2)
    ok = S[:, 1] > 1e-6 * np.maximum(S[:, 0], 1e-300)
    return R, ok


# ----------------------------------------------------------------------------- BVH data, reader, FK


@dataclass(frozen=True)
class BvhMotion:
    """A BVH skeleton and its motion.

    Nodes are in file (depth-first) order; End Sites are nodes too, named ``<parent>_end`` (``is_end_site``).
    ``offsets`` ``(N, 3)`` and position channels are in the file's unit times the reader's ``scale``; rotations
    are degrees. ``values`` ``(F, C)`` holds every channel of every frame in file order.
    """

    names: tuple[str, ...]
    parents: np.ndarray  # (N,) int64, -1 for a root
    offsets: np.ndarray  # (N, 3)
    channels: tuple[tuple[str, ...], ...]  # per node; () for End Sites
    values: np.ndarray  # (F, C)
    frame_time: float  # seconds per frame
    is_end_site: np.ndarray  # (N,) bool

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Names of the nodes that are not End Sites."""
        return tuple(n for n, e in zip(self.names, self.is_end_site.tolist()) if not e)

    def index(self, name: str) -> int:
        """Node index of ``name``; InputError if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(f"the BVH skeleton has no joint named {name!r}; it has {', '.join(self.names)}.") from None


_CHANNEL_AXES = {"x": 0, "y": 1, "z": 2}
_VALID_CHANNELS = {f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}


def read_bvh(path: str | os.PathLike[str], scale: float = 1.0) -> BvhMotion:
    """Parse a BVH file: any channel order, position channels on any joint, End Sites, CRLF, several roots.

    Offsets and positions are multiplied by ``scale`` (e.g. 0.01 for a centimetre file to get metres).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read BVH file {path}: {exc.strerror or exc}.") from exc
    head, sep, motion_text = text.partition("MOTION")
    tokens = head.split()
    if not sep or not tokens or tokens[0] != "HIERARCHY":
        raise InputError(f"{path} is not a BVH file (it needs a HIERARCHY section followed by MOTION).")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    ends: list[bool] = []
    stack: list[int] = []
    pending = -1
    i = 1
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                parent = stack[-1] if stack else -1
                if tok == "JOINT" and parent < 0:
                    raise ValueError(f"JOINT {tokens[i + 1]} outside a ROOT")
                names.append(tokens[i + 1])
                parents.append(parent)
                offsets.append([0.0, 0.0, 0.0])
                channels.append(())
                ends.append(False)
                pending = len(names) - 1
                i += 2
            elif tok == "End":
                if not stack or tokens[i + 1] != "Site":
                    raise ValueError("'End' must be 'End Site' inside a joint")
                base = f"{names[stack[-1]]}_end"
                name, k = base, 1
                while name in names:
                    k += 1
                    name = f"{base}{k}"
                names.append(name)
                parents.append(stack[-1])
                offsets.append([0.0, 0.0, 0.0])
                channels.append(())
                ends.append(True)
                pending = len(names) - 1
                i += 2
            elif tok == "{":
                if pending < 0:
                    raise ValueError("'{' without a joint")
                stack.append(pending)
                pending = -1
                i += 1
            elif tok == "}":
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offsets[stack[-1]] = [float(v) for v in tokens[i + 1 : i + 4]]
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                chans = tuple(tokens[i + 2 : i + 2 + n])
                bad = [c for c in chans if c not in _VALID_CHANNELS]
                if bad or len(chans) != n:
                    raise ValueError(f"unknown channels {bad or chans}")
                channels[stack[-1]] = chans
                i += 2 + n
            else:
                raise ValueError(f"unexpected token {tok!r}")
        if stack:
            raise ValueError("unbalanced braces")
        mtok = motion_text.split()
        if len(mtok) < 5 or mtok[0] != "Frames:" or mtok[2:4] != ["Frame", "Time:"]:
            raise ValueError("MOTION must start with 'Frames: N' and 'Frame Time: T'")
        n_frames = int(mtok[1])
        frame_time = float(mtok[4])
        values = np.array(mtok[5:], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        raise InputError(f"{path}: malformed BVH ({exc}); check the file is a complete BVH export.") from exc
    if not names:
        raise InputError(f"{path}: the BVH HIERARCHY has no joints.")
    n_channels = sum(len(c) for c in channels)
    if n_channels == 0 or values.size % n_channels:
        raise InputError(
            f"{path}: the BVH MOTION block has {values.size} numbers, not a multiple of its {n_channels} channels; "
            "the file is truncated or corrupt."
        )
    n_found = values.size // n_channels
    if n_found < n_frames:
        raise InputError(f"{path}: the BVH says {n_frames} frames but holds {n_found}; the file is truncated.")
    values = values[: n_frames * n_channels].reshape(n_frames, n_channels)
    chan_arr = np.array([c.endswith("position") for cs in channels for c in cs], dtype=bool)
    values[:, chan_arr] *= scale
    return BvhMotion(
        names=tuple(names),
        parents=np.array(parents, dtype=np.int64),
        offsets=np.array(offsets, dtype=np.float64) * scale,
        channels=tuple(channels),
        values=values,
        frame_time=frame_time,
        is_end_site=np.array(ends, dtype=bool),
    )


def _depths(parents: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(parents), dtype=np.int64)
    for i, p in enumerate(parents.tolist()):  # parents precede children (file / PARENTS order)
        depth[i] = 0 if p < 0 else depth[p] + 1
    return depth


def bvh_forward_kinematics(
    motion: BvhMotion, *, return_rotations: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """World positions ``(F, N, 3)`` of every node (End Sites included) of a :class:`BvhMotion`.

    BVH convention: a node's local rotation is the product of its rotation channels in the listed order
    (``Zrotation Xrotation Yrotation`` -> ``Rz @ Rx @ Ry``), its local translation is its OFFSET, with each
    position channel replacing the matching OFFSET component (Blender's reading), and
    ``p = p_parent + G_parent @ t``, ``G = G_parent @ L``. With ``return_rotations`` also returns the global
    rotations ``(F, N, 3, 3)``. Vectorised over frames; loops over tree depth and channel layouts only.
    """
    F, N = motion.num_frames, len(motion.names)
    starts = np.cumsum([0] + [len(c) for c in motion.channels])
    L = np.broadcast_to(np.eye(3), (F, N, 3, 3)).copy()
    t = np.broadcast_to(motion.offsets, (F, N, 3)).copy()
    layouts: dict[tuple[str, ...], list[int]] = {}
    for n, chans in enumerate(motion.channels):
        layouts.setdefault(tuple(c for c in chans if c.endswith("rotation")), []).append(n)
        for k, c in enumerate(chans):
            if c.endswith("position"):
                t[:, n, _CHANNEL_AXES[c[0].lower()]] = motion.values[:, starts[n] + k]
    for rot, nodes in layouts.items():
        if not rot:
            continue
        idx = np.array(nodes)
        cols = np.array([[starts[n] + motion.channels[n].index(c) for c in rot] for n in nodes])  # (n, r)
        ang = np.deg2rad(motion.values[:, cols])  # (F, n, r)
        R = _axis_rotation(_CHANNEL_AXES[rot[0][0].lower()], ang[..., 0])
        for k in range(1, len(rot)):
            R = R @ _axis_rotation(_CHANNEL_AXES[rot[k][0].lower()], ang[..., k])
        L[:, idx] = R
    depth = _depths(motion.parents)
    G = np.empty_like(L)
    p = np.empty_like(t)
    for d in range(int(depth.max()) + 1):
        idx = np.flatnonzero(depth == d)
        if d == 0:
            G[:, idx] = L[:, idx]
            p[:, idx] = t[:, idx]
            continue
        par = motion.parents[idx]
        G[:, idx] = G[:, par] @ L[:, idx]
        p[:, idx] = p[:, par] + np.einsum("fnij,fnj->fni", G[:, par], t[:, idx])
    return (p, G) if return_rotations else p


# ----------------------------------------------------------------------------- H36M -> BVH solver

#: End Site length of a leaf joint (ankles, wrists, head top) as a fraction of the bone that ends at it.
BVH_END_SITE_FRACTION = 0.25
_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(np.flatnonzero(np.equal(PARENTS, j)).tolist()) for j in range(NUM_JOINTS)
)
_DEPTH = _depths(PARENTS)
#: Length (metres) given to a bone that is never seen in the whole motion; its joints then keep the rest pose.
_FALLBACK_BONE_LENGTH_M = 0.25


def _fill_gaps(points: np.ndarray) -> np.ndarray:
    """Fill missing joints ``(P, J, 3)`` by linear interpolation in time, holding the first/last valid value
    before/after; joints never seen stay NaN."""
    P, J = points.shape[:2]
    valid = np.isfinite(points).all(axis=-1)
    idx = np.broadcast_to(np.arange(P)[:, None], (P, J))
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, P)[::-1], axis=0)[::-1]
    has_prev, has_next = prev >= 0, nxt < P
    never = ~(has_prev | has_next)
    a = np.where(has_prev, prev, nxt)
    b = np.where(has_next, nxt, prev)
    a[never] = 0
    b[never] = 0
    cols = np.arange(J)[None, :]
    pa, pb = points[a, cols], points[b, cols]
    w = np.where(b > a, (idx - a) / np.maximum(b - a, 1), 0.0)
    out = pa + w[..., None] * (pb - pa)
    out[valid] = points[valid]
    out[never] = np.nan
    return out


def _canonical_direction(child: int) -> np.ndarray:
    """Rest direction of the bone ending at ``child`` below a one-child joint: legs down, arms out
    sideways (T-pose, left = +X), trunk and head up. Y up, the body facing +Z."""
    part = PART_NAMES[int(JOINT_PART[child])]
    if part.endswith("leg"):
        return np.array([0.0, -1.0, 0.0])
    if part.endswith("arm"):
        return np.array([float(SIDE[child]), 0.0, 0.0])
    return np.array([0.0, 1.0, 0.0])


def _branch_frames(p: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body frames ``(P, 3, 3)`` (rows = axes) at branching joint ``j`` and a validity mask ``(P,)``.

    X = from the right children to the left children; Y = "up": the incoming bone (parent -> j) or, at the
    root, j -> its mid-line children, made orthogonal to X; Z = X x Y (forward).
    """
    kids = np.array(_CHILDREN[j])
    left, right, mid = kids[SIDE[kids] > 0], kids[SIDE[kids] < 0], kids[SIDE[kids] == 0]
    x, okx = _unit(p[:, left].mean(axis=1) - p[:, right].mean(axis=1))
    up = p[:, j] - p[:, PARENTS[j]] if PARENTS[j] >= 0 else p[:, mid].mean(axis=1) - p[:, j]
    y, oky = _unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-2), okx & oky


def _rest_offsets(p: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rest offsets ``(17, 3)`` of each joint from its parent, in the parent's rest frame (root row = 0).

    Children of a branching joint (pelvis, thorax) get the motion's median shape, expressed in the body frame
    of :func:`_branch_frames`, so the rigid fit there is as close as the data allow; the other bones point
    along :func:`_canonical_direction`. Lengths are ``lengths[bone]``.
    """
    rest = np.zeros((NUM_JOINTS, 3))
    for c in range(1, NUM_JOINTS):
        rest[c] = _canonical_direction(c)
    for j in range(NUM_JOINTS):
        kids = _CHILDREN[j]
        if len(kids) < 2 or not (np.any(SIDE[list(kids)] > 0) and np.any(SIDE[list(kids)] < 0)):
            continue
        F, ok = _branch_frames(p, j)
        for c in kids:
            local = np.einsum("pij,pj->pi", F, p[:, c] - p[:, j])
            good = ok & np.isfinite(local).all(axis=-1)
            if good.any():
                u, nz = _unit(np.median(local[good], axis=0))
                if nz:
                    rest[c] = u
            elif SIDE[c] != 0:
                rest[c] = np.array([float(SIDE[c]), 0.0, 0.0])
    length_of = np.zeros(NUM_JOINTS)
    length_of[BONES[:, 1]] = lengths
    return _unit(rest)[0] * length_of[:, None]


def _median_bone_lengths(points: np.ndarray) -> np.ndarray:
    """Per-bone median length ``(16,)`` over the frames where both ends are known (fallback if never)."""
    v = points[:, BONES[:, 1]] - points[:, BONES[:, 0]]
    n = np.linalg.norm(v, axis=-1)  # NaN where missing
    seen = np.isfinite(n).any(axis=0)
    out = np.full(len(BONES), _FALLBACK_BONE_LENGTH_M)
    if seen.any():
        out[seen] = np.nanmedian(n[:, seen], axis=0)
    return out


def _global_rotations(p: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Global joint rotations ``(P, 17, 3, 3)`` so that ``p_child ~ p_joint + G_joint @ rest_child``.

    - branching joints (pelvis, thorax): the rigid rotation that best maps the rest offsets of all children
      onto their observed directions (Kabsch, batched SVD); where that is ill-posed, as a one-child joint;
    - one-child joints: the least-angle swing, in the parent's frame, from the rest direction to the observed
      one: the bone's twist is inherited from its parent (zero local twist);
    - leaves (and bones not observed in a frame): the parent's rotation (identity local rotation).

    Loops over tree depth only; every step is batched over frames.
    """
    P = len(p)
    G = np.broadcast_to(np.eye(3), (P, NUM_JOINTS, 3, 3)).copy()
    rest_u, _ = _unit(rest)
    for d in range(int(_DEPTH.max()) + 1):
        level = np.flatnonzero(np.equal(_DEPTH, d))
        Gp = np.broadcast_to(np.eye(3), (P, len(level), 3, 3)).copy()
        has_parent = PARENTS[level] >= 0
        Gp[:, has_parent] = G[:, PARENTS[level[has_parent]]]
        G[:, level] = Gp
        # one-child joints, and the fallback child of branching joints: swing in the parent frame
        first_kid = np.array([_CHILDREN[j][0] if _CHILDREN[j] else -1 for j in level])
        sel = first_kid >= 0
        if sel.any():
            js, cs = level[sel], first_kid[sel]
            obs, ok = _unit(p[:, cs] - p[:, js])
            local = np.einsum("pnji,pnj->pni", Gp[:, sel], obs)
            S = _swing(rest_u[cs][None], local)
            S = np.where(ok[..., None, None], S, np.eye(3))
            G[:, js] = Gp[:, sel] @ S
        for j in level[[len(_CHILDREN[j]) > 1 for j in level]]:
            kids = np.array(_CHILDREN[j])
            obs, ok = _unit(p[:, kids] - p[:, j, None])
            target = obs * np.linalg.norm(rest[kids], axis=-1)[None, :, None]
            R, well = _kabsch(rest[kids], target, ok.astype(np.float64))
            G[:, j] = np.where(well[:, None, None], R, G[:, j])
    return G


def skeleton_to_bvh(
    points_yup: np.ndarray, frame_time: float, *, scale: float = 1.0, branch_translations: bool = True
) -> BvhMotion:
    """Solve a fixed-bone-length BVH for H36M-17 joints ``(P, 17, 3)`` metres, Y-up (see :func:`to_yup`).

    Skeleton: rooted at the pelvis, hierarchy ``core.skeleton.PARENTS``, one JOINT per H36M joint with its
    ``JOINT_NAMES`` name; each leaf (ankles, wrists, head top) ends in an End Site that continues its bone by
    :data:`BVH_END_SITE_FRACTION` of its length. Bone lengths are the per-bone medians over the frames where
    both ends are known. Rest pose: upright, facing +Z, legs down, arms out sideways (T-pose), with the pelvis
    and thorax children in their median shape. Rotations: see :func:`_global_rotations` (Kabsch at the pelvis
    and thorax, least-angle swing with inherited twist elsewhere), written as ``Zrotation Xrotation
    Yrotation`` degrees, unwrapped over frames. The root also has ``Xposition Yposition Zposition``.

    A rigid pelvis/thorax cannot follow a real body exactly (the hips-spine angle and the head-shoulders
    shape change), so with ``branch_translations`` (default) the children of those two joints (hips, spine,
    nose, shoulders) also carry ``Xposition Yposition Zposition`` channels: their offset in the parent's frame,
    always of the bone's fixed length, pointing along the observed bone. FK then reproduces every joint up
    to the bone-length changes of the input. Without it the file has position channels on the root only and
    those joints are off by the rigid fit's residual (2-3 cm on real motion).

    Missing joints are linearly interpolated in time between known frames and held before the first and after
    the last; a joint never seen keeps its rest pose. The root (pelvis) must be seen at least once.
    Positions and offsets are multiplied by ``scale`` (1 -> metres, 100 -> centimetres).
    """
    pts = np.asarray(points_yup, dtype=np.float64)
    P = len(pts)
    lengths = _median_bone_lengths(pts)
    filled = _fill_gaps(pts)
    if not np.isfinite(filled[:, 0]).all():
        raise ExportError(
            "cannot write BVH: the pelvis (the BVH root) is never seen in this motion; export TRC, C3D, CSV or "
            "JSON instead, or re-run the pipeline so the hips are detected."
        )
    rest = _rest_offsets(filled, lengths)
    G = _global_rotations(filled, rest)
    L = G.copy()
    nonroot = PARENTS >= 0
    L[:, nonroot] = np.swapaxes(G[:, PARENTS[nonroot]], -1, -2) @ G[:, nonroot]
    angles = np.rad2deg(np.unwrap(_zxy_from_matrix(L), axis=0))  # (P, 17, 3) as z, x, y

    # local translations: the root's world position; branch children along the observed bone, fixed length
    has_pos = np.zeros(NUM_JOINTS, dtype=bool)
    has_pos[0] = True
    T = np.broadcast_to(rest, (P, NUM_JOINTS, 3)).copy()
    T[:, 0] = filled[:, 0]
    if branch_translations:
        kids = np.array([c for c in range(1, NUM_JOINTS) if len(_CHILDREN[PARENTS[c]]) > 1])
        has_pos[kids] = True
        par = PARENTS[kids]
        local = np.einsum("pnji,pnj->pni", G[:, par], filled[:, kids] - filled[:, par])
        u, ok = _unit(local)
        T[:, kids] = np.where(ok[..., None], u * np.linalg.norm(rest[kids], axis=-1)[:, None], rest[kids])

    names: list[str] = []
    parents: list[int] = []
    offsets: list[np.ndarray] = []
    channels: list[tuple[str, ...]] = []
    ends: list[bool] = []
    pos = ("Xposition", "Yposition", "Zposition")
    rot = ("Zrotation", "Xrotation", "Yrotation")
    order: list[int] = []

    def add(j: int, parent_node: int) -> None:
        order.append(j)
        me = len(names)
        names.append(JOINT_NAMES[j])
        parents.append(parent_node)
        offsets.append(rest[j])
        channels.append((pos if has_pos[j] else ()) + rot)
        ends.append(False)
        if not _CHILDREN[j]:
            names.append(f"{JOINT_NAMES[j]}_end")
            parents.append(me)
            offsets.append(rest[j] * BVH_END_SITE_FRACTION)
            channels.append(())
            ends.append(True)
        for c in _CHILDREN[j]:
            add(c, me)

    add(0, -1)
    per_joint = np.concatenate([T * scale, angles], axis=-1)[:, order]  # (P, 17, 6) in file order
    used = np.concatenate([np.repeat(has_pos[order, None], 3, axis=1), np.ones((NUM_JOINTS, 3), bool)], axis=1)
    return BvhMotion(
        names=tuple(names),
        parents=np.array(parents, dtype=np.int64),
        offsets=np.array(offsets) * scale,
        channels=tuple(channels),
        values=per_joint.reshape(P, -1)[:, used.ravel()],
        frame_time=float(frame_time),
        is_end_site=np.array(ends, dtype=bool),
    )


def _bvh_text(motion: BvhMotion) -> str:
    children: list[list[int]] = [[] for _ in motion.names]
    for n, par in enumerate(motion.parents.tolist()):
        if par >= 0:
            children[par].append(n)
    out: list[str] = ["HIERARCHY"]

    def emit(n: int, depth: int) -> None:
        ind = "\t" * depth
        off = " ".join(f"{v:.6f}" for v in motion.offsets[n])
        if motion.is_end_site[n]:
            out.extend([f"{ind}End Site", f"{ind}{{", f"{ind}\tOFFSET {off}", f"{ind}}}"])
            return
        out.append(f"{ind}{'ROOT' if motion.parents[n] < 0 else 'JOINT'} {motion.names[n]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}\tOFFSET {off}")
        out.append(f"{ind}\tCHANNELS {len(motion.channels[n])} {' '.join(motion.channels[n])}")
        for c in children[n]:
            emit(c, depth + 1)
        out.append(f"{ind}}}")

    for root in np.flatnonzero(motion.parents < 0).tolist():
        emit(root, 0)
    out += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {motion.frame_time:.8f}"]
    row = " ".join(["%.6f"] * motion.values.shape[1])
    out.extend(row % tuple(r) for r in motion.values.tolist())
    return "\n".join(out) + "\n"


def save_bvh(motion: BvhMotion, path: str | os.PathLike[str]) -> Path:
    """Write a :class:`BvhMotion` as a standard BVH text file (tab-indented HIERARCHY, one line per frame)."""
    if not np.isfinite(motion.values).all():
        raise ExportError("cannot write BVH: the motion holds NaN channel values; fill gaps before saving.")
    return _write_atomic(Path(path), _bvh_text(motion).encode("utf-8"))


def write_bvh(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
    units: str = "m",
    branch_translations: bool = True,
) -> Path:
    """Write a BVH for Blender & co: Y-up (:func:`up_axis_rotation`), fixed bone lengths, see :func:`skeleton_to_bvh`.

    ``units`` "m" (default; Blender's importer maps 1 BVH unit to 1 m at scale 1.0) or "cm" (MotionBuilder and
    most mocap libraries). BVH has no unit field, so the unit is stated here only. Frames are assumed evenly
    spaced: Frame Time = 1 / fps.
    """
    scales = {"m": 1.0, "cm": 100.0}
    if units not in scales:
        raise ExportError(f"unknown BVH units {units!r}; choose 'm' (Blender) or 'cm'.")
    m = _check_motion(points, time_s, up_axis, fps)
    _check_target(path)
    motion = skeleton_to_bvh(
        to_yup(m.points, m.up_axis), 1.0 / m.fps, scale=scales[units], branch_translations=branch_translations
    )
    return save_bvh(motion, path)


def bvh_joint_positions(motion: BvhMotion, names: Sequence[str] = JOINT_NAMES) -> np.ndarray:
    """FK positions ``(F, len(names), 3)`` of the named BVH nodes (default: the 17 H36M joints of our files)."""
    p = bvh_forward_kinematics(motion)
    return p[:, [motion.index(n) for n in names]]
