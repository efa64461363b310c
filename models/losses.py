"""Weak-supervision losses of CV-UGCN: pure, batched torch functions (docs/cv_ugcn.md).

Every term takes the refined poses as **absolute camera-frame** points ``X (B, V=2, J, 3)`` in metres
(``x + residual + root``, see models/prep.py) plus the relative pose ``X2 = R21 X1 + t21``
(``R21 (B, 3, 3)``, ``t21 (B, 3)`` m). Because the network input of both views is centred on the same
world point, working on absolute poses with the full ``(R21, t21)`` is exactly equivalent to working on
the centred poses with ``R21`` alone; the tests check both.

Units of the returned values, chosen so that the terms are of similar size for errors of ~1 cm:

* 3D terms (transformation consistency, bone length, symmetry, smoothness): mean squared distance in cm^2.
* 2D terms (reprojection): a robust function of the pixel error expressed at a focal length of
  1000 px (``err_px * 1000 / f``), so images of any size weigh alike; quadratic (px^2) below
  ``robust_scale_px``. Targets are **undistorted** pixels (undistorted once, when the data is built).
* bone direction: mean cosine distance ``1 - cos`` (dimensionless).

:class:`LossConfig` switches and weights every term; :func:`compute_losses` returns each term unweighted
and the weighted total.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch

from core import skeleton

from .prep import project_pinhole

CM = 100.0  #: metres -> centimetres
REF_FOCAL_PX = 1000.0

_BONES = torch.as_tensor(skeleton.BONES)
_LR_BONES = torch.as_tensor(skeleton.LR_BONE_PAIRS)


# ----------------------------------------------------------------------------- helpers


def robust(sq: torch.Tensor, scale: float, kind: str) -> torch.Tensor:
    """Robust penalty of squared residuals ``sq`` (any shape), quadratic (= sq) near 0.

    ``l2``: sq. ``huber``: sq below ``scale^2``, then linear in the residual. ``cauchy``:
    ``scale^2 log(1 + sq / scale^2)`` (redescending influence: a gross outlier barely pulls).
    """
    if kind == "l2":
        return sq
    s2 = scale * scale
    if kind == "huber":
        r = torch.sqrt(sq + 1e-12)
        return torch.where(r <= scale, sq, 2 * scale * r - s2)
    if kind == "cauchy":
        return s2 * torch.log1p(sq / s2)
    raise ValueError(f"robust kind must be 'l2', 'huber' or 'cauchy', got {kind!r}")


def _weighted_mean(v: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    if w is None:
        return v.mean()
    w = w.to(v.dtype)
    return (v * w).sum() / w.sum().clamp_min(1e-6)


def transform_points(X: torch.Tensor, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``R X + t`` for ``X (B, J, 3)``, ``R (B, 3, 3)``, ``t (B, 3)``."""
    return X @ R.transpose(-1, -2) + t[:, None, :]


def inverse_transform_points(X: torch.Tensor, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``R^T (X - t)``: the inverse of :func:`transform_points`."""
    return (X - t[:, None, :]) @ R


def bone_vectors_t(X: torch.Tensor) -> torch.Tensor:
    """``(..., J, 3)`` -> ``(..., 16, 3)`` child - parent."""
    b = _BONES.to(X.device)
    return X[..., b[:, 1], :] - X[..., b[:, 0], :]


def bone_lengths_t(X: torch.Tensor) -> torch.Tensor:
    """``(..., J, 3)`` -> ``(..., 16)`` in the unit of ``X``."""
    return torch.linalg.vector_norm(bone_vectors_t(X), dim=-1)


# ----------------------------------------------------------------------------- the terms


def transform_consistency(X: torch.Tensor, R21: torch.Tensor, t21: torch.Tensor) -> torch.Tensor:
    """3D transformation consistency [paper], both directions, in cm^2.

    ``mean(|R21 X1 + t21 - X2|^2 + |R21^T (X2 - t21) - X1|^2) / 2`` over batch and joints.
    (For a rotation both directions have the same value; the paper states both, so both are kept.)
    """
    X1, X2 = X[:, 0], X[:, 1]
    d12 = transform_points(X1, R21, t21) - X2
    d21 = inverse_transform_points(X2, R21, t21) - X1
    return 0.5 * (d12.square().sum(-1).mean() + d21.square().sum(-1).mean()) * CM * CM


def reprojection(
    X: torch.Tensor,
    K: torch.Tensor,
    target: torch.Tensor,
    conf: torch.Tensor,
    robust_kind: str = "huber",
    robust_scale_px: float = 10.0,
) -> torch.Tensor:
    """Single-view 2D reprojection consistency: view v's pose projected by ``K_v`` vs view v's 2D.

    X ``(B, V, J, 3)`` m camera frames, K ``(B, V, 3, 3)``, target ``(B, V, J, 2)`` undistorted px,
    conf ``(B, V, J)`` (0 = no target). Returns the confidence-weighted robust mean (px at f = 1000)^2.
    """
    uv = project_pinhole(X, K)
    return _reproj_loss(uv, target, conf, K, robust_kind, robust_scale_px)


def cross_reprojection(
    X: torch.Tensor,
    R21: torch.Tensor,
    t21: torch.Tensor,
    K: torch.Tensor,
    target: torch.Tensor,
    conf: torch.Tensor,
    robust_kind: str = "huber",
    robust_scale_px: float = 10.0,
) -> torch.Tensor:
    """Cross-view reprojection: camera 1's pose carried into camera 2 must land on x2, and vice versa."""
    X1in2 = transform_points(X[:, 0], R21, t21)
    X2in1 = inverse_transform_points(X[:, 1], R21, t21)
    carried = torch.stack([X2in1, X1in2], dim=1)  # (B, V, J, 3): the other view's pose in view v's frame
    uv = project_pinhole(carried, K)
    return _reproj_loss(uv, target, conf, K, robust_kind, robust_scale_px)


def _reproj_loss(
    uv: torch.Tensor, target: torch.Tensor, conf: torch.Tensor, K: torch.Tensor, kind: str, scale: float
) -> torch.Tensor:
    f = 0.5 * (K[..., 0, 0] + K[..., 1, 1])  # (B, V)
    norm = (REF_FOCAL_PX / f)[..., None, None]
    ok = torch.isfinite(target).all(-1) & (conf > 0)
    d = torch.where(ok[..., None], (uv - torch.nan_to_num(target)) * norm, torch.zeros_like(uv))
    sq = d.square().sum(-1)
    return _weighted_mean(robust(sq, scale, kind), torch.where(ok, conf, torch.zeros_like(conf)))


def bone_direction(X: torch.Tensor, R21: torch.Tensor) -> torch.Tensor:
    """Bone-direction consistency [paper]: mean ``1 - cos(R21 bone1_k, bone2_k)`` over bones and batch."""
    b1 = bone_vectors_t(X[:, 0]) @ R21.transpose(-1, -2)
    b2 = bone_vectors_t(X[:, 1])
    cos = torch.nn.functional.cosine_similarity(b1, b2, dim=-1, eps=1e-6)
    return (1.0 - cos).mean()


def bone_length(X: torch.Tensor, target_m: torch.Tensor) -> torch.Tensor:
    """Per-session bone-length constancy [ours]: ``(len_k - target_k)^2`` in cm^2, both views.

    target_m ``(B, 16)`` m: the session's robust median length of each bone (NaN/<=0 = unknown, skipped).
    """
    lengths = bone_lengths_t(X)  # (B, V, 16)
    ok = torch.isfinite(target_m) & (target_m > 0)
    d = (lengths - torch.nan_to_num(target_m)[:, None]) * CM
    w = ok[:, None].expand_as(d)
    return _weighted_mean(d.square(), w)


def symmetry(X: torch.Tensor) -> torch.Tensor:
    """Left/right symmetry [ours]: ``(len_right - len_left)^2`` over the 6 bone pairs, cm^2."""
    lengths = bone_lengths_t(X)
    p = _LR_BONES.to(X.device)
    return ((lengths[..., p[:, 0]] - lengths[..., p[:, 1]]) * CM).square().mean()


def temporal_smoothness(X: torch.Tensor, window: int) -> torch.Tensor:
    """Temporal smoothness [ours] over batches of consecutive-frame windows, cm^2.

    ``X (B, ...)`` with ``B = n_windows * window`` ordered window by window. Penalises the second
    difference (acceleration per frame^2) when ``window >= 3``, the first difference when it is 2;
    zero when it is 1.
    """
    if window <= 1:
        return X.sum() * 0.0
    Xw = X.reshape(-1, window, *X.shape[1:])
    d = Xw[:, 2:] - 2 * Xw[:, 1:-1] + Xw[:, :-2] if window >= 3 else Xw[:, 1:] - Xw[:, :-1]
    return (d * CM).square().sum(-1).mean()


# ----------------------------------------------------------------------------- configuration

TERMS = ("transform", "reproj", "cross_reproj", "bone_dir", "bone_length", "symmetry", "temporal")


@dataclass(frozen=True)
class LossConfig:
    """Weights of each loss term (0 switches it off) and the robust 2D penalty.

    Presets (:meth:`preset`): ``paper`` (the paper's three terms, bone direction at 0.1), ``structure-heavy``
    (paper + bone length, symmetry and smoothness, for unlabelled user recordings), ``2d-only`` (single- and
    cross-view reprojection only).
    """

    transform: float = 1.0
    reproj: float = 1.0
    cross_reproj: float = 1.0
    bone_dir: float = 0.1
    bone_length: float = 0.0
    symmetry: float = 0.0
    temporal: float = 0.0
    robust: str = "huber"
    robust_scale_px: float = 10.0

    PRESETS = ("paper", "structure-heavy", "finetune", "2d-only")

    @classmethod
    def preset(cls, name: str) -> LossConfig:
        if name == "paper":
            return cls()
        if name == "structure-heavy":
            return cls(bone_length=1.0, symmetry=0.5, temporal=0.5)
        if name == "finetune":
            return cls(bone_length=0.3, symmetry=0.1, temporal=0.1, robust="cauchy")
        if name == "2d-only":
            return cls(transform=0.0, bone_dir=0.0)
        raise ValueError(f"unknown loss preset {name!r}; choose one of {cls.PRESETS}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LossConfig:
        names = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in d.items() if k in names})

    def active(self) -> tuple[str, ...]:
        return tuple(n for n in TERMS if getattr(self, n) != 0)


def compute_losses(
    X: torch.Tensor,
    R21: torch.Tensor,
    t21: torch.Tensor,
    K: torch.Tensor,
    target2d: torch.Tensor,
    conf: torch.Tensor,
    config: LossConfig,
    bone_target: torch.Tensor | None = None,
    window: int = 1,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """All active terms for refined camera-frame poses ``X (B, V, J, 3)`` m.

    Returns ``(total, {term: unweighted value})``; ``total = sum(weight * value)``. Needs ``bone_target``
    ``(B, 16)`` m for the bone-length term and windows of consecutive frames (``window``) for smoothness.
    """
    terms: dict[str, torch.Tensor] = {}
    c = config
    if c.transform:
        terms["transform"] = transform_consistency(X, R21, t21)
    if c.reproj:
        terms["reproj"] = reprojection(X, K, target2d, conf, c.robust, c.robust_scale_px)
    if c.cross_reproj:
        terms["cross_reproj"] = cross_reprojection(X, R21, t21, K, target2d, conf, c.robust, c.robust_scale_px)
    if c.bone_dir:
        terms["bone_dir"] = bone_direction(X, R21)
    if c.bone_length:
        if bone_target is None:
            raise ValueError("the bone-length term needs bone_target (B, 16) metres")
        terms["bone_length"] = bone_length(X, bone_target)
    if c.symmetry:
        terms["symmetry"] = symmetry(X)
    if c.temporal:
        terms["temporal"] = temporal_smoothness(X, window)
    total = sum((getattr(c, k) * v for k, v in terms.items()), start=X.new_zeros(()))
    return total, terms
