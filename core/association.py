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
from typing import NamedTuple

import numpy as np

from core.camera import CameraGroup
from core.swaps import RELABELLINGS, STATE_CORRESPONDENCE, PairGeometry, pair_geometry, usable
from core.triangulation import DEFAULT_MIN_CONFIDENCE

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


class PairCosts(NamedTuple):
    """What :func:`pair_costs` found for every pair of a person of view A and one of view B."""

    cost: np.ndarray
    """``(Na, Nb)`` unitless: median joint reprojection px / person height px under the pair's best labelling; inf
    where fewer than MIN_SHARED_JOINTS joints are seen by both views or the points fall behind a camera."""
    points: np.ndarray
    """``(Na, Nb, J, 3)`` m, each pair's triangulation under its best labelling (NaN where not seen by both)."""
    geometry: PairGeometry | None
    """Every pair under every labelling (``N = Na * Nb``, pair ``a * Nb + b``), for the left/right tracker."""

    def geometry_of(self, a: int, b: int) -> PairGeometry | None:
        """The geometry of the pair (person ``a`` of view A, ``b`` of view B)."""
        return None if self.geometry is None else self.geometry.pair(a * self.cost.shape[1] + b)


def pair_costs(
    cand_a: np.ndarray,
    cand_b: np.ndarray,
    cameras: CameraGroup,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> PairCosts:
    """Costs of every pair: ``(Na, J, 3)`` and ``(Nb, J, 3)`` px+conf -> :class:`PairCosts`.

    View B's people are also tried with their left/right labels swapped (core.swaps.RELABELLINGS); one DLT call
    over the distinct joint correspondences of every pair (:func:`core.swaps.pair_geometry`).
    """
    na, nb = len(cand_a), len(cand_b)
    J = RELABELLINGS.shape[1]
    if na == 0 or nb == 0:
        return PairCosts(np.zeros((na, nb)), np.zeros((na, nb, J, 3)), None)
    cand = [np.asarray(c, np.float64) for c in (cand_a, cand_b)]
    # each view's people undistorted once, then every (a, b) pair: (2, N, J, ...), pair a * Nb + b
    ua, wa = usable(cand[0][None, ..., :2], cand[0][None, ..., 2], cameras.subset(cameras.names[:1]), min_confidence)
    ub, wb = usable(cand[1][None, ..., :2], cand[1][None, ..., 2], cameras.subset(cameras.names[1:]), min_confidence)
    und = np.stack([np.repeat(ua[0], nb, axis=0), np.tile(ub[0], (na, 1, 1))])
    w = np.stack([np.repeat(wa[0], nb, axis=0), np.tile(wb[0], (na, 1))])
    g = pair_geometry(und, w, cameras)
    corr = STATE_CORRESPONDENCE[: len(RELABELLINGS)]  # (C, J): view A as detected, view B relabelled
    both = g.both[:, corr]  # (N, C, J)
    e = np.nan_to_num(g.err[:, :, corr], nan=1e6).mean(axis=0)  # (N, C, J) undistorted px
    n = both.sum(-1)
    # the median joint: a true pair with a few misdetected joints stays cheap, two people never are
    ranked = np.sort(np.where(both, e, np.inf), axis=-1)
    mid = np.take_along_axis(ranked, np.maximum(n - 1, 0)[..., None] // 2, axis=-1)[..., 0]
    err = np.where(n >= MIN_SHARED_JOINTS, mid, np.inf)  # (N, C)
    err[((g.depth[:, :, corr] <= 0) & both[None]).any(axis=(0, 3))] = np.inf  # behind a camera
    height = np.maximum(
        *np.meshgrid(*(_heights(c[..., :2], np.nan_to_num(c[..., 2]), min_confidence) for c in cand), indexing="ij")
    ).reshape(-1)  # (N,) labels do not change a person's extent
    cost = err / np.maximum(height, 1.0)[:, None]  # (N, C)
    best = np.argmin(cost, axis=-1)  # (N,)
    rows = np.arange(na * nb)
    pts = np.where(both[rows, best][..., None], g.X[rows[:, None], corr[best]], np.nan)  # (N, J, 3)
    return PairCosts(cost[rows, best].reshape(na, nb), pts.reshape(na, nb, J, 3), g)


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
    found = pair_costs(cand_a, cand_b, cameras, min_confidence)
    return match_pairs(found.cost, found.points, gate)


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
