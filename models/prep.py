"""Input preparation for CV-UGCN, shared by training and inference, and the way back to the world.

Units: metres for 3D, pixels for 2D. Shapes: ``F`` frames (or samples), ``V = 2`` views, ``J = 17``
joints (core/skeleton.py). Extrinsics follow core/camera.py: ``X_cam = R @ X_world + t``.

The steps (docs/cv_ugcn.md, "Pipeline"):

1. :func:`triangulate_pair` - confidence-weighted DLT of the two views' 2D -> coarse world pose ``(F, J, 3)``.
2. :func:`prepare` - the world pose expressed in each camera's frame ``(F, V, J, 3)``, its missing joints
   filled (:func:`fill_missing`), then root-centred (pelvis subtracted). That is the network input ``x``;
   the camera-frame pelvis ``root (F, V, 3)`` is kept aside.
3. The network predicts a residual; :func:`restore` adds ``x + residual + root`` -> camera-frame poses,
   :func:`cameras_to_world` maps each view's pose to the world.
4. :func:`combine_views` - [ours] the two world poses averaged, each weighted by how well it agrees with
   its own view's 2D (``mode="agreement"``); joints missing in the coarse pose stay NaN.

Both views' roots come from the same world point, so ``root_2 = R21 root_1 + t21`` exactly and the
relative-pose translation cancels between root-centred poses: ``R21 X1 + t21 - X2 = R21 c1 - c2`` for
absolute camera-frame poses ``X`` and their centred versions ``c``. The losses therefore work on absolute
camera-frame poses (``x + residual + root``) with the full ``(R21, t21)``, which is right whatever the
network does to the pelvis.

The geometric steps (:func:`relative_pose_21`, :func:`world_to_cameras`, :func:`cameras_to_world`,
:func:`project_pinhole`, :func:`restore`) are written once for both array kinds: given numpy arrays they
compute in numpy (data building, inference, metrics), given torch tensors in torch (the losses and the
training loop, differentiable). The other steps are numpy only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import torch

from core import skeleton
from core.camera import CameraGroup
from core.errors import InputError
from core.triangulation import DEFAULT_MIN_CONFIDENCE, confident, triangulate

#: A numpy array or a torch tensor: the geometric steps compute in the namespace of what they are given.
Array: TypeAlias = np.ndarray | torch.Tensor

NUM_VIEWS = 2
J = skeleton.NUM_JOINTS

#: Depth below which a camera-frame point is treated as at this depth when projecting (m).
MIN_DEPTH_M = 0.05

#: Tree depth of each joint, to fill missing joints from their ancestors in few vectorised passes.
_DEPTH = np.zeros(J, dtype=np.int64)
for _j in range(1, J):
    _DEPTH[_j] = _DEPTH[skeleton.PARENTS[_j]] + 1
MAX_TREE_DEPTH = int(_DEPTH.max())
_PARENT_OR_SELF = np.where(skeleton.PARENTS < 0, np.arange(J), skeleton.PARENTS)
_HIPS = np.array([skeleton.JOINT_INDEX["right_hip"], skeleton.JOINT_INDEX["left_hip"]])


# ----------------------------------------------------------------------------- cameras as arrays


@dataclass(frozen=True)
class CameraArrays:
    """Per-sample (or broadcast) camera parameters of a view pair.

    K ``(F|1, V, 3, 3)`` px, dist ``(F|1, V, 5)``, R ``(F|1, V, 3, 3)``, t ``(F|1, V, 3)`` m (world -> camera).
    """

    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @classmethod
    def from_group(cls, cameras: CameraGroup) -> CameraArrays:
        """The two cameras of a group, with a leading broadcast dimension of 1."""
        if len(cameras) != NUM_VIEWS:
            raise InputError(
                f"CV-UGCN refines camera pairs; got {len(cameras)} cameras {cameras.names}. Pick two with subset()."
            )
        cams = list(cameras)
        return cls(
            K=np.stack([c.K for c in cams])[None],
            dist=np.stack([c.dist for c in cams])[None],
            R=np.stack([c.R for c in cams])[None],
            t=np.stack([c.t for c in cams])[None],
        )


def _xp(a: Array) -> Any:
    """The namespace that computes on ``a``: :mod:`torch` for a tensor, :mod:`numpy` otherwise."""
    return torch if isinstance(a, torch.Tensor) else np


def relative_pose_21(R: Array, t: Array) -> tuple[Array, Array]:
    """Pose of view 2 relative to view 1: ``X2 = R21 @ X1 + t21``. R ``(..., 2, 3, 3)``, t ``(..., 2, 3)``."""
    xp = _xp(R)
    R21 = R[..., 1, :, :] @ xp.swapaxes(R[..., 0, :, :], -1, -2)
    t21 = t[..., 1, :] - xp.einsum("...ij,...j->...i", R21, t[..., 0, :])
    return R21, t21


def world_to_cameras(X: Array, R: Array, t: Array) -> Array:
    """World points ``(F, J, 3)`` -> each view's frame ``(F, V, J, 3)``; R ``(F|1, V, 3, 3)``, t ``(F|1, V, 3)``."""
    return _xp(X).einsum("fvij,fnj->fvni", R, X) + t[:, :, None, :]


def cameras_to_world(Xc: Array, R: Array, t: Array) -> Array:
    """Each view's camera-frame points ``(F, V, J, 3)`` -> world ``(F, V, J, 3)`` (``R^T (X - t)``)."""
    return _xp(Xc).einsum("fvji,fvnj->fvni", R, Xc - t[:, :, None, :])


def project_pinhole(Xc: Array, K: Array) -> Array:
    """Camera-frame points ``(..., N, 3)`` m -> ideal (undistorted) pixels ``(..., N, 2)``; K ``(..., 3, 3)``.

    Depths are clamped to :data:`MIN_DEPTH_M` so points behind the camera give large, finite pixels
    (differentiable for tensors).
    """
    z = Xc[..., 2:3].clip(min=MIN_DEPTH_M)
    xy = Xc[..., :2] / z
    return _xp(Xc).einsum("...ij,...nj->...ni", K[..., :2, :2], xy) + K[..., None, :2, 2]


# ----------------------------------------------------------------------------- 2D and triangulation


def undistort_pairs(kp: np.ndarray, cams: CameraArrays, groups: np.ndarray | None = None) -> np.ndarray:
    """Distorted pixels ``(F, V, J, 2)`` -> ideal pinhole pixels ``(F, V, J, 2)``.

    ``groups (F,)`` labels samples sharing one camera pair (e.g. a rig id); with ``cams`` broadcast
    (leading dim 1) no labels are needed. OpenCV's solver runs once per (group, view).
    """
    from core.camera import undistort_points

    kp = np.asarray(kp, dtype=np.float64)
    out = np.empty_like(kp)
    if cams.K.shape[0] == 1:
        for v in range(NUM_VIEWS):
            out[:, v] = undistort_points(kp[:, v], cams.K[0, v], cams.dist[0, v])
        return out
    if groups is None:
        raise ValueError("per-sample cameras need group labels (e.g. rig ids)")
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        i0 = idx[0]
        for v in range(NUM_VIEWS):
            out[idx, v] = undistort_points(kp[idx, v], cams.K[i0, v], cams.dist[i0, v])
    return out


def triangulate_pair(
    kp2d: np.ndarray, cameras: CameraGroup, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> np.ndarray:
    """Coarse world pose from two views: kp2d ``(F, V, J, 3)`` [x_px, y_px, conf] (distorted) -> ``(F, J, 3)`` m.

    Joints below ``min_confidence`` in either view are NaN.
    """
    kp2d = np.asarray(kp2d, dtype=np.float64)
    tri = triangulate(np.moveaxis(kp2d[..., :2], 1, 0), np.moveaxis(kp2d[..., 2], 1, 0), cameras, min_confidence)
    return tri.points


# ----------------------------------------------------------------------------- network input


def _masked_mean(P: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of ``P (F, N, 3)`` where ``ok (F, N)``; NaN where nothing is ok."""
    n = ok.sum(axis=1)[:, None]
    s = np.where(ok[..., None], P, 0.0).sum(axis=1)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def fill_missing(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN joints so the network gets finite input: ``(F, J, 3)`` -> (filled ``(F, J, 3)``, missing ``(F, J)``).

    A missing pelvis becomes the mid-hips (or the mean of the joints present); any other missing joint
    takes its nearest present ancestor's position (a zero-length bone), which the network is trained to
    correct. Frames with no joint at all stay NaN (``missing`` all True); callers skip them.
    """
    X = np.asarray(X, dtype=np.float64)
    missing = ~np.isfinite(X).all(axis=-1)
    hips = _masked_mean(X[:, _HIPS], ~missing[:, _HIPS])
    anyj = _masked_mean(X, ~missing)
    root = np.where(np.isfinite(hips).all(-1, keepdims=True), hips, anyj)  # (F, 3)
    out = X.copy()
    out[:, skeleton.ROOT] = np.where(missing[:, skeleton.ROOT, None], root, X[:, skeleton.ROOT])
    for _ in range(MAX_TREE_DEPTH):  # a few passes over the tree depth, vectorised over frames and joints
        out = np.where(missing[..., None], out[:, _PARENT_OR_SELF], out)
    return out, missing


@dataclass
class PreparedInput:
    """Network input of ``F`` frames and what is needed to undo the preparation.

    x: ``(F, V, J, 3)`` m, each view's coarse pose in its camera frame, pelvis at the origin, missing
        joints filled (finite everywhere except frames in ``empty``).
    root: ``(F, V, 3)`` m, the camera-frame pelvis that was subtracted.
    missing: ``(F, J)`` bool, joints that were NaN in the coarse pose (kept NaN in the output).
    empty: ``(F,)`` bool, frames without any joint (their x is zero; their output is NaN).
    R, t: ``(F|1, V, 3, 3)``, ``(F|1, V, 3)`` world -> camera.
    """

    x: np.ndarray
    root: np.ndarray
    missing: np.ndarray
    empty: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def frames(self, sl: slice) -> PreparedInput:
        """The frames ``sl`` (cameras given once, ``(1, ...)``, stay as they are)."""
        cut = lambda a: a if a.shape[0] == 1 and len(self.x) != 1 else a[sl]  # noqa: E731
        return PreparedInput(self.x[sl], self.root[sl], self.missing[sl], self.empty[sl], cut(self.R), cut(self.t))


def prepare(coarse: np.ndarray, R: np.ndarray, t: np.ndarray) -> PreparedInput:
    """Coarse world pose ``(F, J, 3)`` m -> :class:`PreparedInput` (root-centred camera-frame poses)."""
    coarse = np.asarray(coarse, dtype=np.float64)
    if coarse.ndim != 3 or coarse.shape[1:] != (J, 3):
        raise InputError(f"coarse 3D pose must be (F, {J}, 3) metres, got shape {coarse.shape}.")
    filled, missing = fill_missing(coarse)
    empty = missing.all(axis=1)
    filled[empty] = 0.0
    Xc = world_to_cameras(filled, R, t)  # (F, V, J, 3)
    root = Xc[:, :, skeleton.ROOT].copy()
    x = Xc - root[:, :, None]
    return PreparedInput(x=x, root=root, missing=missing, empty=empty, R=R, t=t)


def restore(refined_centred: Array, root: Array | PreparedInput) -> Array:
    """Root-centred refined poses ``(F, V, J, 3)`` -> absolute camera-frame poses ``(F, V, J, 3)`` m.

    ``root``: the camera-frame pelvis ``(F, V, 3)`` that :func:`prepare` subtracted, or its
    :class:`PreparedInput`. In training, ``restore(x + residual, root)`` on tensors.
    """
    if isinstance(root, PreparedInput):
        root = root.root
    return refined_centred + root[:, :, None]


def finite_or_zero(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN and inf set to 0 (``np.nan_to_num`` without its per-call overhead on the small arrays of
    live refinement, and without turning inf into the largest float)."""
    return np.where(np.isfinite(a), a, 0.0)


#: What each node of the network sees (``CVUGCNConfig.inputs`` -> channels per node).
#: ``xyz``: the root-centred coarse joint (3). ``rays``: that, plus per view and joint whether this view and the other
#: found it (2, 1 or 0: a keypoint ``core.triangulation.confident`` keeps), the coarse joint's reprojection residual
#: in this view (2, metres at the joint, in the camera's x/y) and its size in the other view (1), and the unit rays
#: from this camera and from the other camera to the joint, in this camera's frame (3 + 3): how far to trust the
#: input and how the rig sees it. The confidence values themselves are left out: detectors do not calibrate them
#: alike (with OpenPose's, a network that saw them moved good joints by +60 %), the geometry is detector-agnostic.
INPUT_CHANNELS: dict[str, int] = {"xyz": 3, "rays": 14}


def node_features(
    kind: str,
    x: np.ndarray,
    root: np.ndarray | None = None,
    kp_und: np.ndarray | None = None,
    conf: np.ndarray | None = None,
    K: np.ndarray | None = None,
    R: np.ndarray | None = None,
    t: np.ndarray | None = None,
) -> np.ndarray:
    """The network input of ``kind`` (:data:`INPUT_CHANNELS`): ``(F, V, J, C)`` float32.

    x ``(F, V, J, 3)`` m root-centred camera-frame poses and root ``(F, V, 3)`` m (:func:`prepare`); kp_und
    ``(F, V, J, 2)`` undistorted px (NaN = none) and conf ``(F, V, J)`` the detections; K ``(F|1, V, 3, 3)``,
    R ``(F|1, V, 3, 3)``, t ``(F|1, V, 3)`` world -> camera. ``xyz`` needs only ``x``.
    """
    if kind not in INPUT_CHANNELS:
        raise InputError(f"unknown network input kind {kind!r}; this version knows {sorted(INPUT_CHANNELS)}.")
    x = np.asarray(x, dtype=np.float64)
    if kind == "xyz":
        return x.astype(np.float32)
    if root is None or kp_und is None or conf is None or K is None or R is None or t is None:
        raise ValueError("'rays' inputs need root, kp_und, conf, K, R and t")
    F = x.shape[0]
    Xc = x + root[:, :, None]  # (F, V, J, 3) absolute camera frame
    ok = confident(kp_und, conf, DEFAULT_MIN_CONFIDENCE)  # (F, V, J) found by the detector
    c = ok.astype(np.float64)
    Kb = np.broadcast_to(K, (F, NUM_VIEWS, 3, 3))
    uv = project_pinhole(Xc, Kb)
    z = np.clip(Xc[..., 2], MIN_DEPTH_M, None)
    f = np.stack([Kb[:, :, 0, 0], Kb[:, :, 1, 1]], axis=-1)[:, :, None, :]  # (F, V, 1, 2)
    res = np.where(ok[..., None], (uv - finite_or_zero(kp_und)) * z[..., None] / f, 0.0).clip(-0.5, 0.5)
    ray = Xc / np.linalg.norm(Xc, axis=-1, keepdims=True).clip(1e-9)
    Rb = np.broadcast_to(R, (F, NUM_VIEWS, 3, 3))
    tb = np.broadcast_to(t, (F, NUM_VIEWS, 3))
    centre = -np.einsum("fvji,fvj->fvi", Rb, tb)  # (F, V, 3) camera centres, world
    Xw = cameras_to_world(Xc, Rb, tb)  # (F, V, J, 3)
    other = centre[:, ::-1]  # V = 2: the other camera
    d = np.einsum("fvij,fvnj->fvni", Rb, Xw - other[:, :, None])
    d = d / np.linalg.norm(d, axis=-1, keepdims=True).clip(1e-9)
    feats = [x, c[..., None], c[:, ::-1, :, None], res, np.linalg.norm(res, axis=-1)[:, ::-1, :, None], ray, d]
    return np.concatenate(feats, axis=-1).astype(np.float32)


#: Channels each other frame of a temporal window adds per node (``CVUGCNConfig.past`` / ``future``): its coarse
#: joint relative to the **current** frame's pelvis (3, m, this camera's frame: the window sees the body move) and,
#: for ``rays``, its found flags and reprojection residuals (5), i.e. the first 8 per-frame channels re-rooted.
TEMPORAL_CHANNELS: dict[str, int] = {"xyz": 3, "rays": 8}


def input_channels(kind: str, past: int = 0, future: int = 0) -> int:
    """Channels per node of a model seeing ``kind`` over ``past`` earlier and ``future`` later frames."""
    if kind not in INPUT_CHANNELS:
        raise InputError(f"unknown network input kind {kind!r}; this version knows {sorted(INPUT_CHANNELS)}.")
    return INPUT_CHANNELS[kind] + (int(past) + int(future)) * TEMPORAL_CHANNELS[kind]


#: Temporal models see frames about ``1 / TEMPORAL_FPS`` s apart, the rate they were trained at (pretraining
#: resamples clips to at most 30 fps); a faster take gives them every ``window_stride(fps)``-th frame.
TEMPORAL_FPS = 30.0


def window_stride(fps: float | np.ndarray) -> np.ndarray:
    """Frames between the frames of a temporal window for takes at ``fps`` (scalar or ``(N,)``): ``round(fps / 30)``,
    at least 1 (also where the rate is unknown: NaN or <= 0)."""
    f = np.asarray(fps, dtype=np.float64)
    k = np.where(np.isfinite(f) & (f > 0), np.round(f / TEMPORAL_FPS), 1.0)
    return np.maximum(k, 1).astype(np.int64)


def neighbour_index(breaks: np.ndarray, past: int, future: int, stride: int | np.ndarray = 1) -> np.ndarray:
    """The frames of each sample's temporal window: ``breaks (N,)`` bool (row ``i`` starts a new run of consecutive
    frames; row 0 always does) -> ``(N, past + 1 + future)`` row indices, oldest first, the sample itself in column
    ``past``, ``stride`` (scalar or ``(N,)``, :func:`window_stride`) rows apart. Windows are clamped to their run: at
    a run's edges the nearest frame of the run repeats."""
    breaks = np.asarray(breaks, dtype=bool).copy()
    n = len(breaks)
    if n == 0:
        return np.zeros((0, past + 1 + future), dtype=np.int64)
    breaks[0] = True
    idx = np.arange(n)
    off = np.arange(-past, future + 1)[None] * np.asarray(stride, dtype=np.int64).reshape(-1, 1)  # (N|1, W)
    if not breaks[1:].any():  # one run (live windows): no per-run bounds to find
        return np.clip(idx[:, None] + off, 0, n - 1)
    start = np.maximum.accumulate(np.where(breaks, idx, 0))
    ends = np.r_[np.flatnonzero(breaks)[1:], n] - 1  # last row of each run
    end = ends[np.cumsum(breaks) - 1]
    return np.clip(idx[:, None] + off, start[:, None], end[:, None])


def window_features(feat: Array, root: Array, nbr: Array, past: int, kind: str) -> Array:
    """Per-frame node features ``feat (N, V, J, C)`` (:func:`node_features` of ``kind``) and pelvises ``root
    (N, V, 3)`` m -> the windowed input ``(B, V, J, C + (W - 1) * TEMPORAL_CHANNELS[kind])`` of the samples whose
    windows are ``nbr (B, W)`` (:func:`neighbour_index`; column ``past`` is the sample). numpy or torch alike."""
    xp = _xp(feat)
    W = nbr.shape[1]
    me = nbr[:, past]
    if W == 1:
        return feat[me]
    T = TEMPORAL_CHANNELS[kind]
    others = xp.concatenate([nbr[:, :past], nbr[:, past + 1 :]], 1)
    f = feat[others][..., :T]  # (B, W-1, V, J, T)
    rel = f[..., :3] + (root[others] - root[me][:, None])[:, :, :, None, :]
    f = xp.concatenate([rel, f[..., 3:]], -1) if T > 3 else rel
    f = xp.moveaxis(f, 1, 3).reshape(f.shape[0], f.shape[2], f.shape[3], (W - 1) * T)  # (B, V, J, (W-1) T)
    return xp.concatenate([feat[me], f.astype(feat.dtype) if xp is np else f.to(feat.dtype)], -1)


# ----------------------------------------------------------------------------- back to the world

COMBINE_MODES = ("agreement", "agreement_both", "mean", "view1")


def view_agreement_px(
    Xw: np.ndarray, kp_und: np.ndarray, conf: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray, both: bool
) -> np.ndarray:
    """Confidence-weighted mean 2D error of each view's world pose ``(F, V, J, 3)``: -> ``(F, V)`` px.

    Pose ``v`` is compared with view ``v``'s undistorted 2D ``kp_und (F, V, J, 2)`` (or, with ``both``,
    with both views' 2D, averaged). Errors are capped at 50 px so one outlier does not decide.
    """
    F = Xw.shape[0]
    w = np.where(np.isfinite(kp_und).all(-1), finite_or_zero(conf), 0.0)  # (F, V, J)
    errs = np.zeros((F, NUM_VIEWS))
    for v in range(NUM_VIEWS):  # the pose of view v
        targets = range(NUM_VIEWS) if both else (v,)
        acc = np.zeros(F)
        for u in targets:  # the 2D it is compared with (V = 2: at most 4 small vectorised passes)
            Xc = np.einsum("fij,fnj->fni", np.broadcast_to(R[:, u], (F, 3, 3)), Xw[:, v]) + t[:, u, None]
            uv = project_pinhole(Xc, np.broadcast_to(K[:, u], (F, 3, 3)))
            e = np.minimum(np.linalg.norm(uv - finite_or_zero(kp_und[:, u]), axis=-1), 50.0)
            e = np.where(np.isfinite(e), e, 50.0)
            acc += (w[:, u] * e).sum(-1) / np.maximum(w[:, u].sum(-1), 1e-9)
        errs[:, v] = acc / len(targets)
    return errs


def combine_views(
    Xw: np.ndarray,
    kp_und: np.ndarray | None = None,
    conf: np.ndarray | None = None,
    cams: CameraArrays | None = None,
    mode: str = "agreement",
    sigma_px: float = 1.0,
) -> np.ndarray:
    """Merge the two views' refined world poses ``(F, V, J, 3)`` into one ``(F, J, 3)`` m.

    ``agreement`` [ours, default]: per frame, weight pose ``v`` by ``1 / (e_v^2 + sigma_px^2)`` where ``e_v``
    is its mean confidence-weighted reprojection error (px) in view ``v``; ``agreement_both`` measures each
    pose against both views' 2D; ``mean`` averages; ``view1`` keeps camera 1's pose (the paper's output).
    """
    if mode not in COMBINE_MODES:
        raise ValueError(f"combine mode must be one of {COMBINE_MODES}, got {mode!r}")
    if mode == "view1":
        return Xw[:, 0].copy()
    if mode == "mean":
        return Xw.mean(axis=1)
    if kp_und is None or conf is None or cams is None:
        raise ValueError(f"combine mode {mode!r} needs the undistorted 2D, confidences and cameras")
    e = view_agreement_px(Xw, kp_und, conf, cams.K, cams.R, cams.t, both=mode == "agreement_both")
    w = 1.0 / (e**2 + sigma_px**2)  # (F, V)
    w = w / w.sum(axis=1, keepdims=True)
    return np.einsum("fv,fvnc->fnc", w, Xw)


def finish(
    refined_cam: np.ndarray,
    prep: PreparedInput,
    kp_und: np.ndarray | None,
    conf: np.ndarray | None,
    cams: CameraArrays | None,
    mode: str = "agreement",
) -> np.ndarray:
    """Absolute camera-frame refined poses ``(F, V, J, 3)`` -> world ``(F, J, 3)`` m, NaN where the input was."""
    Xw = cameras_to_world(refined_cam, prep.R, prep.t)
    out = combine_views(Xw, kp_und, conf, cams, mode=mode)
    out[prep.missing] = np.nan
    out[prep.empty] = np.nan
    return out


#: A refined joint falls back to the coarse one when it reprojects this fraction of the person's image height
#: (about 8 cm on a 1.7 m person) worse than the coarse joint, against the confident 2D.
GUARD_FRACTION = 0.05
#: 2D counted by the guard: confidence at least this.
GUARD_MIN_CONFIDENCE = 0.5


def reprojection_guard(
    refined: np.ndarray, coarse: np.ndarray, kp_und: np.ndarray, conf: np.ndarray, cams: CameraArrays
) -> tuple[np.ndarray, np.ndarray]:
    """Never much worse than coarse: refined and coarse world poses ``(F, J, 3)`` m, the undistorted 2D
    ``kp_und (F, V, J, 2)`` px and ``conf (F, V, J)`` -> (poses ``(F, J, 3)``, ``fell_back (F, J)``).

    A joint falls back to coarse where its refined position reprojects worse than the coarse one by more than
    GUARD_FRACTION of the person's height in the image in **every** view that sees it confidently, or where the
    refined joint is not finite while the coarse one is. Every view, not their mean: the least-squares coarse joint
    spreads one view's outlier over both, so a correction that lands on the good view's ray reprojects worse on
    average (measured: the mean rule cost 0.9 mm on held-out MediaPipe-like noise, the same on clean 2D).
    """
    ok = np.isfinite(kp_und).all(-1) & (finite_or_zero(conf) >= GUARD_MIN_CONFIDENCE)  # (F, V, J)
    y = np.where(ok, kp_und[..., 1], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames nobody was seen in: NaN height, no fallback
        height = np.nanmean(np.nanmax(y, -1) - np.nanmin(y, -1), axis=-1)  # (F,) px, mean over views
    X = finite_or_zero(np.stack([refined, coarse]))  # (2, F, J, 3): both poses into both views at once
    R = np.broadcast_to(cams.R, (coarse.shape[0], NUM_VIEWS, 3, 3))
    Xc = np.einsum("fvij,pfnj->pfvni", R, X) + np.broadcast_to(cams.t, R.shape[:2] + (3,))[None, :, :, None]
    uv = project_pinhole(Xc, np.broadcast_to(cams.K, R.shape)[None])  # (2, F, V, J, 2)
    e = np.linalg.norm(uv - finite_or_zero(kp_und)[None], axis=-1)  # (2, F, V, J)
    worse_by = np.where(ok, e[0] - e[1], np.inf).min(axis=1)  # (F, J) px, inf where no view sees it
    limit = GUARD_FRACTION * np.where(np.isnan(height), np.inf, height)[:, None]
    worse = np.isfinite(worse_by) & (worse_by > limit)
    fell_back = (worse | ~np.isfinite(refined).all(-1)) & np.isfinite(coarse).all(-1)
    return np.where(fell_back[..., None], coarse, refined), fell_back


# ----------------------------------------------------------------------------- left/right swaps between views
