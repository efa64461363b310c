"""The two plain-text formats in the session world frame: a wide CSV and a self-describing JSON.

Both keep the reprojection errors (pixels) when given. Units: metres, seconds, pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.export.files import check_target, write_file
from core.export.motion import ExportMotion, ExportOptions, fmt_rate, up_axis_rotation
from core.skeleton import BONES, JOINT_NAMES, MARKER_NAMES, NUM_JOINTS, PARENTS

# ----------------------------------------------------------------------------- CSV


def csv_columns() -> list[str]:
    """The wide CSV columns: frame, time_s, ``<joint>_x/_y/_z`` for every joint, then ``<joint>_err``."""
    xyz = [f"{n}_{a}" for n in JOINT_NAMES for a in "xyz"]
    return ["frame", "time_s", *xyz, *(f"{n}_err" for n in JOINT_NAMES)]


def csv_writer(path: Path, motion: ExportMotion, options: ExportOptions) -> Path:
    """Write a wide CSV, one row per frame, columns :func:`csv_columns` (joint names = ``JOINT_NAMES``).

    Line 1 is a ``#`` comment stating units and frame: positions in metres in the session world frame (its
    up axis is named), time in seconds, ``_err`` = reprojection error in pixels. Line 2 is the header. ``frame``
    is the 0-based session frame index. Missing values are empty fields. Read with
    ``pandas.read_csv(path, comment="#")`` or ``numpy.genfromtxt(path, delimiter=",", skip_header=2)``.

    The ``"csv"`` entry of :data:`core.export.WRITERS` (``options`` are not used).
    """
    m = motion.checked(with_errors=True)
    check_target(path)
    P = len(m.points)
    err = m.error_px if m.error_px is not None else np.full((P, NUM_JOINTS), np.nan)
    comment = (
        "# CrossView 3D joints (H36M-17). Units: time_s in seconds (s); <joint>_x,_y,_z in metres (m) in the "
        f"session world frame, up axis {m.up_axis.strip()}; <joint>_err = reprojection error in pixels (px). "
        f"fps={fmt_rate(m.fps)}. Empty field = missing."
    )
    row = "%d,%.6f," + ",".join(["%.6f"] * (3 * NUM_JOINTS)) + "," + ",".join(["%.3f"] * NUM_JOINTS)
    data = np.concatenate([m.points.reshape(P, -1), err], axis=1).tolist()
    body = "\n".join(row % (i, t, *r) for i, (t, r) in enumerate(zip(m.time_s.tolist(), data)))
    text = comment + "\n" + ",".join(csv_columns()) + "\n" + body.replace(",nan", ",") + "\n"
    return write_file(path, text.encode("utf-8"))


# ----------------------------------------------------------------------------- JSON


def _nulls(values: np.ndarray, missing: np.ndarray) -> list:
    """``values.tolist()`` with ``None`` at the ``(frame, joint)`` places where ``missing`` ``(P, 17)`` is True."""
    out = values.tolist()
    for f, j in np.argwhere(missing).tolist():
        out[f][j] = None
    return out


def json_writer(path: Path, motion: ExportMotion, options: ExportOptions) -> Path:
    """Write one self-describing JSON document (UTF-8), one frame per line.

    Top-level keys: ``format`` ("crossview-motion"), ``version`` (1), ``units`` (position m, time s,
    reprojection error px), ``frame`` (the session world frame), ``up_axis``, ``to_yup_rotation`` (3x3, rows,
    see :func:`up_axis_rotation`), ``fps``, ``num_frames``, ``joint_names``, ``marker_names``, ``bones``
    (``[parent, child]`` joint names), ``parents`` (indices, -1 root) and ``frames``: a list of
    ``{"frame": i, "time_s": t, "joints": [[x, y, z] | null, ...17], "reprojection_error_px": [e | null, ...17]}``
    (the error list only when errors were given). A joint with any missing coordinate is ``null``.

    The ``"json"`` entry of :data:`core.export.WRITERS` (``options`` are not used).
    """
    m = motion.checked(with_errors=True)
    check_target(path)
    joints = _nulls(np.round(m.points, 6), ~np.isfinite(m.points).all(axis=-1))
    errors = None if m.error_px is None else _nulls(np.round(m.error_px, 3), ~np.isfinite(m.error_px))
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
    return write_file(path, text.encode("utf-8"))
