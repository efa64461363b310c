"""Calibration boards: plain chessboards and ChArUco boards, in metres.

A :class:`Board` is an immutable description of a printed target. Its corners carry integer ids and
their positions on the board plane (``z = 0``) are :attr:`Board.object_points`, ``(N, 3)`` metres:

- chessboard: ``cols x rows`` INNER corners; id ``r * cols + c`` sits at ``(c * square, r * square, 0)``
  (OpenCV's row-major order of ``findChessboardCorners``);
- ChArUco: ``cols x rows`` SQUARES; ids and positions are OpenCV's ``CharucoBoard.getChessboardCorners()``
  (``(cols - 1) * (rows - 1)`` inner corners).

``inverted`` marks a white-on-black print: detectors invert the grey image before searching.

Stereo with a chessboard needs both cameras to number the corners the same way: the detector puts
corner 0 next to a dark outer square, which is unambiguous only when ``cols + rows`` is odd (9x6, 7x4...).
A chessboard with ``cols + rows`` even looks the same turned by 180 degrees: prefer odd sums or ChArUco
(:attr:`Board.orientation_ambiguous`).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Literal

import cv2
import numpy as np

from core.errors import InputError

#: Every ArUco dictionary OpenCV knows, by its canonical name.
ARUCO_DICTIONARIES: dict[str, int] = {
    name: int(getattr(cv2.aruco, name))
    for name in (
        "DICT_4X4_50",
        "DICT_4X4_100",
        "DICT_4X4_250",
        "DICT_4X4_1000",
        "DICT_5X5_50",
        "DICT_5X5_100",
        "DICT_5X5_250",
        "DICT_5X5_1000",
        "DICT_6X6_50",
        "DICT_6X6_100",
        "DICT_6X6_250",
        "DICT_6X6_1000",
        "DICT_7X7_50",
        "DICT_7X7_100",
        "DICT_7X7_250",
        "DICT_7X7_1000",
        "DICT_ARUCO_ORIGINAL",
        "DICT_APRILTAG_16h5",
        "DICT_APRILTAG_25h9",
        "DICT_APRILTAG_36h10",
        "DICT_APRILTAG_36h11",
        "DICT_ARUCO_MIP_36h12",
    )
}

#: Dictionary families probed when a ChArUco board is not found (the largest of each family:
#: the smaller ones are prefixes of it, so one probe per family says which family the print uses).
PROBE_DICTIONARIES: tuple[str, ...] = (
    "DICT_4X4_1000",
    "DICT_5X5_1000",
    "DICT_6X6_1000",
    "DICT_7X7_1000",
    "DICT_ARUCO_ORIGINAL",
    "DICT_APRILTAG_36h11",
)

BoardKind = Literal["chessboard", "charuco"]


def canonical_dictionary(name: str) -> str:
    """The canonical spelling of an ArUco dictionary name (``"6x6_250"`` -> ``"DICT_6X6_250"``)."""
    key = str(name).strip().upper().replace("-", "_")
    if not key.startswith("DICT_"):
        key = "DICT_" + key
    for canon in ARUCO_DICTIONARIES:
        if canon.upper() == key:
            return canon
    raise InputError(
        f"unknown ArUco dictionary {name!r}. Use one of: {', '.join(ARUCO_DICTIONARIES)} "
        "(the name is printed next to most ChArUco boards)."
    )


def dictionary_size(name: str) -> int:
    """Number of markers in an ArUco dictionary."""
    return int(cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARIES[canonical_dictionary(name)]).bytesList.shape[0])


def smallest_dictionary_for(family_name: str, max_id: int) -> str:
    """The smallest dictionary of ``family_name``'s family (e.g. 6X6) that holds ids up to ``max_id``."""
    canon = canonical_dictionary(family_name)
    parts = canon.rsplit("_", 1)
    if len(parts) == 2 and parts[1].isdigit() and parts[0].startswith("DICT_") and "X" in parts[0]:
        for n in (50, 100, 250, 1000):
            cand = f"{parts[0]}_{n}"
            if cand in ARUCO_DICTIONARIES and max_id < n:
                return cand
    return canon


@dataclass(frozen=True)
class Board:
    """A printed calibration target (lengths in metres).

    ``kind``: "chessboard" or "charuco". ``cols``/``rows``: inner corners (chessboard) or squares (ChArUco).
    ``square``: square side (m). ``marker``: ArUco marker side (m, ChArUco only). ``dictionary``: ArUco
    dictionary name (ChArUco only). ``legacy``: OpenCV's pre-4.6 ChArUco layout. ``inverted``: white on black.
    """

    kind: BoardKind
    cols: int
    rows: int
    square: float
    marker: float = 0.0
    dictionary: str = ""
    legacy: bool = False
    inverted: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("chessboard", "charuco"):
            raise InputError(f'board type must be "chessboard" or "charuco", got {self.kind!r}.')
        try:
            cols, rows, square = int(self.cols), int(self.rows), float(self.square)
        except (TypeError, ValueError):
            raise InputError(
                f"board size and square size must be numbers, got {self.cols!r} x {self.rows!r}, {self.square!r}."
            ) from None
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "square", square)
        object.__setattr__(self, "marker", float(self.marker or 0.0))
        object.__setattr__(self, "legacy", bool(self.legacy))
        object.__setattr__(self, "inverted", bool(self.inverted))
        what = "inner corners" if self.kind == "chessboard" else "squares"
        least = 2 if self.kind == "chessboard" else 3
        if cols < least or rows < least:
            raise InputError(
                f"a {self.kind} needs at least {least}x{least} {what}, got {cols}x{rows}. "
                + (
                    "Count the INNER corners (where four squares meet), not the squares."
                    if self.kind == "chessboard"
                    else "Count the squares along each side."
                )
            )
        if not np.isfinite(square) or square <= 0:
            raise InputError(f"the square size must be a positive length in metres, got {self.square!r}.")
        if square > 1.0:
            raise InputError(
                f"a square of {square:g} m is implausible: square sizes are in METRES (25 mm = 0.025). "
                "Fix the board definition."
            )
        if self.kind == "charuco":
            object.__setattr__(self, "dictionary", canonical_dictionary(self.dictionary or "DICT_4X4_50"))
            if not (0 < self.marker < square):
                raise InputError(
                    f"the ChArUco marker size ({self.marker:g} m) must be positive and smaller than the square "
                    f"({square:g} m); typically 0.5-0.8 of it."
                )
            need = (cols * rows) // 2
            have = dictionary_size(self.dictionary)
            if need > have:
                raise InputError(
                    f"a {cols}x{rows} ChArUco board needs {need} markers but {self.dictionary} holds only {have}. "
                    "Use a larger dictionary (e.g. the _250 or _1000 variant)."
                )
        else:
            object.__setattr__(self, "dictionary", "")
            object.__setattr__(self, "marker", 0.0)
            object.__setattr__(self, "legacy", False)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def chessboard(cls, cols: int, rows: int, square: float, inverted: bool = False) -> Board:
        """A chessboard with ``cols x rows`` INNER corners and ``square`` metres squares."""
        return cls("chessboard", cols, rows, square, inverted=inverted)

    @classmethod
    def charuco(
        cls,
        squares_x: int,
        squares_y: int,
        square: float,
        marker: float,
        dictionary: str = "DICT_4X4_50",
        legacy: bool = False,
        inverted: bool = False,
    ) -> Board:
        """A ChArUco board of ``squares_x x squares_y`` squares (square and marker sides in metres)."""
        return cls("charuco", squares_x, squares_y, square, marker, dictionary, legacy, inverted)

    # ------------------------------------------------------------------ geometry
    @property
    def pattern_size(self) -> tuple[int, int]:
        """Inner corners ``(cols, rows)`` of the chessboard pattern."""
        if self.kind == "chessboard":
            return (self.cols, self.rows)
        return (self.cols - 1, self.rows - 1)

    @property
    def squares(self) -> tuple[int, int]:
        """Number of squares ``(x, y)`` of the printed pattern."""
        if self.kind == "chessboard":
            return (self.cols + 1, self.rows + 1)
        return (self.cols, self.rows)

    @property
    def n_corners(self) -> int:
        """Number of corner ids."""
        c, r = self.pattern_size
        return c * r

    @property
    def size_m(self) -> tuple[float, float]:
        """Physical width and height of the squares area, metres."""
        sx, sy = self.squares
        return (sx * self.square, sy * self.square)

    @property
    def object_points(self) -> np.ndarray:
        """``(N, 3)`` corner positions on the board (metres, z = 0), row ``i`` = corner id ``i``."""
        return _object_points(self).copy()

    @property
    def orientation_ambiguous(self) -> bool:
        """True for a chessboard whose corner numbering can flip by 180 degrees between views."""
        return self.kind == "chessboard" and (self.cols + self.rows) % 2 == 0

    @property
    def max_marker_id(self) -> int:
        """Largest marker id on a ChArUco board (-1 for a chessboard)."""
        return (self.cols * self.rows) // 2 - 1 if self.kind == "charuco" else -1

    def cv_board(self) -> cv2.aruco.CharucoBoard:
        """The OpenCV ChArUco board (cached; ChArUco only)."""
        if self.kind != "charuco":
            raise InputError("a chessboard has no ArUco markers; cv_board() is for ChArUco boards.")
        return _cv_board(self)

    def with_changes(self, **changes: Any) -> Board:
        """A copy with some fields changed (validated again)."""
        data = asdict(self)
        data.update(changes)
        return Board(**data)

    def describe(self) -> str:
        """One line for people, e.g. ``chessboard 9x6 inner corners, 25.0 mm squares``."""
        mm = self.square * 1000
        inv = ", printed inverted (white on black)" if self.inverted else ""
        if self.kind == "chessboard":
            return f"chessboard {self.cols}x{self.rows} inner corners, {mm:.4g} mm squares{inv}"
        legacy = ", legacy layout" if self.legacy else ""
        return (
            f"ChArUco {self.cols}x{self.rows} squares, {mm:.4g} mm squares, {self.marker * 1000:.4g} mm markers, "
            f"{self.dictionary}{legacy}{inv}"
        )

    def spec(self) -> str:
        """The compact spec string (``chessboard:9x6:0.025`` or ``charuco:5x7:0.04:0.02:DICT_6X6_250``)."""
        if self.kind == "chessboard":
            s = f"chessboard:{self.cols}x{self.rows}:{self.square:g}"
        else:
            s = f"charuco:{self.cols}x{self.rows}:{self.square:g}:{self.marker:g}:{self.dictionary}"
            if self.legacy:
                s += ":legacy"
        return s + (":inverted" if self.inverted else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (metres)."""
        return asdict(self)


@functools.lru_cache(maxsize=32)
def _object_points(board: Board) -> np.ndarray:
    if board.kind == "chessboard":
        c, r = board.pattern_size
        grid = np.mgrid[0:r, 0:c].reshape(2, -1).T  # (N, 2) as (row, col), row-major
        pts = np.zeros((c * r, 3))
        pts[:, 0] = grid[:, 1] * board.square
        pts[:, 1] = grid[:, 0] * board.square
        return pts
    return np.asarray(_cv_board(board).getChessboardCorners(), dtype=np.float64).reshape(-1, 3)


@functools.lru_cache(maxsize=32)
def _cv_board(board: Board) -> cv2.aruco.CharucoBoard:
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARIES[board.dictionary])
    cvb = cv2.aruco.CharucoBoard((board.cols, board.rows), board.square, board.marker, dictionary)
    cvb.setLegacyPattern(board.legacy)
    return cvb
