"""Confidence-weighted DLT triangulation, vectorised over views, frames and joints.

Shapes: ``V`` views, ``F`` frames, ``J`` joints. Pixels in, metres out.
The same code serves any number of views >= 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.camera import Camera, CameraGroup

#: Keypoints below this confidence are treated as missing.
DEFAULT_MIN_CONFIDENCE = 0.3

#: Points solved per block in :func:`dlt` (measured fastest on a 2-core laptop CPU).
_BLOCK = 16384
#: Up to this many points, one batched eigen-decomposition beats the element-wise Newton solver
#: (Python overhead dominates for a live frame of 17 to 85 points).
_SMALL = 256
#: Index of the 10 upper-triangle entries for each cell of a symmetric 4x4.
_SYM = np.array([[0, 1, 2, 3], [1, 4, 5, 6], [2, 5, 7, 8], [3, 6, 8, 9]])


@dataclass
class Triangulation:
    """Result of :func:`triangulate`.

    points: ``(F, J, 3)`` world points in metres, NaN where fewer than 2 views saw the joint.
    reprojection_error_px: ``(F, J)`` mean distance, over the views used, between each view's
        2D keypoint and the projection of the 3D point (pixels, distorted image); NaN where missing.
    n_views: ``(F, J)`` how many views contributed.
    views_used: ``(V, F, J)`` which views contributed (after outlier rejection).
    """

    points: np.ndarray
    reprojection_error_px: np.ndarray
    n_views: np.ndarray
    views_used: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """``(F, J)`` True where a 3D point was triangulated from >= 2 views."""
        return self.n_views >= 2


def dlt(P: np.ndarray, uv: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted homogeneous DLT for many points at once.

    P: ``(V, 3, 4)`` projection matrices for undistorted pixels.
    uv: ``(V, N, 2)`` undistorted pixels (NaN allowed where ``w`` is 0).
    w: ``(V, N)`` non-negative weights (0 = view not used).
    Returns ``(N, 3)`` points; NaN where the system is degenerate.

    For each point the rows ``w (u P3 - P1)`` and ``w (v P3 - P2)`` of every view are
    stacked in ``A``; the solution is the right singular vector of ``A`` with the
    smallest singular value, i.e. the eigenvector of ``A^T A`` with the smallest
    eigenvalue. With unit weights this is exactly what ``cv2.triangulatePoints`` solves.
    """
    P = np.asarray(P, dtype=np.float64)
    uv = np.asarray(uv, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    N = uv.shape[1]
    if N > _BLOCK:
        # Blocks that keep the ~30 temporaries of the solver in cache run about twice as fast.
        out = np.empty((N, 3))
        for s in range(0, N, _BLOCK):
            out[s : s + _BLOCK] = dlt(P, uv[:, s : s + _BLOCK], w[:, s : s + _BLOCK])
        return out
    V = P.shape[0]
    w2 = w * w
    ok = w2 > 0
    u = np.where(ok, uv[..., 0], 0.0)
    v = np.where(ok, uv[..., 1], 0.0)
    # A^T A = sum_views w^2 (r_u r_u^T + r_v r_v^T), r_u = u P3 - P1, r_v = v P3 - P2, expands to
    # sum_views [w^2 O11 - w^2 u (O13 + O31) - w^2 v (O23 + O32) + w^2 (u^2 + v^2) O33] with
    # O_ab = P_a P_b^T. Only the 10 unique entries of the symmetric 4x4 are formed, as one
    # (N, 4V) @ (4V, 10) product: no per-point 4x4 arrays.
    P1, P2, P3 = P[:, 0], P[:, 1], P[:, 2]  # (V, 4)
    outer = lambda a, b: a[:, :, None] * b[:, None, :]  # noqa: E731  (V, 4, 4)
    O13 = outer(P1, P3)
    O23 = outer(P2, P3)
    basis = np.stack(
        [outer(P1, P1) + outer(P2, P2), -(O13 + O13.transpose(0, 2, 1)), -(O23 + O23.transpose(0, 2, 1)), outer(P3, P3)]
    )  # (4, V, 4, 4)
    iu = np.triu_indices(4)
    basis = basis[:, :, iu[0], iu[1]].reshape(4 * V, 10)
    coef = np.concatenate([w2, w2 * u, w2 * v, w2 * (u * u + v * v)], axis=0)  # (4V, N)
    m = basis.T @ coef  # (10, N): m00 m01 m02 m03 m11 m12 m13 m22 m23 m33
    # Scale each system to O(1) numbers; eigenvectors are unchanged.
    scale = m[0] + m[4] + m[7] + m[9]
    m /= np.where(scale > 0, scale, 1.0)
    if m.shape[1] <= _SMALL:
        return _smallest_eigvec_point_eigh(m)
    return _smallest_eigvec_point(m)


def _smallest_eigvec_point_eigh(m: np.ndarray) -> np.ndarray:
    """Like :func:`_smallest_eigvec_point`, with one LAPACK call: faster for a few points (a live frame)."""
    M = m[_SYM]  # (4, 4, N) from the upper triangle
    _, vecs = np.linalg.eigh(np.moveaxis(M, -1, 0))
    X = vecs[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = X[:, :3] / X[:, 3:4]
    out[~np.isfinite(out).all(axis=1)] = np.nan
    return out


def _newton_step(m: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Newton step on the secular equation of symmetric 4x4s given as ``m (10, N)``.

    Returns the point ``(3, N)`` solving ``(M33 - lam I) x = -m3`` and the updated ``lam``
    (the Rayleigh quotient of ``[x, 1]``, which equals the Newton update).
    """
    a, b, c, d, e, f, g, h, i, j = m  # [[a b c d], [b e f g], [c f h i], [d g i j]]
    A, E, H = a - lam, e - lam, h - lam
    # adjugate of the symmetric 3x3 [[A b c], [b E f], [c f H]]
    c00 = E * H - f * f
    c01 = c * f - b * H
    c02 = b * f - c * E
    c11 = A * H - c * c
    c12 = b * c - A * f
    c22 = A * E - b * b
    det = A * c00 + b * c01 + c * c02
    x = -(c00 * d + c01 * g + c02 * i) / det
    y = -(c01 * d + c11 * g + c12 * i) / det
    z = -(c02 * d + c12 * g + c22 * i) / det
    new_lam = lam + (j - lam + d * x + g * y + i * z) / (x * x + y * y + z * z + 1.0)
    return np.stack([x, y, z]), new_lam


def _smallest_eigvec_point(m: np.ndarray, max_iterations: int = 20) -> np.ndarray:
    """Dehomogenised eigenvector of the smallest eigenvalue of many symmetric 4x4 matrices -> ``(N, 3)``.

    ``m`` is ``(10, N)``: the upper triangle (row-major) of each matrix. Writing the
    eigenvector as ``[x, 1]``, the smallest eigenvalue ``lam`` is the smallest root of the
    secular equation ``j - lam - m3^T (M33 - lam I)^-1 m3 = 0``; Newton from ``lam = 0`` (the
    inhomogeneous least-squares solution) approaches it from below and converges
    quadratically. Three steps run on every point, then only points that have not yet
    converged continue. All work is element-wise on ``(N,)`` arrays; degenerate points give NaN.
    """
    lam = np.zeros(m.shape[1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(3):
            X, lam_new = _newton_step(m, lam)
            delta = np.abs(lam_new - lam)
            lam = lam_new
        active = np.flatnonzero(~(delta <= 1e-12))  # M has unit trace: an absolute tolerance
        for _ in range(max_iterations - 3):
            if active.size == 0:
                break
            Xa, la = _newton_step(m[:, active], lam[active])
            done = np.abs(la - lam[active]) <= 1e-12
            X[:, active] = Xa
            lam[active] = la
            active = active[~done]
    out = np.ascontiguousarray(X.T)
    out[~np.isfinite(out).all(axis=1)] = np.nan
    return out


def _as_group(cameras: CameraGroup | Sequence[Camera]) -> CameraGroup:
    return cameras if isinstance(cameras, CameraGroup) else CameraGroup(list(cameras))


def reprojection_errors(
    points: np.ndarray, points2d: np.ndarray, cameras: CameraGroup | Sequence[Camera]
) -> np.ndarray:
    """Per-view reprojection errors: points ``(F, J, 3)`` m, points2d ``(V, F, J, 2)`` px -> ``(V, F, J)`` px."""
    group = _as_group(cameras)
    proj = group.project(points)  # (V, F, J, 2)
    return np.linalg.norm(proj - points2d, axis=-1)


def confident(points2d: np.ndarray, confidence: np.ndarray, min_confidence: float) -> np.ndarray:
    """``(...)`` True where a keypoint ``(..., 2)`` px is finite and its confidence ``(...)`` at least
    ``min_confidence``: the keypoints triangulation uses."""
    return np.isfinite(points2d).all(axis=-1) & np.isfinite(confidence) & (confidence >= min_confidence)


def triangulate(
    points2d: np.ndarray,
    confidence: np.ndarray,
    cameras: CameraGroup | Sequence[Camera],
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    reject_outlier_views: bool = True,
    outlier_px: float = 20.0,
) -> Triangulation:
    """Triangulate keypoints seen by several calibrated cameras.

    points2d: ``(V, F, J, 2)`` distorted pixels as detected; NaN = missing.
    confidence: ``(V, F, J)`` in [0, 1]; below ``min_confidence`` a keypoint is ignored.
    cameras: the V cameras, in the same order as the views.
    reject_outlier_views: with 3 or more views, a point whose mean reprojection error
        exceeds ``outlier_px`` is re-solved without each view in turn, and the
        leave-one-out solution with the smallest error is kept when it halves the error.
    Returns a :class:`Triangulation`; joints seen by fewer than 2 views are NaN with
    ``n_views < 2``, never a guess.
    """
    group = _as_group(cameras)
    points2d = np.asarray(points2d, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    V = len(group)
    if points2d.ndim != 4 or points2d.shape[0] != V or points2d.shape[-1] != 2:
        raise ValueError(f"points2d must be (V={V}, F, J, 2), got {points2d.shape}")
    if confidence.shape != points2d.shape[:-1]:
        raise ValueError(f"confidence must be {points2d.shape[:-1]}, got {confidence.shape}")
    if V < 2:
        raise ValueError("triangulation needs at least 2 views")
    _, F, J, _ = points2d.shape

    w = np.where(confident(points2d, confidence, min_confidence), confidence, 0.0)  # (V, F, J)
    und = group.undistort(points2d)  # (V, F, J, 2)
    P = group.projection_matrices()

    flat_uv = und.reshape(V, F * J, 2)
    flat_w = w.reshape(V, F * J)
    pts = dlt(P, flat_uv, flat_w)
    used = flat_w > 0

    if reject_outlier_views and V >= 3:
        pts, used = _reject_outlier_views(
            P, flat_uv, flat_w, pts, used, outlier_px, group, points2d.reshape(V, F * J, 2)
        )

    return from_points(pts.reshape(F, J, 3), points2d, used.reshape(V, F, J), group)


def from_points(
    points: np.ndarray, points2d: np.ndarray, used: np.ndarray, cameras: CameraGroup | Sequence[Camera]
) -> Triangulation:
    """The :class:`Triangulation` of points already solved: ``points (F, J, 3)`` m from the keypoints
    ``points2d (V, F, J, 2)`` distorted px of the views ``used (V, F, J)``; joints with fewer than 2 views -> NaN."""
    group = _as_group(cameras)
    V, F, J = used.shape
    pts = np.array(points, dtype=np.float64).reshape(F * J, 3)
    flat_used = used.reshape(V, F * J)
    n_views = flat_used.sum(axis=0)
    pts[n_views < 2] = np.nan
    err_v = reprojection_errors(pts, np.asarray(points2d, np.float64).reshape(V, F * J, 2), group)  # (V, N)
    with np.errstate(invalid="ignore"):
        err = np.where(flat_used, err_v, 0.0).sum(axis=0) / np.maximum(n_views, 1)
    err[n_views < 2] = np.nan
    return Triangulation(
        points=pts.reshape(F, J, 3),
        reprojection_error_px=err.reshape(F, J),
        n_views=n_views.reshape(F, J),
        views_used=flat_used.reshape(V, F, J),
    )


def _mean_error(pts: np.ndarray, raw: np.ndarray, used: np.ndarray, group: CameraGroup) -> np.ndarray:
    e = reprojection_errors(pts, raw, group)
    n = used.sum(axis=0)
    with np.errstate(invalid="ignore"):
        out = np.where(used, e, 0.0).sum(axis=0) / np.maximum(n, 1)
    return np.where(n >= 2, out, np.inf)


def _reject_outlier_views(
    P: np.ndarray,
    uv: np.ndarray,
    w: np.ndarray,
    pts: np.ndarray,
    used: np.ndarray,
    outlier_px: float,
    group: CameraGroup,
    raw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-view-out re-solve for points with a large reprojection error (all points at once)."""
    err = _mean_error(pts, raw, used, group)
    bad = np.flatnonzero((err > outlier_px) & (used.sum(axis=0) >= 3))
    if bad.size == 0:
        return pts, used
    V = len(group)
    best_pts = pts[bad].copy()
    best_used = used[:, bad].copy()
    best_err = err[bad].copy()
    for v in range(V):  # V is small (2-4); the work inside is vectorised over all points
        w_loo = w[:, bad].copy()
        w_loo[v] = 0.0
        used_loo = w_loo > 0
        p = dlt(P, uv[:, bad], w_loo)
        e = _mean_error(p, raw[:, bad], used_loo, group)
        better = e < best_err * 0.5
        best_pts[better] = p[better]
        best_used[:, better] = used_loo[:, better]
        best_err[better] = e[better]
    pts = pts.copy()
    used = used.copy()
    pts[bad] = best_pts
    used[:, bad] = best_used
    return pts, used
