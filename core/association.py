"""Which person in view A is which person in view B: cross-view association by geometry, with a gate.

Every candidate pair (person ``i`` of view A, person ``j`` of view B) is triangulated in one batched DLT, with
view B's labels also tried mirrored (a left/right swap must not make the right person look wrong: the labellings
of ``core.swaps``). The pair's cost is its median reprojection error over the joints both views see confidently,
divided by the person's height in pixels, under the best labelling. The median joint is used, so a few
misdetected joints do not split a true pair. Pairs are matched greedily by cost; a pair
costing more than the gate, or with its joints behind a camera, is never matched. Two different people do not
triangulate consistently, so a mixed person never comes out: the followed person then has "no 3D" with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.camera import CameraGroup
from core.swaps import RELABELLINGS
from core.triangulation import DEFAULT_MIN_CONFIDENCE, dlt

#: A pair is one person when its reprojection error is below this fraction of the person's height in pixels
#: (on the Pose2Sim balancing take the true pairs stay under 0.03; people 1 m apart are above 0.2).
DEFAULT_GATE = 0.08
#: Joints both views must see confidently for a pair to be judged at all.
MIN_SHARED_JOINTS = 6


@dataclass(frozen=True)
class Match:
    """Person ``a`` of view A is person ``b`` of view B (indices into the candidate lists)."""

    a: int
    b: int
    cost: float
    """Median joint reprojection error / person height (unitless) under the best labelling."""
    root: np.ndarray
    """``(3,)`` m, the pelvis (mid-hip) of the pair's triangulation."""
    points: np.ndarray
    """``(J, 3)`` m, the pair's triangulation under the best labelling (NaN where not seen by both)."""


def pair_costs(
    cand_a: np.ndarray,
    cand_b: np.ndarray,
    cameras: CameraGroup,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray]:
    """Costs of every pair: ``(Na, J, 3)`` and ``(Nb, J, 3)`` px+conf -> cost ``(Na, Nb)``, points ``(Na, Nb, J, 3)`` m.

    The cost is unitless (median joint reprojection px / person height px); inf where fewer than MIN_SHARED_JOINTS
    joints are seen by both views or the points fall behind a camera. Points are those of the cheapest labelling.
    """
    na, nb = len(cand_a), len(cand_b)
    J = RELABELLINGS.shape[1]
    if na == 0 or nb == 0:
        return np.zeros((na, nb)), np.zeros((na, nb, J, 3))
    C = len(RELABELLINGS)
    a = np.broadcast_to(np.asarray(cand_a, np.float64)[:, None, None], (na, nb, C, J, 3))
    b = np.asarray(cand_b, np.float64)[:, RELABELLINGS]  # (Nb, C, J, 3)
    b = np.broadcast_to(b[None], (na, nb, C, J, 3))
    kp = np.stack([a, b]).reshape(2, -1, J, 3)  # (2, N, J, 3)
    und = cameras.undistort(kp[..., :2])
    conf = np.nan_to_num(kp[..., 2])
    ok = np.isfinite(und).all(-1) & (conf >= min_confidence)
    w = np.where(ok, conf, 0.0)
    P = cameras.projection_matrices()
    X = dlt(P, und.reshape(2, -1, 2), w.reshape(2, -1)).reshape(-1, J, 3)  # (N, J, 3)
    both = ok.all(axis=0)  # (N, J)
    Xh = np.concatenate([np.nan_to_num(X), np.ones(X.shape[:-1] + (1,))], axis=-1)
    proj = np.einsum("vij,nkj->vnki", P, Xh)
    depth = proj[..., 2]
    uv = proj[..., :2] / np.where(np.abs(depth[..., None]) > 1e-12, depth[..., None], np.nan)
    e = np.nan_to_num(np.linalg.norm(uv - und, axis=-1), nan=1e6).mean(axis=0)  # (N, J)
    n = both.sum(-1)
    # the median joint: a true pair with a few misdetected joints stays cheap, two people never are
    ranked = np.sort(np.where(both, e, np.inf), axis=-1)
    mid = np.take_along_axis(ranked, np.maximum(n - 1, 0)[:, None] // 2, axis=-1)[:, 0]
    err = np.where(n >= MIN_SHARED_JOINTS, mid, np.inf)
    behind = ((depth <= 0) & both[None]).any(axis=(0, 2))
    err[behind] = np.inf
    height = _heights(kp[..., :2], conf, min_confidence).max(axis=0)  # (N,)
    cost = (err / np.maximum(height, 1.0)).reshape(na, nb, C)
    best = np.argmin(cost, axis=-1)  # (Na, Nb)
    X = X.reshape(na, nb, C, J, 3)
    pts = np.take_along_axis(X, best[..., None, None, None], axis=2)[:, :, 0]
    seen = both.reshape(na, nb, C, J)[np.arange(na)[:, None], np.arange(nb)[None], best]  # (Na, Nb, J)
    pts = np.where(seen[..., None], pts, np.nan)
    return np.take_along_axis(cost, best[..., None], axis=-1)[..., 0], pts


def _heights(uv: np.ndarray, conf: np.ndarray, min_confidence: float) -> np.ndarray:
    """Person heights in pixels: ``(..., J, 2)`` px, ``(..., J)`` -> ``(...)`` (extent of the confident joints)."""
    ok = np.isfinite(uv).all(-1) & (conf >= min_confidence)
    hi = np.where(ok, uv[..., 1], -np.inf).max(axis=-1)
    lo = np.where(ok, uv[..., 1], np.inf).min(axis=-1)
    return np.where(ok.any(axis=-1), hi - lo, 0.0)


def associate(
    cand_a: np.ndarray,
    cand_b: np.ndarray,
    cameras: CameraGroup,
    gate: float = DEFAULT_GATE,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[Match]:
    """Match the people of two views: ``(Na, J, 3)``, ``(Nb, J, 3)`` px+conf -> matches, cheapest first.

    Greedy on the cost (optimal for the handful of people a webcam pair sees); pairs above ``gate`` are left out.
    """
    return match_pairs(*pair_costs(cand_a, cand_b, cameras, min_confidence), gate)


def match_pairs(cost: np.ndarray, pts: np.ndarray, gate: float = DEFAULT_GATE) -> list[Match]:
    """The greedy matching of :func:`associate` on costs ``(Na, Nb)`` and points ``(Na, Nb, J, 3)`` m already
    computed by :func:`pair_costs`."""
    out: list[Match] = []
    if cost.size == 0:
        return out
    order = np.argsort(cost, axis=None)
    used_a: set[int] = set()
    used_b: set[int] = set()
    for flat in order[: cost.size]:
        i, j = np.unravel_index(flat, cost.shape)
        c = float(cost[i, j])
        if not np.isfinite(c) or c > gate:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(int(i))
        used_b.add(int(j))
        p = pts[i, j]
        root = np.nanmean(p[[1, 4]], axis=0) if np.isfinite(p[[1, 4]]).all() else np.nanmedian(p, axis=0)
        out.append(Match(int(i), int(j), c, root, p))
    return out


def unmatched_reason(cost: np.ndarray) -> str:
    """Why no pair passed the gate, in words (for the status line), from :func:`pair_costs`' ``(Na, Nb)`` costs."""
    if cost.size == 0:
        return "no person in view of both cameras"
    best = float(np.min(cost))
    if not np.isfinite(best):
        return "the two views do not share enough confident joints"
    return f"the people in the two views do not match (best pair: error {best:.0%} of the body height)"
