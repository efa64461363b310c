"""Board definitions on disk (TOML) and as compact spec strings.

CrossView's board TOML (lengths in metres, ``units = "m"`` always written)::

    # CrossView calibration board. Units: metres.
    type = "charuco"            # or "chessboard"
    columns = 5                 # ChArUco: squares across; chessboard: INNER corners across
    rows = 7
    square_size = 0.04          # m
    marker_size = 0.02          # m (ChArUco only)
    dictionary = "DICT_6X6_250" # ChArUco only
    legacy_pattern = false      # ChArUco only
    inverted = false            # white-on-black print
    units = "m"

The reader also accepts Caliscope's ``charuco.toml`` (``columns``/``rows`` squares, ``dictionary``,
``units = "inch"|"cm"`` for ``board_width``/``board_height``, ``square_size_override_cm``,
``aruco_scale`` = marker/square, ``inverted``, ``legacy_pattern``).

Spec strings (for the command line)::

    chessboard:COLSxROWS:SQUARE_M[:inverted]                 e.g. chessboard:9x6:0.025
    charuco:SXxSY:SQUARE_M:MARKER_M:DICT[:legacy][:inverted] e.g. charuco:5x7:0.04:0.02:DICT_6X6_250
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from calibration.boards import Board
from core.atomic import atomic_write, write_error
from core.errors import CrossViewError, InputError

_LENGTH_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "in": 0.0254, "inches": 0.0254}
_HEADER = "# CrossView calibration board. Units: metres (square_size, marker_size).\n"


def board_to_toml_dict(board: Board) -> dict[str, Any]:
    """The TOML table of a board (metres)."""
    doc: dict[str, Any] = {"type": board.kind, "columns": board.cols, "rows": board.rows, "square_size": board.square}
    if board.kind == "charuco":
        doc.update(marker_size=board.marker, dictionary=board.dictionary, legacy_pattern=board.legacy)
    doc["inverted"] = board.inverted
    doc["description"] = board.describe()
    doc["units"] = "m"
    return doc


def save_board(board: Board, path: str | os.PathLike) -> Path:
    """Write a board TOML (metres); written to a temporary name then renamed."""
    text = _HEADER + tomli_w.dumps(board_to_toml_dict(board))
    return atomic_write(path, text, write_error(InputError, "board file"))


def _num(data: dict, key: str, where: str) -> float:
    try:
        return float(data[key])
    except KeyError:
        raise InputError(f"{where}: '{key}' is missing. Add it (see docs of the board file).") from None
    except (TypeError, ValueError):
        raise InputError(f"{where}: '{key}' must be a number, got {data[key]!r}.") from None


def _int(data: dict, keys: tuple[str, ...], where: str) -> int:
    for k in keys:
        if k in data:
            v = data[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
                raise InputError(f"{where}: '{k}' must be a whole number, got {v!r}.")
            return int(v)
    raise InputError(f"{where}: '{keys[0]}' is missing (the number of {keys[0]} of the board).")


def _unit_scale(data: dict, where: str, default: str = "m") -> float:
    unit = str(data.get("units", default)).strip().lower()
    if unit not in _LENGTH_SCALE:
        raise InputError(f'{where}: unknown units {unit!r}; use "m", "cm", "mm" or "inch".')
    return _LENGTH_SCALE[unit]


def board_from_dict(data: dict[str, Any], where: str = "board definition") -> Board:
    """A board from a parsed TOML table (CrossView's layout or Caliscope's charuco.toml)."""
    if isinstance(data.get("board"), dict):
        data = data["board"]
    kind = str(data.get("type", data.get("kind", ""))).strip().lower()
    caliscope = not kind and any(k in data for k in ("aruco_scale", "square_size_override_cm", "dictionary"))
    if caliscope:
        cols = _int(data, ("columns",), where)
        rows = _int(data, ("rows",), where)
        if data.get("square_size_override_cm") is not None:
            square = _num(data, "square_size_override_cm", where) / 100.0
        else:
            scale = _unit_scale(data, where, default="inch")
            w = _num(data, "board_width", where) * scale
            h = _num(data, "board_height", where) * scale
            square = min(h / rows, w / cols)
        ratio = float(data.get("aruco_scale", 0.75))
        return Board.charuco(
            cols,
            rows,
            square,
            square * ratio,
            str(data.get("dictionary", "DICT_4X4_50")),
            legacy=bool(data.get("legacy_pattern", False)),
            inverted=bool(data.get("inverted", False)),
        )
    if not kind:
        kind = "chessboard"
    if kind in ("checkerboard", "chess"):
        kind = "chessboard"
    if kind not in ("chessboard", "charuco"):
        raise InputError(f'{where}: type must be "chessboard" or "charuco", got {kind!r}.')
    cols = _int(data, ("columns", "cols", "squares_x"), where)
    rows = _int(data, ("rows", "squares_y"), where)
    if "square_size_cm" in data:
        square = _num(data, "square_size_cm", where) / 100.0
    elif "square_size_mm" in data:
        square = _num(data, "square_size_mm", where) / 1000.0
    else:
        square = _num(data, "square_size", where) * _unit_scale(data, where)
    inverted = bool(data.get("inverted", False))
    if kind == "chessboard":
        return Board.chessboard(cols, rows, square, inverted=inverted)
    if "marker_size" in data:
        marker = _num(data, "marker_size", where) * _unit_scale(data, where)
    elif "aruco_scale" in data:
        marker = square * _num(data, "aruco_scale", where)
    else:
        raise InputError(f"{where}: 'marker_size' is missing (the side of one ArUco marker, same units as squares).")
    return Board.charuco(
        cols,
        rows,
        square,
        marker,
        str(data.get("dictionary", "DICT_4X4_50")),
        legacy=bool(data.get("legacy_pattern", data.get("legacy", False))),
        inverted=inverted,
    )


def load_board(path: str | os.PathLike) -> Board:
    """Read a board TOML (CrossView's or Caliscope's charuco.toml)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"board file '{path}' does not exist. Give a board TOML or a spec such as chessboard:9x6:0.025."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"board file '{path}' is not valid TOML ({exc}).") from None
    try:
        return board_from_dict(data, where=f"board file '{path}'")
    except CrossViewError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"board file '{path}': {exc}") from None


_SPEC_RE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


def parse_board_spec(spec: str) -> Board:
    """Parse ``chessboard:COLSxROWS:SQUARE_M`` or ``charuco:SXxSY:SQUARE_M:MARKER_M:DICT[:legacy][:inverted]``."""
    parts = [p.strip() for p in str(spec).split(":")]
    kind = parts[0].lower()
    usage = (
        "Use chessboard:COLSxROWS:SQUARE_M (inner corners, metres), e.g. chessboard:9x6:0.025, or "
        "charuco:SXxSY:SQUARE_M:MARKER_M:DICT, e.g. charuco:5x7:0.04:0.02:DICT_6X6_250."
    )
    if kind in ("checkerboard", "chess"):
        kind = "chessboard"
    if kind not in ("chessboard", "charuco") or len(parts) < 3:
        raise InputError(f"board spec {spec!r} is not understood. {usage}")
    m = _SPEC_RE.match(parts[1])
    if not m:
        raise InputError(f"board spec {spec!r}: size {parts[1]!r} must look like 9x6. {usage}")
    cols, rows = int(m.group(1)), int(m.group(2))
    flags = {p.lower() for p in parts[3:] if p.lower() in ("inverted", "legacy")}
    rest = [p for p in parts[3:] if p.lower() not in ("inverted", "legacy")]
    try:
        square = float(parts[2])
        if kind == "chessboard":
            if rest:
                raise InputError(f"board spec {spec!r}: unexpected {':'.join(rest)!r}. {usage}")
            return Board.chessboard(cols, rows, square, inverted="inverted" in flags)
        if len(rest) < 2:
            raise InputError(f"board spec {spec!r}: a ChArUco spec needs the marker size and dictionary. {usage}")
        return Board.charuco(
            cols, rows, square, float(rest[0]), rest[1], legacy="legacy" in flags, inverted="inverted" in flags
        )
    except ValueError:
        raise InputError(f"board spec {spec!r}: sizes must be numbers in metres. {usage}") from None


def resolve_board(board: Board | str | os.PathLike) -> Board:
    """A :class:`Board` from a Board, a spec string or a TOML path."""
    if isinstance(board, Board):
        return board
    text = str(board)
    head = text.split(":", 1)[0].lower()
    if head in ("chessboard", "charuco", "checkerboard", "chess") and not Path(text).is_file():
        return parse_board_spec(text)
    return load_board(text)
