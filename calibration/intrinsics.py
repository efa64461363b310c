"""Intrinsic calibration of one camera (``cv2.calibrateCamera``), a cheap running estimate, and loading.

Pixels and metres throughout; the resulting :class:`core.camera.Camera` has ``R = I``, ``t = 0``.
The distortion model adapts to the data: with few views or poor coverage the higher-order terms
are fixed at zero (k3, then the tangential terms), because fitting them from a board that never
reached the image corners gives wild values outside the covered area.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from calibration.detect import Detection
from calibration.selection import coverage_grid
from core.calibration_io import load_calibration
from core.camera import Camera
from core.errors import CalibrationError, CalibrationFileError

#: Distortion models: name -> calibrateCamera flags.
MODELS: dict[str, int] = {
    "k1k2p1p2k3": 0,
    "k1k2p1p2": cv2.CALIB_FIX_K3,
    "k1k2": cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST,
}

MIN_VIEWS = 3


@dataclass(frozen=True, eq=False)
class IntrinsicsResult:
    """One camera's intrinsics and how well they fit.

    ``rms``: reprojection RMS (px) over the views used. ``per_view_errors`` ``(V,)`` px RMS per view
    used, in the order of ``view_indices`` (indices into the views given). ``rejected``: outlier views
    dropped before the final fit. ``model``: distortion terms estimated (a key of :data:`MODELS`).
    ``std_fx``: 1-sigma uncertainty of fx (px). ``coverage``: fraction of the image grid the views
    covered. ``source``: "calibrated" or "file:<path>".
    """

    camera: Camera
    rms: float
    per_view_errors: np.ndarray = field(default_factory=lambda: np.zeros(0))
    view_indices: tuple[int, ...] = ()
    rejected: tuple[int, ...] = ()
    model: str = "k1k2p1p2k3"
    std_fx: float = float("nan")
    coverage: float = float("nan")
    n_points: int = 0
    source: str = "calibrated"

    @property
    def image_size(self) -> tuple[int, int]:
        return self.camera.size

    def to_json(self) -> dict:
        K = self.camera.K
        return {
            "name": self.camera.name,
            "source": self.source,
            "image_size": list(self.camera.size),
            "rms_px": _r(self.rms),
            "fx": _r(K[0, 0]),
            "fy": _r(K[1, 1]),
            "cx": _r(K[0, 2]),
            "cy": _r(K[1, 2]),
            "std_fx": _r(self.std_fx),
            "distortion": [_r(v, 6) for v in self.camera.dist],
            "model": self.model,
            "views_used": len(self.view_indices),
            "views_rejected": list(self.rejected),
            "coverage": _r(self.coverage),
            "per_view_errors_px": [_r(v) for v in self.per_view_errors],
        }


def _r(v: float, nd: int = 4) -> float | None:
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def views_coverage(views: Sequence[Detection], image_size: tuple[int, int], long_cells: int = 8) -> float:
    """Fraction of the coverage grid's cells that the boards of ``views`` reached (as the live heat map)."""
    return float(np.mean(coverage_grid(views, image_size, long_cells) > 0))


def choose_model(n_views: int, coverage: float) -> str:
    """Distortion model for this much data: all 5 terms only with >= 10 views covering >= 50 % of the image."""
    if n_views >= 10 and coverage >= 0.5:
        return "k1k2p1p2k3"
    if n_views >= 5:
        return "k1k2p1p2"
    return "k1k2"


def _check_views(views: Sequence[Detection], image_size: tuple[int, int], name: str, min_views: int) -> None:
    sizes = {tuple(v.image_size) for v in views}
    if sizes and sizes != {tuple(image_size)}:
        raise CalibrationError(
            f"camera {name}: views of different resolutions ({', '.join(f'{w}x{h}' for w, h in sorted(sizes))}); "
            "all views of one camera must have the same resolution. Capture again without changing it."
        )
    if len(views) < min_views:
        raise CalibrationError(
            f"camera {name}: only {len(views)} usable view(s) of the board; at least {min_views} are needed "
            "(15-25 recommended). Show the board at more positions and angles, all over the image."
        )


def _object_image_lists(views: Sequence[Detection]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    obj = [v.object_points.astype(np.float32).reshape(-1, 1, 3) for v in views]
    img = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    return obj, img


def _fit(
    views: Sequence[Detection], image_size: tuple[int, int], flags: int, K0: np.ndarray | None, iterations: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    obj, img = _object_image_lists(views)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-9)
    K_init = None if K0 is None else np.asarray(K0, np.float64).copy()
    f = flags | (cv2.CALIB_USE_INTRINSIC_GUESS if K_init is not None else 0)
    try:
        rms, K, dist, _, _, std_in, _, per_view = cv2.calibrateCameraExtended(
            obj, img, tuple(image_size), K_init, None, flags=f, criteria=crit
        )
    except cv2.error as exc:
        raise CalibrationError(
            f"the intrinsic solve failed inside OpenCV ({str(exc).strip().splitlines()[-1]}). "
            "Capture views with the whole board visible at several angles."
        ) from None
    return float(rms), K, dist.ravel(), np.asarray(per_view).ravel(), np.asarray(std_in).ravel()


def _check_solution(name: str, rms: float, K: np.ndarray, dist: np.ndarray, image_size: tuple[int, int]) -> None:
    w, h = image_size
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    bad = (
        not np.isfinite(rms)
        or not np.all(np.isfinite(K))
        or not np.all(np.isfinite(dist))
        or fx <= 0
        or fy <= 0
        or not (0.6 < fx / fy < 1.6)
        or not (0 < cx < w and 0 < cy < h)
        or fx > 50 * max(w, h)
        or rms > 20
    )
    if bad:
        raise CalibrationError(
            f"camera {name}: the intrinsic solve diverged (RMS {rms:.3g} px, fx {fx:.4g}, fy {fy:.4g}, "
            f"principal point {cx:.4g},{cy:.4g}). Check the board definition matches the print (size, square), "
            "and capture sharper views with the board tilted in several directions."
        )


def calibrate_intrinsics(
    views: Sequence[Detection],
    image_size: tuple[int, int],
    *,
    name: str = "cam_0",
    model: str = "auto",
    reject_outliers: bool = True,
    K_guess: np.ndarray | None = None,
    min_views: int = MIN_VIEWS,
    iterations: int = 60,
) -> IntrinsicsResult:
    """Calibrate one camera from its board views.

    ``views``: found detections (corners px, object points m). ``image_size`` ``(w, h)``.
    ``model``: "auto" (:func:`choose_model`) or a key of :data:`MODELS`. ``reject_outliers``: drop views
    whose error is above ``max(3 x median, 1 px)`` (at most a quarter of them), then refit.
    Raises :class:`CalibrationError` with what to do when there are too few views or the solve diverges.
    """
    views = [v for v in views if v.found and v.n >= 4]
    image_size = (int(image_size[0]), int(image_size[1]))
    _check_views(views, image_size, name, min_views)
    coverage = views_coverage(views, image_size)
    if model == "auto":
        model = choose_model(len(views), coverage)
    if model not in MODELS:
        raise CalibrationError(f"unknown distortion model {model!r}; use one of {', '.join(MODELS)} or 'auto'.")
    flags = MODELS[model]
    keep = np.arange(len(views))
    rms, K, dist, per_view, std = _fit(views, image_size, flags, K_guess, iterations)
    _check_solution(name, rms, K, dist, image_size)
    rejected: list[int] = []
    if reject_outliers and len(views) > min_views:
        for _ in range(2):
            med = float(np.median(per_view))
            thr = max(3.0 * med, 1.0)
            bad = np.nonzero(per_view > thr)[0]
            room = min(len(keep) - min_views, max(1, len(views) // 4) - len(rejected))
            if len(bad) == 0 or room <= 0:
                break
            bad = bad[np.argsort(-per_view[bad])][:room]
            rejected.extend(int(keep[i]) for i in bad)
            keep = np.delete(keep, bad)
            sub = [views[i] for i in keep]
            rms, K, dist, per_view, std = _fit(sub, image_size, flags, K, iterations)
            _check_solution(name, rms, K, dist, image_size)
    cam = Camera(name=name, K=K, dist=dist[:5], size=image_size)
    return IntrinsicsResult(
        camera=cam,
        rms=rms,
        per_view_errors=per_view,
        view_indices=tuple(int(i) for i in keep),
        rejected=tuple(sorted(rejected)),
        model=model,
        std_fx=float(std[0]) if std.size else float("nan"),
        coverage=coverage,
        n_points=int(sum(views[i].n for i in keep)),
    )


@dataclass(frozen=True)
class QuickEstimate:
    """A running estimate for a live UI: RMS (px), K ``(3, 3)``, dist ``(5,)``, views used."""

    rms: float
    K: np.ndarray
    dist: np.ndarray
    n_views: int


def quick_calibrate(
    views: Sequence[Detection], image_size: tuple[int, int], max_views: int = 12, iterations: int = 20
) -> QuickEstimate | None:
    """A cheap intrinsic fit on at most ``max_views`` evenly spread views (k1, k2 only; tens of ms).

    Meant to run in a worker every few kept views, to show a running RMS and to give the selector a
    better camera matrix. Returns None when there are too few views or the fit fails.
    """
    views = [v for v in views if v.found and v.n >= 4]
    if len(views) < MIN_VIEWS:
        return None
    if len(views) > max_views:
        idx = np.linspace(0, len(views) - 1, max_views).round().astype(int)
        views = [views[i] for i in idx]
    try:
        rms, K, dist, _, _ = _fit(views, image_size, MODELS["k1k2"], None, iterations)
        _check_solution("", rms, K, dist, image_size)
    except CalibrationError:
        return None
    return QuickEstimate(rms, K, dist[:5], len(views))


def load_intrinsics(
    path: str | os.PathLike,
    camera: str | int = 0,
    image_size: tuple[int, int] | None = None,
    name: str | None = None,
) -> IntrinsicsResult:
    """Intrinsics of a known camera from a calibration TOML (any layout :func:`load_calibration` reads).

    ``camera``: the camera's name in the file or its index. ``image_size``: the footage's resolution;
    a different resolution raises :class:`CalibrationError` (intrinsics only hold at their own size).
    ``name``: rename the camera. The extrinsics in the file are ignored.
    """
    cal = load_calibration(path)
    try:
        cam = cal.group[camera] if isinstance(camera, str) else cal.group[int(camera)]
    except (KeyError, IndexError):
        raise CalibrationFileError(
            f"calibration file '{path}' has no camera {camera!r}; it holds {cal.group.names}."
        ) from None
    if image_size is not None and tuple(image_size) != tuple(cam.size):
        raise CalibrationError(
            f"the intrinsics of '{cam.name}' in '{path}' were calibrated at {cam.size[0]}x{cam.size[1]} but the "
            f"footage is {image_size[0]}x{image_size[1]}. Set the camera to {cam.size[0]}x{cam.size[1]}, or "
            "calibrate the intrinsics again at this resolution."
        )
    table = cal.metadata.get("intrinsics_rms_px", {})
    rms = table.get(cam.name) if isinstance(table, dict) else None
    cam = Camera(name=name or cam.name, K=cam.K, dist=cam.dist, size=cam.size)
    return IntrinsicsResult(
        camera=cam,
        rms=float(rms) if isinstance(rms, (int, float)) else float("nan"),
        model="k1k2p1p2k3",
        source=f"file:{Path(path)}",
    )
