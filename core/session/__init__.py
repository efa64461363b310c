"""The one definition of the CrossView session folder: format, reading, writing primitives, validation, recovery.

A session is a folder (format version :data:`FORMAT_VERSION`, documented in ``docs/session-format.md``)::

    session.json          metadata (atomic tmp + rename): format, version, cameras, fps, counts, status
    calibration.toml      the calibration used (core.calibration_io layout, metres)
    <camera>.avi          one video per camera: MJPEG in AVI (recorded), or the imported file as is
    timestamps.csv        camera,frame_index,t_ns          capture time of every frame in the videos (ns)
    pairs.csv             pair_index,frame_index_<A>,frame_index_<B>,skew_ms   synchronised frame pairs
    keypoints2d.npz       (P, 17, 3) [x_px, y_px, conf] per camera name, time_s (P,), units = "px"
    poses3d.npz           joint_names, time_s (P,), coarse (P, 17, 3) m, refined, reprojection_error_px, ...
    live_results.bin      while recording: append-only journal of the live pipeline's per-pair results
    .recording.lock       while recording: held (flock) by the live writer; absent or unlocked otherwise

``frame_index`` is the position of a frame in its camera's video file (0, 1, 2, ... without gaps);
``t_ns`` the capture time in the recording machine's ``time.monotonic_ns()`` clock (imports: the file's
timeline). Every append-only file is written line by line (or record by record) straight to the OS, so a
killed recording stays readable up to the last frame written; :func:`recover` finalises it.

Units: nanoseconds (t_ns), milliseconds (skew_ms), seconds (time_s), pixels (2D), metres (3D).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import errno
import io
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from core import __version__, skeleton
from core.calibration_io import CalibrationFile, infer_world_up, load_calibration
from core.camera import CameraGroup
from core.capture import Frame, IterableSource
from core.errors import CalibrationFileError, CrossViewError, InputError, SessionError
from core.sync import FramePair

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CameraInfo",
    "JournalWriter",
    "MjpegAviWriter",
    "PairTable",
    "Poses",
    "Session",
    "SessionMeta",
    "count_video_frames",
    "find_unfinished",
    "is_recording_live",
    "new_session_path",
    "read_journal",
    "recover",
    "session_sources",
    "write_json_atomic",
]

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
RESULT_STATUSES: tuple[str, ...] = ("skipped", "ok", "no_person", "one_view", "error")
_STATUS_CODE = {s: i for i, s in enumerate(RESULT_STATUSES)}

Opener = Callable[[Path], BinaryIO]


def load_av() -> Any:
    """PyAV (FFmpeg bindings), which writes and reads session videos; SessionError when it is not installed."""
    try:
        import av
    except ImportError as exc:
        raise SessionError(
            f"PyAV is not installed ({exc}); sessions need it to write and read videos. Install it: pip install av"
        ) from None
    return av


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left' / 'quota exceeded' errors."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def open_append(path: Path) -> BinaryIO:
    """The default opener: a new unbuffered binary file (every write goes straight to the OS)."""
    return open(path, "xb", buffering=0)  # noqa: SIM115 - the caller owns and closes it


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


# ============================================================================================ metadata


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
        if not isinstance(data, dict):
            raise SessionError(f"{where} is corrupt: it does not hold a JSON object. {_RESTORE_HINT}")
        if data.get("format") != FORMAT:
            raise SessionError(
                f"{where} is not a CrossView session file (format {data.get('format')!r}, expected {FORMAT!r})."
            )
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise SessionError(f"{where} is corrupt: format_version is {version!r}. {_RESTORE_HINT}")
        if version > FORMAT_VERSION:
            raise SessionError(
                f"{where} uses session format version {version}, written by CrossView "
                f"{data.get('app_version', '?')}; this CrossView ({__version__}) reads up to version "
                f"{FORMAT_VERSION}. Update CrossView to open it."
            )
        try:
            cam_fields = set(CameraInfo.__dataclass_fields__)
            cams = [CameraInfo(**{k: v for k, v in c.items() if k in cam_fields}) for c in data["cameras"]]
            known = {f.name for f in cls.__dataclass_fields__.values()}  # type: ignore[attr-defined]
            kwargs = {k: v for k, v in data.items() if k in known and k != "cameras"}
            meta = cls(cameras=cams, **kwargs)
            meta.fps = float(meta.fps)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SessionError(f"{where} is corrupt or incomplete ({exc}). {_RESTORE_HINT}") from None
        if len(meta.cameras) != 2 or meta.cameras[0].name == meta.cameras[1].name:
            raise SessionError(f"{where} must list two distinct cameras, got {meta.camera_names}. {_RESTORE_HINT}")
        if meta.status not in STATUSES:
            raise SessionError(f"{where}: unknown status {meta.status!r} (expected one of {', '.join(STATUSES)}).")
        return meta


_RESTORE_HINT = "Restore the folder from a backup; the videos and CSV files in it were left untouched."


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path.tmp``, fsync it and rename it over ``path`` (never half a file). Raises OSError."""
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(data, indent=2, default=_json_default) + "\n"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


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
        raise SessionError(f"{path} is corrupt (not valid JSON: {exc}). {_RESTORE_HINT}") from None
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return SessionMeta.from_dict(data, path)


# ============================================================================================ CSV files

TIMESTAMPS_HEADER = ("camera", "frame_index", "t_ns")


def csv_line(values: Sequence[object]) -> bytes:
    """One CSV line (quoted where needed), UTF-8, ending in a newline."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue().encode("utf-8")


def pairs_header(names: Sequence[str]) -> tuple[str, ...]:
    return ("pair_index", f"frame_index_{names[0]}", f"frame_index_{names[1]}", "skew_ms")


def _complete_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV, ignoring a last line cut short by a crash (no newline)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows:
        return [], []
    return [c.strip() for c in rows[0]], rows[1:]


def read_timestamps(path: Path, names: Sequence[str], strict: bool = True) -> dict[str, np.ndarray]:
    """Read ``timestamps.csv``: ``{camera: t_ns (N,) int64}`` with row k = frame_index k.

    ``strict``: SessionError on any inconsistency; otherwise (recovery) keep each camera's longest valid prefix.
    """
    if not path.is_file():
        raise SessionError(f"{path} is missing; the session cannot be read. {_RESTORE_HINT}")
    header, rows = _complete_rows(path)
    if header and tuple(header) != TIMESTAMPS_HEADER:
        raise SessionError(f"{path} has header {header}, expected {list(TIMESTAMPS_HEADER)}. {_RESTORE_HINT}")
    out: dict[str, list[int]] = {n: [] for n in names}
    broken: set[str] = set()
    for i, row in enumerate(rows, start=2):
        try:
            cam, k, t = row[0], int(row[1]), int(row[2])
        except (IndexError, ValueError):
            if strict:
                raise SessionError(f"{path}, line {i}: malformed row {row}. {_RESTORE_HINT}") from None
            break
        if cam not in out:
            if strict:
                raise SessionError(f"{path}, line {i}: unknown camera {cam!r} (the session has {list(names)}).")
            continue
        seq = out[cam]
        if cam in broken:
            continue
        if k != len(seq) or (seq and t <= seq[-1]):
            if strict:
                raise SessionError(
                    f"{path}, line {i}: camera {cam!r} frame {k} is out of order (expected frame {len(seq)} with a "
                    f"time after the previous one). {_RESTORE_HINT}"
                )
            broken.add(cam)
            continue
        seq.append(t)
    return {n: np.asarray(v, dtype=np.int64) for n, v in out.items()}


@dataclass(frozen=True)
class PairTable:
    """``pairs.csv``: ``index_a``, ``index_b`` ``(P,)`` frame indices into each video; ``skew_ms`` ``(P,)``."""

    index_a: np.ndarray
    index_b: np.ndarray
    skew_ms: np.ndarray

    def __len__(self) -> int:
        return len(self.index_a)


def read_pairs(path: Path, names: Sequence[str], strict: bool = True) -> PairTable:
    """Read ``pairs.csv`` (pair_index must be 0, 1, 2...). ``strict=False`` keeps the longest valid prefix."""
    if not path.is_file():
        raise SessionError(f"{path} is missing; the session cannot be read. {_RESTORE_HINT}")
    header, rows = _complete_rows(path)
    expected = pairs_header(names)
    if header and tuple(header) != expected:
        raise SessionError(f"{path} has header {header}, expected {list(expected)}. {_RESTORE_HINT}")
    a: list[int] = []
    b: list[int] = []
    s: list[float] = []
    for i, row in enumerate(rows, start=2):
        try:
            p, ia, ib, sk = int(row[0]), int(row[1]), int(row[2]), float(row[3])
        except (IndexError, ValueError):
            if strict:
                raise SessionError(f"{path}, line {i}: malformed row {row}. {_RESTORE_HINT}") from None
            break
        if p != len(a) or (a and (ia <= a[-1] or ib <= b[-1])):
            if strict:
                raise SessionError(f"{path}, line {i}: pair {p} is out of order. {_RESTORE_HINT}")
            break
        a.append(ia)
        b.append(ib)
        s.append(sk)
    return PairTable(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(s, np.float64))


def write_text_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def timestamps_bytes(names: Sequence[str], t_ns: dict[str, np.ndarray]) -> bytes:
    """A whole ``timestamps.csv`` (camera by camera)."""
    out = [csv_line(TIMESTAMPS_HEADER)]
    for n in names:
        prefix = csv_line([n])[:-1].decode() + ","
        out.append("".join(f"{prefix}{k},{int(t)}\n" for k, t in enumerate(t_ns[n])).encode())
    return b"".join(out)


def pairs_bytes(names: Sequence[str], table: PairTable) -> bytes:
    """A whole ``pairs.csv``."""
    rows = "".join(
        f"{p},{a},{b},{s:.3f}\n"
        for p, (a, b, s) in enumerate(zip(table.index_a.tolist(), table.index_b.tolist(), table.skew_ms.tolist()))
    )
    return csv_line(pairs_header(names)) + rows.encode()


# ============================================================================================ video


class MjpegAviWriter:
    """Append-only MJPEG-in-AVI writer: each frame is one JPEG (libjpeg-turbo), muxed by PyAV with
    ``flush_packets`` into an unbuffered file, so every frame reaches the OS as soon as :meth:`write` returns.

    A file cut off by a kill or a full disk is readable by OpenCV and PyAV up to the last complete frame
    (AVI demuxers scan the ``movi`` list when the index is missing). :meth:`close` writes the index.
    ``opener(path)`` makes the binary file (tests inject failures through it). Raises OSError on write errors.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float,
        quality: int = JPEG_QUALITY,
        opener: Opener | None = None,
    ) -> None:
        av = load_av()
        self.path = Path(path)
        self.size = (int(width), int(height))
        self.quality = int(quality)
        self.frames = 0
        self._av = av
        self._file = (opener or open_append)(self.path)
        try:
            self._container = av.open(self._file, "w", format=VIDEO_CONTAINER, options={"flush_packets": "1"})
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
            self._stream = self._container.add_stream(VIDEO_CODEC, rate=rate)
            self._stream.width, self._stream.height = self.size
            self._stream.pix_fmt = "yuvj420p"
            self._time_base = Fraction(1) / rate
        except Exception:
            self._file.close()
            raise
        self._closed = False

    def encode(self, image: np.ndarray) -> bytes:
        """JPEG bytes of a BGR ``(H, W, 3)`` uint8 image (may run in any thread)."""
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise InputError("a frame could not be encoded as JPEG")
        return buf.tobytes()

    def write_jpeg(self, jpeg: bytes) -> int:
        """Append one encoded frame; returns its size in bytes."""
        pkt = self._av.Packet(jpeg)
        pkt.stream = self._stream
        pkt.pts = pkt.dts = self.frames
        pkt.time_base = self._time_base
        pkt.is_keyframe = True
        self._container.mux(pkt)
        self.frames += 1
        return len(jpeg)

    def write(self, image: np.ndarray) -> int:
        """Encode and append one BGR frame of this writer's size; returns the JPEG size in bytes."""
        h, w = image.shape[:2]
        if (w, h) != self.size:
            raise InputError(f"frame of {w}x{h} px given to a {self.size[0]}x{self.size[1]} video '{self.path}'.")
        return self.write_jpeg(self.encode(image))

    def close(self) -> None:
        """Write the AVI index and close (best effort: the file stays readable without it)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()


def _mjpeg_complete(data: bytes) -> bool:
    """A JPEG ends with the EOI marker (trailing padding allowed)."""
    return data.rstrip(b"\x00").endswith(b"\xff\xd9")


def count_video_frames(path: str | os.PathLike, check_last: bool = True) -> int:
    """Frames in a video by demuxing (no decoding): fast even for long files and for files cut off by a crash.

    For MJPEG the last frame counts only when complete (``check_last``). InputError if unreadable.
    """
    av = load_av()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video '{path}' does not exist.")
    n = 0
    last: bytes | None = None
    mjpeg = False
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError(f"'{path}' holds no video stream.")
            stream = c.streams.video[0]
            mjpeg = stream.codec_context.name == "mjpeg"
            for pkt in c.demux(stream):
                if pkt.size:
                    n += 1
                    if mjpeg and check_last:
                        last = bytes(pkt)
    except InputError:
        raise
    except Exception as exc:  # av.error.* on a damaged header
        if n == 0:
            raise InputError(f"video '{path}' cannot be read ({exc}); the file is damaged or not a video.") from None
    if mjpeg and check_last and last is not None and not _mjpeg_complete(last):
        n -= 1
    return n


def remux_video(src: Path, n_frames: int) -> None:
    """Rewrite a video with its first ``n_frames`` packets into a finalised container (index written), in place.

    Packet copy, no re-encoding. Written to a temporary file and renamed, so a failure leaves ``src`` as it was.
    """
    av = load_av()
    tmp = src.with_name(src.stem + ".remux" + src.suffix)
    try:
        with av.open(str(src)) as inp:
            s_in = inp.streams.video[0]
            with av.open(str(tmp), "w", format=VIDEO_CONTAINER if src.suffix == VIDEO_SUFFIX else None) as out:
                s_out = out.add_stream_from_template(s_in)
                k = 0
                for pkt in inp.demux(s_in):
                    if not pkt.size:
                        continue
                    if k >= n_frames:
                        break
                    pkt.stream = s_out
                    out.mux(pkt)
                    k += 1
        os.replace(tmp, src)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


# ============================================================================================ journal

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
    """Atomic npz write (tmp + rename); raises OSError."""
    tmp = path.with_name(path.stem + ".tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


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


# ============================================================================================ world up


# ============================================================================================ locking


def _try_lock(f: BinaryIO) -> bool:
    try:
        import fcntl

        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True


def _unlock(f: BinaryIO) -> None:
    try:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except ImportError:
        import msvcrt

        with contextlib.suppress(OSError):
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


class WriterLock:
    """The live writer's lock on a session folder (released by the OS when the process dies, even on SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        f = open(self.path, "a+b")  # noqa: SIM115 - held for the recording's lifetime
        if not _try_lock(f):
            f.close()
            raise SessionError(f"session '{folder}' is being recorded by another process; choose another folder.")
        f.truncate(0)
        f.write(f"pid {os.getpid()}\n".encode())
        f.flush()
        self._file: BinaryIO | None = f

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        _unlock(f)
        f.close()


def is_recording_live(folder: str | os.PathLike) -> bool:
    """True while a live writer (this process or another) holds the session's lock."""
    path = Path(folder) / LOCK_FILE
    try:
        f = open(path, "rb")  # noqa: SIM115
    except OSError:
        return False
    try:
        if _try_lock(f):
            _unlock(f)
            return False
        return True
    finally:
        f.close()


# ============================================================================================ reading


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
        ratio; see :func:`core.pipeline.cameras_for_frames`)."""
        from core.pipeline import cameras_for_frames

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

    def keypoints(self) -> dict[str, np.ndarray] | None:
        """``{camera: (P, 17, 3)}`` [x_px, y_px, conf] or None when not written yet."""
        path = self.path / KEYPOINTS_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return {n: z[n].astype(np.float64) for n in self.names}
        except (OSError, ValueError, KeyError) as exc:
            raise SessionError(f"{path} is unreadable ({exc}); run `python main.py process` to rebuild it.") from None

    def poses(self) -> Poses | None:
        """The 3D results or None when not written yet."""
        path = self.path / POSES_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return Poses(
                    time_s=z["time_s"],
                    coarse=z["coarse"],
                    refined=z["refined"] if "refined" in z.files else None,
                    reprojection_error_px=z["reprojection_error_px"].astype(np.float64),
                    status=z["status"] if "status" in z.files else np.full(len(z["time_s"]), "ok"),
                    model=str(z["model"]) if "model" in z.files else "",
                    source=str(z["source"]) if "source" in z.files else "processed",
                )
        except (OSError, ValueError, KeyError) as exc:
            raise SessionError(f"{path} is unreadable ({exc}); run `python main.py process` to rebuild it.") from None

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
                    f"{PAIRS_FILE} refers to frame {int(idx.max())} of camera '{name}', which has {counts[name]} "
                    f"frames. {_RESTORE_HINT}"
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
        from core.video_io import iter_frame_pairs

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


# ============================================================================================ replay


class ReplayClock:
    """A monotonic clock shifted so that a recording's ORIGINAL timestamps are 'now' during replay:
    ``now_ns() = time.monotonic_ns() + offset_ns``. Frames stamped with their capture times then look fresh
    to a :class:`core.sync.LiveSynchronizer` (which drops frames older than its latency bound)."""

    def __init__(self, offset_ns: int) -> None:
        self.offset_ns = int(offset_ns)

    def now_ns(self) -> int:
        return time.monotonic_ns() + self.offset_ns

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        while True:
            if stop.is_set():
                return False
            remaining = (t_ns - self.now_ns()) / 1e9
            if remaining <= 0:
                return True
            stop.wait(remaining)


def session_sources(
    session: str | os.PathLike | Session, pace: bool = True, lead_s: float = 0.2
) -> list[IterableSource]:
    """The session's two cameras as replay sources (:class:`core.capture.IterableSource`) with the ORIGINAL
    timestamps and session frame indices, sharing a :class:`ReplayClock`, ready for a LivePipeline.

    ``pace=True`` replays in real time; ``pace=False`` as fast as decoding goes (for consumers that take every
    frame; a live synchroniser may then see one camera run far ahead of the other).
    """
    s = Session.open(session)
    ts = s.check(count_frames=False)
    firsts = [int(t[0]) for t in ts.values() if len(t)]
    clock = ReplayClock(min(firsts) - time.monotonic_ns() - int(lead_s * 1e9))
    sources = []
    for cam in s.meta.cameras:
        t = ts[cam.name]
        fps = cam.fps if cam.fps > 0 else (s.meta.fps if s.meta.fps > 0 else 30.0)
        sources.append(
            IterableSource(
                cam.name,
                (lambda name=cam.name, t=t: s.iter_frames(name, t)),
                nominal_fps=fps,
                pace=pace,
                clock=clock,
            )
        )
    return sources


# ============================================================================================ recovery


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
    """
    notes: list[str] = []
    names = meta.camera_names
    ts = read_timestamps(folder / TIMESTAMPS_FILE, names, strict=False) if (folder / TIMESTAMPS_FILE).is_file() else {}
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
    if any(len(ts[n]) != rows_before[n] for n in names) or not (folder / TIMESTAMPS_FILE).is_file():
        write_text_atomic(folder / TIMESTAMPS_FILE, timestamps_bytes(names, ts))
    pairs = (
        read_pairs(folder / PAIRS_FILE, names, strict=False)
        if (folder / PAIRS_FILE).is_file()
        else PairTable(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    )
    n_pairs_file = len(pairs)
    keep = (pairs.index_a < len(ts[names[0]])) & (pairs.index_b < len(ts[names[1]]))
    if not keep.all():
        cut = int(np.argmin(keep))  # pairs are in time order: the first missing frame ends the valid prefix
        pairs = PairTable(pairs.index_a[:cut], pairs.index_b[:cut], pairs.skew_ms[:cut])
    if len(pairs) != n_pairs_file or not (folder / PAIRS_FILE).is_file():
        write_text_atomic(folder / PAIRS_FILE, pairs_bytes(names, pairs))
    meta.pairs = len(pairs)
    firsts = [int(t[0]) for t in ts.values() if len(t)]
    if meta.t0_ns is None and firsts:
        meta.t0_ns = min(firsts)
    lasts = [int(t[-1]) for t in ts.values() if len(t)]
    meta.duration_s = (max(lasts) - min(firsts)) / 1e9 if firsts else 0.0
    journal = folder / JOURNAL_FILE
    if journal.is_file() and len(pairs):
        P = len(pairs)
        t0 = meta.t0_ns or 0
        t_pair = (ts[names[0]][pairs.index_a] + ts[names[1]][pairs.index_b]) // 2
        records = read_journal(journal)
        kp_arrays, poses = results_arrays(names, (t_pair - t0) / 1e9, records, model=model, source="live")
        write_npz(folder / KEYPOINTS_FILE, kp_arrays)
        write_npz(folder / POSES_FILE, poses.to_arrays())
        done = int((poses.status != "skipped").sum())
        notes.append(f"live results: {done} of {P} pairs were processed while recording.")
    meta.status = status
    meta.ended = meta.ended or now_iso()
    meta.notes = [*meta.notes, *notes]
    meta.updated = now_iso()
    write_json_atomic(folder / SESSION_FILE, meta.to_dict())
    return notes


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


def session_folder_is_free(folder: Path) -> None:
    """SessionError unless ``folder`` does not exist or is an empty folder (a session never overwrites files)."""
    if folder.exists():
        if not folder.is_dir():
            raise SessionError(f"'{folder}' is a file; choose a new folder name for the session.")
        if any(folder.iterdir()):
            raise SessionError(
                f"'{folder}' already holds files; choose a new (or empty) folder so nothing is overwritten."
            )


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
