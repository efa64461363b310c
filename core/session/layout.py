"""The session folder's layout: file names, statuses, ``session.json`` (:class:`SessionMeta`, :class:`CameraInfo`)
and the small file primitives every writer shares. No Qt.

Units: nanoseconds (``t0_ns``), seconds (``duration_s``), pixels (frame sizes).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core import __version__
from core.atomic import atomic_output
from core.errors import SessionError

FORMAT = "crossview-session"
#: Bump on any incompatible change; readers refuse versions above theirs.
FORMAT_VERSION = 1

SESSION_FILE = "session.json"
CALIBRATION_FILE = "calibration.toml"
TIMESTAMPS_FILE = "timestamps.csv"
PAIRS_FILE = "pairs.csv"
KEYPOINTS_FILE = "keypoints2d.npz"
POSES_FILE = "poses3d.npz"
JOURNAL_FILE = "live_results.bin"
LOCK_FILE = ".recording.lock"

#: Recorded video: one JPEG per frame (cv2.imencode, libjpeg-turbo) muxed into AVI by PyAV.
VIDEO_CODEC = "mjpeg"
VIDEO_CONTAINER = "avi"
VIDEO_SUFFIX = ".avi"
JPEG_QUALITY = 90

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_RECOVERED = "recovered"
STATUSES = (STATUS_RECORDING, STATUS_COMPLETE, STATUS_RECOVERED)

#: Per-pair result status codes in the journal and in poses3d.npz ``status``.
#: Pair outcomes; a journal stores the index, so new ones are only ever appended ("unmatched": the two views' people
#: did not match).
RESULT_STATUSES: tuple[str, ...] = ("skipped", "ok", "no_person", "one_view", "error", "unmatched")

#: Makes an append-only binary file: ``opener(path)`` (tests inject failing files through it).
Opener = Callable[[Path], BinaryIO]

RESTORE_HINT = "Restore the folder from a backup; the videos and CSV files in it were left untouched."


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left' / 'quota exceeded' / 'file too large' (a size limit) errors."""
    full = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
    return isinstance(exc, OSError) and exc.errno in full


def open_append(path: Path) -> BinaryIO:
    """The default opener: a new unbuffered binary file (every write goes straight to the OS)."""
    return open(path, "xb", buffering=0)  # noqa: SIM115 - the caller owns and closes it


def keep_os_error(path: Path, exc: OSError) -> OSError:
    """The error maker for :func:`core.atomic.atomic_output` here: the ``OSError`` itself, because each caller
    words it (a full disk stops a recording; a failed recovery says so)."""
    return exc


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it and rename it over ``path`` (never half a file). OSError."""
    with (
        atomic_output(path, error=keep_os_error, mkdir=False) as tmp,  # type: ignore[arg-type]
        open(tmp, "wb") as f,
    ):
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file, fsync it and rename it over ``path`` (never half a file). Raises OSError."""
    write_atomic(path, (json.dumps(data, indent=2, default=_json_default) + "\n").encode("utf-8"))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def safe_file_stem(name: str) -> str:
    """A file-name-safe version of a camera name (letters, digits, '-', '_', '.')."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return stem or "camera"


def new_session_path(root: str | os.PathLike, prefix: str = "session") -> Path:
    """A new, not yet existing session folder under ``root``: ``<prefix>_YYYY-MM-DD_HH-MM-SS[_N]``."""
    root = Path(root)
    base = f"{prefix}_{_dt.datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}"
    path, n = root / base, 1
    while path.exists():
        n += 1
        path = root / f"{base}_{n}"
    return path


def session_folder_is_free(folder: Path) -> None:
    """SessionError unless ``folder`` does not exist or is an empty folder (a session never overwrites files)."""
    if folder.exists():
        if not folder.is_dir():
            raise SessionError(f"'{folder}' is a file; choose a new folder name for the session.")
        if any(folder.iterdir()):
            raise SessionError(
                f"'{folder}' already holds files; choose a new (or empty) folder so nothing is overwritten."
            )


# ============================================================================================ session.json


@dataclass
class CameraInfo:
    """One camera of a session. ``frames``: frames in its video (= rows in timestamps.csv); ``dropped``: frames
    the recorder had to drop (queue full); ``source``: how frames were captured (kind, device, settings)."""

    name: str
    video: str
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frames: int = 0
    dropped: int = 0
    codec: str = VIDEO_CODEC
    source: dict[str, Any] = field(default_factory=dict)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"a camera's name and video must be text, got {value!r}")
    return value


def _count(value: Any) -> int:
    """A whole number >= 0 (frames, pixels); ValueError for text, fractions or negatives."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise ValueError(f"a camera's size and frame counts must be whole numbers >= 0, got {value!r}")
    return int(value)


@dataclass
class SessionMeta:
    """The content of ``session.json`` (see docs/session-format.md)."""

    cameras: list[CameraInfo]
    fps: float
    status: str = STATUS_RECORDING
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    app_version: str = __version__
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    origin: str = "recorded"  # "recorded" | "imported"
    pairs: int = 0
    pairing: dict[str, Any] = field(default_factory=dict)  # method: live | index | timestamps, tolerance_ms
    t0_ns: int | None = None  # time origin of time_s (first frame), capture clock ns
    duration_s: float = 0.0
    calibration: str = CALIBRATION_FILE
    units: dict[str, str] = field(
        default_factory=lambda: {"t_ns": "ns", "skew_ms": "ms", "time_s": "s", "2d": "px", "3d": "m"}
    )
    ended: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    recorder: dict[str, Any] = field(default_factory=dict)
    processing: dict[str, Any] | None = None

    @property
    def camera_names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def camera(self, name: str) -> CameraInfo:
        for c in self.cameras:
            if c.name == name:
                return c
        raise SessionError(f"the session has no camera named {name!r}; its cameras are {self.camera_names}.")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # the identity of the file first, for people reading it
        head = {k: d.pop(k) for k in ("format", "format_version", "app_version", "status")}
        return {**head, **d}

    @classmethod
    def from_dict(cls, data: Any, where: Path) -> SessionMeta:
        """Parse and validate ``session.json`` content; SessionError saying what is wrong."""
        _check_identity(data, where)
        try:
            cam_fields = set(CameraInfo.__dataclass_fields__)
            cams = [CameraInfo(**{k: v for k, v in c.items() if k in cam_fields}) for c in data["cameras"]]
            known = {f.name for f in cls.__dataclass_fields__.values()}  # type: ignore[attr-defined]
            kwargs = {k: v for k, v in data.items() if k in known and k != "cameras"}
            meta = cls(cameras=cams, **kwargs)
            meta.fps = float(meta.fps)
            for c in cams:
                c.name, c.video = _text(c.name), _text(c.video)
                c.fps = float(c.fps)
                c.width, c.height, c.frames, c.dropped = (_count(v) for v in (c.width, c.height, c.frames, c.dropped))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SessionError(f"{where} is corrupt or incomplete ({exc}). {RESTORE_HINT}") from None
        if len(meta.cameras) != 2 or meta.cameras[0].name == meta.cameras[1].name:
            raise SessionError(f"{where} must list two distinct cameras, got {meta.camera_names}. {RESTORE_HINT}")
        if meta.status not in STATUSES:
            raise SessionError(f"{where}: unknown status {meta.status!r} (expected one of {', '.join(STATUSES)}).")
        return meta


def _check_identity(data: Any, where: Path) -> None:
    """SessionError unless ``data`` is a CrossView session file of a version this reader knows."""
    if not isinstance(data, dict):
        raise SessionError(f"{where} is corrupt: it does not hold a JSON object. {RESTORE_HINT}")
    if data.get("format") != FORMAT:
        raise SessionError(
            f"{where} is not a CrossView session file (format {data.get('format')!r}, expected {FORMAT!r})."
        )
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise SessionError(f"{where} is corrupt: format_version is {version!r}. {RESTORE_HINT}")
    if version > FORMAT_VERSION:
        raise SessionError(
            f"{where} uses session format version {version}, written by CrossView "
            f"{data.get('app_version', '?')}; this CrossView ({__version__}) reads up to version "
            f"{FORMAT_VERSION}. Update CrossView to open it."
        )


def read_meta(folder: Path) -> SessionMeta:
    """Read and validate ``folder/session.json``."""
    path = folder / SESSION_FILE
    if not folder.is_dir():
        raise SessionError(f"session folder '{folder}' does not exist. Check the path.")
    if not path.is_file():
        raise SessionError(
            f"'{folder}' is not a CrossView session: it has no {SESSION_FILE}. Choose the session folder itself "
            "(the one holding session.json), or import videos with `python main.py import`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SessionError(f"{path} is corrupt (not valid JSON: {exc}). {RESTORE_HINT}") from None
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return SessionMeta.from_dict(data, path)


def sources_description(sources: Iterable[object]) -> list[dict[str, Any]]:
    """How each source captures (kind, device index/backend/settings, file path...), for ``session.json``."""
    out = []
    for s in sources:
        d: dict[str, Any] = {"kind": type(s).__name__, "name": getattr(s, "name", "")}
        for attr in ("index", "width", "height", "fps", "fourcc", "exposure", "actual_size", "actual_fps", "path"):
            v = getattr(s, attr, None)
            if v is not None and not callable(v):
                d[attr] = str(v) if isinstance(v, Path) else (list(v) if isinstance(v, tuple) else v)
        backend = getattr(s, "backend", None)
        if isinstance(backend, int):
            from core.capture import backend_name

            d["backend"] = backend_name(backend)
        if isinstance(d.get("fps"), float) and not math.isfinite(d["fps"]):
            d.pop("fps")
        out.append(d)
    return out
