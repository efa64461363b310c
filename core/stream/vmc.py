"""VMC over OSC: one bundle per frame for VSeeFace, Unity (EVMC4U), Blender (VMC4B) and other VMC receivers.

Per frame, one OSC bundle (OSC 1.0, with ``python-osc``'s encoders; the fixed parts are built once) holds:

- ``/VMC/Ext/Root/Pos "root" px py pz qx qy qz qw``: the point under the pelvis at the world's height 0 (the floor
  when the calibration puts it at z = 0, as a lab frame or calibrating from a person does), no rotation;
- ``/VMC/Ext/Bone/Pos NAME px py pz qx qy qz qw`` for each of the 17 :data:`VMC_BONES` (Unity HumanBodyBones
  names): the bone's local position in its parent's frame (metres: the person's bone as measured in this frame;
  the Hips' is its height above the root) and its local rotation (a unit quaternion);
- ``/VMC/Ext/OK 1 3 0 T`` (loaded, calibrated, normal mode, tracking T = 1) and ``/VMC/Ext/T t`` (seconds).

Rotations are :mod:`core.export.retarget`'s, the BVH export's retargeting: the rest pose is a T-pose facing +Z
(identity rotations = the avatar's T-pose, as VRM and Unity humanoids expect), the pelvis and thorax turn by the
rigid fit of their children (so the twist comes from the hips and the shoulders), every other bone by the
least-angle swing from its rest direction. Each H36M joint drives the bone that starts at it (table below); the
feet, hands and head top are leaves and keep the rotation of their parent.

Frames: the retargeting runs in the right-handed Y-up frame ``(x, y, z)_yup = (y, z, x)_world`` of a Z-up world;
Unity's left-handed Y-up frame mirrors X: positions ``(x, y, z) -> (-x, y, z)``, quaternions
``(x, y, z, w) -> (x, -y, -z, w)``. The avatar's left is Unity's -X, forward +Z.

Bone lengths (the rest offsets): the whole take's medians on replay; live, the median of the first
:data:`LIVE_RIG_FRAMES` complete frames, then fixed.
"""

from __future__ import annotations

import struct

import numpy as np
from pythonosc.parsing import osc_types

from core.export.retarget import retarget, rig_from_motion
from core.export.rotations import quat_from_matrix
from core.skeleton import NUM_JOINTS, PARENTS
from core.stream.frame import StreamFrame
from core.up_axis import rotation_to_y_up

#: The Unity HumanBodyBones bone each H36M-17 joint drives, in joint order (pelvis, right hip, ...).
VMC_BONES: tuple[str, ...] = (
    "Hips",  # pelvis
    "RightUpperLeg",  # right hip
    "RightLowerLeg",  # right knee
    "RightFoot",  # right ankle
    "LeftUpperLeg",  # left hip
    "LeftLowerLeg",  # left knee
    "LeftFoot",  # left ankle
    "Spine",  # spine
    "Chest",  # thorax (neck base, between the shoulders)
    "Neck",  # nose: turns the head segment (nose -> head top)
    "Head",  # head top (a leaf)
    "LeftUpperArm",  # left shoulder
    "LeftLowerArm",  # left elbow
    "LeftHand",  # left wrist
    "RightUpperArm",  # right shoulder
    "RightLowerArm",  # right elbow
    "RightHand",  # right wrist
)
#: OSC addresses of a VMC bundle.
ROOT_ADDRESS, BONE_ADDRESS, OK_ADDRESS, TIME_ADDRESS = (
    "/VMC/Ext/Root/Pos",
    "/VMC/Ext/Bone/Pos",
    "/VMC/Ext/OK",
    "/VMC/Ext/T",
)
#: Complete frames whose median sets the live rig's bone lengths.
LIVE_RIG_FRAMES = 60
#: Z-up world -> the retargeting's right-handed Y-up frame, ``(3, 3)``.
ZUP_TO_YUP = rotation_to_y_up("+z")
#: Right-handed Y-up -> Unity's left-handed Y-up: mirror X (positions) / negate y and z (quaternions).
_MIRROR_POS = np.array([-1.0, 1.0, 1.0])
_MIRROR_QUAT = np.array([1.0, -1.0, -1.0, 1.0])


def to_unity(points_yup: np.ndarray, quats_yup: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions ``(..., 3)`` and quaternions ``(..., 4)`` (x, y, z, w) from the right-handed Y-up frame to
    Unity's left-handed one (mirror X). The same map takes them back."""
    return points_yup * _MIRROR_POS, None if quats_yup is None else quats_yup * _MIRROR_QUAT


class VmcEncoder:
    """Encodes :class:`StreamFrame` s as VMC bundles (bytes).

    ``rest`` ``(17, 3)`` m: the rig's rest offsets (:func:`core.export.retarget.rig_from_motion` of the take);
    None: learnt from the first :data:`LIVE_RIG_FRAMES` complete frames. Missing joints hold their last known
    position; a frame whose pelvis was never seen encodes as None.
    """

    name = "vmc"

    def __init__(self, rest: np.ndarray | None = None) -> None:
        self._rest = None if rest is None else np.asarray(rest, dtype=np.float64)
        self._fixed = rest is not None
        self._warmup: list[np.ndarray] = []
        self._last = np.full((NUM_JOINTS, 3), np.nan)

    @property
    def rest(self) -> np.ndarray | None:
        """The rig's rest offsets ``(17, 3)`` m (right-handed Y-up), once known."""
        return self._rest

    def solve(self, frame: StreamFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Unity-frame root ``(3,)``, bone local positions ``(17, 3)`` and local rotations ``(17, 4)`` (x, y, z, w)
        of one frame, as sent (see the module docstring); None when the pelvis is unknown."""
        p = np.asarray(frame.joints, dtype=np.float64) @ ZUP_TO_YUP.T
        seen = np.isfinite(p).all(axis=-1)
        self._last[seen] = p[seen]
        if not np.isfinite(self._last[0]).all():
            return None
        if not self._fixed and seen.all() and len(self._warmup) < LIVE_RIG_FRAMES:
            self._warmup.append(p)
            self._rest = rig_from_motion(np.stack(self._warmup))
        if self._rest is None:
            if not np.isfinite(self._last).all():
                return None
            self._rest = rig_from_motion(self._last[None])
        solved = retarget(self._last[None], self._rest)
        offsets = solved.offsets[0].copy()
        par = PARENTS[1:]
        bone = np.einsum("nji,nj->ni", solved.global_rot[0, par], self._last[1:] - self._last[par])
        known = np.isfinite(bone).all(axis=-1)
        offsets[1:][known] = bone[known]
        pos, quat = to_unity(offsets, quat_from_matrix(solved.local_rot[0]))
        pelvis, _ = to_unity(solved.root[0])
        root = np.array([pelvis[0], 0.0, pelvis[2]])
        pos[0] = pelvis - root
        return root, pos, quat

    def encode(self, frame: StreamFrame) -> bytes | None:
        """The OSC bundle of one frame (bytes), or None when it has no usable pose."""
        solved = self.solve(frame)
        if solved is None:
            return None
        root, pos, quat = solved
        parts = [_ROOT_PREFIX + struct.pack(">7f", *root.tolist(), 0.0, 0.0, 0.0, 1.0)]
        rows = np.concatenate([pos, quat], axis=-1).astype(">f4")
        parts += [prefix + row.tobytes() for prefix, row in zip(_BONE_PREFIXES, rows, strict=True)]
        parts += [_OK_MESSAGE, _TIME_PREFIX + struct.pack(">f", float(frame.t_s))]
        return _BUNDLE_HEADER + b"".join(struct.pack(">i", len(m)) + m for m in parts)


def _prefix(address: str, tags: str, *strings: str) -> bytes:
    """An OSC message's address, type tags and leading string arguments (python-osc's padded encoding)."""
    return b"".join(osc_types.write_string(x) for x in (address, "," + tags, *strings))


#: A bundle's "#bundle" tag and its "immediately" time tag; then each element as (size, message).
_BUNDLE_HEADER = osc_types.write_string("#bundle") + struct.pack(">Q", 1)
_ROOT_PREFIX = _prefix(ROOT_ADDRESS, "sfffffff", "root")
_BONE_PREFIXES = tuple(_prefix(BONE_ADDRESS, "sfffffff", name) for name in VMC_BONES)
_OK_MESSAGE = _prefix(OK_ADDRESS, "iiii") + struct.pack(">4i", 1, 3, 0, 1)
_TIME_PREFIX = _prefix(TIME_ADDRESS, "f")
