"""BVH export (Blender & co): a fixed-bone-length skeleton solved for H36M-17 joints, Y-up, metres or cm.

The solve (:func:`skeleton_to_bvh`) gives a :class:`core.bvh.BvhMotion`; :func:`save_bvh` writes it as text.
Reading a BVH back and forward kinematics are :mod:`core.bvh`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.bvh import BvhMotion
from core.errors import ExportError
from core.export.files import check_target, write_file
from core.export.motion import ExportMotion, ExportOptions
from core.export.retarget import BRANCH_CHILDREN, CHILDREN, fill_gaps, median_bone_lengths, rest_offsets, retarget
from core.export.rotations import zxy_from_matrix
from core.skeleton import JOINT_NAMES, NUM_JOINTS

#: End Site length of a leaf joint (ankles, wrists, head top) as a fraction of the bone that ends at it.
BVH_END_SITE_FRACTION = 0.25


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
        if not CHILDREN[j]:
            names.append(f"{JOINT_NAMES[j]}_end")
            parents.append(me)
            offsets.append(rest[j] * BVH_END_SITE_FRACTION)
            channels.append(())
            ends.append(True)
        for c in CHILDREN[j]:
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
    and thorax children in their median shape. Rotations: see
    :func:`core.export.retarget.global_rotations` (Kabsch at the pelvis
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
    lengths = median_bone_lengths(pts)
    filled = fill_gaps(pts)
    if not np.isfinite(filled[:, 0]).all():
        raise ExportError(
            "cannot write BVH: the pelvis (the BVH root) is never seen in this motion; export TRC, C3D, CSV or "
            "JSON instead, or re-run the pipeline so the hips are detected."
        )
    rest = rest_offsets(filled, lengths)
    solved = retarget(filled, rest)
    angles = np.rad2deg(np.unwrap(zxy_from_matrix(solved.local_rot), axis=0))  # (P, 17, 3) as z, x, y

    # local translations: the root's world position; branch children along the observed bone, fixed length
    has_pos = np.zeros(NUM_JOINTS, dtype=bool)
    has_pos[0] = True
    T = np.broadcast_to(rest, (P, NUM_JOINTS, 3)).copy()
    T[:, 0] = filled[:, 0]
    if branch_translations:
        has_pos[BRANCH_CHILDREN] = True
        T[:, BRANCH_CHILDREN] = solved.offsets[:, BRANCH_CHILDREN]

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
