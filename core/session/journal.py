"""Per-pair results: the live pipeline's append-only journal (``live_results.bin``), the 3D results
(:class:`Poses`, ``poses3d.npz``) and 2D keypoints (``keypoints2d.npz``), and how one becomes the other. No Qt.

Units: pixels (2D keypoints, reprojection error), metres (3D), seconds (``time_s``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import skeleton
from core.atomic import atomic_output
from core.session.layout import RESULT_STATUSES, Opener, keep_os_error, open_append

log = logging.getLogger(__name__)

_STATUS_CODE = {s: i for i, s in enumerate(RESULT_STATUSES)}

_JOURNAL_MAGIC = b"CVLIVE01"
#: One live result per record (fixed size; a record cut short by a crash is ignored).
JOURNAL_DTYPE = np.dtype(
    [
        ("pair_index", "<i8"),
        ("status", "<i1"),
        ("has_refined", "<i1"),
        ("_pad", "V6"),
        ("keypoints2d", "<f4", (2, skeleton.NUM_JOINTS, 3)),
        ("coarse", "<f4", (skeleton.NUM_JOINTS, 3)),
        ("refined", "<f4", (skeleton.NUM_JOINTS, 3)),
        ("reprojection_error_px", "<f4", (skeleton.NUM_JOINTS,)),
    ]
)


class JournalWriter:
    """Append-only binary journal of live results: an 8-byte magic, a uint32 header length, a JSON header
    (cameras, units, record size), then fixed-size :data:`JOURNAL_DTYPE` records, each written straight to the OS."""

    def __init__(self, path: Path, names: Sequence[str], opener: Opener | None = None) -> None:
        self.path = path
        self._file = (opener or open_append)(path)
        header = json.dumps(
            {
                "cameras": list(names),
                "record_size": JOURNAL_DTYPE.itemsize,
                "units": {"keypoints2d": "px", "coarse": "m", "refined": "m", "reprojection_error_px": "px"},
                "statuses": list(RESULT_STATUSES),
            }
        ).encode()
        self._file.write(_JOURNAL_MAGIC + len(header).to_bytes(4, "little") + header)
        self.records = 0

    def append(
        self,
        pair_index: int,
        status: str,
        keypoints2d: np.ndarray,
        coarse: np.ndarray | None,
        refined: np.ndarray | None,
        reprojection_error_px: np.ndarray,
    ) -> None:
        rec = np.zeros((), JOURNAL_DTYPE)
        rec["pair_index"] = pair_index
        rec["status"] = _STATUS_CODE.get(status, _STATUS_CODE["error"])
        rec["keypoints2d"] = keypoints2d
        rec["coarse"] = np.nan if coarse is None else coarse
        rec["refined"] = np.nan if refined is None else refined
        rec["has_refined"] = refined is not None
        rec["reprojection_error_px"] = reprojection_error_px
        self._file.write(rec.tobytes())
        self.records += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def read_journal(path: Path) -> np.ndarray:
    """All complete records of a journal (``(N,)`` of :data:`JOURNAL_DTYPE`); empty when absent or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return np.zeros(0, JOURNAL_DTYPE)
    if len(data) < 12 or not data.startswith(_JOURNAL_MAGIC):
        return np.zeros(0, JOURNAL_DTYPE)
    hlen = int.from_bytes(data[8:12], "little")
    try:
        header = json.loads(data[12 : 12 + hlen])
    except ValueError:
        return np.zeros(0, JOURNAL_DTYPE)
    if header.get("record_size") != JOURNAL_DTYPE.itemsize:
        log.warning("%s: record size %s differs from this version's; ignored", path, header.get("record_size"))
        return np.zeros(0, JOURNAL_DTYPE)
    body = data[12 + hlen :]
    n = len(body) // JOURNAL_DTYPE.itemsize
    return np.frombuffer(body[: n * JOURNAL_DTYPE.itemsize], JOURNAL_DTYPE).copy()


# ============================================================================================ results


@dataclass
class Poses:
    """``poses3d.npz``: ``time_s (P,)``, ``coarse (P, 17, 3)`` m (world, NaN missing), ``refined`` (or None),
    ``reprojection_error_px (P, 17)``, ``status (P,)`` (see :data:`RESULT_STATUSES`), ``model`` (checkpoint id
    used for refinement, "" when none), ``source`` ("live" or "processed")."""

    time_s: np.ndarray
    coarse: np.ndarray
    refined: np.ndarray | None
    reprojection_error_px: np.ndarray
    status: np.ndarray
    model: str = ""
    source: str = "processed"
    joint_names: tuple[str, ...] = skeleton.JOINT_NAMES

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "joint_names": np.array(self.joint_names),
            "time_s": np.asarray(self.time_s, np.float64),
            "coarse": np.asarray(self.coarse, np.float64),
            "reprojection_error_px": np.asarray(self.reprojection_error_px, np.float32),
            "status": np.asarray(self.status, dtype="U16"),
            "model": np.array(self.model),
            "source": np.array(self.source),
            "units": np.array("m"),
        }
        if self.refined is not None:
            arrays["refined"] = np.asarray(self.refined, np.float64)
        return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomic npz write (a temporary file renamed over ``path``); raises OSError."""
    with (
        atomic_output(path, error=keep_os_error, mkdir=False) as tmp,  # type: ignore[arg-type]
        open(tmp, "wb") as f,
    ):
        np.savez_compressed(f, **arrays)


def results_arrays(
    names: Sequence[str], time_s: np.ndarray, records: np.ndarray, model: str, source: str
) -> tuple[dict[str, np.ndarray], Poses]:
    """Turn per-pair records (journal dtype, any order, pair_index < P) into keypoints2d and poses3d content."""
    P = len(time_s)
    J = skeleton.NUM_JOINTS
    kp = np.full((2, P, J, 3), np.nan, np.float32)
    kp[..., 2] = 0.0
    coarse = np.full((P, J, 3), np.nan)
    refined = np.full((P, J, 3), np.nan)
    err = np.full((P, J), np.nan, np.float32)
    status = np.full(P, "skipped", dtype="U16")
    rec = records[(records["pair_index"] >= 0) & (records["pair_index"] < P)]
    idx = rec["pair_index"]
    kp[:, idx] = np.moveaxis(rec["keypoints2d"], 1, 0)
    coarse[idx] = rec["coarse"]
    refined[idx] = rec["refined"]
    err[idx] = rec["reprojection_error_px"]
    status[idx] = np.asarray(RESULT_STATUSES)[np.clip(rec["status"], 0, len(RESULT_STATUSES) - 1)]
    has_refined = bool(rec["has_refined"].any()) if len(rec) else False
    keypoints = {names[0]: kp[0], names[1]: kp[1]}
    keypoints_arrays = {
        **keypoints,
        "time_s": np.asarray(time_s, np.float64),
        "units": np.array("px"),
        "joint_names": np.array(skeleton.JOINT_NAMES),
    }
    poses = Poses(time_s, coarse, refined if has_refined else None, err, status, model=model, source=source)
    return keypoints_arrays, poses
