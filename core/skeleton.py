"""The one definition of the Human3.6M-17 skeleton used everywhere in CrossView.

Joint order, bones, left/right pairs and body parts follow ``docs/cv_ugcn.md``.
Mappings from MediaPipe Pose (33 landmarks) and OpenPose BODY_25B (25 keypoints)
are written here once; every other module imports them.

Keypoint arrays carry confidences in their last channel: ``(..., K, 3)`` with
``[x, y, confidence]`` (pixels) or ``(..., K, 4)`` with ``[x, y, z, confidence]``.
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 17

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "nose",
    "head_top",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)
JOINT_INDEX: dict[str, int] = {n: i for i, n in enumerate(JOINT_NAMES)}

ROOT = 0

#: Parent of each joint (-1 for the root). Bones are (parent, child).
PARENTS: np.ndarray = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15], dtype=np.int64)

#: (16, 2) bones as (parent, child) joint indices.
BONES: np.ndarray = np.stack([PARENTS[1:], np.arange(1, NUM_JOINTS)], axis=1)

#: (6, 2) left/right joint pairs as (right, left).
LR_PAIRS: np.ndarray = np.array([(1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13)], dtype=np.int64)

#: Index of each joint's mirror joint (itself on the mid-line).
MIRROR: np.ndarray = np.arange(NUM_JOINTS)
MIRROR[LR_PAIRS[:, 0]] = LR_PAIRS[:, 1]
MIRROR[LR_PAIRS[:, 1]] = LR_PAIRS[:, 0]

PART_NAMES: tuple[str, ...] = ("right_leg", "left_leg", "torso", "left_arm", "right_arm")
#: The five parts, as lists of joint indices.
PARTS: tuple[tuple[int, ...], ...] = ((1, 2, 3), (4, 5, 6), (0, 7, 8, 9, 10), (11, 12, 13), (14, 15, 16))
#: Part index of each joint, (17,).
JOINT_PART: np.ndarray = np.empty(NUM_JOINTS, dtype=np.int64)
for _p, _joints in enumerate(PARTS):
    JOINT_PART[list(_joints)] = _p

#: Side of each joint: -1 right, +1 left, 0 mid-line. Used to colour the two sides.
SIDE: np.ndarray = np.zeros(NUM_JOINTS, dtype=np.int64)
SIDE[LR_PAIRS[:, 0]] = -1
SIDE[LR_PAIRS[:, 1]] = 1

#: Side of each bone (the side of its child joint).
BONE_SIDE: np.ndarray = SIDE[BONES[:, 1]]

#: (6, 2) left/right *bone* pairs as indices into BONES (right, left), for symmetry terms.
_bone_of_child = {int(c): i for i, c in enumerate(BONES[:, 1])}
LR_BONE_PAIRS: np.ndarray = np.array(
    [(_bone_of_child[int(r)], _bone_of_child[int(left)]) for r, left in LR_PAIRS], dtype=np.int64
)

#: Marker names used when writing TRC/C3D for OpenSim. Where a joint exists in
#: Pose2Sim's BlazePose marker set (Markers_BlazePose.xml) its spelling is used;
#: the joints that set lacks (pelvis, spine, thorax, head top) get Pose2Sim-style
#: names of their own: the joint names, with the thorax called "neck".
MARKER_NAMES: tuple[str, ...] = tuple("neck" if n == "thorax" else n for n in JOINT_NAMES)

#: Joints that H36M-17 shares exactly with OpenPose BODY_25B and MediaPipe
#: (hips, knees, ankles, shoulders, elbows, wrists), for comparisons across detectors.
SHARED_12: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)


def _mapping_matrix(n_src: int, rows: dict[int, dict[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Build a (17, n_src) linear map and a (17, n_src) boolean 'contributes' mask."""
    W = np.zeros((NUM_JOINTS, n_src))
    for j, weights in rows.items():
        for s, w in weights.items():
            W[j, s] = w
    return W, W != 0


# --- MediaPipe Pose (33 landmarks) ------------------------------------------------
# 0 nose, 2 left eye, 5 right eye, 7 left ear, 8 right ear, 9/10 mouth left/right,
# 11/12 shoulders (L/R), 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles.
MEDIAPIPE_NUM_LANDMARKS = 33
_MP_HIPS = {23: 0.5, 24: 0.5}
_MP_SHOULDERS = {11: 0.5, 12: 0.5}
# Head top: the mid-ear point pushed up along the face's mouth->eyes direction by twice
# the mouth-eye distance (about 10-12 cm for an adult), which lands near the vertex.
_MP_HEAD_TOP = {7: 0.5, 8: 0.5, 2: 1.0, 5: 1.0, 9: -1.0, 10: -1.0}
MEDIAPIPE_TO_H36M, _MEDIAPIPE_USES = _mapping_matrix(
    MEDIAPIPE_NUM_LANDMARKS,
    {
        0: _MP_HIPS,
        1: {24: 1.0},
        2: {26: 1.0},
        3: {28: 1.0},
        4: {23: 1.0},
        5: {25: 1.0},
        6: {27: 1.0},
        7: {23: 0.25, 24: 0.25, 11: 0.25, 12: 0.25},
        8: _MP_SHOULDERS,
        9: {0: 1.0},
        10: _MP_HEAD_TOP,
        11: {11: 1.0},
        12: {13: 1.0},
        13: {15: 1.0},
        14: {12: 1.0},
        15: {14: 1.0},
        16: {16: 1.0},
    },
)

# --- OpenPose BODY_25B (25 keypoints) ---------------------------------------------
# 0 nose, 1/2 eyes (L/R), 3/4 ears, 5/6 shoulders (L/R), 7/8 elbows, 9/10 wrists,
# 11/12 hips, 13/14 knees, 15/16 ankles, 17 upper neck, 18 head top, 19-24 feet.
BODY25B_NUM_KEYPOINTS = 25
BODY25B_TO_H36M, _BODY25B_USES = _mapping_matrix(
    BODY25B_NUM_KEYPOINTS,
    {
        0: {11: 0.5, 12: 0.5},
        1: {12: 1.0},
        2: {14: 1.0},
        3: {16: 1.0},
        4: {11: 1.0},
        5: {13: 1.0},
        6: {15: 1.0},
        7: {11: 0.25, 12: 0.25, 5: 0.25, 6: 0.25},
        8: {5: 0.5, 6: 0.5},
        9: {0: 1.0},
        10: {18: 1.0},
        11: {5: 1.0},
        12: {7: 1.0},
        13: {9: 1.0},
        14: {6: 1.0},
        15: {8: 1.0},
        16: {10: 1.0},
    },
)


def _apply_mapping(kp: np.ndarray, W: np.ndarray, uses: np.ndarray) -> np.ndarray:
    """Map ``(..., S, C+1)`` keypoints with confidence to ``(..., 17, C+1)``.

    Coordinates are linear combinations (weights ``W``); the confidence of a derived
    joint is the minimum confidence of the keypoints it is built from, so a joint is
    never more certain than its weakest source. NaN coordinates propagate.
    """
    kp = np.asarray(kp, dtype=np.float64)
    if kp.shape[-2] != W.shape[1]:
        raise ValueError(f"expected {W.shape[1]} keypoints on axis -2, got array of shape {kp.shape}")
    xyz = kp[..., :-1]
    src_nan = ~np.isfinite(xyz).all(axis=-1)  # (..., S)
    coords = np.einsum("js,...sc->...jc", W, np.where(src_nan[..., None], 0.0, xyz))
    # A joint is missing when any keypoint it is built from is missing.
    out_nan = (src_nan[..., None, :] & uses).any(axis=-1)  # (..., 17)
    coords[out_nan] = np.nan
    conf = np.nan_to_num(kp[..., -1])  # (..., S)
    big = np.where(uses, conf[..., None, :], np.inf)  # (..., 17, S)
    out_conf = np.where(out_nan, 0.0, big.min(axis=-1))
    return np.concatenate([coords, out_conf[..., None]], axis=-1)


def from_mediapipe(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe Pose ``(..., 33, C+1)`` landmarks (last channel = visibility) to H36M ``(..., 17, C+1)``."""
    return _apply_mapping(landmarks, MEDIAPIPE_TO_H36M, _MEDIAPIPE_USES)


def from_body25b(keypoints: np.ndarray) -> np.ndarray:
    """OpenPose BODY_25B ``(..., 25, C+1)`` keypoints (last channel = confidence) to H36M ``(..., 17, C+1)``.

    OpenPose writes undetected keypoints as ``(0, 0, 0)``; they keep confidence 0.
    """
    return _apply_mapping(keypoints, BODY25B_TO_H36M, _BODY25B_USES)


def bone_vectors(points: np.ndarray) -> np.ndarray:
    """Bone vectors child - parent: ``(..., 17, D)`` -> ``(..., 16, D)``."""
    return points[..., BONES[:, 1], :] - points[..., BONES[:, 0], :]


def bone_lengths(points: np.ndarray) -> np.ndarray:
    """Bone lengths: ``(..., 17, 3)`` -> ``(..., 16)`` in the points' unit."""
    return np.linalg.norm(bone_vectors(points), axis=-1)


def root_centre(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the pelvis: ``(..., 17, 3)`` -> (centred ``(..., 17, 3)``, root ``(..., 1, 3)``)."""
    root = points[..., ROOT : ROOT + 1, :]
    return points - root, root


def mpjpe(pred: np.ndarray, truth: np.ndarray, root_aligned: bool = True) -> float:
    """Mean per-joint position error over ``(..., 17, 3)`` arrays, in their unit; NaNs are skipped."""
    if root_aligned:
        pred = root_centre(pred)[0]
        truth = root_centre(truth)[0]
    d = np.linalg.norm(pred - truth, axis=-1)
    return float(np.nanmean(d))


#: The two ankle joints (right, left).
ANKLES: tuple[int, int] = (JOINT_INDEX["right_ankle"], JOINT_INDEX["left_ankle"])
#: How far the ankle joint sits above the floor, metres.
ANKLE_HEIGHT_M = 0.08


def floor_below_ankles(heights_m: np.ndarray, percentile: float = 5.0) -> float | None:
    """The floor's height (m) from ankle heights along the up axis ``(N,)`` m (NaN ignored): the
    ``percentile``-th height minus :data:`ANKLE_HEIGHT_M`; None when no height is finite."""
    h = np.asarray(heights_m, dtype=np.float64).ravel()
    h = h[np.isfinite(h)]
    if not h.size:
        return None
    return float(np.percentile(h, percentile)) - ANKLE_HEIGHT_M


class RunningFloor:
    """The floor under a live subject, from the lowest ankle of each pose seen (``window`` poses kept).

    :meth:`update` takes one pose's ankle heights along the up axis (m) and returns the new floor height when
    it moved by more than ``min_step_m``, else None. The floor is the 10th percentile of the per-pose lowest
    ankle, minus :data:`ANKLE_HEIGHT_M`.
    """

    def __init__(self, window: int = 120, percentile: float = 10.0, min_step_m: float = 0.02) -> None:
        from collections import deque

        self._samples: deque[float] = deque(maxlen=int(window))
        self.percentile = float(percentile)
        self.min_step_m = float(min_step_m)
        self.height = 0.0

    def reset(self, height: float = 0.0) -> None:
        self._samples.clear()
        self.height = float(height)

    def update(self, ankle_heights_m: np.ndarray) -> float | None:
        h = np.asarray(ankle_heights_m, dtype=np.float64).ravel()
        h = h[np.isfinite(h)]
        if not h.size:
            return None
        self._samples.append(float(h.min()))
        floor = floor_below_ankles(np.asarray(self._samples), self.percentile)
        if floor is None or abs(floor - self.height) <= self.min_step_m:
            return None
        self.height = floor
        return floor
