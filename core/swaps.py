"""Undo left/right label swaps in two views, jointly across the views and over time.

2D detectors sometimes label a person's left limbs as right, or mirror the whole body (MediaPipe does this to
people seen side-on). One view then disagrees with the other, and triangulation puts those joints metres off.

Each frame has a *labelling state* ``(a, b)``: view 1's labels are read through relabelling ``a`` and view 2's
through ``b``, each one of :data:`RELABELLINGS` (none, legs, arms, both, whole body). The states of a whole take
are chosen together, by a Viterbi search over ``5 x 5`` states per frame, minimising the sum of

- **cross-view cost:** the two views' reprojection error when triangulated with those labels (robust, in units of
  the person's size in the image);
- **bone cost:** how far the limbs' 3D lengths are from the take's own typical lengths (a swap on a near-parallel
  rig hides in depth, where it makes a knee a metre long); scaled by how noisy the lengths are on this rig;
- **temporal cost:** per view, how far each labelled joint moved since the previous frame (the body's centre
  removed). A detector's swap is a jump of the swapped joints; a relabelling that undoes it removes the jump;
- **priors:** relabelling a view costs a little per frame (the detector is usually right) and changing a view's
  relabelling costs more (swaps come in runs).

Offline (:func:`fix_left_right_swaps`) the whole take is solved at once; live (:class:`LeftRightTracker`) the same
costs run forward one frame at a time and the cheapest state of the newest frame is used.

Measured by ``python -m bench.swaps`` (held-out style: mocap through random rigs with detector noise, whole-body and
legs-only swaps of 10-40 frames injected into one view) and, on real 2D, by ``tests/test_swaps.py``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from core import skeleton
from core.camera import CameraGroup
from core.triangulation import DEFAULT_MIN_CONFIDENCE, confident, dlt

_LEGS = np.array([2, 3, 5, 6])
_ARMS = np.array([12, 13, 15, 16])


def _mirror_perm(joints: np.ndarray) -> np.ndarray:
    perm = np.arange(skeleton.NUM_JOINTS)
    perm[joints] = skeleton.MIRROR[joints]
    return perm


#: Relabellings of one view that are tried (index arrays into the 17 joints).
SWAP_CANDIDATES: dict[str, np.ndarray] = {
    "legs": _mirror_perm(_LEGS),
    "arms": _mirror_perm(_ARMS),
    "limbs": _mirror_perm(np.r_[_LEGS, _ARMS]),
    "body": _mirror_perm(np.arange(skeleton.NUM_JOINTS)),
}
_NAMES = ("", *SWAP_CANDIDATES)
#: Every labelling of one view that is tried, identity first: ``(S, J)`` joint indices.
RELABELLINGS = np.stack([np.arange(skeleton.NUM_JOINTS), *SWAP_CANDIDATES.values()])
S = len(RELABELLINGS)
#: The limb bones whose 3D length is checked (thighs, shins, upper arms, forearms).
_LIMB_BONES = np.isin(skeleton.BONES[:, 1], np.r_[_LEGS, _ARMS])


@dataclass(frozen=True)
class SwapWeights:
    """Weights of the costs (see the module docstring); chosen on ``bench.swaps`` (seed 0), checked on seed 1.

    Robust costs are ``log(1 + (d / scale)^2)`` per joint: ``cross_scale`` and ``temporal_scale`` are fractions of
    the person's rms radius in the image, ``bone_scale`` a fraction of a bone's typical length.
    """

    cross: float = 0.243
    temporal: float = 1.747
    bone: float = 0.27
    prior: float = 1.777
    switch: float = 8.702
    cross_scale: float = 0.03
    temporal_scale: float = 0.15
    bone_scale: float = 0.1


#: The live tracker cannot revise a past choice, so a wrong relabelling it drifts into lasts until the evidence is
#: strong: it weights the detector's own labels more and the noisy running bone lengths less (chosen on
#: ``bench.swaps`` live, seeds 0 and 1: false repairs on hard rigs 6.4 % / 0.9 % with the offline weights,
#: 1.6 % / 0.5 % with these).
LIVE_WEIGHTS = SwapWeights(prior=2.5, switch=6.0, bone=0.15)


@dataclass(frozen=True)
class _Obs:
    """One view pair's labelled observations: ``y (2, F, S, J, 2)`` centred, size-normalised 2D per relabelling,
    ``w (2, F, S, J)`` their weights, ``cross (S, S, F)``, ``lengths (S, S, F, B)`` limb lengths (m)."""

    y: np.ndarray
    w: np.ndarray
    cross: np.ndarray
    lengths: np.ndarray


def _correspondences() -> tuple[np.ndarray, np.ndarray]:
    """The distinct (view-1 joint, view-2 joint) pairs that any labelling state triangulates: ``src (2, U)`` joint
    indices, and ``of (S*S, J)`` which pair each state's joint uses (29 pairs instead of 25 x 17)."""
    a, b = np.divmod(np.arange(S * S), S)
    code = RELABELLINGS[a] * skeleton.NUM_JOINTS + RELABELLINGS[b]  # (SS, J)
    uniq, of = np.unique(code, return_inverse=True)
    return np.stack(np.divmod(uniq, skeleton.NUM_JOINTS)), of.reshape(code.shape)


_SRC, _OF = _correspondences()
#: ``(S*S, J)``: for labelling state ``(a, b)`` (flat index ``a * S + b``), the correspondence joint j uses.
STATE_CORRESPONDENCE = _OF


@dataclass(frozen=True)
class PairGeometry:
    """N pairs of one person in view 1 and one in view 2, triangulated under every labelling at once.

    ``und (2, N, J, 2)`` undistorted px (0 where unusable), ``w (2, N, J)`` weights (confidence, 0 unusable);
    per correspondence (:data:`STATE_CORRESPONDENCE`): ``X (N, U, 3)`` m (a one-view point where a view lacks
    the joint), ``err (2, N, U)`` undistorted px (NaN behind a camera), ``depth (2, N, U)`` m, ``both (N, U)``.
    """

    und: np.ndarray
    w: np.ndarray
    X: np.ndarray
    err: np.ndarray
    depth: np.ndarray
    both: np.ndarray

    def pair(self, n: int) -> PairGeometry:
        """The geometry of pair ``n`` alone (N = 1)."""
        sl = slice(n, n + 1)
        return PairGeometry(
            self.und[:, sl], self.w[:, sl], self.X[sl], self.err[:, sl], self.depth[:, sl], self.both[sl]
        )


def usable(
    points2d: np.ndarray, confidence: np.ndarray, cameras: CameraGroup, min_confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints px ``(V, ..., J, 2)`` with confidences ``(V, ..., J)`` -> undistorted px ``(V, ..., J, 2)`` (0 where
    unusable) and weights ``(V, ..., J)``; a keypoint is usable when finite and at least ``min_confidence``."""
    und = cameras.undistort(points2d)
    ok = confident(und, confidence, min_confidence)
    return np.where(ok[..., None], und, 0.0), np.where(ok, confidence, 0.0)


def pair_geometry(und: np.ndarray, w: np.ndarray, cameras: CameraGroup) -> PairGeometry:
    """Triangulate N view pairs under every labelling: ``und (2, N, J, 2)`` undistorted px, ``w (2, N, J)`` from
    :func:`usable` -> :class:`PairGeometry` (one DLT call over N x 29 correspondences)."""
    N = und.shape[1]
    uv = np.stack([und[0][:, _SRC[0]], und[1][:, _SRC[1]]])  # (2, N, U, 2)
    wv = np.stack([w[0][:, _SRC[0]], w[1][:, _SRC[1]]])  # (2, N, U)
    P = cameras.projection_matrices()
    X = dlt(P, uv.reshape(2, -1, 2), wv.reshape(2, -1)).reshape(N, -1, 3)  # (N, U, 3)
    Xh = np.concatenate([np.nan_to_num(X), np.ones((*X.shape[:-1], 1))], -1)
    proj = np.einsum("vij,nuj->vnui", P, Xh)
    depth = proj[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        rep = proj[..., :2] / np.where(np.abs(depth[..., None]) > 1e-9, depth[..., None], np.nan)
    return PairGeometry(und, w, X, np.linalg.norm(rep - uv, axis=-1), depth, (wv > 0).all(0))


def _observe(geometry: PairGeometry, weights: SwapWeights) -> _Obs:
    """Costs of every labelling state of F frames of one person (:class:`PairGeometry` with N = F)."""
    und, w = geometry.und, geometry.w
    F = und.shape[1]
    ok = w > 0
    n = np.maximum(ok.sum(-1), 1)  # (2, F)
    centre = und.sum(-2) / n[..., None]  # the confident joints' centre: the same under any relabelling
    y = np.where(ok[..., None], und - centre[:, :, None], 0.0)
    size = np.maximum(np.sqrt((y**2).sum((-1, -2)) / n), 1.0)  # (2, F) rms radius, px
    e = np.nan_to_num(geometry.err, nan=1e4) / size[..., None]  # (2, F, U)
    pair_cost = (np.log1p((e / weights.cross_scale) ** 2) * geometry.both).sum(0)  # (F, U)
    cross = pair_cost[:, _OF].sum(-1).T.reshape(S, S, F)
    # X is left as solved where a joint lacks a view: a one-view point lies anywhere on its ray, so its bones'
    # lengths are off and a relabelling that hides a joint pays for it in the bone cost (measured: masking them
    # raised bench.swaps' false repairs on hard rigs from 0.35 % to 1.6 %).
    bones = skeleton.BONES[_LIMB_BONES]
    ends = geometry.X[:, _OF[:, bones]]  # (F, SS, B, 2, 3)
    lengths = np.linalg.norm(ends[..., 1, :] - ends[..., 0, :], axis=-1).transpose(1, 0, 2).reshape(S, S, F, -1)
    yp = (y / size[..., None, None])[:, :, RELABELLINGS]  # (2, F, S, J, 2)
    return _Obs(yp, w[:, :, RELABELLINGS], cross, lengths)


def _temporal(prev_y: np.ndarray, prev_w: np.ndarray, y: np.ndarray, w: np.ndarray, scale: float) -> np.ndarray:
    """``(2, ..., S', S)`` cost of going from relabelling S' at one frame to S at the next, per view.

    ``prev_y``, ``y``: ``(2, ..., S, J, 2)`` labelled, centred, normalised 2D; ``prev_w``, ``w``: ``(2, ..., S, J)``.
    """
    d = np.linalg.norm(y[..., None, :, :, :] - prev_y[..., :, None, :, :], axis=-1)  # (2, ..., S', S, J)
    wt = np.minimum(w[..., None, :, :], prev_w[..., :, None, :])
    return (np.log1p((d / scale) ** 2) * wt).sum(-1)


def _bone_cost(lengths: np.ndarray, ref: np.ndarray, spread: np.ndarray, weights: SwapWeights) -> np.ndarray:
    """``(S, S, F)`` robust deviation of the limb lengths ``(S, S, F, B)`` m from ``ref (B,)`` (0 where unknown)."""
    scale = np.maximum(weights.bone_scale, np.nan_to_num(spread, nan=1.0))
    dev = np.abs(lengths - ref) / np.maximum(ref, 0.05)
    return np.nan_to_num(np.log1p((dev / scale) ** 2), nan=0.0).sum(-1)


def _reference_lengths(lengths: np.ndarray, cross: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Typical limb lengths ``(B,)`` m of a take and their relative spread ``(B,)``, from each frame's
    best-fitting labelling: ``lengths (S, S, F, B)``, ``cross (S, S, F)``."""
    F = cross.shape[-1]
    best = cross.reshape(S * S, F).argmin(0)
    chosen = lengths.reshape(S * S, F, -1)[best, np.arange(F)]  # (F, B)
    return _median_spread(chosen)


def _median_spread(chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    B = chosen.shape[-1]
    if not np.isfinite(chosen).any():
        return np.full(B, np.nan), np.full(B, np.nan)
    with np.errstate(all="ignore"):
        ok = np.isfinite(chosen).any(0)
        ref = np.full(B, np.nan)
        mad = np.full(B, np.nan)
        ref[ok] = np.nanmedian(chosen[:, ok], axis=0)
        mad[ok] = np.nanmedian(np.abs(chosen[:, ok] - ref[ok]), axis=0)
    return ref, 1.4826 * mad / np.maximum(ref, 0.05)


def _unary(cross: np.ndarray, bone: np.ndarray, weights: SwapWeights) -> np.ndarray:
    relabelled = (np.arange(S) > 0).astype(float)
    prior = weights.prior * (relabelled[:, None] + relabelled[None, :])
    return weights.cross * cross + weights.bone * bone + prior[..., None]  # (S, S, F)


def _step(cost: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Viterbi step: ``cost (S, S)`` of the previous frame and per-view transitions ``(S', S)`` ->
    (best cost of each new state ``(S, S)``, its best previous state as a flat index ``(S, S)``)."""
    tot = cost[:, :, None, None] + t0[:, None, :, None] + t1[None, :, None, :]  # (a', b', a, b)
    flat = tot.reshape(S * S, S, S)
    return flat.min(0), flat.argmin(0)


def _viterbi(unary: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Cheapest state path ``(F, 2)`` for ``unary (S, S, F)`` and per-view transitions ``trans (2, F-1, S', S)``."""
    F = unary.shape[-1]
    back = np.zeros((F, S, S), np.int64)
    cost = unary[..., 0]
    for t in range(1, F):  # sequential by nature: 625 additions per frame
        cost, back[t] = _step(cost, trans[0, t - 1], trans[1, t - 1])
        cost = cost + unary[..., t]
    path = np.zeros((F, 2), np.int64)
    path[-1] = np.unravel_index(int(cost.argmin()), (S, S))
    for t in range(F - 1, 0, -1):
        path[t - 1] = np.unravel_index(int(back[t, path[t, 0], path[t, 1]]), (S, S))
    return path


def _switch(weights: SwapWeights) -> np.ndarray:
    return weights.switch * (1.0 - np.eye(S))


def _apply(points2d: np.ndarray, confidence: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel ``(2, F, J, 2)`` / ``(2, F, J)`` by the states ``path (F, 2)``."""
    perm = RELABELLINGS[path.T]  # (2, F, J)
    pts = np.take_along_axis(points2d, perm[..., None], axis=2)
    conf = np.take_along_axis(confidence, perm, axis=2)
    return pts, conf


def _kind(path: np.ndarray) -> np.ndarray:
    """``(F,)`` what was relabelled: "" none, "legs"... for one view, "legs|body" (view 1|view 2) for both."""
    names = np.array(_NAMES, dtype=object)
    a, b = names[path[:, 0]], names[path[:, 1]]
    both = (path[:, 0] > 0) & (path[:, 1] > 0)
    return np.where(both, a + "|" + b, a + b).astype(str)


def fix_left_right_swaps(
    points2d: np.ndarray,
    confidence: np.ndarray,
    cameras: CameraGroup,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    weights: SwapWeights | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel a take's swapped views: ``(2, F, J, 2)`` px, ``(2, F, J)`` -> (fixed px, confidence, kind ``(F,)``).

    The frames are one take in time order (the temporal cost links neighbours). ``kind`` is "" (no swap) or the
    relabelling applied ("legs", "arms", "limbs", "body"; "a|b" when both views were relabelled).
    """
    points2d = np.asarray(points2d, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if len(cameras) != 2 or points2d.shape[0] != 2:
        raise ValueError("left/right swap repair works on exactly two views")
    if points2d.shape[1] == 0:
        return points2d.copy(), confidence.copy(), np.zeros(0, dtype=str)
    wt = weights or SwapWeights()
    obs = _observe(pair_geometry(*usable(points2d, confidence, cameras, min_confidence), cameras), wt)
    ref, spread = _reference_lengths(obs.lengths, obs.cross)
    unary = _unary(obs.cross, _bone_cost(obs.lengths, ref, spread, wt), wt)
    trans = _temporal(obs.y[:, :-1], obs.w[:, :-1], obs.y[:, 1:], obs.w[:, 1:], wt.temporal_scale)
    trans = wt.temporal * trans + _switch(wt)  # (2, F-1, S', S)
    path = _viterbi(unary, trans)
    pts, conf = _apply(points2d, confidence, path)
    return pts, conf, _kind(path)


class LeftRightTracker:
    """The live form of :func:`fix_left_right_swaps`: the same costs, run forward one frame pair at a time.

    ``step`` returns the frame's keypoints relabelled by the cheapest state given everything seen so far. The
    limbs' typical lengths come from the last ``history`` frames. After ``gap_s`` without a usable frame the
    state starts afresh (a new person, or the same one after a long occlusion).
    """

    def __init__(
        self,
        cameras: CameraGroup,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        weights: SwapWeights | None = None,
        history: int = 300,
        gap_s: float = 0.5,
    ) -> None:
        if len(cameras) != 2:
            raise ValueError("left/right swap repair works on exactly two views")
        self.cameras = cameras
        self.min_confidence = min_confidence
        self.weights = weights or LIVE_WEIGHTS
        self.gap_s = gap_s
        self._lengths: deque[np.ndarray] = deque(maxlen=history)
        self.reset()

    def reset(self) -> None:
        """Forget the past (call when the followed person changes)."""
        self._cost: np.ndarray | None = None
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._t_s = -np.inf
        self._lengths.clear()
        self._ref: tuple[np.ndarray, np.ndarray] | None = None

    def step(
        self, keypoints: np.ndarray, t_s: float, geometry: PairGeometry | None = None
    ) -> tuple[np.ndarray, str, np.ndarray]:
        """``keypoints (2, J, 3)`` px+conf of one frame pair at time ``t_s`` -> (relabelled ``(2, J, 3)``, kind,
        their 3D ``(J, 3)`` m, NaN where not seen by both views). ``geometry``: this pair's :class:`PairGeometry`
        when the caller already has it (the association computes it), else it is computed here."""
        kp = np.asarray(keypoints, dtype=np.float64)
        wt = self.weights
        if geometry is None:
            geometry = pair_geometry(
                *usable(kp[:, None, :, :2], kp[:, None, :, 2], self.cameras, self.min_confidence), self.cameras
            )
        obs = _observe(geometry, wt)
        if not (obs.w > 0).any():
            return kp.copy(), "", np.full((kp.shape[1], 3), np.nan)
        if t_s - self._t_s > self.gap_s:
            self.reset()
        if len(self._lengths) >= 10 and (self._ref is None or len(self._lengths) % 10 == 0):
            self._ref = _median_spread(np.array(self._lengths))  # refreshed every 10 frames: 0.5 ms each
        ref, spread = self._ref if self._ref is not None else (np.nan, np.nan)
        unary = _unary(obs.cross, _bone_cost(obs.lengths, ref, spread, wt), wt)[..., 0]
        if self._cost is None or self._prev is None:
            cost = unary
        else:
            trans = wt.temporal * _temporal(*self._prev, obs.y[:, 0], obs.w[:, 0], wt.temporal_scale) + _switch(wt)
            cost, _ = _step(self._cost, trans[0], trans[1])
            cost = cost + unary
        cost = cost - cost.min()
        state = np.array(np.unravel_index(int(cost.argmin()), (S, S)))
        self._cost, self._prev, self._t_s = cost, (obs.y[:, 0], obs.w[:, 0]), t_s
        lengths = obs.lengths[state[0], state[1], 0]
        if np.isfinite(lengths).any():
            self._lengths.append(lengths)
        pts, conf = _apply(kp[:, None, :, :2], kp[:, None, :, 2], state[None])
        corr = _OF[state[0] * S + state[1]]  # (J,)
        X = np.where(geometry.both[0, corr][:, None], geometry.X[0, corr], np.nan)
        return np.concatenate([pts[:, 0], conf[:, 0, :, None]], axis=-1), str(_kind(state[None])[0]), X
