"""A session folder opened for reading: :class:`Session` (its parts, validation, decoding its frames). No Qt.

Units: nanoseconds (capture times), seconds (``time_s``), pixels (2D), metres (3D).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.calibration_io import CalibrationFile, infer_world_up, load_calibration
from core.camera import CameraGroup, cameras_for_frames
from core.capture import Frame
from core.errors import CalibrationFileError, SessionError
from core.npz_io import read_npz
from core.session.avi import count_video_frames
from core.session.journal import Poses
from core.session.layout import (
    KEYPOINTS_FILE,
    PAIRS_FILE,
    POSES_FILE,
    RESTORE_HINT,
    SESSION_FILE,
    TIMESTAMPS_FILE,
    SessionMeta,
    now_iso,
    read_meta,
    write_json_atomic,
)
from core.session.people import person_poses_file
from core.session.tables import PairTable, read_pairs, read_timestamps
from core.sync import FramePair
from core.video_io import iter_frame_pairs

log = logging.getLogger(__name__)


_REBUILD = "Run `python main.py process SESSION` to rebuild it."


class Session:
    """A session folder opened for reading. ``Session.open(path)`` validates ``session.json``;
    :meth:`check` validates the rest (videos, CSVs, calibration) with clear :class:`SessionError` messages."""

    def __init__(self, path: Path, meta: SessionMeta) -> None:
        self.path = path
        self.meta = meta

    @classmethod
    def open(cls, path: str | os.PathLike | Session) -> Session:
        if isinstance(path, Session):
            return path
        path = Path(path)
        return cls(path, read_meta(path))

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r}, status={self.meta.status!r}, cameras={self.names})"

    def reload(self) -> Session:
        self.meta = read_meta(self.path)
        return self

    def save_meta(self) -> None:
        """Write ``session.json`` atomically (SessionError on failure)."""
        self.meta.updated = now_iso()
        try:
            write_json_atomic(self.path / SESSION_FILE, self.meta.to_dict())
        except OSError as exc:
            raise SessionError(f"cannot write {self.path / SESSION_FILE}: {exc.strerror or exc}.") from None

    # -- parts -----------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return self.meta.camera_names

    def video_path(self, name: str) -> Path:
        return self.path / self.meta.camera(name).video

    def frame_sizes(self) -> list[tuple[int, int]]:
        return [(c.width, c.height) for c in self.meta.cameras]

    def calibration(self) -> CalibrationFile:
        """The session's calibration, its cameras in session order; SessionError when it names other cameras."""
        path = self.path / self.meta.calibration
        if not path.is_file():
            raise SessionError(
                f"session '{self.path}' has no calibration ({path.name} is missing). Copy the calibration TOML used "
                f"for these cameras to {path}."
            )
        try:
            cal = load_calibration(path)
        except CalibrationFileError as exc:
            raise SessionError(f"the session's calibration cannot be used: {exc}") from None
        missing = [n for n in self.names if n not in cal.group.names]
        if missing:
            raise SessionError(
                f"the session's calibration {path} is for other cameras: it holds {cal.group.names}, but the session's "
                f"cameras are {self.names}. Replace {path.name} with the calibration of these cameras (same names)."
            )
        cal.group = cal.group.subset(self.names)
        return cal

    def cameras(self) -> tuple[CameraGroup, list[str]]:
        """The calibrated cameras adapted to the videos' frame sizes, and warnings (InputError for another aspect
        ratio; see :func:`core.camera.cameras_for_frames`)."""
        return cameras_for_frames(self.calibration().group, self.frame_sizes())

    def world_up(self) -> tuple[str, str]:
        """The world's up axis and how it was decided (:func:`infer_world_up`)."""
        cal = self.calibration()
        return infer_world_up(cal, cal.group)

    def timestamps(self, strict: bool = True) -> dict[str, np.ndarray]:
        """``{camera: t_ns (N,) int64}``: capture time of each frame of each video."""
        return read_timestamps(self.path / TIMESTAMPS_FILE, self.names, strict=strict)

    def pairs(self, strict: bool = True) -> PairTable:
        return read_pairs(self.path / PAIRS_FILE, self.names, strict=strict)

    def pair_times_ns(self, pairs: PairTable | None = None, ts: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """``(P,)`` int64: midpoint of each pair's two capture times (ns)."""
        pairs = self.pairs() if pairs is None else pairs
        ts = self.timestamps() if ts is None else ts
        ta = ts[self.names[0]][pairs.index_a]
        tb = ts[self.names[1]][pairs.index_b]
        return (ta + tb) // 2

    def time_origin_ns(self, ts: dict[str, np.ndarray] | None = None) -> int:
        if self.meta.t0_ns is not None:
            return int(self.meta.t0_ns)
        ts = self.timestamps() if ts is None else ts
        firsts = [int(t[0]) for t in ts.values() if len(t)]
        return min(firsts) if firsts else 0

    def time_s(self) -> np.ndarray:
        """``(P,)`` seconds of each pair from the session's start."""
        ts = self.timestamps()
        return (self.pair_times_ns(ts=ts) - self.time_origin_ns(ts)) / 1e9

    def people_tracks(self) -> list[int]:
        """The track ids that have their own 3D file (``process --person``), in id order."""
        ids = []
        for p in self.path.glob("poses3d_person*.npz"):
            with contextlib.suppress(ValueError):
                ids.append(int(p.stem.removeprefix("poses3d_person")))
        return sorted(ids)

    def keypoints(self) -> dict[str, np.ndarray] | None:
        """``{camera: (P, 17, 3)}`` [x_px, y_px, conf] or None when not written yet."""
        path = self.path / KEYPOINTS_FILE
        if not path.is_file():
            return None
        z = read_npz(path, SessionError, "keypoints file", self.names, _REBUILD)
        try:
            return {n: z[n].astype(np.float64) for n in self.names}
        except (TypeError, ValueError) as exc:
            raise SessionError(f"{path} does not hold numbers ({exc}). {_REBUILD}") from None

    def poses(self, person: int | None = None) -> Poses | None:
        """The 3D results (of the followed person, or of track ``person``) or None when not written yet."""
        path = self.path / (POSES_FILE if person is None else person_poses_file(person))
        if not path.is_file():
            return None
        z = read_npz(path, SessionError, "3D results file", fix=_REBUILD)
        try:
            return Poses(
                time_s=z["time_s"].astype(np.float64),
                coarse=z["coarse"].astype(np.float64),
                refined=z["refined"].astype(np.float64) if "refined" in z else None,
                reprojection_error_px=z["reprojection_error_px"].astype(np.float64),
                status=z["status"] if "status" in z else np.full(len(z["time_s"]), "ok"),
                model=str(z["model"]) if "model" in z else "",
                source=str(z["source"]) if "source" in z else "processed",
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{path} is unreadable ({type(exc).__name__}: {exc}). {_REBUILD}") from None

    # -- validation --------------------------------------------------------------------------------
    def check(self, count_frames: bool = True) -> dict[str, np.ndarray]:
        """Validate videos, timestamps and pairs; returns the timestamps. SessionError saying what is wrong.

        ``count_frames`` demuxes each video (fast, no decoding) to make sure it holds every frame listed.
        """
        ts = self.timestamps()
        counts = {n: len(t) for n, t in ts.items()}
        if all(c == 0 for c in counts.values()):
            raise SessionError(
                f"session '{self.path}' is empty: no frame was recorded ({', '.join(self.names)} delivered none). "
                "Record again, checking that both cameras show a picture."
            )
        for cam in self.meta.cameras:
            video = self.path / cam.video
            if not video.is_file() and (counts[cam.name] > 0 or cam.frames > 0):
                raise SessionError(
                    f"the video of camera '{cam.name}' ({video}) is missing. Put the file back (same name) to use "
                    "this session."
                )
        if count_frames:
            for cam in self.meta.cameras:
                if counts[cam.name] == 0:
                    continue
                n_video = count_video_frames(self.path / cam.video)
                if n_video < counts[cam.name]:
                    raise SessionError(
                        f"video '{cam.video}' of camera '{cam.name}' holds {n_video} frames but {TIMESTAMPS_FILE} "
                        f"lists {counts[cam.name]}: the video was cut short. Run recovery on the session "
                        "(core.session.recover) to keep the frames that exist."
                    )
        pairs = self.pairs()
        if len(pairs) == 0:
            raise SessionError(
                f"session '{self.path}' has no synchronised frame pairs ({counts[self.names[0]]} frames of "
                f"'{self.names[0]}', {counts[self.names[1]]} of '{self.names[1]}' but none taken at the same time). "
                "Check that both cameras were recording at the same time."
            )
        for name, idx in ((self.names[0], pairs.index_a), (self.names[1], pairs.index_b)):
            if idx.max() >= counts[name]:
                raise SessionError(
                    f"{self.path / PAIRS_FILE} refers to frame {int(idx.max())} of camera '{name}', but "
                    f"{TIMESTAMPS_FILE} lists {counts[name]} frames of it. {RESTORE_HINT}"
                )
        return ts

    # -- frames -------------------------------------------------------------------------------------
    def iter_frames(self, name: str, t_ns: np.ndarray | None = None) -> Iterator[Frame]:
        """Decode camera ``name``'s video in order: :class:`Frame` with its session frame index and ORIGINAL t_ns."""
        t = self.timestamps()[name] if t_ns is None else t_ns
        cap = cv2.VideoCapture(str(self.video_path(name)))
        try:
            if not cap.isOpened():
                raise SessionError(f"the video of camera '{name}' ({self.video_path(name)}) cannot be opened.")
            for k, t_k in enumerate(t.tolist()):
                ok, img = cap.read()
                if not ok or img is None:
                    log.warning("video of %s ended at frame %d of %d", name, k, len(t))
                    return
                yield Frame(name, k, int(t_k), img)
        finally:
            cap.release()

    def iter_pairs(self, prefetch: int = 4) -> Iterator[FramePair]:
        """Every pair of ``pairs.csv`` with its two decoded frames (both videos decode ahead in threads)."""
        ts = self.timestamps()
        pairs = self.pairs()
        a, b = self.names
        return iter_frame_pairs(
            [self.video_path(a), self.video_path(b)],
            self.names,
            pairs.index_a,
            pairs.index_b,
            ts[a][pairs.index_a],
            ts[b][pairs.index_b],
            prefetch=prefetch,
        )

    def info(self) -> dict[str, Any]:
        """A JSON-able summary for lists and the CLI."""
        m = self.meta
        return {
            "path": str(self.path),
            "status": m.status,
            "created": m.created,
            "origin": m.origin,
            "cameras": m.camera_names,
            "frames": {c.name: c.frames for c in m.cameras},
            "dropped": {c.name: c.dropped for c in m.cameras},
            "pairs": m.pairs,
            "fps": m.fps,
            "duration_s": m.duration_s,
            "has_poses": (self.path / POSES_FILE).is_file(),
            "error": m.error,
        }
