"""What every exporter takes: the motion, its checks, its units, and the Y-up frame of TRC, C3D and BVH.

- ``points`` ``(P, 17, 3)`` metres in the session's world frame, H36M-17 order (``core.skeleton``), NaN where
  a joint is missing;
- ``time_s`` ``(P,)`` seconds, strictly increasing;
- ``up_axis``: the world's up axis as a spec string (``"+z"`` for a Z-up lab or floor frame, ``"-y"`` for
  camera 1's frame: x right, y down, z forward);
- ``fps``: the frame rate (estimated from ``time_s`` when not given);
- optionally ``reprojection_error_px`` ``(P, 17)`` pixels (kept by the CSV and JSON formats).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ExportError, InputError
from core.skeleton import NUM_JOINTS
from core.up_axis import rotation_to_y_up


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


@dataclass(frozen=True)
class ExportMotion:
    """What :func:`core.export.export` writes, as the caller gives it (checked by :meth:`checked`).

    ``points`` ``(P, 17, 3)`` m (world frame), ``time_s`` ``(P,)`` s, ``up_axis`` the world's up axis,
    ``fps`` (None: estimated from ``time_s``), ``reprojection_error_px`` ``(P, 17)`` px or None.
    """

    points: np.ndarray
    time_s: np.ndarray
    up_axis: str
    fps: float | None = None
    reprojection_error_px: np.ndarray | None = None

    def checked(self, with_errors: bool = False) -> Motion:
        """The checked motion; the reprojection errors are checked and kept only ``with_errors``."""
        return check_motion(
            self.points, self.time_s, self.up_axis, self.fps, self.reprojection_error_px if with_errors else None
        )


@dataclass(frozen=True)
class Motion:
    """A checked motion: every joint fully known or NaN, times strictly increasing, a positive fps."""

    points: np.ndarray  # (P, 17, 3) metres, world frame, NaN missing
    time_s: np.ndarray  # (P,)
    fps: float
    up_axis: str
    error_px: np.ndarray | None  # (P, 17) or None

    def yup(self) -> np.ndarray:
        """The points ``(P, 17, 3)`` m in the Y-up frame of :func:`up_axis_rotation`."""
        return to_yup(self.points, self.up_axis)


def _check_points(points: np.ndarray, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    return pts, t


def _check_fps(fps: float | None, t: np.ndarray) -> float:
    if fps is None:
        if len(t) < 2:
            raise ExportError("cannot estimate the frame rate from a single frame; pass fps explicitly.")
        fps = 1.0 / float(np.median(np.diff(t)))
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ExportError(f"fps must be a positive number of frames per second, got {fps!r}.")
    return fps


def _check_errors(reprojection_error_px: np.ndarray | None, P: int) -> np.ndarray | None:
    if reprojection_error_px is None:
        return None
    err = np.array(reprojection_error_px, dtype=np.float64)
    if err.shape != (P, NUM_JOINTS):
        raise ExportError(
            f"reprojection_error_px must have shape ({P}, {NUM_JOINTS}) (pixels per frame and joint), got {err.shape}."
        )
    err[~np.isfinite(err)] = np.nan
    return err


def check_motion(
    points: np.ndarray,
    time_s: np.ndarray,
    up_axis: str,
    fps: float | None,
    reprojection_error_px: np.ndarray | None = None,
) -> Motion:
    """Check an exporter's input (shapes, times, up axis, fps, errors); :class:`ExportError` says what is wrong."""
    pts, t = _check_points(points, time_s)
    up_axis_rotation(up_axis)  # validates the spec
    fps = _check_fps(fps, t)
    return Motion(pts, t, fps, up_axis, _check_errors(reprojection_error_px, len(pts)))


def fmt_rate(fps: float) -> str:
    """A frame rate as TRC/JSON text: '60' for integral rates, else up to 6 significant digits."""
    return str(int(round(fps))) if abs(fps - round(fps)) < 1e-9 else f"{fps:.6g}"


@dataclass(frozen=True)
class ExportOptions:
    """Options of single formats: ``bvh_units`` "m" or "cm" and ``bvh_branch_translations`` (BVH only)."""

    bvh_units: str = "m"
    bvh_branch_translations: bool = True


#: One format's writer: ``writer(path, motion, options) -> the path written`` (ExportError on any problem).
Writer = Callable[[Path, ExportMotion, ExportOptions], Path]
