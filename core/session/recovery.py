"""Finalising sessions: the end of every recording (:func:`finalize_files`), and recordings stopped by a crash, a
kill or a power cut (:func:`find_unfinished`, :func:`recover`, :func:`recover_all`). No Qt.

Nothing the user recorded is deleted: CSVs are only cut where they refer to frames that do not exist.
Units: nanoseconds (capture times), seconds (``duration_s``, ``time_s``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CrossViewError, InputError, SessionError
from core.jobs import CancelLike, Progress, is_cancelled, null_progress
from core.session.avi import count_video_frames, remux_video
from core.session.journal import read_journal, results_arrays, write_npz
from core.session.layout import (
    JOURNAL_FILE,
    KEYPOINTS_FILE,
    LOCK_FILE,
    PAIRS_FILE,
    POSES_FILE,
    SESSION_FILE,
    STATUS_RECORDING,
    STATUS_RECOVERED,
    TIMESTAMPS_FILE,
    VIDEO_SUFFIX,
    CameraInfo,
    SessionMeta,
    is_disk_full,
    now_iso,
    read_meta,
    write_atomic,
    write_json_atomic,
)
from core.session.lock import is_recording_live
from core.session.people import PEOPLE_JOURNAL_FILE, people_from_journal
from core.session.session import Session
from core.session.tables import PairTable, pairs_bytes, read_pairs, read_timestamps, timestamps_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoverySummary:
    """What :func:`recover_all` did: the sessions ``recovered`` (paths) and those that ``failed`` (path: why)."""

    recovered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"recovered": list(self.recovered), "failed": dict(self.failed)}


def find_unfinished(sessions_root: str | os.PathLike) -> list[Path]:
    """Sessions under ``sessions_root`` (the folder itself and its direct sub-folders) whose ``session.json``
    says "recording" while no live writer holds them: recordings stopped by a crash, a kill or a power cut."""
    root = Path(sessions_root)
    if not root.is_dir():
        return []
    candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
    found = []
    for folder in candidates:
        if not (folder / SESSION_FILE).is_file():
            continue
        try:
            meta = read_meta(folder)
        except CrossViewError:
            continue
        if meta.status == STATUS_RECORDING and not is_recording_live(folder):
            found.append(folder)
    return found


def finalize_files(
    folder: Path,
    meta: SessionMeta,
    status: str,
    *,
    remux: bool,
    model: str = "",
) -> list[str]:
    """Bring a session's files into agreement and write its results and ``session.json`` with ``status``.

    Frame counts = min(complete frames in each video, rows in timestamps.csv); pairs referring to missing frames
    are dropped; the live-results journal becomes keypoints2d.npz / poses3d.npz. Returns notes for the user.
    Nothing the user recorded is deleted: CSVs are only cut where they refer to frames that do not exist.
    Raises OSError when a file cannot be written.
    """
    notes: list[str] = []
    ts = _cut_timestamps(folder, meta, notes, remux)
    pairs = _cut_pairs(folder, meta.camera_names, ts)
    meta.pairs = len(pairs)
    firsts = [int(t[0]) for t in ts.values() if len(t)]
    if meta.t0_ns is None and firsts:
        meta.t0_ns = min(firsts)
    lasts = [int(t[-1]) for t in ts.values() if len(t)]
    meta.duration_s = (max(lasts) - min(firsts)) / 1e9 if firsts else 0.0
    if (folder / JOURNAL_FILE).is_file() and len(pairs):
        notes.append(_results_from_journal(folder, meta, ts, pairs, model))
    meta.status = status
    meta.ended = meta.ended or now_iso()
    meta.notes = [*meta.notes, *notes]
    meta.updated = now_iso()
    write_json_atomic(folder / SESSION_FILE, meta.to_dict())
    return notes


def _cut_timestamps(folder: Path, meta: SessionMeta, notes: list[str], remux: bool) -> dict[str, np.ndarray]:
    """Each camera's timestamps cut to the complete frames of its video (rewritten when cut); counts in ``meta``."""
    names = meta.camera_names
    path = folder / TIMESTAMPS_FILE
    ts = read_timestamps(path, names, strict=False) if path.is_file() else {}
    ts = {n: ts.get(n, np.zeros(0, np.int64)) for n in names}
    rows_before = {n: len(t) for n, t in ts.items()}
    for cam in meta.cameras:
        video = folder / cam.video
        n_video = 0
        if video.is_file():
            try:
                n_video = count_video_frames(video)
            except InputError as exc:
                notes.append(f"camera '{cam.name}': {exc}")
        n = min(n_video, len(ts[cam.name]))
        if n_video != len(ts[cam.name]):
            notes.append(
                f"camera '{cam.name}': {n_video} frames in the video, {len(ts[cam.name])} timestamps; kept {n}."
            )
        ts[cam.name] = ts[cam.name][:n]
        cam.frames = n
        _finish_video(cam, video, n, n_video, notes, remux)
    if any(len(ts[n]) != rows_before[n] for n in names) or not path.is_file():
        write_atomic(path, timestamps_bytes(names, ts))
    return ts


def _finish_video(cam: CameraInfo, video: Path, n: int, n_video: int, notes: list[str], remux: bool) -> None:
    """Fill in a camera's frame size when the recorder could not, and rewrite its AVI index (``remux``)."""
    if n and (cam.width <= 0 or cam.height <= 0):
        with contextlib.suppress(Exception):
            from core.video_io import probe_video

            info = probe_video(video)
            cam.width, cam.height = info.width, info.height
    if remux and n and video.suffix == VIDEO_SUFFIX and n_video > 0:
        try:
            remux_video(video, n)
        except Exception as exc:  # the original stays readable; the index is a convenience
            notes.append(f"camera '{cam.name}': the video index could not be rewritten ({exc}); kept as is.")


def _cut_pairs(folder: Path, names: Sequence[str], ts: dict[str, np.ndarray]) -> PairTable:
    """The pairs whose two frames exist (the valid prefix of ``pairs.csv``; rewritten when cut)."""
    path = folder / PAIRS_FILE
    pairs = (
        read_pairs(path, names, strict=False)
        if path.is_file()
        else PairTable(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    )
    n_pairs_file = len(pairs)
    keep = (pairs.index_a < len(ts[names[0]])) & (pairs.index_b < len(ts[names[1]]))
    if not keep.all():
        cut = int(np.argmin(keep))  # pairs are in time order: the first missing frame ends the valid prefix
        pairs = PairTable(pairs.index_a[:cut], pairs.index_b[:cut], pairs.skew_ms[:cut])
    if len(pairs) != n_pairs_file or not path.is_file():
        write_atomic(path, pairs_bytes(names, pairs))
    return pairs


def _results_from_journal(
    folder: Path, meta: SessionMeta, ts: dict[str, np.ndarray], pairs: PairTable, model: str
) -> str:
    """Write keypoints2d.npz / poses3d.npz from the live journal; returns the note saying how much it held."""
    names = meta.camera_names
    P = len(pairs)
    t0 = meta.t0_ns or 0
    t_pair = (ts[names[0]][pairs.index_a] + ts[names[1]][pairs.index_b]) // 2
    records = read_journal(folder / JOURNAL_FILE)
    kp_arrays, poses = results_arrays(names, (t_pair - t0) / 1e9, records, model=model, source="live")
    write_npz(folder / KEYPOINTS_FILE, kp_arrays)
    write_npz(folder / POSES_FILE, poses.to_arrays())
    people = people_from_journal(folder / PEOPLE_JOURNAL_FILE, P)
    if people is not None:
        people.write(folder)
    done = int((poses.status != "skipped").sum())
    return f"live results: {done} of {P} pairs were processed while recording."


def recover(session: str | os.PathLike, remux: bool = True) -> Session:
    """Finalise a recording that was stopped by a crash, a kill, an unplugged camera or a full disk.

    Keeps every complete frame, cuts the CSVs to the frames that exist, rebuilds the results from the live
    journal and sets the status to "recovered". ``remux`` rewrites each MJPEG/AVI video with an index (a packet
    copy; skipped with a note if it fails). SessionError when the session is still being recorded or unreadable.
    """
    folder = Path(session)
    meta = read_meta(folder)
    if is_recording_live(folder):
        raise SessionError(f"session '{folder}' is still being recorded; stop the recording instead of recovering.")
    if meta.status != STATUS_RECORDING:
        return Session(folder, meta)
    try:
        notes = finalize_files(folder, meta, STATUS_RECOVERED, remux=remux, model=str(meta.recorder.get("model", "")))
    except OSError as exc:
        hint = " The disk is full: free some space and try again." if is_disk_full(exc) else ""
        raise SessionError(f"session '{folder}' could not be recovered: {exc.strerror or exc}.{hint}") from None
    log.info("recovered %s: %s", folder, "; ".join(notes))
    with contextlib.suppress(OSError):
        (folder / LOCK_FILE).unlink()
    return Session.open(folder)


def recover_all(
    paths: Sequence[str | os.PathLike], progress: Progress | None = None, cancel: CancelLike = None
) -> RecoverySummary:
    """:func:`recover` each session in turn; one unrecoverable session does not stop the others.

    ``cancel`` stops before the next session (the summary then lists the ones done so far).
    """
    report = progress or null_progress
    done: list[str] = []
    failed: dict[str, str] = {}
    for i, p in enumerate(paths):
        if is_cancelled(cancel):
            break
        report(i, len(paths), f"recovering {Path(p).name}")
        try:
            recover(p)
            done.append(str(p))
        except CrossViewError as exc:
            failed[str(p)] = str(exc)
    report(len(paths), len(paths), "done")
    return RecoverySummary(done, failed)
