"""Per-frame board detection with sub-pixel corners, image-quality scores and "why not found" reasons.

:class:`BoardDetector` finds a :class:`~calibration.boards.Board` in one image and returns a
:class:`Detection`: corners ``(N, 2)`` pixels (full-resolution image, OpenCV pixel-centre convention),
their board ids ``(N,)``, object points ``(N, 3)`` metres, and quality scores. When the board is not
found, :attr:`Detection.reasons` says why in words a user can act on, and :attr:`Detection.codes`
gives the same as stable machine codes for icons/overlays:

``not_visible``, ``too_small``, ``blurred``, ``glare``, ``too_dark``, ``partial``, ``wrong_size``,
``wrong_type`` (chessboard vs ChArUco), ``wrong_dictionary``, ``inverted``, ``not_inverted``, ``legacy``,
``few_corners``.

Speed (``python -m bench.calibration``): a chessboard is searched on a copy downscaled to at most
``search_side`` pixels (640 by default) after ``cv2.checkChessboard`` (a 1-3 ms pre-test), then refined
with ``cornerSubPix`` on the full image: a few ms per frame, found or not. ChArUco uses
``cv2.aruco.CharucoDetector`` on the full image (about 5-30 ms at 640x480-1280x720). ``diagnose="full"``
(probes for another size, dictionary, polarity, layout or scale) costs 0.2-0.4 s: run it on a not-found
frame now and then (e.g. once a second, in a worker), not on every frame.

A detector keeps OpenCV objects: use one per thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from calibration.boards import ARUCO_DICTIONARIES, PROBE_DICTIONARIES, Board, smallest_dictionary_for
from core.errors import InputError

Diagnose = Literal["none", "quick", "full"]

#: Whole-image variance of the Laplacian (on the <=640 px copy) below which a frame is called blurred.
BLUR_LAPLACIAN_MIN = 25.0
#: Fraction of saturated pixels (>= 250) of a frame without a board above which glare is reported.
GLARE_FRACTION_MAX = 0.04
#: Fraction of a found board's corners washed out (no dark pixel near them) above which glare is reported.
GLARE_CORNERS_MAX = 0.1
#: Mean grey level below which the frame is called too dark.
DARK_MEAN_MAX = 35.0
#: Corner spacing (px) below which the board is called too small / too far.
MIN_SPACING_PX = 8.0

#: OpenCV before 4.13 returns ChArUco corners half a pixel right of and below the true saddle point (opencv#25539,
#: fixed by opencv#28380): measured on boards rendered through known cameras (``calibration.synthetic``) as
#: +0.50 / +0.48 px, against 0.02 px for the chessboard path. Subtracted here so both board kinds agree.
CHARUCO_OFFSET_PX = 0.5 if tuple(int(v) for v in cv2.__version__.split(".")[:2]) < (4, 13) else 0.0

#: cornerSubPix half-window as a fraction of the smallest corner spacing (capped at 11 px). OpenCV's sample
#: uses 11 px whatever the squares; on the OpenCV 9x6 stereo set (squares down to 19 px) that window reaches
#: the neighbouring corners and mislocates them: per-camera RMS 0.408/0.458 px with 11 px, 0.178/0.182 px
#: with 0.35 x spacing (0.5: 0.336/0.355, 0.25: 0.185/0.193).
SUBPIX_REACH = 0.35

_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 30, 0.01)
_CLASSIC_FLAGS = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE


@dataclass(frozen=True, eq=False)
class Detection:
    """One board detection in one image.

    ``corners`` ``(N, 2)`` float64 pixels, ``ids`` ``(N,)`` int, ``object_points`` ``(N, 3)`` metres,
    all empty when not found. ``sharpness``: variance of the Laplacian (board region when found, whole
    image otherwise; higher is sharper). ``edge_width_px``: blur width of the board's edges in pixels
    (about 2.5 when sharp; NaN when not found). ``glare``: fraction of saturated pixels.
    ``spacing_px``: median distance between neighbouring corners. ``reasons``/``codes``: why the board
    was not found, or quality warnings about a found board. ``hints``: machine-readable findings, e.g.
    ``{"found_pattern": (7, 5)}``, ``{"dictionary": "DICT_6X6_250"}``, ``{"inverted": True}``.
    """

    found: bool
    corners: np.ndarray
    ids: np.ndarray
    object_points: np.ndarray
    image_size: tuple[int, int]
    sharpness: float = float("nan")
    edge_width_px: float = float("nan")
    glare: float = 0.0
    spacing_px: float = float("nan")
    n_markers: int = 0
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    hints: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def n(self) -> int:
        """Number of corners found."""
        return int(len(self.ids))

    @property
    def message(self) -> str:
        """All reasons as one sentence ('' when there is nothing to say)."""
        return " ".join(self.reasons)

    def bbox(self) -> tuple[float, float, float, float]:
        """Corner bounding box ``(x0, y0, x1, y1)`` pixels (NaNs when not found)."""
        if not self.n:
            return (float("nan"),) * 4  # type: ignore[return-value]
        lo = self.corners.min(axis=0)
        hi = self.corners.max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def area_fraction(self) -> float:
        """Area of the corners' convex hull over the image area (0 when not found)."""
        if self.n < 3:
            return 0.0
        hull = cv2.convexHull(self.corners.astype(np.float32))
        return float(cv2.contourArea(hull)) / float(self.image_size[0] * self.image_size[1])


def _empty(size: tuple[int, int], **kw: Any) -> Detection:
    return Detection(False, np.zeros((0, 2)), np.zeros(0, dtype=int), np.zeros((0, 3)), size, **kw)


def to_gray(image: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` BGR or ``(H, W, 4)`` BGRA -> ``(H, W)`` uint8 grey."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        img = cv2.cvtColor(img, code)
    if img.ndim != 2 or img.size == 0:
        raise InputError(f"expected an image (H, W) or (H, W, 3), got an array of shape {np.shape(image)}.")
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.max(initial=0) <= 1.0:
            img = img * 255.0
        img = np.clip(img, 0, 255).astype(np.uint8)
    return img


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a grey image (a focus score; higher is sharper)."""
    if gray.size == 0:
        return float("nan")
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def edge_width(gray: np.ndarray) -> float:
    """Blur width of the strongest edges of a grey patch, pixels: contrast / peak gradient.

    For a step edge blurred by a Gaussian of sigma s this is about 2.5 s; a sharp print gives 2-3 px.
    """
    if gray.shape[0] < 4 or gray.shape[1] < 4:
        return float("nan")
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) * 0.125
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) * 0.125
    mag = cv2.magnitude(gx, gy).ravel()
    cdf = np.cumsum(cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel())
    cdf /= cdf[-1]
    lo, hi = float(np.searchsorted(cdf, 0.05)), float(np.searchsorted(cdf, 0.95))
    k = min(len(mag) - 1, int(0.995 * len(mag)))
    peak = float(np.partition(mag, k)[k])
    return float((hi - lo) / peak) if peak > 1e-3 else float("inf")


def _neighbour_spacing(corners: np.ndarray, obj: np.ndarray, square: float) -> float:
    """Median pixel distance between corners that are neighbours on the board."""
    if len(obj) < 2:
        return float("nan")
    d_obj = np.linalg.norm(obj[:, None, :2] - obj[None, :, :2], axis=-1)
    i, j = np.nonzero(np.abs(d_obj - square) < 1e-6 * max(square, 1e-9) + 1e-9)
    if len(i) == 0:
        return float("nan")
    return float(np.median(np.linalg.norm(corners[i] - corners[j], axis=-1)))


def _board_neighbours(board: Board) -> np.ndarray:
    """``(E, 2)`` pairs of corner ids one square apart on the board."""
    obj = board.object_points
    d = np.linalg.norm(obj[:, None, :2] - obj[None, :, :2], axis=-1)
    i, j = np.nonzero(np.triu(np.abs(d - board.square) < 1e-6 * board.square, k=1))
    return np.stack([i, j], axis=1)


def _spacings(corners: np.ndarray, ids: np.ndarray, neighbours: np.ndarray, n_ids: int) -> np.ndarray:
    """Pixel distances between detected corners that are board neighbours ``(E',)``."""
    row = np.full(n_ids, -1)
    row[ids] = np.arange(len(ids))
    a, b = row[neighbours[:, 0]], row[neighbours[:, 1]]
    ok = (a >= 0) & (b >= 0)
    return np.linalg.norm(corners[a[ok]] - corners[b[ok]], axis=1)


def _touches_border(pts: np.ndarray, size: tuple[int, int], margin: float) -> bool:
    if len(pts) == 0:
        return False
    w, h = size
    return bool(
        (pts[:, 0] < margin).any()
        or (pts[:, 1] < margin).any()
        or (pts[:, 0] > w - 1 - margin).any()
        or (pts[:, 1] > h - 1 - margin).any()
    )


class BoardDetector:
    """Finds one board in images of any size.

    ``thorough``: for still photos and offline use, retry a not-found chessboard at higher resolutions
    and with OpenCV's sector-based detector (slower when the board is absent).
    ``search_side``: long side (px) of the downscaled copy searched for a chessboard.
    ``min_corners``: fewest ChArUco corners that count as found (>= 4, not all on one line).
    ``subpix``: refine chessboard corners with ``cornerSubPix`` on the full image, half-window
    :data:`SUBPIX_REACH` x the smallest corner spacing, 2 to 11 px. ChArUco corners come refined by OpenCV.
    """

    def __init__(
        self,
        board: Board,
        *,
        thorough: bool = False,
        search_side: int = 640,
        min_corners: int = 6,
        subpix: bool = True,
    ) -> None:
        self.board = board
        self.thorough = thorough
        self.search_side = int(search_side)
        self.min_corners = max(4, int(min_corners))
        self.subpix = subpix
        self._obj = board.object_points
        self._neighbours = _board_neighbours(board)
        self._charuco: cv2.aruco.CharucoDetector | None = None
        self._aruco: dict[str, cv2.aruco.ArucoDetector] = {}
        if board.kind == "charuco":
            self._charuco = self._make_charuco(board)

    # ------------------------------------------------------------------ public
    def detect(self, image: np.ndarray, diagnose: Diagnose = "quick") -> Detection:
        """Detect the board in a BGR or grey image.

        ``diagnose``: "none" (fastest; no scores, no reasons), "quick" (cheap scores and reasons, +1-5 ms),
        "full" (when not found, also probe other board sizes, dictionaries, polarity, layout and scale:
        0.2-0.4 s, for an occasional frame).
        """
        t0 = time.perf_counter()
        gray = to_gray(image)
        if self.board.inverted:
            gray = cv2.bitwise_not(gray)
        h, w = gray.shape
        size = (w, h)
        scale = min(1.0, self.search_side / max(w, h))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
        if self.board.kind == "chessboard":
            corners, ids, n_markers, extra = self._detect_chessboard(gray, small, scale)
        else:
            corners, ids, n_markers, extra = self._detect_charuco(gray)
        if corners is not None:
            det = self._found(gray, corners, ids, n_markers, size, diagnose, t0)
            if det is not None:
                return det
        return self._not_found(gray, small, scale, size, n_markers, extra, diagnose, t0)

    # ------------------------------------------------------------------ chessboard
    def _detect_chessboard(
        self, gray: np.ndarray, small: np.ndarray, scale: float
    ) -> tuple[np.ndarray | None, np.ndarray | None, int, dict]:
        pattern = self.board.pattern_size
        # checkChessboard is a 1-3 ms test; findChessboardCorners' own fast check still costs ~60 ms on a
        # busy 640x480 frame without a board. It never rejected a board findChessboardCorners finds on the
        # real sets (52 views), and the thorough mode skips it anyway.
        if self.thorough or cv2.checkChessboard(small, pattern):
            ok, c = cv2.findChessboardCorners(small, pattern, _CLASSIC_FLAGS | cv2.CALIB_CB_FAST_CHECK)
        else:
            ok, c = False, None
        s = scale
        if not ok and self.thorough:
            h, w = gray.shape
            for side in (1280, max(w, h)):
                s2 = min(1.0, side / max(w, h))
                if s2 <= s + 1e-6 and side != max(w, h):
                    continue
                img = cv2.resize(gray, None, fx=s2, fy=s2, interpolation=cv2.INTER_AREA) if s2 < 1.0 else gray
                ok, c = cv2.findChessboardCorners(img, pattern, _CLASSIC_FLAGS)
                if ok:
                    s = s2
                    break
            if not ok:
                ok, c = cv2.findChessboardCornersSB(small, pattern, cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY)
                s = scale
        if not ok or c is None:
            return None, None, 0, {}
        corners = c.reshape(-1, 2).astype(np.float64) / s
        if s < 1.0:  # the search copy is offset by half a pixel after INTER_AREA downscaling
            corners += 0.5 / s - 0.5
        sides = grid_continues(gray, corners, pattern)
        if sides:  # a sub-grid of a larger board: the ids would be wrong
            return None, None, 0, {"continues": sides}
        corners = self._canonical_order(gray, corners)
        ids = np.arange(len(corners))
        if self.subpix:
            corners = self._refine(gray, corners, ids, reach=SUBPIX_REACH)
        return corners, ids, 0, {}

    def _canonical_order(self, gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
        """Order corners so the square outside corner 0 is dark (resolves the 180-degree ambiguity).

        At corner 0 the outer diagonal square is dark and the two outer squares beside it light; at the last
        corner (``cols + rows`` odd) the other way round. Both corners vote (grey level differences) and the order
        is reversed when they say it is the wrong way round; a corner whose squares leave the image abstains.
        """
        cols, rows = self.board.pattern_size
        if (cols + rows) % 2 == 0:  # ambiguous by colour: keep OpenCV's order
            return corners
        g = corners.reshape(rows, cols, 2)

        def contrast(c: np.ndarray, along: np.ndarray, across: np.ndarray) -> float:
            """Mean grey of the two outer side squares minus the outer diagonal square's (NaN outside)."""
            u, v = along - c, across - c
            diagonal = _sample(gray, c - 0.5 * u - 0.5 * v)
            sides = 0.5 * (_sample(gray, c + 0.5 * u - 0.5 * v) + _sample(gray, c - 0.5 * u + 0.5 * v))
            return float(sides - diagonal)

        first = contrast(g[0, 0], g[0, 1], g[1, 0])  # > 0 when the right way round
        last = -contrast(g[-1, -1], g[-1, -2], g[-2, -1])
        votes = [v for v in (first, last) if np.isfinite(v)]
        if votes and sum(votes) < 0:
            return corners[::-1].copy()
        return corners

    # ------------------------------------------------------------------ charuco
    @staticmethod
    def _make_charuco(board: Board) -> cv2.aruco.CharucoDetector:
        params = cv2.aruco.CharucoParameters()
        params.tryRefineMarkers = True
        return cv2.aruco.CharucoDetector(board.cv_board(), params)

    def _detect_charuco(self, gray: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, int, dict]:
        assert self._charuco is not None
        cc, ci, mc, mi = self._charuco.detectBoard(gray)
        n_markers = 0 if mi is None else len(mi)
        extra = {"marker_corners": mc, "marker_ids": None if mi is None else mi.ravel()}
        if ci is None or len(ci) < self.min_corners:
            return None, None, n_markers, extra
        ids = ci.ravel().astype(int)
        corners = cc.reshape(-1, 2).astype(np.float64) - CHARUCO_OFFSET_PX
        obj = self._obj[ids]
        if np.linalg.matrix_rank(obj[:, :2] - obj[:, :2].mean(axis=0), tol=1e-9) < 2:
            return None, None, n_markers, extra  # all on one line: useless for calibration
        # No second cornerSubPix here: CharucoDetector already refines every corner with cornerSubPix, with a
        # window sized to that corner's distance to the nearest marker (a wider one would lock onto marker
        # edges; measured on the Caliscope session, a second pass made the stereo RMS worse).
        return corners, ids, n_markers, extra

    # ------------------------------------------------------------------ shared
    def _refine(self, gray: np.ndarray, corners: np.ndarray, ids: np.ndarray, reach: float) -> np.ndarray:
        """cornerSubPix with a half-window of ``reach`` x the smallest corner spacing (3..11 px)."""
        sp = _spacings(corners, ids, self._neighbours, self.board.n_corners)
        spacing = float(sp.min()) if len(sp) else float("nan")
        if not np.isfinite(spacing):
            return corners
        half = int(np.clip(np.floor(reach * spacing), 2, 11))
        pts = corners.astype(np.float32).reshape(-1, 1, 2).copy()
        refined = cv2.cornerSubPix(gray, pts, (half, half), (-1, -1), _SUBPIX_CRITERIA)
        return refined.reshape(-1, 2).astype(np.float64)

    def _found(
        self,
        gray: np.ndarray,
        corners: np.ndarray,
        ids: np.ndarray,
        n_markers: int,
        size: tuple[int, int],
        diagnose: Diagnose,
        t0: float,
    ) -> Detection | None:
        obj = self._obj[ids]
        sp = _spacings(corners, ids, self._neighbours, self.board.n_corners)
        spacing = float(np.median(sp)) if len(sp) else float("nan")
        sharp = width = glare = float("nan")
        reasons: list[str] = []
        codes: list[str] = []
        if diagnose != "none":
            pad = 0.5 * (spacing if np.isfinite(spacing) else 10.0)
            x0, y0 = np.floor(corners.min(axis=0) - pad).astype(int)
            x1, y1 = np.ceil(corners.max(axis=0) + pad).astype(int)
            roi = gray[max(y0, 0) : min(y1, size[1]), max(x0, 0) : min(x1, size[0])]
            sharp = laplacian_variance(roi)
            width = edge_width(roi)
            glare = _washed_out_fraction(gray, corners, spacing)
            if np.isfinite(width) and width > 4.0 and np.isfinite(spacing) and width > 0.15 * spacing:
                reasons.append(f"The board is blurred (edges {width:.1f} px wide): hold it still or add light.")
                codes.append("blurred")
            if glare > GLARE_CORNERS_MAX:
                reasons.append(
                    f"Glare on the board ({glare:.0%} of the corners washed out): tilt it away from lamps and windows."
                )
                codes.append("glare")
            if np.isfinite(spacing) and spacing < MIN_SPACING_PX:
                reasons.append(f"The board is small in the image ({spacing:.0f} px squares): bring it closer.")
                codes.append("too_small")
            if (
                self.board.kind == "charuco"
                and len(ids) < self.board.n_corners
                and _touches_border(corners, size, 0.75 * (spacing if np.isfinite(spacing) else 10.0))
            ):
                reasons.append("Part of the board is outside the image: show the whole board.")
                codes.append("partial")
        return Detection(
            True,
            corners,
            ids,
            obj,
            size,
            sharpness=sharp,
            edge_width_px=width,
            glare=glare,
            spacing_px=spacing,
            n_markers=n_markers,
            reasons=tuple(reasons),
            codes=tuple(codes),
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        )

    def _not_found(
        self,
        gray: np.ndarray,
        small: np.ndarray,
        scale: float,
        size: tuple[int, int],
        n_markers: int,
        extra: dict,
        diagnose: Diagnose,
        t0: float,
    ) -> Detection:
        if diagnose == "none":
            return _empty(size, n_markers=n_markers, elapsed_ms=(time.perf_counter() - t0) * 1000.0)
        reasons: list[str] = []
        codes: list[str] = []
        hints: dict[str, Any] = {}
        sharp = laplacian_variance(small)
        glare = float(np.count_nonzero(small >= 250)) / max(small.size, 1)
        mean = float(small.mean())
        # The probes look at what the camera really sees: undo the board's inversion for them.
        raw_small = cv2.bitwise_not(small) if self.board.inverted else small
        raw_gray = cv2.bitwise_not(gray) if self.board.inverted else gray
        if self.board.kind == "charuco":
            self._charuco_reasons(gray, size, n_markers, extra, reasons, codes, hints)
        elif extra.get("continues"):
            hints["continues"] = list(extra["continues"])
            c, r = self.board.pattern_size
            reasons.append(
                f"The chessboard has more inner corners than the {c}x{r} of the board definition (its grid goes on "
                f"at the {' and '.join(extra['continues'])}): count the INNER corners and fix the board definition."
            )
            codes.append("wrong_size")
        if diagnose == "full" and (not codes or "continues" in hints or codes == ["few_corners"]):
            # The probes can say more (the real size, the right dictionary...): their finding replaces
            # the quick one.
            p_reasons: list[str] = []
            p_codes: list[str] = []
            if self.board.kind == "chessboard":
                self._chessboard_probe(raw_small, scale, size, p_reasons, p_codes, hints)
            else:
                self._charuco_probe(raw_gray, size, p_reasons, p_codes, hints)
            if p_codes:
                reasons[:], codes[:] = p_reasons, p_codes
        if sharp < BLUR_LAPLACIAN_MIN:
            reasons.append(
                f"The image looks blurred or out of focus (sharpness {sharp:.0f} < {BLUR_LAPLACIAN_MIN:.0f}): "
                "hold the board still, focus the camera or add light."
            )
            codes.append("blurred")
        if glare > GLARE_FRACTION_MAX:
            reasons.append(f"Strong glare ({glare:.0%} of the image saturated): move away from lamps and windows.")
            codes.append("glare")
        if mean < DARK_MEAN_MAX:
            reasons.append(f"The image is dark (mean grey {mean:.0f}): add light.")
            codes.append("too_dark")
        if not reasons:
            reasons.append(
                "No board in view: show the whole board to the camera, flat, well lit and not too far."
                if diagnose == "full"
                else "No board found: show the whole board to the camera."
            )
            codes.append("not_visible")
        return _empty(
            size,
            sharpness=sharp,
            glare=glare,
            n_markers=n_markers,
            reasons=tuple(reasons),
            codes=tuple(codes),
            hints=hints,
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        )

    def _charuco_reasons(
        self,
        gray: np.ndarray,
        size: tuple[int, int],
        n_markers: int,
        extra: dict,
        reasons: list[str],
        codes: list[str],
        hints: dict,
    ) -> None:
        """Cheap reasons from the markers the ChArUco detector did see."""
        if n_markers == 0:
            return
        mc = extra.get("marker_corners")
        mids = extra.get("marker_ids")
        pts = np.concatenate([np.asarray(m).reshape(-1, 2) for m in mc]) if mc else np.zeros((0, 2))
        sides = (
            np.array(
                [
                    np.linalg.norm(np.roll(q, -1, axis=0) - q, axis=1).mean()
                    for q in (np.asarray(m).reshape(4, 2) for m in mc)
                ]
            )
            if mc
            else np.zeros(0)
        )
        med_side = float(np.median(sides)) if len(sides) else float("nan")
        hints["marker_side_px"] = med_side
        if mids is not None and len(mids) and int(mids.max()) > self.board.max_marker_id:
            hints["max_marker_id"] = int(mids.max())
            reasons.append(
                f"Markers with ids up to {int(mids.max())} are visible but a {self.board.cols}x{self.board.rows} board "
                f"only has ids 0-{self.board.max_marker_id}: check the board's number of squares."
            )
            codes.append("wrong_size")
            return
        if np.isfinite(med_side) and med_side < 12:
            reasons.append(f"The markers are tiny ({med_side:.0f} px): bring the board closer.")
            codes.append("too_small")
            return
        if _touches_border(pts, size, 3.0):
            reasons.append("Part of the board is outside the image: show the whole board.")
            codes.append("partial")
            return
        reasons.append(
            f"Only {n_markers} marker(s) and too few corners seen: show more of the board, flat and well lit."
        )
        codes.append("few_corners")

    def _chessboard_probe(
        self,
        raw_small: np.ndarray,
        scale: float,
        size: tuple[int, int],
        reasons: list[str],
        codes: list[str],
        hints: dict,
    ) -> None:
        """Look for ArUco markers, or any chessboard (other size, partial, tiny), to explain a miss."""
        pattern = self.board.pattern_size
        family = self._marker_family(raw_small)
        if family is not None:
            hints["dictionary"] = family
            reasons.append(
                f"This is a ChArUco board (markers from {family}), not a plain chessboard: describe it as a "
                'ChArUco board (type = "charuco", squares, marker size, dictionary).'
            )
            codes.append("wrong_type")
            return
        ok, c, meta = cv2.findChessboardCornersSBWithMeta(raw_small, (3, 3), cv2.CALIB_CB_LARGER)
        if ok and meta is not None:
            rows, cols = (int(v) for v in np.asarray(meta).shape[:2])
            found = (cols, rows)
            pts = np.asarray(c).reshape(-1, 2) / scale
            spacing = _neighbour_spacing(
                pts, np.c_[np.mgrid[0:rows, 0:cols].reshape(2, -1).T[:, ::-1], np.zeros(rows * cols)], 1.0
            )
            spacing = spacing if np.isfinite(spacing) else 10.0
            fits = (cols <= pattern[0] and rows <= pattern[1]) or (cols <= pattern[1] and rows <= pattern[0])
            if sorted(found) == sorted(pattern):
                reasons.append("The board is barely detectable: hold it flatter and closer, in even light.")
                codes.append("few_corners")
            elif fits and _touches_border(pts, size, 1.2 * spacing):
                hints["found_pattern"] = found
                reasons.append(
                    f"Only part of the board is in the image ({cols}x{rows} inner corners visible): "
                    "show the whole board."
                )
                codes.append("partial")
            else:
                hints["found_pattern"] = found
                reasons.append(
                    f"The footage shows a chessboard with {cols}x{rows} inner corners, but the board definition "
                    f"says {pattern[0]}x{pattern[1]}: count the INNER corners and fix the board definition."
                )
                codes.append("wrong_size")
            return
        if max(raw_small.shape) <= 1000:
            up = cv2.resize(raw_small, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
            ok, _ = cv2.findChessboardCorners(up, pattern, _CLASSIC_FLAGS | cv2.CALIB_CB_FAST_CHECK)
            if ok:
                reasons.append("The board is too small in the image: bring it closer to the camera.")
                codes.append("too_small")

    def _marker_family(self, gray: np.ndarray, min_markers: int = 3) -> str | None:
        """The ArUco dictionary (smallest of its family holding the ids seen) with the most markers in
        ``gray`` or its inverse, or None."""
        best: tuple[int, str, int] | None = None
        for img in (gray, cv2.bitwise_not(gray)):  # the other polarity only when this one shows nothing
            for name in PROBE_DICTIONARIES:
                _, ids, _ = self._aruco_detector(name).detectMarkers(img)
                n = 0 if ids is None else len(ids)
                if n >= min_markers and (best is None or n > best[0]):
                    best = (n, name, int(np.asarray(ids).max()))
            if best is not None:
                break
        return None if best is None else smallest_dictionary_for(best[1], best[2])

    def _aruco_detector(self, name: str) -> cv2.aruco.ArucoDetector:
        if name not in self._aruco:
            dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARIES[name])
            self._aruco[name] = cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters())
        return self._aruco[name]

    def _charuco_probe(
        self, raw_gray: np.ndarray, size: tuple[int, int], reasons: list[str], codes: list[str], hints: dict
    ) -> None:
        """Try the other polarity, other dictionaries, a swapped or legacy layout, a plain chessboard and a
        2x upscale."""
        board = self.board
        flipped = cv2.bitwise_not(raw_gray)
        normal = flipped if board.inverted else raw_gray  # what the board's own detector was given
        other = raw_gray if board.inverted else flipped
        own = self._aruco_detector(board.dictionary)
        _, ids_other, _ = own.detectMarkers(other)
        _, ids_own, _ = own.detectMarkers(normal)
        n_other = 0 if ids_other is None else len(ids_other)
        n_own = 0 if ids_own is None else len(ids_own)
        if n_other >= 2 and n_other > n_own:
            want = not board.inverted
            hints["inverted"] = want
            reasons.append(
                "The board is printed inverted (white on black): set inverted = true in the board file."
                if want
                else "The board is NOT printed inverted: set inverted = false in the board file."
            )
            codes.append("inverted" if want else "not_inverted")
            return
        family = self._marker_family(raw_gray, min_markers=2)
        own_family = board.dictionary.rsplit("_", 1)[0]
        if family is not None and family.rsplit("_", 1)[0] != own_family:
            hints["dictionary"] = family
            reasons.append(
                f"The markers are from {family} (or any larger {family.rsplit('_', 1)[0]}_ dictionary), not "
                f'{board.dictionary}: set dictionary = "{family}" in the board file.'
            )
            codes.append("wrong_dictionary")
            return
        if n_own >= 2:
            max_id = int(np.asarray(ids_own).max())
            if max_id > board.max_marker_id:
                hints["max_marker_id"] = max_id
                reasons.append(
                    f"Markers with ids up to {max_id} are visible but a {board.cols}x{board.rows} board only has "
                    f"ids 0-{board.max_marker_id}: check the board's number of squares."
                )
                codes.append("wrong_size")
                return
            for change, text, code in (
                (
                    {"cols": board.rows, "rows": board.cols},
                    f"The board is {board.rows}x{board.cols} squares, not {board.cols}x{board.rows}: swap columns "
                    "and rows in the board file.",
                    "wrong_size",
                ),
                (
                    {"legacy": not board.legacy},
                    f"The board uses the {'legacy' if not board.legacy else 'current'} OpenCV layout: set "
                    f"legacy_pattern = {'true' if not board.legacy else 'false'} in the board file.",
                    "legacy",
                ),
            ):
                alt = self._make_charuco(board.with_changes(**change))
                _, ci, _, _ = alt.detectBoard(normal)
                if ci is not None and len(ci) >= self.min_corners:
                    hints.update(change)
                    reasons.append(text)
                    codes.append(code)
                    return
            return
        small = raw_gray
        s = min(1.0, self.search_side / max(size))
        if s < 1.0:
            small = cv2.resize(raw_gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        ok, _, meta = cv2.findChessboardCornersSBWithMeta(small, (3, 3), cv2.CALIB_CB_LARGER)
        if ok and meta is not None:
            rows, cols = (int(v) for v in np.asarray(meta).shape[:2])
            hints["found_pattern"] = (cols, rows)
            reasons.append(
                f"This is a plain chessboard ({cols}x{rows} inner corners seen), not a ChArUco board: describe it as "
                f"a chessboard, e.g. chessboard:{cols}x{rows}:SQUARE_M."
            )
            codes.append("wrong_type")
            return
        if max(size) <= 1400:
            up = cv2.resize(normal, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
            _, ids_up, _ = own.detectMarkers(up)
            if ids_up is not None and len(ids_up) >= 2:
                reasons.append("The board is too small in the image: bring it closer to the camera.")
                codes.append("too_small")


def _washed_out_fraction(gray: np.ndarray, corners: np.ndarray, spacing: float) -> float:
    """Fraction of corners whose neighbourhood has no dark pixel (a dark square lost in glare)."""
    if not len(corners):
        return 0.0
    r = int(np.clip(0.25 * spacing if np.isfinite(spacing) else 3, 1, 15))
    h, w = gray.shape
    xy = np.rint(corners).astype(int)
    x0, y0 = np.clip(xy.min(axis=0) - r, 0, [w - 1, h - 1])
    x1, y1 = np.clip(xy.max(axis=0) + r + 1, 1, [w, h])
    roi = gray[y0:y1, x0:x1]
    darkest = cv2.erode(roi, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    px = np.clip(xy[:, 0] - x0, 0, roi.shape[1] - 1)
    py = np.clip(xy[:, 1] - y0, 0, roi.shape[0] - 1)
    return float(np.mean(darkest[py, px] >= 200))


def grid_continues(gray: np.ndarray, corners: np.ndarray, pattern: tuple[int, int]) -> list[str]:
    """Sides (``"top"``, ``"bottom"``, ``"left"``, ``"right"``) beyond which the chessboard grid goes on.

    One square beyond each outer row/column of a complete board lies its plain margin; if most of the
    extrapolated positions there are X-junctions (opposite quadrants alike, neighbouring quadrants
    different) the detection is a sub-grid of a larger board. Positions outside the image are ignored.
    """
    cols, rows = pattern
    if cols < 2 or rows < 2:
        return []
    g = corners.reshape(rows, cols, 2)
    sides = {
        "top": (g[0], g[0] - g[1]),
        "bottom": (g[-1], g[-1] - g[-2]),
        "left": (g[:, 0], g[:, 0] - g[:, 1]),
        "right": (g[:, -1], g[:, -1] - g[:, -2]),
    }
    h, w = gray.shape
    img = gray.astype(np.float32)
    out = []
    for name, (edge, step) in sides.items():
        p = edge + step  # (M, 2) next corner positions if the grid went on
        along = np.gradient(edge, axis=0)  # (M, 2) direction along the edge
        u, v = 0.3 * step, 0.3 * along
        quads = np.stack([p + u + v, p - u - v, p + u - v, p - u + v])  # (4, M, 2)
        inside = np.all(
            (quads[..., 0] >= 1) & (quads[..., 0] < w - 2) & (quads[..., 1] >= 1) & (quads[..., 1] < h - 2), axis=0
        )
        if inside.sum() < max(2, 0.5 * len(p)):
            continue
        vals = cv2.remap(
            img, quads[..., 0].astype(np.float32), quads[..., 1].astype(np.float32), cv2.INTER_LINEAR
        )  # (4, M)
        a, b = 0.5 * (vals[0] + vals[1]), 0.5 * (vals[2] + vals[3])
        contrast = np.abs(a - b)
        same = np.maximum(np.abs(vals[0] - vals[1]), np.abs(vals[2] - vals[3]))
        x_junction = (contrast > 40) & (contrast > 2.0 * same)
        if x_junction[inside].mean() >= 0.6:
            out.append(name)
    return out


def _sample(gray: np.ndarray, xy: np.ndarray, r: int = 2) -> float:
    """Mean grey level in a (2r+1)^2 patch around ``xy`` (NaN when outside the image)."""
    x, y = int(round(float(xy[0]))), int(round(float(xy[1])))
    h, w = gray.shape
    if x - r < 0 or y - r < 0 or x + r >= w or y + r >= h:
        return float("nan")
    return float(gray[y - r : y + r + 1, x - r : x + r + 1].mean())


def detect_board(image: np.ndarray, board: Board, *, thorough: bool = True, diagnose: Diagnose = "full") -> Detection:
    """One-off detection (builds a detector each call; use :class:`BoardDetector` for streams)."""
    return BoardDetector(board, thorough=thorough).detect(image, diagnose=diagnose)


def draw_detection(image: np.ndarray, det: Detection, color: tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """A BGR copy of ``image`` with the detected corners drawn (for previews and debugging)."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    r = max(2, int(round(max(out.shape[:2]) / 300)))
    for (x, y), i in zip(det.corners, det.ids):
        cv2.circle(out, (int(round(x)), int(round(y))), r, color, -1, cv2.LINE_AA)
        if i == 0:
            cv2.circle(out, (int(round(x)), int(round(y))), 3 * r, (0, 0, 255), 2, cv2.LINE_AA)
    return out
