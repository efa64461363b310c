"""Real motion capture -> Human3.6M-17 3D joints, for pretraining CV-UGCN on virtual stereo rigs.

Units and frame of every output: **metres, Z-up, right-handed, floor at z = 0**. ``Motion.joints`` is
``(F, 17, 3)`` in the order of :mod:`core.skeleton`; ``Motion.times`` is ``(F,)`` seconds.

Two sources are read:

* **DeepMimic clips** (``humanoid3d_*.txt``, JSON with ``"Frames"``) by forward kinematics over the
  DeepMimic ``humanoid.urdf``. Joint offsets, knee/elbow axes, the wrist offsets and the head/foot
  collision geometry are read from the URDF. The only number not in the URDF is its scale: DeepMimic
  loads it with ``globalScaling=0.25`` (pybullet ``deep_mimic/env/humanoid_stable_pd.py``); the motion
  files are already in metres. Frame layout: duration, root position (3), root quaternion (w, x, y, z),
  then chest, neck, right hip (quat), right knee (angle), right ankle (quat), right shoulder (quat),
  right elbow (angle), left hip, left knee, left ankle, left shoulder, left elbow. The humanoid frame is
  Y-up, X forward, Z to the character's right; the floor is y = 0.
* **BVH** files: a general parser (any channel order, end sites, position channels on any joint) with
  vectorised forward kinematics, and a name-based mapping to H36M-17 that handles the usual rigs
  (Mixamo ``mixamorig:RightUpLeg/RightLeg/RightFoot/RightArm/RightForeArm/RightHand``, CMU-style,
  DAZ-style ``rThigh/rShin/rShldr``, and ``RightHip/RightKnee/RightAnkle/RightShoulder/RightElbow/RightWrist``
  rigs with collars). Where a rig has both a collar and an upper-arm joint, the upper arm is the shoulder. The unit is
  guessed from the body's size (cm, m, mm or inches) unless given; the up axis from the rest pose.

How each H36M joint is made (the same for both sources):

* hips, knees, ankles, shoulders, elbows, wrists: the kinematic joint centres (for DeepMimic the URDF
  joint origins; the wrist is the fixed ``*_wrist`` joint at the end of the forearm).
* pelvis, spine, thorax: built from hips and shoulders with **the very weights** CrossView uses to
  derive them from MediaPipe (``core.skeleton.MEDIAPIPE_TO_H36M``): pelvis = mid-hips, spine = mean of
  hips and shoulders, thorax = mid-shoulders. The network is trained on what the detector will give.
* head top: DeepMimic - the top of the head sphere (neck joint + sphere centre + radius along the neck
  link's up axis); BVH - the head's end site (or a ``HeadTop`` joint).
* nose: DeepMimic - the point of the head sphere 10 degrees below straight ahead; BVH - from the eyes
  when the rig has them (mid-eyes, 0.1 h forward, 0.2 h down, h = head length), otherwise 0.45 h above
  and 0.5 h in front of the head joint. These are fixed offsets in the head's own frame.

The world frame becomes Z-up by a proper rotation (Y-up ``(x, y, z) -> (x, -z, y)``). DeepMimic keeps
its floor (y = 0 -> z = 0); a BVH floor is the 5th percentile over frames of the lowest foot point
(ankles and every joint/end site below them), moved to z = 0.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.bvh import BvhMotion, bvh_forward_kinematics, read_bvh
from core.errors import InputError
from core.skeleton import JOINT_INDEX, JOINT_NAMES, MEDIAPIPE_TO_H36M, NUM_JOINTS
from core.up_axis import rotation_to_z_up

__all__ = [
    "DEEPMIMIC_SCALE",
    "Motion",
    "UrdfJoint",
    "UrdfModel",
    "deepmimic_forward_kinematics",
    "load_bvh",
    "load_deepmimic",
    "load_motion",
    "load_motion_folder",
    "quat_to_matrix",
    "read_urdf",
]

#: pybullet's DeepMimic environments load humanoid.urdf with ``globalScaling=0.25``.
DEEPMIMIC_SCALE = 0.25

#: DeepMimic joint order after the root (the motion-file columns).
DEEPMIMIC_JOINTS: tuple[str, ...] = (
    "chest",
    "neck",
    "right_hip",
    "right_knee",
    "right_ankle",
    "right_shoulder",
    "right_elbow",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_shoulder",
    "left_elbow",
)
#: Joints driven by one angle (revolute) instead of a quaternion.
_DEEPMIMIC_REVOLUTE = frozenset({"right_knee", "right_elbow", "left_knee", "left_elbow"})

# MediaPipe landmark slots used to derive pelvis / spine / thorax with core.skeleton's weights.
_MP_SLOT = {"left_shoulder": 11, "right_shoulder": 12, "left_hip": 23, "right_hip": 24}
_DERIVED = (JOINT_INDEX["pelvis"], JOINT_INDEX["spine"], JOINT_INDEX["thorax"])
_DERIVED_W = MEDIAPIPE_TO_H36M[list(_DERIVED)]  # (3, 33)
if set(np.flatnonzero(_DERIVED_W.any(axis=0))) - set(_MP_SLOT.values()):  # pragma: no cover - import guard
    raise RuntimeError("core.skeleton derives pelvis/spine/thorax from more than hips and shoulders; update mocap")

#: Joints every source must provide; the three midline joints are derived from them.
ANATOMICAL: tuple[str, ...] = tuple(n for i, n in enumerate(JOINT_NAMES) if i not in _DERIVED)


@dataclass(frozen=True, eq=False)
class Motion:
    """One motion clip as H36M-17 joints.

    ``joints`` (F, 17, 3) metres, Z-up, floor at z = 0; ``times`` (F,) seconds from the first frame;
    ``fps`` frames per second (from the median frame interval); ``up_axis`` is the axis of ``joints``
    (always ``"z"``); ``source_up_axis`` the up axis of the file it came from.
    """

    name: str
    joints: np.ndarray
    fps: float
    up_axis: str = "z"
    source_up_axis: str = "y"
    source: str = ""
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return float(self.times[-1] - self.times[0]) if self.times.size else 0.0


# ----------------------------------------------------------------------------- rotations


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Quaternions ``(..., 4)`` as (w, x, y, z) -> rotation matrices ``(..., 3, 3)``; normalised first."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True).clip(1e-12)
    w, x, y, z = np.moveaxis(q, -1, 0)
    R = np.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return R.reshape(*q.shape[:-1], 3, 3)


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation about a fixed unit ``axis`` (3,) by ``angle`` (...,) radians -> ``(..., 3, 3)``."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    th = np.asarray(angle, dtype=np.float64)[..., None, None]
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * (K @ K)


# ----------------------------------------------------------------------------- H36M assembly


def _assemble_h36m(points: dict[str, np.ndarray]) -> np.ndarray:
    """Anatomical points (name -> (F, 3)) -> H36M-17 ``(F, 17, 3)``; pelvis/spine/thorax derived."""
    F = points["right_hip"].shape[0]
    out = np.zeros((F, NUM_JOINTS, 3))
    for name in ANATOMICAL:
        out[:, JOINT_INDEX[name]] = points[name]
    mp = np.zeros((F, MEDIAPIPE_TO_H36M.shape[1], 3))
    for name, slot in _MP_SLOT.items():
        mp[:, slot] = points[name]
    out[:, list(_DERIVED)] = np.einsum("js,fsc->fjc", _DERIVED_W, mp)
    return out


def _frame_times(durations: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-frame durations -> (times (F,) s, fps)."""
    d = np.asarray(durations, dtype=np.float64)
    pos = d[d > 0]
    if pos.size == 0:
        raise ValueError("no positive frame duration")
    dt = float(np.median(pos))
    step = np.where(d[:-1] > 0, d[:-1], dt)
    times = np.concatenate([[0.0], np.cumsum(step)])
    return times, 1.0 / dt


# ----------------------------------------------------------------------------- URDF / DeepMimic


@dataclass(frozen=True)
class UrdfJoint:
    """One URDF joint: ``offset`` (3,) metres (scaled) in the parent link frame, ``axis`` (3,) for revolute."""

    name: str
    type: str
    parent: str
    child: str
    offset: np.ndarray
    axis: np.ndarray


@dataclass(frozen=True)
class UrdfModel:
    """The parts of a URDF that forward kinematics needs. Lengths in metres (after ``scale``)."""

    joints: dict[str, UrdfJoint]
    #: link name -> list of (geometry type, origin xyz (3,) m, size parameters (m)) collision shapes
    collisions: dict[str, list[tuple[str, np.ndarray, np.ndarray]]]
    scale: float


def _floats(text: str | None, n: int | None = None) -> np.ndarray:
    vals = np.array([float(v) for v in (text or "").split()], dtype=np.float64)
    if n is not None and vals.size != n:
        raise ValueError(f"expected {n} numbers, got {text!r}")
    return vals


def read_urdf(path: str | Path, scale: float = DEEPMIMIC_SCALE) -> UrdfModel:
    """Read joint offsets/axes and collision shapes from a URDF, multiplying lengths by ``scale``."""
    path = Path(path)
    try:
        # pybullet's humanoid.urdf ends with a NUL byte, which XML parsers reject
        root = ET.fromstring(path.read_bytes().rstrip(b"\x00\r\n\t "))
    except (OSError, ET.ParseError) as e:
        raise InputError(f"Cannot read the URDF {path}: {e}. Point to the humanoid.urdf shipped with the clips.") from e
    joints: dict[str, UrdfJoint] = {}
    collisions: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    try:
        for j in root.iter("joint"):
            origin = j.find("origin")
            axis = j.find("axis")
            if origin is not None and np.any(_floats(origin.get("rpy", "0 0 0"), 3) != 0):
                raise ValueError(f"joint {j.get('name')} has a non-zero rpy, which this reader does not handle")
            joints[j.get("name")] = UrdfJoint(
                name=j.get("name"),
                type=j.get("type"),
                parent=j.find("parent").get("link"),
                child=j.find("child").get("link"),
                offset=scale * (_floats(origin.get("xyz"), 3) if origin is not None else np.zeros(3)),
                axis=_floats(axis.get("xyz"), 3) if axis is not None else np.array([0.0, 0.0, 1.0]),
            )
        for link in root.iter("link"):
            shapes = []
            for c in link.iter("collision"):
                origin = c.find("origin")
                xyz = scale * (_floats(origin.get("xyz"), 3) if origin is not None else np.zeros(3))
                geom = c.find("geometry")
                for g in geom if geom is not None else []:
                    if g.tag == "sphere":
                        shapes.append(("sphere", xyz, scale * _floats(g.get("radius"), 1)))
                    elif g.tag == "box":
                        shapes.append(("box", xyz, scale * _floats(g.get("size"), 3)))
                    elif g.tag == "capsule":
                        shapes.append(
                            ("capsule", xyz, scale * np.array([float(g.get("length")), float(g.get("radius"))]))
                        )
            collisions[link.get("name")] = shapes
    except (AttributeError, TypeError, ValueError) as e:
        raise InputError(f"The URDF {path} is malformed ({e}). Use the DeepMimic humanoid.urdf.") from e
    missing = [n for n in (*DEEPMIMIC_JOINTS, "right_wrist", "left_wrist") if n not in joints]
    if missing:
        raise InputError(f"The URDF {path} lacks the DeepMimic joints {missing}. Use the DeepMimic humanoid.urdf.")
    return UrdfModel(joints=joints, collisions=collisions, scale=scale)


def _shape(model: UrdfModel, link: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    for k, xyz, size in model.collisions.get(link, []):
        if k == kind:
            return xyz, size
    raise InputError(f"The URDF link {link!r} has no {kind} collision shape; use the DeepMimic humanoid.urdf.")


def deepmimic_forward_kinematics(frames: np.ndarray, model: UrdfModel) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Forward kinematics of DeepMimic frames ``(F, 44)`` -> {joint: (position (F, 3) m, rotation (F, 3, 3))}.

    Positions are the joint origins in the source (Y-up) world frame; the rotation is the world
    orientation of the joint's child link. ``"root"`` is included, ``*_wrist`` (fixed) too.
    """
    frames = np.asarray(frames, dtype=np.float64)
    n_cols = 1 + 3 + 4 + sum(1 if n in _DEEPMIMIC_REVOLUTE else 4 for n in DEEPMIMIC_JOINTS)
    if frames.ndim != 2 or frames.shape[1] != n_cols:
        raise InputError(f"DeepMimic frames must be (F, {n_cols}), got {frames.shape}; is this a humanoid3d clip?")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {"root": (frames[:, 1:4], quat_to_matrix(frames[:, 4:8]))}
    link_of = {"root": "root"}
    col = 8
    for name in DEEPMIMIC_JOINTS:
        j = model.joints[name]
        if name in _DEEPMIMIC_REVOLUTE:
            local = axis_angle_matrix(j.axis, frames[:, col])
            col += 1
        else:
            local = quat_to_matrix(frames[:, col : col + 4])
            col += 4
        p_pos, p_rot = out[_joint_of_link(model, j.parent)]
        out[name] = (p_pos + np.einsum("fij,j->fi", p_rot, j.offset), p_rot @ local)
        link_of[name] = j.child
    for side in ("right", "left"):
        j = model.joints[f"{side}_wrist"]
        p_pos, p_rot = out[_joint_of_link(model, j.parent)]
        out[j.name] = (p_pos + np.einsum("fij,j->fi", p_rot, j.offset), p_rot)
    return out


def _joint_of_link(model: UrdfModel, link: str) -> str:
    """Name of the joint whose child is ``link`` (``root`` for the root link)."""
    if link == "root":
        return "root"
    for j in model.joints.values():
        if j.child == link:
            return j.name
    raise KeyError(link)


#: Nose direction on the head sphere: this many degrees below the neck link's forward axis.
_NOSE_DOWN_DEG = 10.0


def _deepmimic_points(fk: dict[str, tuple[np.ndarray, np.ndarray]], model: UrdfModel) -> dict[str, np.ndarray]:
    pts = {n: fk[n][0] for n in ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")}
    pts |= {n: fk[n][0] for n in ("right_shoulder", "right_elbow", "left_shoulder", "left_elbow")}
    pts["right_wrist"] = fk["right_wrist"][0]
    pts["left_wrist"] = fk["left_wrist"][0]
    centre, radius = _shape(model, "neck", "sphere")
    r = float(radius[0])
    neck_pos, neck_rot = fk["neck"]
    # neck link frame: +Y up the neck, +X forward (the foot boxes point +X), +Z to the right.
    up = np.array([0.0, 1.0, 0.0])
    a = np.radians(_NOSE_DOWN_DEG)
    nose_local = centre + r * np.array([np.cos(a), -np.sin(a), 0.0])
    top_local = centre + r * up
    pts["nose"] = neck_pos + np.einsum("fij,j->fi", neck_rot, nose_local)
    pts["head_top"] = neck_pos + np.einsum("fij,j->fi", neck_rot, top_local)
    return pts


def deepmimic_sole_points(fk: dict[str, tuple[np.ndarray, np.ndarray]], model: UrdfModel) -> np.ndarray:
    """The 8 corners of both foot boxes ``(F, 8, 3)`` in the source Y-up frame, metres (floor checks)."""
    corners = []
    for side in ("right", "left"):
        xyz, size = _shape(model, f"{side}_ankle", "box")
        signs = np.array([[sx, -1.0, sz] for sx in (-1, 1) for sz in (-1, 1)])  # bottom face
        local = xyz + 0.5 * size * signs  # (4, 3)
        pos, rot = fk[f"{side}_ankle"]
        corners.append(pos[:, None] + np.einsum("fij,cj->fci", rot, local))
    return np.concatenate(corners, axis=1)


def _read_deepmimic_frames(path: Path) -> np.ndarray:
    try:
        data = json.loads(path.read_text())
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(
            f"Cannot read the DeepMimic clip {path}: {e}. Expected JSON with a 'Frames' list of 44 numbers per frame."
        ) from e
    if frames.ndim != 2 or frames.shape[0] < 2:
        raise InputError(f"The DeepMimic clip {path} has no usable frames (shape {frames.shape}).")
    return frames


def load_deepmimic(path: str | Path, urdf_path: str | Path | None = None) -> Motion:
    """A DeepMimic ``humanoid3d_*.txt`` clip -> :class:`Motion` (Z-up metres, floor z = 0).

    ``urdf_path`` defaults to ``humanoid.urdf`` next to the clip.
    """
    path = Path(path)
    urdf_path = Path(urdf_path) if urdf_path is not None else path.with_name("humanoid.urdf")
    if not urdf_path.is_file():
        raise InputError(
            f"{path.name} needs the DeepMimic humanoid.urdf; none at {urdf_path}. Put it next to the clip."
        )
    model = read_urdf(urdf_path)
    frames = _read_deepmimic_frames(path)
    fk = deepmimic_forward_kinematics(frames, model)
    joints = _assemble_h36m(_deepmimic_points(fk, model)) @ rotation_to_z_up("y").T
    times, fps = _frame_times(frames[:, 0])
    name = path.stem.removeprefix("humanoid3d_")
    return Motion(name, joints, fps, "z", "y", str(path), times)


# ----------------------------------------------------------------------------- BVH


_SIDE_RE = re.compile(r"^(left|right|l|r)(.*)$")
#: Stem aliases for each H36M limb joint, best first (exact stems after removing namespace, side and punctuation).
_BVH_STEMS: dict[str, tuple[str, ...]] = {
    "hip": ("upleg", "upperleg", "thigh", "hip", "femur", "hipjoint"),
    "knee": ("knee", "lowleg", "lowerleg", "shin", "calf", "tibia", "leg"),
    "ankle": ("ankle", "foot"),
    "shoulder": ("upperarm", "uparm", "arm", "shldr", "humerus", "shoulder"),
    "elbow": ("elbow", "forearm", "lowerarm", "lowarm", "radius"),
    "wrist": ("wrist", "hand"),
    "eye": ("eye",),
}


def _norm_name(name: str) -> tuple[str | None, str]:
    """``'mixamorig:RightUpLeg'`` -> ``('right', 'upleg')``; midline names give side ``None``."""
    base = re.sub(r"[^a-z0-9]", "", name.split(":")[-1].split("|")[-1].lower())
    m = _SIDE_RE.match(base)
    if m:
        side = "left" if m.group(1).startswith("l") else "right"
        stem = m.group(2)
        if len(m.group(1)) > 1 or any(stem == s for stems in _BVH_STEMS.values() for s in stems):
            return side, stem
    return None, base


def _find_bvh_joints(skel: BvhMotion) -> dict[str, int]:
    """Name-based mapping of a BVH skeleton's nodes to the anatomical points (node indices)."""
    found = _bvh_limb_joints(skel)
    found.update(_bvh_head_joints(skel))
    if "head" in found and "head_top" not in found:
        kids = [i for i, p in enumerate(skel.parents) if p == found["head"]]
        ends = [i for i in kids if skel.is_end_site[i]] or kids
        if ends:
            found["head_top"] = max(ends, key=lambda i: np.linalg.norm(skel.offsets[i]))
    _check_bvh_mapping(skel, found)
    return found


def _bvh_limb_joints(skel: BvhMotion) -> dict[str, int]:
    """``{"right_knee": node, ...}``: the first node (not an end site) named like each side's limb joint."""
    table: dict[tuple[str | None, str], int] = {}
    for i, n in enumerate(skel.names):
        if not skel.is_end_site[i]:
            table.setdefault(_norm_name(n), i)
    found: dict[str, int] = {}
    for side in ("right", "left"):
        for joint, stems in _BVH_STEMS.items():
            node = next((table[(side, stem)] for stem in stems if (side, stem) in table), None)
            if node is not None:
                found[f"{side}_{joint}"] = node
    return found


def _bvh_head_joints(skel: BvhMotion) -> dict[str, int]:
    """The first nodes (not end sites) named like the head and the head top."""
    found: dict[str, int] = {}
    for i, n in enumerate(skel.names):
        _, stem = _norm_name(n)
        if skel.is_end_site[i]:
            continue
        if stem in ("head", "head1") and "head" not in found:
            found["head"] = i
        elif stem in ("headtopend", "headtop", "headend", "headsite", "headtip") and "head_top" not in found:
            found["head_top"] = i
    return found


def _check_bvh_mapping(skel: BvhMotion, found: dict[str, int]) -> None:
    """InputError when a joint H36M-17 needs is missing, or a limb's joints are not on one chain."""
    limbs = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
    needed = [f"{s}_{j}" for s in ("right", "left") for j in limbs] + ["head", "head_top"]
    missing = [n for n in needed if n not in found]
    if missing:
        raise InputError(
            f"Cannot map the BVH skeleton to H36M-17: no joint found for {missing} among {skel.names}. "
            "Rename the joints (e.g. RightUpLeg/RightLeg/RightFoot, RightArm/RightForeArm/RightHand, Head)."
        )
    # a joint chain must really go hip -> knee -> ankle etc.; refuse a mapping that does not
    for side in ("right", "left"):
        for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
            if not _is_ancestor(skel.parents, found[f"{side}_{a}"], found[f"{side}_{b}"]):
                raise InputError(
                    f"The BVH joints mapped to {side} {a} ({skel.names[found[f'{side}_{a}']]}) and {side} {b} "
                    f"({skel.names[found[f'{side}_{b}']]}) are not on one chain; the file's naming is unusual."
                )


def _is_ancestor(parents: np.ndarray, a: int, b: int) -> bool:
    while b >= 0:
        if b == a:
            return True
        b = int(parents[b])
    return False


def _descendants(parents: np.ndarray, a: int) -> list[int]:
    return [i for i in range(len(parents)) if i != a and _is_ancestor(parents, a, i)]


_UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}


def load_bvh(path: str | Path, units: str | None = None) -> Motion:
    """A BVH file -> :class:`Motion` (Z-up metres, floor z = 0).

    ``units`` is one of ``'m', 'cm', 'mm', 'in'``; by default it is guessed so that the rest-pose body
    (ankle to head top, plus a typical 8 cm below the ankle) measures closest to 1.7 m.
    """
    path = Path(path)
    skel = read_bvh(path)
    idx = _find_bvh_joints(skel)
    rest = bvh_forward_kinematics(replace(skel, values=np.zeros((1, skel.values.shape[1]))))[0]
    mid_ankle = 0.5 * (rest[idx["right_ankle"]] + rest[idx["left_ankle"]])
    body = rest[idx["head_top"]] - mid_ankle
    up_i = int(np.argmax(np.abs(body)))
    source_up = ("-" if body[up_i] < 0 else "") + "xyz"[up_i]
    if units is None:
        height = np.linalg.norm(body)
        units = min(_UNIT_SCALES, key=lambda u: abs(np.log((height * _UNIT_SCALES[u] + 0.08) / 1.7)))
    if units not in _UNIT_SCALES:
        raise InputError(f"Unknown BVH unit {units!r}; use one of {sorted(_UNIT_SCALES)}.")
    scale = _UNIT_SCALES[units]

    # head-local offsets of the nose, from the rest pose (global rest rotations are the identity)
    up = body / np.linalg.norm(body)
    left = rest[idx["left_hip"]] - rest[idx["right_hip"]]
    left = left - (left @ up) * up
    fwd = np.cross(left, up)
    fwd /= np.linalg.norm(fwd)
    head, top = rest[idx["head"]], rest[idx["head_top"]]
    h = float(np.linalg.norm(top - head))
    if "right_eye" in idx and "left_eye" in idx:
        mid_eye = 0.5 * (rest[idx["right_eye"]] + rest[idx["left_eye"]])
        nose_rest = mid_eye + 0.1 * h * fwd - 0.2 * h * up
    else:
        nose_rest = head + 0.45 * h * up + 0.5 * h * fwd

    pos, rot = bvh_forward_kinematics(skel, return_rotations=True)
    pts = {k: pos[:, i] for k, i in idx.items() if not k.endswith("eye") and k != "head"}
    pts["nose"] = pos[:, idx["head"]] + np.einsum("fij,j->fi", rot[:, idx["head"]], nose_rest - head)
    R_up = rotation_to_z_up(source_up)
    joints = _assemble_h36m(pts) @ R_up.T * scale

    foot_nodes = sorted(
        {idx["right_ankle"], idx["left_ankle"]}
        | set(_descendants(skel.parents, idx["right_ankle"]))
        | set(_descendants(skel.parents, idx["left_ankle"]))
    )
    foot_z = (pos[:, foot_nodes] @ R_up.T)[..., 2] * scale  # (F, n)
    floor = float(np.percentile(foot_z.min(axis=1), 5))
    joints[..., 2] -= floor
    times = np.arange(skel.num_frames) * skel.frame_time
    return Motion(path.stem, joints, 1.0 / skel.frame_time, "z", source_up, str(path), times)


# ----------------------------------------------------------------------------- entry points


def load_motion(path: str | Path) -> Motion:
    """Load one mocap file (``.bvh``, a CMU ``.amc`` take with its ``.asf`` beside it, or a DeepMimic ``.txt`` clip
    with ``humanoid.urdf`` beside it)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No motion file at {path}. Give a .bvh file or a DeepMimic humanoid3d_*.txt clip.")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path)
    if suffix == ".txt":
        return load_deepmimic(path)
    if suffix == ".amc":
        from models.asf_amc import load_amc

        return load_amc(path)
    raise InputError(f"Unsupported motion file {path.name}: use .bvh, .amc (with its .asf) or a DeepMimic .txt clip.")


def load_motion_folder(folder: str | Path, recursive: bool = True) -> list[Motion]:
    """Every ``*.bvh``, CMU ``*.amc`` (with an ``.asf`` beside it) and DeepMimic ``*.txt`` clip under ``folder``,
    sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"No motion folder at {folder}. Point to a folder of .bvh files or DeepMimic clips.")
    pattern = "**/*" if recursive else "*"
    files = sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file()
        and (
            p.suffix.lower() == ".bvh"
            or (p.suffix.lower() == ".txt" and (p.parent / "humanoid.urdf").is_file())
            or (p.suffix.lower() == ".amc" and any(p.parent.glob("*.asf")))
        )
    )
    if not files:
        raise InputError(
            f"No motion files (.bvh, .amc next to its .asf, or .txt next to humanoid.urdf) under {folder}."
        )
    return [load_motion(p) for p in files]
