"""The sessions under a folder, as rows for a list: :class:`SessionRow` and :func:`scan_sessions` (no Qt).

Units: seconds (durations), bytes (sizes).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CrossViewError
from core.session.layout import POSES_FILE, SESSION_FILE, STATUS_RECORDING
from core.session.lock import is_recording_live
from core.session.session import Session

log = logging.getLogger(__name__)


@dataclass
class SessionRow:
    """One line of the sessions list. ``status``: complete / recovered / recording (being written now) /
    unfinished (a crashed recording) / unreadable (``error`` says why)."""

    path: Path
    name: str
    status: str
    created: _dt.datetime | None = None
    origin: str = ""
    duration_s: float = 0.0
    cameras: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    pairs: int = 0
    fps: float = 0.0
    has_3d: bool = False
    has_refined: bool = False
    results_source: str = ""  # "live" | "processed" | ""
    size_bytes: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    processing: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        """Readable and finished (can be replayed, processed, exported)."""
        return self.status in ("complete", "recovered")


def _folder_size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for e in os.scandir(folder):
            with contextlib.suppress(OSError):
                if e.is_file(follow_symlinks=False):
                    total += e.stat().st_size
    return total


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def session_row(folder: Path) -> SessionRow:
    """The list row of one session folder (never raises for a bad session: its row says 'unreadable')."""
    try:
        s = Session.open(folder)
    except CrossViewError as exc:
        mtime = None
        with contextlib.suppress(OSError):
            mtime = _dt.datetime.fromtimestamp((folder / SESSION_FILE).stat().st_mtime).astimezone()
        size = _folder_size(folder)
        return SessionRow(folder, folder.name, "unreadable", created=mtime, error=str(exc), size_bytes=size)
    m = s.meta
    status = m.status
    if status == STATUS_RECORDING:
        status = "recording" if is_recording_live(folder) else "unfinished"
    has_3d = has_refined = False
    source = ""
    poses_path = folder / POSES_FILE
    if poses_path.is_file():
        try:
            with np.load(poses_path, allow_pickle=False) as z:  # reads the zip directory only
                files = set(z.files)
                has_3d = "coarse" in files
                has_refined = "refined" in files
                source = str(z["source"]) if "source" in files else "processed"
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable: %s", poses_path, exc)
    return SessionRow(
        path=folder,
        name=folder.name,
        status=status,
        created=_parse_time(m.created),
        origin=m.origin,
        duration_s=float(m.duration_s or 0.0),
        cameras=m.camera_names,
        frames={c.name: c.frames for c in m.cameras},
        pairs=int(m.pairs),
        fps=float(m.fps),
        has_3d=has_3d,
        has_refined=has_refined,
        results_source=source,
        size_bytes=_folder_size(folder),
        error=m.error,
        notes=list(m.notes),
        processing=m.processing,
    )


def scan_sessions(root: str | os.PathLike) -> list[SessionRow]:
    """Every session folder directly under ``root`` (hidden folders skipped), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    rows = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or not (entry / SESSION_FILE).is_file():
            continue
        rows.append(session_row(entry))
    epoch = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    rows.sort(key=lambda r: (r.created or epoch, r.name), reverse=True)
    return rows
