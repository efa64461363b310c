"""The session's CSV tables: ``timestamps.csv`` (capture time of every frame) and ``pairs.csv`` (synchronised
frame pairs), read and written; and capture-time CSVs of other tools (:func:`read_timestamps_csv`). No Qt.

Units: nanoseconds (``t_ns``), milliseconds (``skew_ms``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError, SessionError
from core.session.layout import RESTORE_HINT

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
        raise SessionError(f"{path} is missing; the session cannot be read. {RESTORE_HINT}")
    header, rows = _complete_rows(path)
    if header and tuple(header) != TIMESTAMPS_HEADER:
        raise SessionError(f"{path} has header {header}, expected {list(TIMESTAMPS_HEADER)}. {RESTORE_HINT}")
    out: dict[str, list[int]] = {n: [] for n in names}
    broken: set[str] = set()
    for i, row in enumerate(rows, start=2):
        try:
            cam, k, t = row[0], int(row[1]), int(row[2])
        except (IndexError, ValueError):
            if strict:
                raise SessionError(f"{path}, line {i}: malformed row {row}. {RESTORE_HINT}") from None
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
                    f"time after the previous one). {RESTORE_HINT}"
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
        raise SessionError(f"{path} is missing; the session cannot be read. {RESTORE_HINT}")
    header, rows = _complete_rows(path)
    expected = pairs_header(names)
    if header and tuple(header) != expected:
        raise SessionError(f"{path} has header {header}, expected {list(expected)}. {RESTORE_HINT}")
    a: list[int] = []
    b: list[int] = []
    s: list[float] = []
    for i, row in enumerate(rows, start=2):
        try:
            p, ia, ib, sk = int(row[0]), int(row[1]), int(row[2]), float(row[3])
        except (IndexError, ValueError):
            if strict:
                raise SessionError(f"{path}, line {i}: malformed row {row}. {RESTORE_HINT}") from None
            break
        if p != len(a) or (a and (ia <= a[-1] or ib <= b[-1])):
            if strict:
                raise SessionError(f"{path}, line {i}: pair {p} is out of order. {RESTORE_HINT}")
            break
        a.append(ia)
        b.append(ib)
        s.append(sk)
    return PairTable(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(s, np.float64))


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


# ============================================================================================ other tools' CSVs

#: (camera of each row, frame order key of each row, t_ns of each row, {session camera: camera in the file})
_Columns = tuple[list[str], list[int], list[int], dict[str, str]]


def _timestamps_error(path: Path, msg: str) -> InputError:
    return InputError(
        f"timestamps file '{path}': {msg} Supported layouts: CrossView's `camera,frame_index,t_ns` (ns) and "
        "Caliscope's `sync_index,cam_id,frame_time` (seconds)."
    )


def read_timestamps_csv(path: str | os.PathLike, names: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Capture times of each frame of two videos from a CSV: ``({name: t_ns (N,) int64 in frame order}, notes)``.

    Layouts: CrossView's ``camera, frame_index, t_ns`` (cameras matched by name; when the names differ and
    the file holds exactly two cameras, in order of first appearance) and Caliscope's ``sync_index, cam_id,
    frame_time`` seconds, optionally with ``frame_index`` (the lower ``cam_id`` is the first video). Frames of
    a camera are in ``frame_index`` order, else in time order.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"timestamps file '{path}' does not exist. Check the path.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"timestamps file '{path}' cannot be read ({exc}).") from None
    if len(rows) < 2:
        raise _timestamps_error(path, "it holds no rows.")
    header = [h.strip().lower() for h in rows[0]]
    body = rows[1:]
    notes: list[str] = []
    try:
        if {"camera", "frame_index", "t_ns"} <= set(header):
            columns = _crossview_columns(path, header, body, names, notes)
        elif {"cam_id", "frame_time"} <= set(header):
            columns = _caliscope_columns(path, header, body, names, notes)
        else:
            raise _timestamps_error(path, f"unknown columns {rows[0]}.")
    except (IndexError, ValueError) as exc:
        raise _timestamps_error(path, f"a row is malformed ({exc}).") from None
    return _per_camera(path, names, columns), notes


def _crossview_columns(
    path: Path, header: list[str], body: list[list[str]], names: Sequence[str], notes: list[str]
) -> _Columns:
    ic, ik, it = header.index("camera"), header.index("frame_index"), header.index("t_ns")
    cams = [r[ic].strip() for r in body]
    order = [int(r[ik]) for r in body]
    times = [int(r[it]) for r in body]
    present = list(dict.fromkeys(cams))
    if all(n in present for n in names):
        mapping = {n: n for n in names}
    elif len(present) == 2:
        mapping = dict(zip(names, present, strict=True))
        notes.append(f"timestamps cameras {present} taken as {list(names)} (in order of appearance).")
    else:
        raise _timestamps_error(path, f"it names cameras {present}, not {list(names)}.")
    return cams, order, times, mapping


def _caliscope_columns(
    path: Path, header: list[str], body: list[list[str]], names: Sequence[str], notes: list[str]
) -> _Columns:
    ic, it = header.index("cam_id"), header.index("frame_time")
    cam_ids = [int(float(r[ic])) for r in body]
    ids = sorted(set(cam_ids))
    if len(ids) != 2:
        raise _timestamps_error(path, f"it holds {len(ids)} cameras (cam_id {ids}); exactly two are needed.")
    cams = [str(c) for c in cam_ids]
    mapping = {names[0]: str(ids[0]), names[1]: str(ids[1])}
    times = [int(round(float(r[it]) * 1e9)) for r in body]
    order = [int(float(r[header.index("frame_index")])) for r in body] if "frame_index" in header else times
    notes.append(f"Caliscope timestamps: cam_id {ids[0]} -> '{names[0]}', cam_id {ids[1]} -> '{names[1]}'.")
    return cams, order, times, mapping


def _per_camera(path: Path, names: Sequence[str], columns: _Columns) -> dict[str, np.ndarray]:
    """Each camera's times in frame order; InputError when one has none or they do not increase."""
    cams, order, times, mapping = columns
    cams_a = np.asarray(cams)
    order_a = np.asarray(order, dtype=np.int64)
    times_a = np.asarray(times, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for n in names:
        sel = cams_a == mapping[n]
        o = np.argsort(order_a[sel], kind="stable")
        t = times_a[sel][o]
        if len(t) == 0:
            raise _timestamps_error(path, f"it has no rows for camera '{n}'.")
        if np.any(np.diff(t) <= 0):
            raise _timestamps_error(path, f"the times of camera '{n}' do not increase frame after frame.")
        out[n] = t
    return out
