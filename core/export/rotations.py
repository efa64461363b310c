"""Batched rotation helpers of the retargeting: Euler angles, quaternions, unit vectors, least-angle swings, Kabsch
fits.

Shapes are in each docstring; angles in radians. Everything is vectorised over the leading dimensions.
"""

from __future__ import annotations

import numpy as np


def zxy_from_matrix(R: np.ndarray) -> np.ndarray:
    """Euler angles ``(..., 3)`` radians ``(z, x, y)`` with ``R = Rz(z) @ Rx(x) @ Ry(y)`` for ``R`` ``(..., 3, 3)``."""
    sx = np.clip(R[..., 2, 1], -1.0, 1.0)
    x = np.arcsin(sx)
    z = np.arctan2(-R[..., 0, 1], R[..., 1, 1])
    y = np.arctan2(-R[..., 2, 0], R[..., 2, 2])
    lock = np.abs(sx) > 1.0 - 1e-10  # gimbal lock: put all of the z/y rotation on z
    z = np.where(lock, np.arctan2(R[..., 1, 0], R[..., 0, 0]), z)
    y = np.where(lock, 0.0, y)
    return np.stack([z, x, y], axis=-1)


def unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors ``(..., 3)`` and a validity mask ``(...)`` (finite, non-zero length)."""
    n = np.linalg.norm(v, axis=-1)
    ok = np.isfinite(n) & (n > 1e-12)
    u = np.where(ok[..., None], v / np.where(ok, n, 1.0)[..., None], 0.0)
    return u, ok


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-angle rotations ``(..., 3, 3)`` taking unit ``a`` onto unit ``b`` (both ``(..., 3)``).

    Anti-parallel pairs turn by 180 degrees about an axis perpendicular to ``a``.
    """
    a, b = np.broadcast_arrays(a, b)
    v = np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )
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
        axis, _ = unit(np.cross(a, e))
        flip = 2.0 * axis[..., :, None] * axis[..., None, :] - eye
        R = np.where(opposite[..., None, None], flip, R)
    return R


def kabsch(rest: np.ndarray, target: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` as ``(x, y, z, w)`` with ``w >= 0`` of rotation matrices ``(..., 3, 3)``.

    Shepperd's method: the largest of ``w, x, y, z`` is computed first, so it is stable for any angle.
    """
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    t = np.stack([m00 + m11 + m22, m00 - m11 - m22, -m00 + m11 - m22, -m00 - m11 + m22], axis=-1)
    k = np.argmax(t, axis=-1)
    s = np.sqrt(np.maximum(1.0 + np.take_along_axis(t, k[..., None], -1)[..., 0], 1e-300)) * 2.0  # 4 * |largest|
    d21, d02, d10 = R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]
    s21, s02, s10 = R[..., 2, 1] + R[..., 1, 2], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 0] + R[..., 0, 1]
    cands = np.stack(
        [
            np.stack([d21, d02, d10, s * s / 4], -1),  # w largest
            np.stack([s * s / 4, s10, s02, d21], -1),  # x largest
            np.stack([s10, s * s / 4, s21, d02], -1),  # y largest
            np.stack([s02, s21, s * s / 4, d10], -1),  # z largest
        ],
        axis=-2,
    )
    q = np.take_along_axis(cands, k[..., None, None], -2)[..., 0, :] / s[..., None]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:4] < 0, -q, q)


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(..., 4)`` ``(x, y, z, w)`` (normalised first)."""
    q = np.asarray(q, dtype=np.float64)
    x, y, z, w = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )
