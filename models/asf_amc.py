"""Acclaim ASF/AMC motion capture (the CMU database's format) -> :class:`models.mocap.Motion`. No Qt, no torch.

An ``.asf`` file holds the skeleton: per bone a rest ``direction`` (unit vector, world axes), a ``length``, an
``axis`` (Euler angles of the bone's local frame, degrees) and its ``dof`` (which of rx, ry, rz it rotates about),
plus the hierarchy. An ``.amc`` file holds, per frame, the root's translation and rotation and each bone's angles
in the order of its ``dof`` line. Forward kinematics (the Acclaim convention, as CMU's own viewer): a bone's global
rotation is ``R_parent C M C^T`` with ``C`` its axis rotation and ``M`` its motion rotation, both built as
``Rz Ry Rx`` from degrees; its end is its start plus ``length * R direction``.

Units: lengths are in the file's unit, ``:units length L`` meaning one unit is ``1 / L`` inch (CMU: 0.45), and are
converted to metres; Y is up in the file; CMU takes are 120 fps (the files do not say).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.up_axis import rotation_to_z_up
from models.mocap import Motion, _assemble_h36m

__all__ = ["AsfSkeleton", "amc_forward_kinematics", "load_amc", "read_amc", "read_asf"]

#: CMU's capture rate (frames per second); AMC files carry no rate.
CMU_FPS = 120.0
_INCH_M = 0.0254


@dataclass(frozen=True)
class AsfSkeleton:
    """Bones in hierarchy order (root first, parents before children).

    ``names (B,)``, ``parents (B,)`` (-1 for the root), ``direction (B, 3)`` unit, ``length (B,)`` m,
    ``axis (B, 3, 3)`` the rotation C of each bone's local frame, ``dof`` per bone the rotated axes
    (indices 0 x, 1 y, 2 z, in the file's order), ``root_order`` the root's channels (e.g. TX TY TZ RX RY RZ).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    direction: np.ndarray
    length: np.ndarray
    axis: np.ndarray
    dof: tuple[tuple[int, ...], ...]
    root_order: tuple[str, ...]
    metres_per_unit: float

    def index(self, name: str) -> int:
        return self.names.index(name)


def euler_xyz(angles_deg: np.ndarray) -> np.ndarray:
    """Rotations ``Rz Ry Rx`` of ``(..., 3)`` angles in degrees (x, y, z) -> ``(..., 3, 3)``."""
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    cx, cy, cz = np.cos(a[..., 0]), np.cos(a[..., 1]), np.cos(a[..., 2])
    sx, sy, sz = np.sin(a[..., 0]), np.sin(a[..., 1]), np.sin(a[..., 2])
    R = np.empty((*a.shape[:-1], 3, 3))
    R[..., 0, 0] = cy * cz
    R[..., 0, 1] = sx * sy * cz - cx * sz
    R[..., 0, 2] = cx * sy * cz + sx * sz
    R[..., 1, 0] = cy * sz
    R[..., 1, 1] = sx * sy * sz + cx * cz
    R[..., 1, 2] = cx * sy * sz - sx * cz
    R[..., 2, 0] = -sy
    R[..., 2, 1] = sx * cy
    R[..., 2, 2] = cx * cy
    return R


def _sections(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    key = ""
    for line in lines:
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        if s.startswith(":"):
            head, _, rest = s[1:].partition(" ")
            key = head.lower()
            out.setdefault(key, [])
            if rest.strip():
                out[key].append(rest.strip())
        else:
            out.setdefault(key, []).append(s)
    return out


def _bones(lines: list[str], path: Path) -> dict[str, dict[str, list[str]]]:
    bones: dict[str, dict[str, list[str]]] = {}
    cur: dict[str, list[str]] | None = None
    for s in lines:
        word, *rest = s.split()
        if word == "begin":
            cur = {}
        elif word == "end":
            if cur is None or "name" not in cur:
                raise InputError(f"{path}: a bone in :bonedata has no name; the file is not a valid ASF skeleton.")
            bones[cur["name"][0]] = cur
            cur = None
        elif cur is not None:
            cur[word] = rest
    return bones


def read_asf(path: str | Path) -> AsfSkeleton:
    """Parse an ``.asf`` skeleton; InputError naming the file and what is wrong when it cannot be read."""
    path = Path(path)
    try:
        sec = _sections(path.read_text(errors="replace").splitlines())
    except OSError as exc:
        raise InputError(f"cannot read the ASF skeleton {path}: {exc.strerror or exc}.") from None
    if "bonedata" not in sec or "hierarchy" not in sec:
        raise InputError(f"{path} has no :bonedata or :hierarchy section; it is not an ASF skeleton file.")
    units = {s.split()[0].lower(): s.split()[1:] for s in sec.get("units", []) if s.split()}
    try:
        unit_m = _INCH_M / float(units.get("length", ["1.0"])[0])
        bones = _bones(sec["bonedata"], path)
        root_order = tuple(
            w.upper() for s in sec.get("root", []) if s.lower().startswith("order") for w in s.split()[1:]
        )
        children: dict[str, list[str]] = {}
        for s in sec["hierarchy"]:
            words = s.split()
            if words[0] in ("begin", "end"):
                continue
            children.setdefault(words[0], []).extend(words[1:])
        names, parents = ["root"], [-1]
        stack = ["root"]
        while stack:  # breadth-first: parents before children
            parent = stack.pop(0)
            for child in children.get(parent, []):
                names.append(child)
                parents.append(names.index(parent))
                stack.append(child)
        direction = np.zeros((len(names), 3))
        length = np.zeros(len(names))
        axis = np.tile(np.eye(3), (len(names), 1, 1))
        dof: list[tuple[int, ...]] = [()]
        for i, name in enumerate(names[1:], start=1):
            b = bones[name]
            direction[i] = np.array(b["direction"][:3], dtype=np.float64)
            length[i] = float(b["length"][0]) * unit_m
            axis[i] = euler_xyz(np.array(b.get("axis", ["0", "0", "0"])[:3], dtype=np.float64))
            dof.append(
                tuple("xyz".index(d[1]) for d in (w.lower() for w in b.get("dof", [])) if d in ("rx", "ry", "rz"))
            )
    except (KeyError, ValueError, IndexError) as exc:
        raise InputError(
            f"{path}: the skeleton is incomplete or malformed ({exc}); check that it is an ASF file."
        ) from None
    norm = np.linalg.norm(direction, axis=1, keepdims=True)
    direction = np.divide(direction, norm, out=np.zeros_like(direction), where=norm > 0)
    return AsfSkeleton(
        tuple(names),
        np.array(parents),
        direction,
        length,
        axis,
        tuple(dof),
        root_order or ("TX", "TY", "TZ", "RX", "RY", "RZ"),
        unit_m,
    )


def read_amc(path: str | Path, skel: AsfSkeleton) -> tuple[np.ndarray, np.ndarray]:
    """Parse an ``.amc`` take for ``skel`` -> (root channels ``(F, 6)`` as ``root_order`` in file units/degrees,
    bone angles ``(F, B, 3)`` degrees about x, y, z; 0 for axes a bone does not rotate about)."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the AMC take {path}: {exc.strerror or exc}.") from None
    index = {n: i for i, n in enumerate(skel.names)}
    frames: list[dict[str, list[float]]] = []
    try:
        for line in text:
            s = line.strip()
            if not s or s.startswith(("#", ":")):
                continue
            words = s.split()
            if len(words) == 1 and words[0].isdigit():
                frames.append({})
            elif frames:
                frames[-1][words[0]] = [float(v) for v in words[1:]]
    except ValueError as exc:
        raise InputError(f"{path}: a frame holds a value that is not a number ({exc}).") from None
    if not frames:
        raise InputError(f"{path} holds no frames; it is not an AMC take.")
    F, B = len(frames), len(skel.names)
    root = np.zeros((F, 6))
    angles = np.zeros((F, B, 3))
    for f, fr in enumerate(frames):  # parsing: one dict per frame
        for name, vals in fr.items():
            if name == "root":
                root[f, : len(vals)] = vals[:6]
            elif name in index:
                d = skel.dof[index[name]]
                angles[f, index[name], list(d)] = vals[: len(d)]
    return root, angles


def amc_forward_kinematics(skel: AsfSkeleton, root: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bone end positions ``(F, B, 3)`` m and global rotations ``(F, B, 3, 3)``, in the file's axes (Y up); the
    root is index 0 (its translation)."""
    F, B = angles.shape[:2]
    order = {c: i for i, c in enumerate(skel.root_order)}
    t = root[:, [order.get("TX", 0), order.get("TY", 1), order.get("TZ", 2)]] * skel.metres_per_unit
    r = root[:, [order.get("RX", 3), order.get("RY", 4), order.get("RZ", 5)]]
    rot = np.empty((F, B, 3, 3))
    pos = np.empty((F, B, 3))
    rot[:, 0] = euler_xyz(r)
    pos[:, 0] = t
    M = euler_xyz(angles)  # (F, B, 3, 3)
    local = skel.axis[None] @ M @ np.swapaxes(skel.axis, -1, -2)[None]  # C M C^T
    for b in range(1, B):  # parents first; vectorised over frames
        p = skel.parents[b]
        rot[:, b] = rot[:, p] @ local[:, b]
        pos[:, b] = pos[:, p] + skel.length[b] * (rot[:, b] @ skel.direction[b])
    return pos, rot


def _find_asf(path: Path) -> Path:
    found = sorted(path.parent.glob("*.asf"))
    stem = path.stem.split("_")[0]
    named = [p for p in found if p.stem == stem]
    if named or len(found) == 1:
        return (named or found)[0]
    raise InputError(
        f"no ASF skeleton for {path.name}: put its subject's .asf (e.g. {stem}.asf) in {path.parent}, or pass asf=."
    )


def load_amc(path: str | Path, asf: str | Path | None = None, fps: float = CMU_FPS) -> Motion:
    """An AMC take (with its subject's ``.asf``, by default the one beside it) -> :class:`Motion`: H36M-17 joints
    ``(F, 17, 3)`` m, Z-up, floor at z = 0 (5th percentile of the lower ankle/toe per frame)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No AMC take at {path}.")
    skel = read_asf(Path(asf) if asf is not None else _find_asf(path))
    root, angles = read_amc(path, skel)
    pos, rot = amc_forward_kinematics(skel, root, angles)
    try:
        end = {
            n: pos[:, skel.index(n)]
            for n in (
                "lhipjoint",
                "rhipjoint",
                "lfemur",
                "rfemur",
                "ltibia",
                "rtibia",
                "lclavicle",
                "rclavicle",
                "lhumerus",
                "rhumerus",
                "lradius",
                "rradius",
                "upperneck",
                "head",
            )
        }
    except ValueError as exc:
        raise InputError(
            f"{path}: the skeleton lacks a bone CrossView needs ({exc}); it is not a CMU-style body."
        ) from None
    R_head = rot[:, skel.index("head")]
    # head top and nose from the head bone: its start (the skull's base) + 2x its vector; the nose 10 cm forward of
    # the head bone's middle, "forward" being the rest pose's (left hip x up).
    rest_left = skel.direction[skel.index("lhipjoint")] - skel.direction[skel.index("rhipjoint")]
    up = np.array([0.0, 1.0, 0.0])
    fwd = np.cross(rest_left - (rest_left @ up) * up, up)
    fwd /= np.linalg.norm(fwd)
    head_vec = end["head"] - end["upperneck"]
    nose = end["upperneck"] + 0.5 * head_vec + np.einsum("fij,j->fi", R_head, 0.10 * fwd)
    pts = {
        "right_hip": end["rhipjoint"], "right_knee": end["rfemur"], "right_ankle": end["rtibia"],
        "left_hip": end["lhipjoint"], "left_knee": end["lfemur"], "left_ankle": end["ltibia"],
        "nose": nose, "head_top": end["upperneck"] + 2.0 * head_vec,
        "left_shoulder": end["lclavicle"], "left_elbow": end["lhumerus"], "left_wrist": end["lradius"],
        "right_shoulder": end["rclavicle"], "right_elbow": end["rhumerus"], "right_wrist": end["rradius"],
    }  # fmt: skip
    R_up = rotation_to_z_up("y")
    joints = _assemble_h36m(pts) @ R_up.T
    feet = [skel.index(n) for n in ("ltibia", "rtibia", "lfoot", "rfoot", "ltoes", "rtoes") if n in skel.names]
    floor = float(np.percentile((pos[:, feet] @ R_up.T)[..., 2].min(axis=1), 5))
    joints[..., 2] -= floor
    times = np.arange(len(joints)) / fps
    return Motion(path.stem, joints, fps, "z", "y", str(path), times)
