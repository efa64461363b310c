"""Reading and writing 2D keypoint files: OpenPose JSON folders and CrossView keypoint npz.

A CrossView keypoints npz holds one ``(F, 17, 3)`` array per camera name with
``[x_px, y_px, confidence]`` (H36M-17 order, see core/skeleton.py), optionally a
``time_s (F,)`` array, and ``units = "px"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from core import skeleton
from core.camera import repeated_names
from core.errors import InputError
from core.npz_io import read_npz

#: Names in a keypoints npz that are not cameras.
RESERVED_KEYS = frozenset({"time_s", "units", "joint_names", "frame_index"})


def _person_size(kp: np.ndarray) -> float:
    """Bounding-box diagonal of the confident keypoints of one person ``(K, 3)``, pixels."""
    ok = kp[:, 2] > 0.1
    if ok.sum() < 2:
        return 0.0
    span = kp[ok, :2].max(axis=0) - kp[ok, :2].min(axis=0)
    return float(np.hypot(*span))


def load_openpose_folder(folder: str | os.PathLike, num_keypoints: int = 25) -> np.ndarray:
    """Read one camera's OpenPose JSON files (one per frame, sorted by name) into ``(F, K, 3)``.

    When a frame holds several people, the largest one (bounding-box diagonal) is kept:
    the subject is normally the person nearest the camera. Frames with nobody are NaN
    with confidence 0. Undetected keypoints (OpenPose writes 0, 0, 0) get NaN coordinates.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"no OpenPose .json files in '{folder}'. Point to the folder holding one file per frame.")
    out = np.full((len(files), num_keypoints, 3), np.nan)
    out[..., 2] = 0.0
    for i, f in enumerate(files):
        try:
            people = json.loads(f.read_text())["people"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"OpenPose file '{f}' is unreadable ({exc}).") from None
        best, best_size = None, -1.0
        for p in people:
            kp = np.asarray(p.get("pose_keypoints_2d", []), dtype=np.float64)
            if kp.size != num_keypoints * 3:
                raise InputError(
                    f"OpenPose file '{f}' has {kp.size // 3} keypoints per person, expected {num_keypoints}."
                )
            kp = kp.reshape(num_keypoints, 3)
            size = _person_size(kp)
            if size > best_size:
                best, best_size = kp, size
        if best is not None:
            missing = best[:, 2] <= 0
            best = best.copy()
            best[missing, :2] = np.nan
            best[missing, 2] = 0.0
            out[i] = best
    return out


def _numbers(path: Path, name: str, a: np.ndarray) -> np.ndarray:
    """``a`` as float64; InputError naming the file and the array when it holds text or objects."""
    if a.dtype.kind not in "biuf":
        raise InputError(
            f"keypoints file '{path}', array '{name}': holds {a.dtype} values, not numbers. "
            "Write float arrays (numpy.savez with float32 or float64)."
        )
    return a.astype(np.float64)


def load_keypoints_npz(
    path: str | os.PathLike, cameras: list[str] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Read a keypoints npz: returns ``({camera: (F, 17, 3)}, time_s (F,) or None)``.

    ``cameras`` selects and orders the cameras (all of them, in file order, when None).
    Raises :class:`InputError` with a clear message when the file or an array is malformed.
    """
    path = Path(path)
    data = read_npz(path, InputError, "keypoints file")
    names = [k for k in data if k not in RESERVED_KEYS]
    if cameras is None:
        cameras = names
    repeated = repeated_names(cameras)
    if repeated:
        raise InputError(f"camera {', '.join(map(repr, repeated))} is named twice; give each camera once.")
    missing = [c for c in cameras if c not in data]
    if missing:
        raise InputError(
            f"keypoints file '{path}' has no camera named {', '.join(map(repr, missing))}; it holds {names}."
        )
    kps: dict[str, np.ndarray] = {}
    for c in cameras:
        a = _numbers(path, c, data[c])
        if a.ndim != 3 or a.shape[1:] != (skeleton.NUM_JOINTS, 3):
            raise InputError(
                f"keypoints file '{path}', camera '{c}': expected an (F, 17, 3) array of [x_px, y_px, confidence] "
                f"in H36M-17 order, got shape {a.shape}."
            )
        kps[c] = a
    lengths = {c: len(a) for c, a in kps.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"keypoints file '{path}': cameras have different frame counts {lengths}.")
    if not kps:
        raise InputError(f"keypoints file '{path}' holds no camera arrays.")
    F = next(iter(lengths.values()))
    if F == 0:
        raise InputError(f"keypoints file '{path}' holds no frames.")
    time_s = None
    if "time_s" in data:
        time_s = _numbers(path, "time_s", data["time_s"])
        if time_s.shape != (F,):
            raise InputError(f"keypoints file '{path}': time_s has shape {time_s.shape}, expected ({F},).")
    return kps, time_s


def save_keypoints_npz(
    path: str | os.PathLike, keypoints: dict[str, np.ndarray], time_s: np.ndarray | None = None
) -> None:
    """Write ``{camera: (F, 17, 3)}`` keypoints (pixels) and optional ``time_s`` to an npz."""
    arrays: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.float32) for k, v in keypoints.items()}
    if time_s is not None:
        arrays["time_s"] = np.asarray(time_s, dtype=np.float64)
    arrays["units"] = np.array("px")
    arrays["joint_names"] = np.array(skeleton.JOINT_NAMES)
    np.savez_compressed(path, **arrays)
