"""The world's up axis: its names, and the two rotations the app uses (one definition of each).

An up axis is ``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``, ``"+z"`` or ``"-z"`` (a bare ``"y"`` means ``"+y"``).
Rotations are proper (det +1), ``(3, 3)``, applied to column vectors (``p_new = R @ p``; for points ``(..., 3)``
as rows, ``p @ R.T``); they change axes only, never units.

- :func:`rotation_to_z_up`: the world to a Z-up frame (the 3D view's display frame, the mocap prior's world);
  ``"+y"`` is +90° about X, ``(x, y, z) -> (x, -z, y)``; ``"-y"`` (a camera frame, image y down) maps
  ``(x, y, z) -> (x, z, -y)``.
- :func:`rotation_to_y_up`: the world to OpenSim's Y-up frame (TRC, C3D, BVH exports); ``"+z"`` maps
  ``(x, y, z) -> (y, z, x)`` (Pose2Sim's ``zup2yup``), ``"-y"`` is the OpenCV-to-OpenGL flip
  ``(x, y, z) -> (x, -y, -z)``.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError

#: Every up axis a world frame may have.
UP_AXES: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z")
#: Unit vector ``(3,)`` of each up axis, in the world frame.
AXIS_VECTORS: dict[str, np.ndarray] = {
    "+x": np.array([1.0, 0.0, 0.0]),
    "-x": np.array([-1.0, 0.0, 0.0]),
    "+y": np.array([0.0, 1.0, 0.0]),
    "-y": np.array([0.0, -1.0, 0.0]),
    "+z": np.array([0.0, 0.0, 1.0]),
    "-z": np.array([0.0, 0.0, -1.0]),
}


def parse_up_axis(up_axis: object) -> str:
    """The canonical name (``"+z"``...) of ``up_axis``; :class:`InputError` for anything else.

    >>> parse_up_axis("Y")
    '+y'
    """
    if not isinstance(up_axis, str):
        raise InputError(f"up axis must be a string such as '+z' or '-y', got {up_axis!r}.")
    spec = up_axis.strip().lower()
    if len(spec) == 1:
        spec = "+" + spec
    if spec not in AXIS_VECTORS:
        raise InputError(
            f"unknown up axis {up_axis!r}; give one of +x, -x, +y, -y, +z, -z "
            "(+z for a floor/lab frame, -y for camera 1's frame)."
        )
    return spec


def rotation_to_z_up(up_axis: str) -> np.ndarray:
    """``(3, 3)`` rotation taking a world with ``up_axis`` up to a Z-up frame (see the module docstring).

    >>> rotation_to_z_up("-y") @ np.array([0.0, -1.0, 0.0])
    array([0., 0., 1.])
    """
    spec = parse_up_axis(up_axis)
    ax = spec[1]
    if ax == "z":
        R = np.eye(3)
    elif ax == "y":  # +90 deg about X: (x, y, z) -> (x, -z, y)
        R = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    else:  # cyclic: (x, y, z) -> (y, z, x)
        R = np.array([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]])
    if spec[0] == "-":  # 180 deg about the new X flips Z (and Y) and keeps the frame right-handed
        R = np.diag([1.0, -1.0, -1.0]) @ R
    return R


def rotation_to_y_up(up_axis: str) -> np.ndarray:
    """``(3, 3)`` rotation taking a world with ``up_axis`` up to OpenSim's Y-up frame.

    The up axis ``a`` becomes +Y (times its sign); the world axis cyclically *before* ``a`` (x->y->z->x)
    becomes +X; the axis cyclically *after* ``a`` becomes +Z (times the up sign, to stay right-handed).

    >>> rotation_to_y_up("+z") @ np.array([1.0, 2.0, 3.0])
    array([2., 3., 1.])
    """
    spec = parse_up_axis(up_axis)
    a = "xyz".index(spec[1])
    sign = 1.0 if spec[0] == "+" else -1.0
    R = np.zeros((3, 3))
    R[0, (a + 2) % 3] = 1.0
    R[1, a] = sign
    R[2, (a + 1) % 3] = sign
    return R
