"""The BVH format read back: :class:`BvhMotion`, :func:`read_bvh` and forward kinematics.

Writing a BVH (the fixed-bone-length solve of H36M-17 joints) is an export: :mod:`core.export.bvh_writer`.
Units: offsets and position channels in the file's unit times the reader's ``scale``; rotations in degrees;
``frame_time`` in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.skeleton import JOINT_NAMES

__all__ = ["BvhMotion", "bvh_forward_kinematics", "bvh_joint_positions", "read_bvh", "tree_depths"]


@dataclass(frozen=True)
class BvhMotion:
    """A BVH skeleton and its motion.

    Nodes are in file (depth-first) order; End Sites are nodes too, named ``<parent>_end`` (``is_end_site``).
    ``offsets`` ``(N, 3)`` and position channels are in the file's unit times the reader's ``scale``; rotations
    are degrees. ``values`` ``(F, C)`` holds every channel of every frame in file order.
    """

    names: tuple[str, ...]
    parents: np.ndarray  # (N,) int64, -1 for a root
    offsets: np.ndarray  # (N, 3)
    channels: tuple[tuple[str, ...], ...]  # per node; () for End Sites
    values: np.ndarray  # (F, C)
    frame_time: float  # seconds per frame
    is_end_site: np.ndarray  # (N,) bool

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Names of the nodes that are not End Sites."""
        return tuple(n for n, e in zip(self.names, self.is_end_site.tolist()) if not e)

    def index(self, name: str) -> int:
        """Node index of ``name``; InputError if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(f"the BVH skeleton has no joint named {name!r}; it has {', '.join(self.names)}.") from None


_CHANNEL_AXES = {"x": 0, "y": 1, "z": 2}
_VALID_CHANNELS = {f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}


# ----------------------------------------------------------------------------- reading


@dataclass
class _Hierarchy:
    """The HIERARCHY section as it is parsed: one entry per node, in file order."""

    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[list[float]] = field(default_factory=list)
    channels: list[tuple[str, ...]] = field(default_factory=list)
    ends: list[bool] = field(default_factory=list)
    stack: list[int] = field(default_factory=list)  # the open '{' blocks (node indices)
    pending: int = -1  # the node whose '{' comes next

    def add(self, name: str, parent: int, end: bool) -> None:
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append([0.0, 0.0, 0.0])
        self.channels.append(())
        self.ends.append(end)
        self.pending = len(self.names) - 1


# Each step reads the token at ``i`` (and its arguments) into the hierarchy and returns the next token's index.
_Step = Callable[[_Hierarchy, list[str], int], int]


def _joint(h: _Hierarchy, tokens: list[str], i: int) -> int:
    parent = h.stack[-1] if h.stack else -1
    if tokens[i] == "JOINT" and parent < 0:
        raise ValueError(f"JOINT {tokens[i + 1]} outside a ROOT")
    h.add(tokens[i + 1], parent, end=False)
    return i + 2


def _end_site(h: _Hierarchy, tokens: list[str], i: int) -> int:
    if not h.stack or tokens[i + 1] != "Site":
        raise ValueError("'End' must be 'End Site' inside a joint")
    base = f"{h.names[h.stack[-1]]}_end"
    name, k = base, 1
    while name in h.names:
        k += 1
        name = f"{base}{k}"
    h.add(name, h.stack[-1], end=True)
    return i + 2


def _open_block(h: _Hierarchy, tokens: list[str], i: int) -> int:
    if h.pending < 0:
        raise ValueError("'{' without a joint")
    h.stack.append(h.pending)
    h.pending = -1
    return i + 1


def _close_block(h: _Hierarchy, tokens: list[str], i: int) -> int:
    h.stack.pop()
    return i + 1


def _offset(h: _Hierarchy, tokens: list[str], i: int) -> int:
    h.offsets[h.stack[-1]] = [float(v) for v in tokens[i + 1 : i + 4]]
    return i + 4


def _channels(h: _Hierarchy, tokens: list[str], i: int) -> int:
    n = int(tokens[i + 1])
    chans = tuple(tokens[i + 2 : i + 2 + n])
    bad = [c for c in chans if c not in _VALID_CHANNELS]
    if bad or len(chans) != n:
        raise ValueError(f"unknown channels {bad or chans}")
    h.channels[h.stack[-1]] = chans
    return i + 2 + n


_STEPS: dict[str, _Step] = {
    "ROOT": _joint,
    "JOINT": _joint,
    "End": _end_site,
    "{": _open_block,
    "}": _close_block,
    "OFFSET": _offset,
    "CHANNELS": _channels,
}


def _parse_hierarchy(tokens: list[str]) -> _Hierarchy:
    """The nodes of a HIERARCHY section (``tokens[0]`` is the keyword); ValueError/IndexError when malformed."""
    h = _Hierarchy()
    i = 1
    while i < len(tokens):
        step = _STEPS.get(tokens[i])
        if step is None:
            raise ValueError(f"unexpected token {tokens[i]!r}")
        i = step(h, tokens, i)
    if h.stack:
        raise ValueError("unbalanced braces")
    return h


def _parse_motion(text: str) -> tuple[int, float, np.ndarray]:
    """``(frames stated, frame time s, every number (n,))`` of a MOTION section; ValueError when malformed."""
    mtok = text.split()
    if len(mtok) < 5 or mtok[0] != "Frames:" or mtok[2:4] != ["Frame", "Time:"]:
        raise ValueError("MOTION must start with 'Frames: N' and 'Frame Time: T'")
    return int(mtok[1]), float(mtok[4]), np.array(mtok[5:], dtype=np.float64)


def _frame_values(path: Path, values: np.ndarray, n_frames: int, channels: list[tuple[str, ...]]) -> np.ndarray:
    """The MOTION numbers as ``(n_frames, C)``, checked against the channel count and the stated frames."""
    n_channels = sum(len(c) for c in channels)
    if n_channels == 0 or values.size % n_channels:
        raise InputError(
            f"{path}: the BVH MOTION block has {values.size} numbers, not a multiple of its {n_channels} channels; "
            "the file is truncated or corrupt."
        )
    n_found = values.size // n_channels
    if n_found < n_frames:
        raise InputError(f"{path}: the BVH says {n_frames} frames but holds {n_found}; the file is truncated.")
    return values[: n_frames * n_channels].reshape(n_frames, n_channels)


def read_bvh(path: str | os.PathLike[str], scale: float = 1.0) -> BvhMotion:
    """Parse a BVH file: any channel order, position channels on any joint, End Sites, CRLF, several roots.

    Offsets and positions are multiplied by ``scale`` (e.g. 0.01 for a centimetre file to get metres).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read BVH file {path}: {exc.strerror or exc}.") from exc
    head, sep, motion_text = text.partition("MOTION")
    tokens = head.split()
    if not sep or not tokens or tokens[0] != "HIERARCHY":
        raise InputError(f"{path} is not a BVH file (it needs a HIERARCHY section followed by MOTION).")
    try:
        h = _parse_hierarchy(tokens)
        n_frames, frame_time, values = _parse_motion(motion_text)
    except (IndexError, ValueError) as exc:
        raise InputError(f"{path}: malformed BVH ({exc}); check the file is a complete BVH export.") from exc
    if not h.names:
        raise InputError(f"{path}: the BVH HIERARCHY has no joints.")
    values = _frame_values(path, values, n_frames, h.channels)
    chan_arr = np.array([c.endswith("position") for cs in h.channels for c in cs], dtype=bool)
    values[:, chan_arr] *= scale
    return BvhMotion(
        names=tuple(h.names),
        parents=np.array(h.parents, dtype=np.int64),
        offsets=np.array(h.offsets, dtype=np.float64) * scale,
        channels=tuple(h.channels),
        values=values,
        frame_time=frame_time,
        is_end_site=np.array(h.ends, dtype=bool),
    )


# ----------------------------------------------------------------------------- forward kinematics


def tree_depths(parents: np.ndarray) -> np.ndarray:
    """Depth ``(N,)`` of each node of a tree given by ``parents`` ``(N,)`` (-1 for a root; parents come first)."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for i, p in enumerate(parents.tolist()):  # parents precede children (file / PARENTS order)
        depth[i] = 0 if p < 0 else depth[p] + 1
    return depth


def _axis_rotation(axis: int, angle_rad: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about coordinate axis 0/1/2 by ``angle_rad`` ``(...)``."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    R = np.zeros((*np.shape(angle_rad), 3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def _local_transforms(motion: BvhMotion) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations ``(F, N, 3, 3)`` and translations ``(F, N, 3)`` of every node (see the FK's convention)."""
    F, N = motion.num_frames, len(motion.names)
    starts = np.cumsum([0] + [len(c) for c in motion.channels])
    L = np.broadcast_to(np.eye(3), (F, N, 3, 3)).copy()
    t = np.broadcast_to(motion.offsets, (F, N, 3)).copy()
    layouts: dict[tuple[str, ...], list[int]] = {}
    for n, chans in enumerate(motion.channels):
        layouts.setdefault(tuple(c for c in chans if c.endswith("rotation")), []).append(n)
        for k, c in enumerate(chans):
            if c.endswith("position"):
                t[:, n, _CHANNEL_AXES[c[0].lower()]] = motion.values[:, starts[n] + k]
    for rot, nodes in layouts.items():
        if not rot:
            continue
        idx = np.array(nodes)
        cols = np.array([[starts[n] + motion.channels[n].index(c) for c in rot] for n in nodes])  # (n, r)
        ang = np.deg2rad(motion.values[:, cols])  # (F, n, r)
        R = _axis_rotation(_CHANNEL_AXES[rot[0][0].lower()], ang[..., 0])
        for k in range(1, len(rot)):
            R = R @ _axis_rotation(_CHANNEL_AXES[rot[k][0].lower()], ang[..., k])
        L[:, idx] = R
    return L, t


def bvh_forward_kinematics(
    motion: BvhMotion, *, return_rotations: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """World positions ``(F, N, 3)`` of every node (End Sites included) of a :class:`BvhMotion`.

    BVH convention: a node's local rotation is the product of its rotation channels in the listed order
    (``Zrotation Xrotation Yrotation`` -> ``Rz @ Rx @ Ry``), its local translation is its OFFSET, with each
    position channel replacing the matching OFFSET component (Blender's reading), and
    ``p = p_parent + G_parent @ t``, ``G = G_parent @ L``. With ``return_rotations`` also returns the global
    rotations ``(F, N, 3, 3)``. Vectorised over frames; loops over tree depth and channel layouts only.
    """
    L, t = _local_transforms(motion)
    depth = tree_depths(motion.parents)
    G = np.empty_like(L)
    p = np.empty_like(t)
    for d in range(int(depth.max()) + 1):
        idx = np.flatnonzero(depth == d)
        if d == 0:
            G[:, idx] = L[:, idx]
            p[:, idx] = t[:, idx]
            continue
        par = motion.parents[idx]
        G[:, idx] = G[:, par] @ L[:, idx]
        p[:, idx] = p[:, par] + np.einsum("fnij,fnj->fni", G[:, par], t[:, idx])
    return (p, G) if return_rotations else p


def bvh_joint_positions(motion: BvhMotion, names: Sequence[str] = JOINT_NAMES) -> np.ndarray:
    """FK positions ``(F, len(names), 3)`` of the named BVH nodes (default: the 17 H36M joints of our files)."""
    p = bvh_forward_kinematics(motion)
    return p[:, [motion.index(n) for n in names]]
