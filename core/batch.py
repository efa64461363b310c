"""Headless, file-level operations used by the command line (and by GUI workers).

Each function takes paths, reports progress through an optional ``log`` callable,
raises :class:`core.errors.CrossViewError` on bad input and returns a JSON-able summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import skeleton
from core.atomic import atomic_output
from core.calibration_io import load_calibration
from core.camera import CameraGroup, repeated_names
from core.errors import InputError
from core.keypoints_io import load_keypoints_npz
from core.swaps import fix_left_right_swaps
from core.triangulation import triangulate

Log = Callable[[str], None] | None
#: A learned refinement: (points (F, 17, 3) m, keypoints (V, F, 17, 3) px+conf, cameras) -> (F, 17, 3) m.
#: ``refine(points (F, 17, 3) m, kp2d (2, F, 17, 3) px+conf, cameras, time_s (F,) s or None) -> (F, 17, 3)`` m.
Refine = Callable[[np.ndarray, np.ndarray, CameraGroup, np.ndarray | None], np.ndarray]


def write_npz_atomic(path: str | os.PathLike, **arrays: Any) -> Path:
    """Write an npz to a temporary name and rename it, so a crash never leaves half a file."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:  # a file object: savez would add ".npz" to a name
        np.savez_compressed(f, **arrays)
    return path


def triangulate_keypoints_file(
    calib: str | os.PathLike,
    keypoints: str | os.PathLike,
    out: str | os.PathLike,
    cameras: Sequence[str] | None = None,
    min_confidence: float = 0.3,
    log: Log = None,
    refine: Refine | None = None,
    model_id: str = "",
) -> dict[str, Any]:
    """Triangulate a keypoints npz with a calibration and write ``out`` (npz, metres).

    ``out`` holds ``joint_names (17,)``, ``points (F, 17, 3)`` m (world frame, NaN where
    fewer than two views saw the joint), ``reprojection_error_px (F, 17)``, ``n_views (F, 17)``,
    ``cameras``, ``units = "m"`` and ``time_s (F,)`` when the input had it. With two cameras,
    left/right label swaps between the views are repaired first (core.swaps). With ``refine``
    (a learned refinement, e.g. CV-UGCN) it also holds ``refined (F, 17, 3)`` m and ``model_id``.
    """
    if Path(out).is_dir():
        raise InputError(f"--out '{out}' is a folder; give a file name such as '{Path(out) / 'points3d.npz'}'.")
    kps, time_s = load_keypoints_npz(keypoints)
    names = list(cameras) if cameras is not None else list(kps)
    repeated = repeated_names(names)
    if repeated:
        raise InputError(f"camera {', '.join(map(repr, repeated))} is named twice; give each camera once.")
    missing = [n for n in names if n not in kps]
    if missing:
        raise InputError(
            f"keypoints file '{keypoints}' has no camera named {', '.join(map(repr, missing))}; it holds {list(kps)}."
        )
    if len(names) < 2:
        raise InputError(
            f"keypoints file '{keypoints}' holds {len(names)} camera(s) {names}; triangulation needs at least two."
        )
    cal = load_calibration(calib)
    known = cal.group.names
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            f"cameras {unknown} of '{keypoints}' are not in calibration '{calib}' (it holds {known}). "
            "Rename the arrays in the keypoints file to the calibration's camera names, or pass --cameras."
        )
    group = cal.group.subset(names)
    unused = [n for n in known if n not in names]
    if log:
        log(f"calibration: {cal.units_note}")
        if unused:
            log(f"using cameras {', '.join(names)} of the calibration; not used: {', '.join(unused)}")
    stack = np.stack([kps[n] for n in names])  # (V, F, 17, 3)
    if len(names) == 2:
        pts, conf, kind = fix_left_right_swaps(stack[..., :2], stack[..., 2], group, min_confidence=min_confidence)
        stack = np.concatenate([pts, conf[..., None]], axis=-1)
        if log and (kind != "").any():
            log(f"repaired left/right label swaps in {(kind != '').sum()} frame(s)")
    tri = triangulate(stack[..., :2], stack[..., 2], group, min_confidence=min_confidence)
    arrays: dict[str, Any] = {
        "joint_names": np.array(skeleton.JOINT_NAMES),
        "points": tri.points.astype(np.float64),
        "reprojection_error_px": tri.reprojection_error_px.astype(np.float32),
        "n_views": tri.n_views.astype(np.int8),
        "cameras": np.array(names),
        "units": np.array("m"),
    }
    if time_s is not None:
        arrays["time_s"] = time_s
    if refine is not None:
        if len(names) != 2:
            raise InputError(f"refinement works on two cameras; {len(names)} were given. Pass --cameras A,B.")
        arrays["refined"] = refine(tri.points, stack, group, time_s)
        arrays["model_id"] = np.array(model_id)
    path = write_npz_atomic(out, **arrays)
    valid = tri.valid
    summary = {
        "out": str(path),
        "frames": int(stack.shape[1]),
        "cameras": names,
        "calibration_cameras_unused": unused,
        "calibration_units": cal.units,
        "calibration_units_assumed": cal.units_assumed,
        "joints_triangulated_fraction": float(valid.mean()),
        "frames_with_3d": int(valid.any(axis=1).sum()),
        "median_reprojection_error_px": float(np.nanmedian(tri.reprojection_error_px)) if valid.any() else None,
        "refined": refine is not None,
        "model_id": model_id or None,
    }
    if log:
        log(
            f"triangulated {summary['frames']} frames from {', '.join(names)}: "
            f"{100 * summary['joints_triangulated_fraction']:.1f}% of joints, median reprojection error "
            f"{summary['median_reprojection_error_px'] or float('nan'):.2f} px -> {path}"
        )
    return summary
