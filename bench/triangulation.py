"""Triangulation throughput: ``python -m bench.triangulation`` prints one JSON object.

Two synthetic webcams (1280x720, k1 about -0.2) see F = 10 000 frames of J = 17 joints
with 1.5 px noise. Measured in the same run:

- ``dlt_points_per_second``: the vectorised DLT kernel (undistorted pixels in, points out);
- ``ratio_vs_cv2_loop``: that kernel against a per-point loop of ``cv2.triangulatePoints``
  over the same undistorted points (the same work);
- ``points_per_second``: the full ``triangulate`` call (undistortion, confidence weighting,
  DLT, reprojection error, flags);
- ``full_ratio_vs_cv2_loop_with_undistort``: the full call against a per-point loop of
  ``cv2.undistortPoints`` on both views plus ``cv2.triangulatePoints``.
"""

from __future__ import annotations

import json
import platform
import time

import cv2
import numpy as np

from bench.timing import best_of
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.triangulation import dlt, triangulate


def main(F: int = 10_000, J: int = 17) -> dict:
    rng = np.random.default_rng(0)
    K = [[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]
    a = Camera("a", K, [-0.2, 0.05, 0.001, 0.0, 0.0], np.eye(3), [0, 0, 0], (1280, 720))
    b = Camera(
        "b", K, [-0.15, 0.03, 0.0, 0.001, 0.0], rodrigues_to_matrix(np.array([0, -0.6, 0])), [1.2, 0, 0.4], (1280, 720)
    )
    group = CameraGroup([a, b])
    X = rng.normal([0, 0, 3], [0.5, 0.5, 0.3], size=(F, J, 3))
    uv = group.project(X) + rng.normal(0, 1.5, size=(2, F, J, 2))
    conf = rng.uniform(0.5, 1.0, size=(2, F, J))
    N = F * J

    t_full = best_of(lambda: triangulate(uv, conf, group), 5)
    und = group.undistort(uv).reshape(2, N, 2)
    P = group.projection_matrices()
    ones = np.ones((2, N))
    t_dlt = best_of(lambda: dlt(P, und, ones), 5)

    def cv2_loop() -> np.ndarray:
        out = np.empty((N, 3))
        for i in range(N):
            h = cv2.triangulatePoints(P[0], P[1], und[0, i].reshape(2, 1), und[1, i].reshape(2, 1))
            out[i] = h[:3, 0] / h[3, 0]
        return out

    t0 = time.perf_counter()
    ref = cv2_loop()
    t_loop = time.perf_counter() - t0

    raw = uv.reshape(2, N, 2)
    n_und = 20_000  # the undistort+triangulate loop is slow: time a slice and scale

    def cv2_loop_undistort() -> None:
        for i in range(n_und):
            pa = cv2.undistortPoints(raw[0, i].reshape(1, 1, 2), a.K, a.dist, P=a.K).reshape(2, 1)
            pb = cv2.undistortPoints(raw[1, i].reshape(1, 1, 2), b.K, b.dist, P=b.K).reshape(2, 1)
            cv2.triangulatePoints(P[0], P[1], pa, pb)

    t0 = time.perf_counter()
    cv2_loop_undistort()
    t_loop_und = (time.perf_counter() - t0) * N / n_und

    ours = dlt(P, und, ones)
    rel = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
    result = {
        "views": 2,
        "frames": F,
        "joints": J,
        "points": N,
        "points_per_second": N / t_full,
        "dlt_points_per_second": N / t_dlt,
        "cv2_loop_points_per_second": N / t_loop,
        "ratio_vs_cv2_loop": t_loop / t_dlt,
        "full_ratio_vs_cv2_loop_with_undistort": t_loop_und / t_full,
        "full_ms": 1000 * t_full,
        "dlt_ms": 1000 * t_dlt,
        "cv2_loop_ms": 1000 * t_loop,
        "max_relative_difference_vs_cv2": float(rel.max()),
        "goal_ratio": 20.0,
        "cpu": platform.processor() or platform.machine(),
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
