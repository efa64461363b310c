"""BVH export (Blender & co): a fixed-bone-length skeleton solved for H36M-17 joints, Y-up, metres or cm.

The solve (:func:`skeleton_to_bvh`) gives a :class:`core.bvh.BvhMotion`; :func:`save_bvh` writes it as text.
Reading a BVH back and forward kinematics are :mod:`core.bvh`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.bvh import BvhMotion, tree_depths
from core.errors import ExportError
from core.export.files import check_target, write_file
from core.export.motion import ExportMotion, ExportOptions
from core.export.rotations import kabsch, swing, unit, zxy_from_matrix
from core.skeleton import BONES, JOINT_NAMES, JOINT_PART, NUM_JOINTS, PARENTS, PART_NAMES, SIDE

#: End Site length of a leaf joint (ankles, wrists, head top) as a fraction of the bone that ends at it.
BVH_END_SITE_FRACTION = 0.25
_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(np.flatnonzero(np.equal(PARENTS, j)).tolist()) for j in range(NUM_JOINTS)
)
_DEPTH = tree_depths(PARENTS)
#: Length (metres) given to a bone that is never seen in the whole motion; its joints then keep the rest pose.
_FALLBACK_BONE_LENGTH_M = 0.25


def _fill_gaps(points: np.ndarray) -> np.ndarray:
    """Fill missing joints ``(P, J, 3)`` by linear interpolation in time, holding the first/last valid value
    before/after; joints never seen stay NaN."""
    P, J = points.shape[:2]
    valid = np.isfinite(points).all(axis=-1)
    idx = np.broadcast_to(np.arange(P)[:, None], (P, J))
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, P)[::-1], axis=0)[::-1]
    has_prev, has_next = prev >= 0, nxt < P
    never = ~(has_prev | has_next)
    a = np.where(has_prev, prev, nxt)
    b = np.where(has_next, nxt, prev)
    a[never] = 0
    b[never] = 0
    cols = np.arange(J)[None, :]
    pa, pb = points[a, cols], points[b, cols]
    w = np.where(b > a, (idx - a) / np.maximum(b - a, 1), 0.0)
    out = pa + w[..., None] * (pb - pa)
    out[valid] = points[valid]
    out[never] = np.nan
    return out


def _canonical_direction(child: int) -> np.ndarray:
    """Rest direction of the bone ending at ``child`` below a one-child joint: legs down, arms out
    sideways (T-pose, left = +X), trunk and head up. Y up, the body facing +Z."""
    part = PART_NAMES[int(JOINT_PART[child])]
    if part.endswith("leg"):
        return np.array([0.0, -1.0, 0.0])
    if part.endswith("arm"):
        return np.array([float(SIDE[child]), 0.0, 0.0])
    return np.array([0.0, 1.0, 0.0])


def _branch_frames(p: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body frames ``(P, 3, 3)`` (rows = axes) at branching joint ``j`` and a validity mask ``(P,)``.

    X = from the right children to the left children; Y = "up": the incoming bone (parent -> j) or, at the
    root, j -> its mid-line children, made orthogonal to X; Z = X x Y (forward).
    """
    kids = np.array(_CHILDREN[j])
    left, right, mid = kids[SIDE[kids] > 0], kids[SIDE[kids] < 0], kids[SIDE[kids] == 0]
    x, okx = unit(p[:, left].mean(axis=1) - p[:, right].mean(axis=1))
    up = p[:, j] - p[:, PARENTS[j]] if PARENTS[j] >= 0 else p[:, mid].mean(axis=1) - p[:, j]
    y, oky = unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-2), okx & oky


def _rest_offsets(p: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rest offsets ``(17, 3)`` of each joint from its parent, in the parent's rest frame (root row = 0).

    Children of a branching joint (pelvis, thorax) get the motion's median shape, expressed in the body frame
    of :func:`_branch_frames`, so the rigid fit there is as close as the data allow; the other bones point
    along :func:`_canonical_direction`. Lengths are ``lengths[bone]``.
    """
    rest = np.zeros((NUM_JOINTS, 3))
    for c in range(1, NUM_JOINTS):
        rest[c] = _canonical_direction(c)
    for j in range(NUM_JOINTS):
        kids = _CHILDREN[j]
        if len(kids) < 2 or not (np.any(SIDE[list(kids)] > 0) and np.any(SIDE[list(kids)] < 0)):
            continue
        F, ok = _branch_frames(p, j)
        for c in kids:
            local = np.einsum("pij,pj->pi", F, p[:, c] - p[:, j])
            good = ok & np.isfinite(local).all(axis=-1)
            if good.any():
                u, nz = unit(np.median(local[good], axis=0))
                if nz:
                    rest[c] = u
            elif SIDE[c] != 0:
                rest[c] = np.array([float(SIDE[c]), 0.0, 0.0])
    length_of = np.zeros(NUM_JOINTS)
    length_of[BONES[:, 1]] = lengths
    return unit(rest)[0] * length_of[:, None]


def _median_bone_lengths(points: np.ndarray) -> np.ndarray:
    """Per-bone median length ``(16,)`` over the frames where both ends are known (fallback if never)."""
    v = points[:, BONES[:, 1]] - points[:, BONES[:, 0]]
    n = np.linalg.norm(v, axis=-1)  # NaN where missing
    seen = np.isfinite(n).any(axis=0)
    out = np.full(len(BONES), _FALLBACK_BONE_LENGTH_M)
    if seen.any():
        out[seen] = np.nanmedian(n[:, seen], axis=0)
    return out


def _global_rotations(p: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Global joint rotations ``(P, 17, 3, 3)`` so that ``p_child ~ p_joint + G_joint @ rest_child``.

    - branching joints (pelvis, thorax): the rigid rotation that best maps the rest offsets of all children
      onto their observed directions (Kabsch, batched SVD); where that is ill-posed, as a one-child joint;
    - one-child joints: the least-angle swing, in the parent's frame, from the rest direction to the observed
      one: the bone's twist is inherited from its parent (zero local twist);
    - leaves (and bones not observed in a frame): the parent's rotation (identity local rotation).

    Loops over tree depth only; every step is batched over frames.
    """
    P = len(p)
    G = np.broadcast_to(np.eye(3), (P, NUM_JOINTS, 3, 3)).copy()
    rest_u, _ = unit(rest)
    for d in range(int(_DEPTH.max()) + 1):
        level = np.flatnonzero(np.equal(_DEPTH, d))
        Gp = np.broadcast_to(np.eye(3), (P, len(level), 3, 3)).copy()
        has_parent = PARENTS[level] >= 0
        Gp[:, has_parent] = G[:, PARENTS[level[has_parent]]]
        G[:, level] = Gp
        # one-child joints, and the fallback child of branching joints: swing in the parent frame
        first_kid = np.array([_CHILDREN[j][0] if _CHILDREN[j] else -1 for j in level])
        sel = first_kid >= 0
        if sel.any():
            js, cs = level[sel], first_kid[sel]
            obs, ok = unit(p[:, cs] - p[:, js])
            local = np.einsum("pnji,pnj->pni", Gp[:, sel], obs)
            S = swing(rest_u[cs][None], local)
            S = np.where(ok[..., None, None], S, np.eye(3))
            G[:, js] = Gp[:, sel] @ S
        for j in level[[len(_CHILDREN[j]) > 1 for j in level]]:
            kids = np.array(_CHILDREN[j])
            obs, ok = unit(p[:, kids] - p[:, j, None])
            target = obs * np.linalg.norm(rest[kids], axis=-1)[None, :, None]
            R, well = kabsch(rest[kids], target, ok.astype(np.float64))
            G[:, j] = np.where(well[:, None, None], R, G[:, j])
    return G


def _bvh_nodes(
    rest: np.ndarray, has_pos: np.ndarray
) -> tuple[list[str], list[int], list[np.ndarray], list[tuple[str, ...]], list[bool], list[int]]:
    """The BVH nodes in file (depth-first) order: names, parent nodes, offsets, channels, End Site flags, and the
    H36M joint of each JOINT node (``order``). ``rest`` ``(17, 3)`` rest offsets; ``has_pos`` ``(17,)`` position
    channels."""
    names: list[str] = []
    parents: list[int] = []
    offsets: list[np.ndarray] = []
    channels: list[tuple[str, ...]] = []
    ends: list[bool] = []
    pos = ("Xposition", "Yposition", "Zposition")
    rot = ("Zrotation", "Xrotation", "Yrotation")
    order: list[int] = []

    def add(j: int, parent_node: int) -> None:
        order.append(j)
        me = len(names)
        names.append(JOINT_NAMES[j])
        parents.append(parent_node)
        offsets.append(rest[j])
        channels.append((pos if has_pos[j] else ()) + rot)
        ends.append(False)
        if not _CHILDREN[j]:
            names.append(f"{JOINT_NAMES[j]}_end")
            parents.append(me)
            offsets.append(rest[j] * BVH_END_SITE_FRACTION)
            channels.append(())
            ends.append(True)
        for c in _CHILDREN[j]:
            add(c, me)

    add(0, -1)
    return names, parents, offsets, channels, ends, order


def skeleton_to_bvh(
    points_yup: np.ndarray, frame_time: float, *, scale: float = 1.0, branch_translations: bool = True
) -> BvhMotion:
    """Solve a fixed-bone-length BVH for H36M-17 joints ``(P, 17, 3)`` metres, Y-up (see :func:`to_yup`).

    Skeleton: rooted at the pelvis, hierarchy ``core.skeleton.PARENTS``, one JOINT per H36M joint with its
    ``JOINT_NAMES`` name; each leaf (ankles, wrists, head top) ends in an End Site that continues its bone by
    :data:`BVH_END_SITE_FRACTION` of its length. Bone lengths are the per-bone medians over the frames where
    both ends are known. Rest pose: upright, facing +Z, legs down, arms out sideways (T-pose), with the pelvis
    and thorax children in their median shape. Rotations: see :func:`_global_rotations` (Kabsch at the pelvis
    and thorax, least-angle swing with inherited twist elsewhere), written as ``Zrotation Xrotation
    Yrotation`` degrees, unwrapped over frames. The root also has ``Xposition Yposition Zposition``.

    A rigid pelvis/thorax cannot follow a real body exactly (the hips-spine angle and the head-shoulders
    shape change), so with ``branch_translations`` (default) the children of those two joints (hips, spine,
    nose, shoulders) also carry ``Xposition Yposition Zposition`` channels: their offset in the parent's frame,
    always of the bone's fixed length, pointing along the observed bone. FK then reproduces every joint up
    to the bone-length changes of the input. Without it the file has position channels on the root only and
    those joints are off by the rigid fit's residual (2-3 cm on real motion).

    Missing joints are linearly interpolated in time between known frames and held before the first and after
    the last; a joint never seen keeps its rest pose. The root (pelvis) must be seen at least once.
    Positions and offsets are multiplied by ``scale`` (1 -> metres, 100 -> centimetres).
    """
    pts = np.asarray(points_yup, dtype=np.float64)
    P = len(pts)
    lengths = _median_bone_lengths(pts)
    filled = _fill_gaps(pts)
    if not np.isfinite(filled[:, 0]).all():
        raise ExportError(
            "cannot write BVH: the pelvis (the BVH root) is never seen in this motion; export TRC, C3D, CSV or "
            "JSON instead, or re-run the pipeline so the hips are detected."
        )
    rest = _rest_offsets(filled, lengths)
    G = _global_rotations(filled, rest)
    L = G.copy()
    nonroot = PARENTS >= 0
    L[:, nonroot] = np.swapaxes(G[:, PARENTS[nonroot]], -1, -2) @ G[:, nonroot]
    angles = np.rad2deg(np.unwrap(zxy_from_matrix(L), axis=0))  # (P, 17, 3) as z, x, y

    # local translations: the root's world position; branch children along the observed bone, fixed length
    has_pos = np.zeros(NUM_JOINTS, dtype=bool)
    has_pos[0] = True
    T = np.broadcast_to(rest, (P, NUM_JOINTS, 3)).copy()
    T[:, 0] = filled[:, 0]
    if branch_translations:
        kids = np.array([c for c in range(1, NUM_JOINTS) if len(_CHILDREN[PARENTS[c]]) > 1])
        has_pos[kids] = True
        par = PARENTS[kids]
        local = np.einsum("pnji,pnj->pni", G[:, par], filled[:, kids] - filled[:, par])
        u, ok = unit(local)
        T[:, kids] = np.where(ok[..., None], u * np.linalg.norm(rest[kids], axis=-1)[:, None], rest[kids])

    names, parents, offsets, channels, ends, order = _bvh_nodes(rest, has_pos)
    per_joint = np.concatenate([T * scale, angles], axis=-1)[:, order]  # (P, 17, 6) in file order
    used = np.concatenate([np.repeat(has_pos[order, None], 3, axis=1), np.ones((NUM_JOINTS, 3), bool)], axis=1)
    return BvhMotion(
        names=tuple(names),
        parents=np.array(parents, dtype=np.int64),
        offsets=np.array(offsets) * scale,
        channels=tuple(channels),
        values=per_joint.reshape(P, -1)[:, used.ravel()],
        frame_time=float(frame_time),
        is_end_site=np.array(ends, dtype=bool),
    )


def _bvh_text(motion: BvhMotion) -> str:
    children: list[list[int]] = [[] for _ in motion.names]
    for n, par in enumerate(motion.parents.tolist()):
        if par >= 0:
            children[par].append(n)
    out: list[str] = ["HIERARCHY"]

    def emit(n: int, depth: int) -> None:
        ind = "\t" * depth
        off = " ".join(f"{v:.6f}" for v in motion.offsets[n])
        if motion.is_end_site[n]:
            out.extend([f"{ind}End Site", f"{ind}{{", f"{ind}\tOFFSET {off}", f"{ind}}}"])
            return
        out.append(f"{ind}{'ROOT' if motion.parents[n] < 0 else 'JOINT'} {motion.names[n]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}\tOFFSET {off}")
        out.append(f"{ind}\tCHANNELS {len(motion.channels[n])} {' '.join(motion.channels[n])}")
        for c in children[n]:
            emit(c, depth + 1)
        out.append(f"{ind}}}")

    for root in np.flatnonzero(motion.parents < 0).tolist():
        emit(root, 0)
    out += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {motion.frame_time:.8f}"]
    row = " ".join(["%.6f"] * motion.values.shape[1])
    out.extend(row % tuple(r) for r in motion.values.tolist())
    return "\n".join(out) + "\n"


def save_bvh(motion: BvhMotion, path: str | os.PathLike[str]) -> Path:
    """Write a :class:`BvhMotion` as a standard BVH text file (tab-indented HIERARCHY, one line per frame)."""
    if not np.isfinite(motion.values).all():
        raise ExportError("cannot write BVH: the motion holds NaN channel values; fill gaps before saving.")
    return write_file(path, _bvh_text(motion).encode("utf-8"))


def bvh_writer(path: Path, motion: ExportMotion, options: ExportOptions) -> Path:
    """The ``"bvh"`` entry of :data:`core.export.WRITERS`: see :func:`write_bvh` (options ``bvh_units``,
    ``bvh_branch_translations``; no errors)."""
    scales = {"m": 1.0, "cm": 100.0}
    units = options.bvh_units
    if units not in scales:
        raise ExportError(f"unknown BVH units {units!r}; choose 'm' (Blender) or 'cm'.")
    m = motion.checked()
    check_target(path)
    solved = skeleton_to_bvh(
        m.yup(), 1.0 / m.fps, scale=scales[units], branch_translations=options.bvh_branch_translations
    )
    return save_bvh(solved, path)


def write_bvh(
    path: str | os.PathLike[str],
    points: np.ndarray,
    time_s: np.ndarray,
    *,
    up_axis: str,
    fps: float | None = None,
    units: str = "m",
    branch_translations: bool = True,
) -> Path:
    """Write a BVH for Blender & co: Y-up (:func:`up_axis_rotation`), fixed bone lengths, see :func:`skeleton_to_bvh`.

    ``units`` "m" (default; Blender's importer maps 1 BVH unit to 1 m at scale 1.0) or "cm" (MotionBuilder and
    most mocap libraries). BVH has no unit field, so the unit is stated here only. Frames are assumed evenly
    spaced: Frame Time = 1 / fps.
    """
    options = ExportOptions(bvh_units=units, bvh_branch_translations=branch_translations)
    return bvh_writer(Path(path), ExportMotion(points, time_s, up_axis, fps), options)
