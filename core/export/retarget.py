"""The one retargeting of H36M-17 joints onto a fixed-bone-length skeleton: rest pose, joint rotations, FK.

Used by the BVH export (:mod:`core.export.bvh_writer`) and the VMC stream (:mod:`core.stream.vmc`), so a BVH
file and a live avatar move the same way.

Frame: a right-handed Y-up frame (:func:`core.up_axis.rotation_to_y_up` of the world), metres. Rest pose:
upright, facing +Z, left = +X, legs down, arms out sideways (T-pose), the children of the pelvis and the thorax
in the motion's median shape (:func:`rest_offsets`). Rotations are ``(..., 3, 3)`` matrices applied to column
vectors; a joint's *global* rotation ``G_j`` maps its rest offsets onto the observed bones, its *local* rotation
is ``G_parent^T G_j`` (:func:`local_rotations`). :func:`retarget` solves a motion, :func:`forward_kinematics`
rebuilds joints from root positions, local rotations and offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bvh import tree_depths
from core.export.rotations import kabsch, swing, unit
from core.skeleton import BONES, JOINT_PART, NUM_JOINTS, PARENTS, PART_NAMES, SIDE

#: The children of each joint, ``CHILDREN[j]``.
CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(np.flatnonzero(np.equal(PARENTS, j)).tolist()) for j in range(NUM_JOINTS)
)
_DEPTH = tree_depths(PARENTS)
#: Length (metres) given to a bone that is never seen in the whole motion; its joints then keep the rest pose.
FALLBACK_BONE_LENGTH_M = 0.25


def fill_gaps(points: np.ndarray) -> np.ndarray:
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
    kids = np.array(CHILDREN[j])
    left, right, mid = kids[SIDE[kids] > 0], kids[SIDE[kids] < 0], kids[SIDE[kids] == 0]
    x, okx = unit(p[:, left].mean(axis=1) - p[:, right].mean(axis=1))
    up = p[:, j] - p[:, PARENTS[j]] if PARENTS[j] >= 0 else p[:, mid].mean(axis=1) - p[:, j]
    y, oky = unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-2), okx & oky


def rest_offsets(p: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rest offsets ``(17, 3)`` of each joint from its parent, in the parent's rest frame (root row = 0).

    Children of a branching joint (pelvis, thorax) get the motion's median shape, expressed in the body frame
    of :func:`_branch_frames`, so the rigid fit there is as close as the data allow; the other bones point
    along :func:`_canonical_direction`. Lengths are ``lengths[bone]``.
    """
    rest = np.zeros((NUM_JOINTS, 3))
    for c in range(1, NUM_JOINTS):
        rest[c] = _canonical_direction(c)
    for j in range(NUM_JOINTS):
        kids = CHILDREN[j]
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


def median_bone_lengths(points: np.ndarray) -> np.ndarray:
    """Per-bone median length ``(16,)`` over the frames where both ends are known (fallback if never)."""
    v = points[:, BONES[:, 1]] - points[:, BONES[:, 0]]
    n = np.linalg.norm(v, axis=-1)  # NaN where missing
    seen = np.isfinite(n).any(axis=0)
    out = np.full(len(BONES), FALLBACK_BONE_LENGTH_M)
    if seen.any():
        out[seen] = np.nanmedian(n[:, seen], axis=0)
    return out


def _level_plan() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[int, np.ndarray]]]]:
    """Per tree depth: its joints, which have a parent, the joints with a child and their first child, and the
    branching joints with their children (what :func:`global_rotations` walks)."""
    plan = []
    for d in range(int(_DEPTH.max()) + 1):
        level = np.flatnonzero(np.equal(_DEPTH, d))
        first_kid = np.array([CHILDREN[j][0] if CHILDREN[j] else -1 for j in level])
        sel = first_kid >= 0
        branching = [(int(j), np.array(CHILDREN[j])) for j in level if len(CHILDREN[j]) > 1]
        plan.append((level, PARENTS[level] >= 0, level[sel], first_kid[sel], branching))
    return plan


_LEVEL_PLAN = _level_plan()


def global_rotations(p: np.ndarray, rest: np.ndarray) -> np.ndarray:
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
    for level, has_parent, js, cs, branching in _LEVEL_PLAN:
        Gp = np.broadcast_to(np.eye(3), (P, len(level), 3, 3)).copy()
        Gp[:, has_parent] = G[:, PARENTS[level[has_parent]]]
        G[:, level] = Gp
        # one-child joints, and the fallback child of branching joints: swing in the parent frame
        if len(js):
            obs, ok = unit(p[:, cs] - p[:, js])
            Gs = G[:, js]
            local = np.einsum("pnji,pnj->pni", Gs, obs)
            S = swing(rest_u[cs][None], local)
            S = np.where(ok[..., None, None], S, np.eye(3))
            G[:, js] = Gs @ S
        for j, kids in branching:
            obs, ok = unit(p[:, kids] - p[:, j, None])
            target = obs * np.linalg.norm(rest[kids], axis=-1)[None, :, None]
            R, well = kabsch(rest[kids], target, ok.astype(np.float64))
            G[:, j] = np.where(well[:, None, None], R, G[:, j])
    return G


def local_rotations(G: np.ndarray) -> np.ndarray:
    """Local rotations ``(P, 17, 3, 3)`` (``G_parent^T G_j``; the root's is its global) of global ones."""
    L = G.copy()
    nonroot = PARENTS >= 0
    L[:, nonroot] = np.swapaxes(G[:, PARENTS[nonroot]], -1, -2) @ G[:, nonroot]
    return L


#: Children of a branching joint (pelvis: hips and spine; thorax: nose and shoulders), whose offset a rigid
#: parent cannot follow exactly; they may carry a per-frame offset (BVH position channels, VMC bone positions).
BRANCH_CHILDREN: np.ndarray = np.array([c for c in range(1, NUM_JOINTS) if len(CHILDREN[PARENTS[c]]) > 1])


@dataclass(frozen=True)
class Retargeted:
    """A solved motion, Y-up, metres.

    root ``(P, 3)`` pelvis position; global_rot / local_rot ``(P, 17, 3, 3)``; offsets ``(P, 17, 3)`` each joint's
    offset from its parent in the parent's frame: the rest offset, except the :data:`BRANCH_CHILDREN`, which point
    along the observed bone (same fixed length). ``rest`` ``(17, 3)`` the rest offsets.
    """

    root: np.ndarray
    global_rot: np.ndarray
    local_rot: np.ndarray
    offsets: np.ndarray
    rest: np.ndarray


def rig_from_motion(points_yup: np.ndarray) -> np.ndarray:
    """Rest offsets ``(17, 3)`` m of a motion ``(P, 17, 3)`` m Y-up (NaN missing): median bone lengths, and
    the pelvis/thorax children in their median shape (see :func:`rest_offsets`)."""
    pts = np.asarray(points_yup, dtype=np.float64)
    return rest_offsets(fill_gaps(pts), median_bone_lengths(pts))


def retarget(points_yup: np.ndarray, rest: np.ndarray) -> Retargeted:
    """Solve the joints ``(P, 17, 3)`` m, Y-up, gap-free (see :func:`fill_gaps`) for the rig ``rest`` ``(17, 3)``.

    Rotations: :func:`global_rotations`. Batched over frames; the loop runs over tree depth only.
    """
    p = np.asarray(points_yup, dtype=np.float64)
    G = global_rotations(p, rest)
    P = len(p)
    T = np.broadcast_to(rest, (P, NUM_JOINTS, 3)).copy()
    kids = BRANCH_CHILDREN
    par = PARENTS[kids]
    local = np.einsum("pnji,pnj->pni", G[:, par], p[:, kids] - p[:, par])
    u, ok = unit(local)
    T[:, kids] = np.where(ok[..., None], u * np.linalg.norm(rest[kids], axis=-1)[:, None], rest[kids])
    return Retargeted(root=p[:, 0].copy(), global_rot=G, local_rot=local_rotations(G), offsets=T, rest=rest)


def forward_kinematics(root: np.ndarray, local_rot: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Joints ``(P, 17, 3)`` from root positions ``(P, 3)``, local rotations ``(P, 17, 3, 3)`` and offsets
    ``(P, 17, 3)`` or ``(17, 3)`` (each joint's offset from its parent, in the parent's frame). Any consistent
    unit and right- or left-handed frame; loops over tree depth only."""
    P = len(root)
    off = np.broadcast_to(offsets, (P, NUM_JOINTS, 3))
    L = np.asarray(local_rot, dtype=np.float64)
    G = L.copy()
    out = np.empty((P, NUM_JOINTS, 3))
    out[:, 0] = root
    for d in range(1, int(_DEPTH.max()) + 1):
        level = np.flatnonzero(np.equal(_DEPTH, d))
        par = PARENTS[level]
        G[:, level] = G[:, par] @ L[:, level]
        out[:, level] = out[:, par] + np.einsum("pnij,pnj->pni", G[:, par], off[:, level])
    return out
