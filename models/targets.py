"""2D training targets for user recordings that nobody labelled (docs/cv_ugcn.md, "What 2D do the losses target?").

The stored detections of a recording are smoothed **offline and non-causally**: a confidence-weighted
local quadratic regression in time (a Savitzky-Golay filter whose samples are weighted by the detector's
confidence and a tricube kernel, so gaps and low-confidence frames are bridged rather than copied),
with outlier rejection against the smoothed track (iterated twice) and a confidence re-weighting: the
target's confidence is the kernel-weighted mean confidence of the accepted detections around it.
Numpy only. (A forward+backward detector pass over the video belongs to the pipeline; this works on
whatever 2D was stored.)

Shapes: keypoints ``(F, J, 3)`` = [x_px, y_px, confidence] for one camera, or ``(..., F, J, 3)`` with any
leading dimensions (cameras). Times in frames; ``fps`` converts :class:`TargetConfig`'s seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.errors import InputError


@dataclass(frozen=True)
class TargetConfig:
    """How targets are made. Seconds, pixels, fractions of the person's size in the image.

    half_width_s: half-width of the smoothing window (0.12 s: about 6 Hz of bandwidth for the local
        quadratic, the cut-off Pose2Sim's Butterworth uses for human motion).
    min_confidence: detections below this are ignored (weight 0).
    outlier_k: a detection further than ``outlier_k`` robust standard deviations (and at least
        ``outlier_floor`` x the person's image size) from the smoothed track is rejected.
    min_support: targets whose window holds less than this total kernel-weighted confidence (as a
        fraction of the full window) are dropped (NaN, confidence 0).
    iterations: smoothing/rejection passes.
    """

    half_width_s: float = 0.12
    min_confidence: float = 0.2
    outlier_k: float = 4.0
    outlier_floor: float = 0.02
    min_support: float = 0.25
    iterations: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


def _kernel(h: int) -> tuple[np.ndarray, np.ndarray]:
    """Tricube weights and normalised offsets ``u = tau / (h + 1)`` over ``tau = -h..h``."""
    tau = np.arange(-h, h + 1, dtype=np.float64)
    u = tau / (h + 1)
    return (1 - np.abs(u) ** 3) ** 3, u


def _local_quadratic(x: np.ndarray, w: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted local quadratic fit at every frame.

    x ``(F, N, 2)`` (NaN where w == 0), w ``(F, N)`` weights -> (fit ``(F, N, 2)``, support ``(F, N)`` =
    kernel-weighted sum of w divided by the kernel's sum). Frames outside the recording weigh 0.
    """
    k, u = _kernel(h)
    F = x.shape[0]
    wp = np.pad(w, ((h, h), (0, 0)))
    xp = np.pad(np.where(w[..., None] > 0, np.nan_to_num(x), 0.0), ((h, h), (0, 0), (0, 0)))
    W = sliding_window_view(wp, 2 * h + 1, axis=0)[:F]  # (F, N, L)
    Xw = sliding_window_view(xp, 2 * h + 1, axis=0)[:F]  # (F, N, 2, L)
    basis = np.stack([k * u**p for p in range(5)])  # (5, L)
    S = np.einsum("fnl,pl->fnp", W, basis)  # (F, N, 5) moments of the weights
    T = np.einsum("fnl,fncl,pl->fncp", W, Xw, basis[:3])  # (F, N, 2, 3)
    A = np.stack([S[..., 0:3], S[..., 1:4], S[..., 2:5]], axis=-2)  # (F, N, 3, 3)
    # Ridge on slope and curvature keeps one-sided or sparse windows well posed (it shrinks towards a
    # local constant/linear fit there instead of extrapolating a parabola).
    ridge = 1e-3 * S[..., 0:1, None] * np.diag([0.0, 1.0, 1.0]) + 1e-12 * np.eye(3)
    sol = np.linalg.solve((A + ridge)[:, :, None], T[..., None])[..., 0]  # (F, N, 2, 3)
    support = S[..., 0] / k.sum()
    return sol[..., 0], support


def person_size_px(kp: np.ndarray, min_confidence: float = 0.2) -> np.ndarray:
    """Median over frames of the bounding-box diagonal of the confident keypoints: ``(..., F, J, 3) -> (...)`` px."""
    ok = (kp[..., 2] >= min_confidence) & np.isfinite(kp[..., :2]).all(-1)
    lo = np.where(ok[..., None], kp[..., :2], np.inf).min(-2)
    hi = np.where(ok[..., None], kp[..., :2], -np.inf).max(-2)
    diag = np.linalg.norm(hi - lo, axis=-1)  # (..., F)
    diag = np.where(ok.sum(-1) >= 2, diag, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(diag, axis=-1) if diag.shape[-1] else np.full(diag.shape[:-1], np.nan)
    return np.where(np.isfinite(out), out, 0.0)


def smooth_keypoints(kp: np.ndarray, fps: float, config: TargetConfig | None = None) -> np.ndarray:
    """Offline 2D targets from stored detections: ``(..., F, J, 3)`` -> ``(..., F, J, 3)`` [x_px, y_px, conf].

    Non-causal, confidence-weighted local quadratic smoothing with outlier rejection (module docstring).
    Targets without enough support are NaN with confidence 0. Raises :class:`InputError` on a bad shape.
    """
    cfg = config or TargetConfig()
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim < 3 or kp.shape[-1] != 3:
        raise InputError(f"keypoints must be (..., F, J, 3) [x_px, y_px, confidence], got shape {kp.shape}.")
    if fps <= 0:
        raise InputError(f"frame rate must be positive, got {fps}.")
    lead = kp.shape[:-3]
    F, J = kp.shape[-3:-1]
    flat = np.moveaxis(kp.reshape(-1, F, J, 3), 0, 1).reshape(F, -1, 3)  # (F, N, 3), N = cams * J
    h = max(2, int(round(cfg.half_width_s * fps)))
    xy = flat[..., :2]
    conf = np.nan_to_num(flat[..., 2])
    base_w = np.where(np.isfinite(xy).all(-1) & (conf >= cfg.min_confidence), conf, 0.0)
    size = person_size_px(kp.reshape(-1, F, J, 3), cfg.min_confidence)  # (cams,)
    floor = np.repeat(np.maximum(cfg.outlier_floor * size, 2.0), J)[None]  # (1, N) px

    w = base_w
    fit, support = _local_quadratic(xy, w, h)
    for _ in range(max(cfg.iterations, 1)):
        r = np.linalg.norm(xy - fit, axis=-1)  # (F, N) px; NaN where no detection
        r_ok = np.where(base_w > 0, r, np.nan)
        with warnings.catch_warnings():  # joints never detected have no residual at all
            warnings.simplefilter("ignore", RuntimeWarning)
            mad = np.nanmedian(np.abs(r_ok), axis=0, keepdims=True) * 1.4826  # (1, N)
        thr = np.maximum(cfg.outlier_k * np.nan_to_num(mad), floor)
        w = np.where(r_ok <= thr, base_w, 0.0)
        fit, support = _local_quadratic(xy, w, h)
    # confidence of the target: the kernel-weighted mean confidence of the accepted detections nearby
    new_conf = np.clip(support, 0.0, 1.0)
    ok = new_conf >= cfg.min_support
    out = np.concatenate([np.where(ok[..., None], fit, np.nan), np.where(ok, new_conf, 0.0)[..., None]], axis=-1)
    out = np.moveaxis(out.reshape(F, -1, J, 3), 1, 0).reshape(*lead, F, J, 3)
    return out


def rejected_fraction(raw: np.ndarray, targets: np.ndarray, threshold_px: float) -> float:
    """Fraction of confident raw detections further than ``threshold_px`` from their target (diagnostic)."""
    ok = (raw[..., 2] > 0) & np.isfinite(raw[..., :2]).all(-1) & np.isfinite(targets[..., :2]).all(-1)
    d = np.linalg.norm(raw[..., :2] - targets[..., :2], axis=-1)
    return float((d[ok] > threshold_px).mean()) if ok.any() else 0.0
