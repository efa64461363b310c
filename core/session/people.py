"""Everyone a session saw: ``people2d.npz`` (every person's 2D in every pair, with their 3D track id) and each
track's own 3D (``poses3d_person<ID>.npz``, same layout as ``poses3d.npz``). No Qt.

``people2d.npz`` holds one row per person per view per pair: ``pair (M,)``, ``view (M,)`` (0 or 1), ``track (M,)``
(the 3D track id, -1 when the person was not matched across the views), ``keypoints (M, 17, 3)`` [x_px, y_px, conf],
and ``followed (P,)`` (the followed track of each pair, -1 none). Units: pixels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core import skeleton
from core.camera import CameraGroup
from core.errors import SessionError
from core.npz_io import read_npz
from core.pipeline import CORE_JOINTS
from core.session.journal import Poses, write_npz
from core.swaps import fix_left_right_swaps
from core.triangulation import DEFAULT_MIN_CONFIDENCE, triangulate

__all__ = [
    "PEOPLE_FILE",
    "PEOPLE_JOURNAL_FILE",
    "PeopleCollector",
    "PeopleJournal",
    "PeopleTable",
    "people_from_journal",
    "person_poses_file",
    "track_poses",
]

PEOPLE_FILE = "people2d.npz"
#: The live recording's append-only record of everyone (one fixed-size record per person per view per pair).
PEOPLE_JOURNAL_FILE = "live_people.bin"
_MAGIC = b"CVPPL001"
PEOPLE_DTYPE = np.dtype(
    [
        ("pair", "<i8"),
        ("track", "<i8"),
        ("followed", "<i8"),
        ("view", "<i1"),
        ("_pad", "V7"),
        ("keypoints", "<f4", (skeleton.NUM_JOINTS, 3)),
    ]
)


def person_poses_file(track: int) -> str:
    """The file name of one track's 3D in a session folder."""
    return f"poses3d_person{int(track)}.npz"


@dataclass(frozen=True)
class PeopleTable:
    """Every person in every pair (see the module docstring for the fields and units)."""

    pair: np.ndarray
    view: np.ndarray
    track: np.ndarray
    keypoints: np.ndarray
    followed: np.ndarray

    def tracks(self) -> dict[int, int]:
        """``{track id: pairs in which both views saw it}``, most seen first."""
        both = self.track >= 0
        ids, counts = np.unique(self.track[both & (self.view == 0)], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {int(ids[i]): int(counts[i]) for i in order}

    def track_keypoints(self, track: int) -> np.ndarray:
        """``(2, P, 17, 3)`` px+conf of one track in both views (NaN, confidence 0 where it was not matched)."""
        P, J = len(self.followed), skeleton.NUM_JOINTS
        kp = np.full((2, P, J, 3), np.nan, np.float64)
        kp[..., 2] = 0.0
        rows = np.flatnonzero(self.track == track)
        kp[self.view[rows], self.pair[rows]] = self.keypoints[rows]
        return kp

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "pair": self.pair.astype(np.int64),
            "view": self.view.astype(np.int8),
            "track": self.track.astype(np.int64),
            "keypoints": self.keypoints.astype(np.float32),
            "followed": self.followed.astype(np.int64),
            "joint_names": np.array(skeleton.JOINT_NAMES),
            "units": np.array("px"),
        }

    def write(self, folder: Path) -> Path:
        path = Path(folder) / PEOPLE_FILE
        write_npz(path, self.to_arrays())
        return path

    @classmethod
    def read(cls, folder: Path) -> PeopleTable | None:
        """The session's table, None when it has none (recorded before v0.10); SessionError when unreadable."""
        path = Path(folder) / PEOPLE_FILE
        if not path.is_file():
            return None
        fix = "Run `python main.py process SESSION` to rebuild it."
        z = read_npz(path, SessionError, "people file", ("pair", "view", "track", "keypoints", "followed"), fix)
        try:
            t = cls(z["pair"], z["view"], z["track"], z["keypoints"].astype(np.float64), z["followed"])
        except (ValueError, TypeError) as exc:
            raise SessionError(f"{path} is unreadable ({exc}); run `python main.py process` to rebuild it.") from None
        M = len(t.pair)
        if not (len(t.view) == len(t.track) == M and t.keypoints.shape == (M, skeleton.NUM_JOINTS, 3)):
            raise SessionError(f"{path} has inconsistent columns; run `python main.py process` to rebuild it.")
        return t


def _records(pair_index: int, people: object | None) -> np.ndarray:
    """Everyone of one pair (``core.pipeline.People``) as :data:`PEOPLE_DTYPE` rows (empty when nobody)."""
    if people is None:
        return np.zeros(0, PEOPLE_DTYPE)
    kps, ids = people.keypoints, people.tracks  # type: ignore[attr-defined]
    n = [len(k) for k in kps]
    rec = np.zeros(sum(n), PEOPLE_DTYPE)
    if len(rec):
        rec["pair"] = pair_index
        rec["followed"] = int(getattr(people, "followed", -1))
        rec["view"] = np.repeat([0, 1], n)
        rec["track"] = np.concatenate([np.asarray(i, np.int64).reshape(-1) for i in ids])
        rec["keypoints"] = np.concatenate([np.asarray(k, np.float32).reshape(-1, skeleton.NUM_JOINTS, 3) for k in kps])
    return rec


def _table(rec: np.ndarray, pairs: int, followed: np.ndarray | None = None) -> PeopleTable:
    """A :class:`PeopleTable` of ``pairs`` pairs from :data:`PEOPLE_DTYPE` rows (those of other pairs dropped);
    ``followed (P,)`` defaults to what the rows say (-1 for pairs without rows)."""
    rec = rec[(rec["pair"] >= 0) & (rec["pair"] < pairs)]
    if followed is None:
        followed = np.full(pairs, -1, np.int64)
        followed[rec["pair"]] = rec["followed"]
    kp = rec["keypoints"].astype(np.float64)
    return PeopleTable(rec["pair"].copy(), rec["view"].astype(np.int64), rec["track"].copy(), kp, followed)


@dataclass
class PeopleCollector:
    """Builds a :class:`PeopleTable` from per-pair ``core.pipeline.People`` as results arrive (any order)."""

    pairs: int
    _records: list[np.ndarray] = field(default_factory=list)
    _followed: np.ndarray | None = None

    def add(self, pair_index: int, people: object | None) -> None:
        if self._followed is None:
            self._followed = np.full(self.pairs, -1, np.int64)
        if people is None or not (0 <= pair_index < self.pairs):
            return
        self._followed[pair_index] = int(getattr(people, "followed", -1))
        self._records.append(_records(pair_index, people))

    def table(self) -> PeopleTable:
        followed = self._followed if self._followed is not None else np.full(self.pairs, -1, np.int64)
        rec = np.concatenate(self._records) if self._records else np.zeros(0, PEOPLE_DTYPE)
        return _table(rec, self.pairs, followed)


def track_poses(
    table: PeopleTable,
    track: int,
    time_s: np.ndarray,
    cameras: CameraGroup,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> Poses:
    """One track's 3D over the whole session: its 2D in both views, left/right labels repaired over the whole take
    (:func:`core.swaps.fix_left_right_swaps`), triangulated. ``time_s (P,)`` s; coarse ``(P, 17, 3)`` m."""
    kp = table.track_keypoints(track)
    seen = (kp[..., 2] >= min_confidence).any(-1).all(0)  # (P,) both views have the person
    pts, conf = kp[..., :2].copy(), kp[..., 2].copy()
    if seen.any():
        sub = kp[:, seen]  # (2, n, 17, 3)
        fixed, fixed_conf, _ = fix_left_right_swaps(sub[..., :2], sub[..., 2], cameras, min_confidence)
        pts[:, seen], conf[:, seen] = fixed, fixed_conf
    tri = triangulate(pts, conf, cameras, min_confidence=min_confidence)
    ok = seen & tri.valid[:, list(CORE_JOINTS)].all(-1)
    coarse = np.where(ok[:, None, None], tri.points, np.nan)
    err = np.where(ok[:, None], tri.reprojection_error_px, np.nan)
    status = np.where(ok, "ok", np.where(seen, "one_view", "no_person"))
    return Poses(np.asarray(time_s, np.float64), coarse, None, err, status, source="processed")


class PeopleJournal:
    """Append-only ``live_people.bin``: an 8-byte magic, then :data:`PEOPLE_DTYPE` records written straight to the
    OS (a record cut short by a crash is ignored on reading). ``opener`` opens the file for appending (binary)."""

    def __init__(self, path: Path, opener: Callable[[Path], BinaryIO]) -> None:
        self.path = path
        self._file = opener(path)
        self._file.write(_MAGIC)

    @property
    def file(self) -> BinaryIO:
        return self._file

    def append(self, pair_index: int, people: object | None) -> None:
        """Everyone of one pair (``core.pipeline.People``; nothing when None)."""
        rec = _records(pair_index, people)
        if len(rec):
            self._file.write(rec.tobytes())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def people_from_journal(path: Path, pairs: int) -> PeopleTable | None:
    """The table a live journal holds (its complete records, pairs < ``pairs``); None when absent or unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(_MAGIC):
        return None
    body = data[len(_MAGIC) :]
    rec = np.frombuffer(body[: len(body) // PEOPLE_DTYPE.itemsize * PEOPLE_DTYPE.itemsize], PEOPLE_DTYPE)
    return _table(rec, pairs)
