"""Keep only the views that add information, and say why a view was rejected.

A view is kept when the board was found with enough corners, it is sharp and free of glare, it is
not a near-duplicate of a kept view, and (when ``require_novelty``) it adds something: image area
not covered yet (on a coarse grid), a new board tilt, or a new distance. The count is capped
(``max_views``, 40 by default) so the solve stays fast.

Board pose for the tilt/distance bins comes from ``solvePnP`` (IPPE, planar) with a rough camera
matrix (focal length 0.8 x the image's long side) until :meth:`ViewSelector.set_camera_matrix` gives
a better one (e.g. from a running calibration).

Everything is cheap (well under a millisecond per view) and a selector's :meth:`state` returns an
immutable snapshot for a UI: counters, coverage %, a coverage heat-map grid, tilt diversity and advice.
Selectors are not thread-safe: feed one from one thread and pass the snapshots around.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from calibration.boards import Board
from calibration.detect import Detection

#: Tilt bins: frontal (< 12 deg), then {12-30, > 30 deg} x {left, right, up, down}.
TILT_BINS = 9
_TILT_FRONTAL_DEG = 12.0
_TILT_STRONG_DEG = 30.0
#: Distance bins are this ratio wide (log scale).
_DISTANCE_RATIO = 1.3
_DIRECTIONS = ("left", "right", "up", "down")
#: A view is a new pose when it differs from every kept view by this tilt or this distance ratio.
_NOVEL_TILT_DEG = 8.0
_NOVEL_DISTANCE_RATIO = 1.15


@dataclass(frozen=True)
class ViewPose:
    """Rough board pose: tilt (deg from facing the camera), tilt direction, distance (m)."""

    tilt_deg: float
    direction: str
    distance_m: float
    tilt_bin: int
    distance_bin: int
    normal: tuple[float, float, float] = (0.0, 0.0, -1.0)
    """Board normal in the camera frame, pointing back at the camera (unit)."""


@dataclass(frozen=True)
class ViewDecision:
    """What a selector did with one view. ``code`` is stable for UIs; ``reason`` is for people."""

    accepted: bool
    code: str
    reason: str
    new_cells: int = 0
    new_tilt: bool = False
    new_distance: bool = False
    pose: ViewPose | None = None
    new_pose: bool = False
    """Tilt >= 8 deg or distance >= 15 % away from every kept view."""


@dataclass(frozen=True)
class SelectionState:
    """A snapshot of a selector for a live UI.

    ``heatmap`` ``(gy, gx)``: number of kept views covering each grid cell (row 0 = top of the image).
    ``coverage``: fraction of cells covered (0..1). ``tilt_diversity``: fraction of the 9 tilt bins
    used. ``rejected``: counts per rejection code. ``advice``: the one thing to do next.
    """

    views_kept: int
    max_views: int
    min_views: int
    frames_seen: int
    frames_found: int
    coverage: float
    heatmap: np.ndarray
    tilt_diversity: float
    tilt_bins: tuple[int, ...]
    distance_bins: int
    distance_range_m: tuple[float, float]
    last: ViewDecision | None
    rejected: dict[str, int] = field(default_factory=dict)
    advice: str = ""

    @property
    def ready(self) -> bool:
        """Enough views to solve."""
        return self.views_kept >= self.min_views

    def to_json(self) -> dict:
        return {
            "views_kept": self.views_kept,
            "max_views": self.max_views,
            "frames_seen": self.frames_seen,
            "frames_found": self.frames_found,
            "coverage": round(self.coverage, 4),
            "tilt_diversity": round(self.tilt_diversity, 4),
            "distance_bins": self.distance_bins,
            "rejected": dict(self.rejected),
            "advice": self.advice,
        }


def grid_shape(image_size: tuple[int, int], long_cells: int = 8) -> tuple[int, int]:
    """``(gy, gx)`` cells of the coverage grid: ``long_cells`` along the long side, about square cells."""
    w, h = image_size
    if w >= h:
        return (max(3, round(long_cells * h / w)), long_cells)
    return (long_cells, max(3, round(long_cells * w / h)))


def coverage_grid(views: Sequence[Detection], image_size: tuple[int, int], long_cells: int = 8) -> np.ndarray:
    """``(gy, gx)`` number of ``views`` whose board (convex hull of its corners) covers each grid cell."""
    gy, gx = grid_shape(image_size, long_cells)
    w, h = image_size
    heat = np.zeros((gy, gx))
    scale = np.array([gx / w, gy / h])
    for v in views:
        if not v.n:
            continue
        mask = np.zeros((gy, gx), np.uint8)
        pts = v.corners * scale
        if len(pts) >= 3:
            hull = cv2.convexHull(np.round((pts - 0.5) * 16).astype(np.int32))
            cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
        idx = np.clip(np.floor(pts).astype(int), 0, [gx - 1, gy - 1])
        mask[idx[:, 1], idx[:, 0]] = 1
        heat += mask
    return heat


def rough_camera_matrix(image_size: tuple[int, int]) -> np.ndarray:
    """A plausible K for a webcam/phone: f = 0.8 x the long side, principal point at the centre."""
    w, h = image_size
    f = 0.8 * max(w, h)
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])


def board_pose(det: Detection, K: np.ndarray, dist: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Board-to-camera ``(R (3, 3), t (3,))`` metres from one detection, or None if it fails."""
    if det.n < 4:
        return None
    ok, rvec, tvec = cv2.solvePnP(
        det.object_points.astype(np.float64),
        det.corners.astype(np.float64),
        np.asarray(K, np.float64),
        None if dist is None else np.asarray(dist, np.float64),
        flags=cv2.SOLVEPNP_IPPE,
    )
    if not ok or not np.all(np.isfinite(tvec)):
        return None
    return cv2.Rodrigues(rvec)[0], tvec.ravel()


def view_pose(det: Detection, K: np.ndarray, dist: np.ndarray | None = None) -> ViewPose | None:
    """Tilt, tilt direction and distance of the board in one view (None if the pose fails)."""
    pose = board_pose(det, K, dist)
    if pose is None:
        return None
    R, t = pose
    centre = R @ det.object_points.mean(axis=0) + t
    distance = float(np.linalg.norm(centre))
    if not np.isfinite(distance) or distance <= 0 or centre[2] <= 0:
        return None
    n = R[:, 2]
    n = n if n[2] < 0 else -n  # normal pointing back at the camera
    tilt = float(np.degrees(np.arccos(np.clip(-n[2], -1.0, 1.0))))
    if abs(n[0]) >= abs(n[1]):
        direction = "left" if n[0] < 0 else "right"
    else:
        direction = "up" if n[1] < 0 else "down"
    if tilt < _TILT_FRONTAL_DEG:
        tilt_bin = 0
    else:
        tilt_bin = 1 + _DIRECTIONS.index(direction) + (4 if tilt >= _TILT_STRONG_DEG else 0)
    distance_bin = int(math.floor(math.log(distance) / math.log(_DISTANCE_RATIO)))
    return ViewPose(tilt, direction, distance, tilt_bin, distance_bin, (float(n[0]), float(n[1]), float(n[2])))


class _Tracker:
    """Coverage, pose bins and kept corners of one camera."""

    def __init__(self, image_size: tuple[int, int], board: Board, long_cells: int) -> None:
        self.size = (int(image_size[0]), int(image_size[1]))
        self.board = board
        self.grid = grid_shape(self.size, long_cells)
        self.heat = np.zeros(self.grid, dtype=np.float64)
        self.K = rough_camera_matrix(self.size)
        self.dist: np.ndarray | None = None
        self.tilt_bins: Counter[int] = Counter()
        self.distance_bins: Counter[int] = Counter()
        self.distances: list[float] = []
        self.normals = np.zeros((0, 3))  # (V, 3) board normals of kept views with a pose
        self.logd = np.zeros(0)  # (V,) log distances of the same views
        self.kept = np.zeros((0, board.n_corners, 2))  # (V, N, 2), NaN where a corner was not seen
        self.diag = float(np.hypot(*self.size))

    def fresh(self) -> _Tracker:
        """An empty tracker with the same image size, board, grid and camera matrix."""
        t = _Tracker(self.size, self.board, max(self.grid))
        t.grid = self.grid
        t.heat = np.zeros(self.grid, dtype=np.float64)
        t.K, t.dist = self.K, self.dist
        return t

    def cells(self, det: Detection) -> np.ndarray:
        """``(gy, gx)`` bool mask of the grid cells the board covers in this view."""
        return coverage_grid([det], self.size, max(self.grid)) > 0

    def duplicate_of(self, det: Detection, threshold: float) -> int | None:
        """Index of a kept view this one nearly repeats (mean corner shift < threshold x diagonal)."""
        if not len(self.kept) or not det.n:
            return None
        cur = np.full((self.board.n_corners, 2), np.nan)
        cur[det.ids] = det.corners
        diff = np.linalg.norm(self.kept - cur[None], axis=-1)  # (V, N)
        common = np.isfinite(diff).sum(axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(np.isfinite(diff), diff, np.nan), axis=1) if diff.size else diff
        ok = (common >= 0.6 * det.n) & (common >= 4)
        if not ok.any():
            return None
        cand = np.where(ok, mean, np.inf)
        best = int(np.argmin(cand))
        return best if cand[best] < threshold * self.diag else None

    def commit(self, det: Detection, cells: np.ndarray, pose: ViewPose | None) -> None:
        self.heat += cells
        cur = np.full((1, self.board.n_corners, 2), np.nan)
        cur[0, det.ids] = det.corners
        self.kept = np.concatenate([self.kept, cur])
        if pose is not None:
            self.tilt_bins[pose.tilt_bin] += 1
            self.distance_bins[pose.distance_bin] += 1
            self.distances.append(pose.distance_m)
            self.normals = np.concatenate([self.normals, np.asarray(pose.normal)[None]])
            self.logd = np.append(self.logd, math.log(pose.distance_m))

    def pose_novel(self, pose: ViewPose | None) -> bool:
        """True when no kept view has both a tilt within 8 deg and a distance within 15 % of ``pose``."""
        if pose is None:
            return False
        if not len(self.logd):
            return True
        cosang = np.clip(self.normals @ np.asarray(pose.normal), -1.0, 1.0)
        dtheta = np.degrees(np.arccos(cosang)) / _NOVEL_TILT_DEG
        dlog = np.abs(self.logd - math.log(pose.distance_m)) / math.log(_NOVEL_DISTANCE_RATIO)
        return bool(np.min(np.maximum(dtheta, dlog)) >= 1.0)

    def coverage(self) -> float:
        return float(np.count_nonzero(self.heat)) / self.heat.size

    def advice(self) -> str:
        """What would add most: an uncovered image region, a missing tilt, another distance."""
        gy, gx = self.grid
        if self.coverage() < 0.6:
            ys = np.array_split(np.arange(gy), 3)
            xs = np.array_split(np.arange(gx), 3)
            names = (
                ("top-left corner", "top edge", "top-right corner"),
                ("left edge", "centre", "right edge"),
                ("bottom-left corner", "bottom edge", "bottom-right corner"),
            )
            best, where = None, ""
            for i, yy in enumerate(ys):
                for j, xx in enumerate(xs):
                    cov = float(np.count_nonzero(self.heat[np.ix_(yy, xx)])) / (len(yy) * len(xx))
                    if best is None or cov < best:
                        best, where = cov, names[i][j]
            return f"Move the board to the {where} of the image (not covered yet; see the heat map)."
        used = set(self.tilt_bins)
        if len(used) < 5:
            for k, d in enumerate(_DIRECTIONS):
                if 1 + k not in used and 5 + k not in used:
                    return f"Tilt the board about 30 degrees to the {d} (a new angle helps the focal length)."
        if len(self.distance_bins) < 2:
            return "Show the board at another distance (closer, then farther)."
        return ""


class ViewSelector:
    """Decides which single-camera views to keep for the intrinsic calibration of one camera.

    ``image_size`` ``(w, h)`` px. ``max_views``: cap. ``min_views``: fewest views to solve.
    ``duplicate_fraction``: a view whose corners moved less than this fraction of the image diagonal
    (on average) from a kept view is a near-duplicate. ``require_novelty``: also demand new coverage,
    tilt or distance (True for live video; False for a folder of deliberate photos).
    ``min_corners``: fewest corners per view.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        board: Board,
        *,
        max_views: int = 40,
        min_views: int = 8,
        min_corners: int = 6,
        duplicate_fraction: float = 0.02,
        require_novelty: bool = True,
        grid_cells: int = 8,
    ) -> None:
        self.board = board
        self.max_views = int(max_views)
        self.min_views = int(min_views)
        self.min_corners = int(min_corners)
        self.duplicate_fraction = float(duplicate_fraction)
        self.require_novelty = require_novelty
        self._t = _Tracker(image_size, board, grid_cells)
        self.views: list[Detection] = []
        self.poses: list[ViewPose | None] = []
        self.frames_seen = 0
        self.frames_found = 0
        self.rejected: Counter[str] = Counter()
        self.last: ViewDecision | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        return self._t.size

    def set_camera_matrix(self, K: np.ndarray, dist: np.ndarray | None = None) -> None:
        """Use a better camera matrix for the board poses (e.g. from :func:`quick_calibrate`)."""
        self._t.K = np.asarray(K, np.float64)
        self._t.dist = None if dist is None else np.asarray(dist, np.float64)

    def evaluate(self, det: Detection) -> ViewDecision:
        """Judge a view without keeping it."""
        return _evaluate(self._t, det, self)

    def consider(self, det: Detection) -> ViewDecision:
        """Judge a view and keep it if it adds information. Returns the decision."""
        self.frames_seen += 1
        self.frames_found += int(det.found)
        dec = self.evaluate(det)
        if dec.accepted:
            self._t.commit(det, self._t.cells(det), dec.pose)
            self.views.append(det)
            self.poses.append(dec.pose)
        else:
            self.rejected[dec.code] += 1
        self.last = dec
        return dec

    def state(self) -> SelectionState:
        """An immutable snapshot for the UI."""
        return _state(self, [self._t])

    def coverage(self) -> float:
        return self._t.coverage()

    def thin(self, k: int) -> None:
        """Keep only ``k`` views, chosen to be as different as possible (greedy farthest-point sampling on
        board position, size, tilt and distance); the coverage and pose statistics are rebuilt."""
        if len(self.views) <= k:
            return
        feats = np.stack([view_features(v, p) for v, p in zip(self.views, self.poses)])
        keep = diverse_subset(feats, k, first=int(np.argmax([v.n for v in self.views])))
        views = [self.views[i] for i in keep]
        self._t = self._t.fresh()
        self.views, self.poses = [], []
        for v in views:
            pose = view_pose(v, self._t.K, self._t.dist)
            self._t.commit(v, self._t.cells(v), pose)
            self.views.append(v)
            self.poses.append(pose)


def view_features(det: Detection, pose: ViewPose | None) -> np.ndarray:
    """``(6,)`` features for diversity: board centre (x, y as image fractions), sqrt of its area fraction,
    normal (x, y) and half the log2 distance (zeros for the pose terms when there is no pose)."""
    w, h = det.image_size
    c = det.corners.mean(axis=0) if det.n else np.array([w / 2, h / 2])
    n = np.asarray(pose.normal) if pose is not None else np.zeros(3)
    logd = math.log2(pose.distance_m) if pose is not None else 0.0
    return np.array([c[0] / w, c[1] / h, math.sqrt(det.area_fraction()), n[0], n[1], 0.5 * logd])


def diverse_subset(features: np.ndarray, k: int, first: int = 0) -> list[int]:
    """Greedy farthest-point sampling: ``k`` row indices of ``features`` ``(V, D)`` spread as widely as
    possible (starting with row ``first``), in increasing order."""
    V = len(features)
    if k >= V:
        return list(range(V))
    chosen = [first]
    dmin = np.linalg.norm(features - features[first], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dmin))
        chosen.append(nxt)
        dmin = np.minimum(dmin, np.linalg.norm(features - features[nxt], axis=1))
    return sorted(chosen)


def _evaluate(t: _Tracker, det: Detection, sel: ViewSelector | PairSelector) -> ViewDecision:
    if det.image_size != t.size:
        return ViewDecision(
            False,
            "wrong_size",
            f"This frame is {det.image_size[0]}x{det.image_size[1]} but the camera was {t.size[0]}x{t.size[1]}.",
        )
    if not det.found:
        return ViewDecision(False, "not_found", det.message or "No board found.")
    if det.n < sel.min_corners:
        return ViewDecision(False, "too_few_corners", f"Only {det.n} corners: show more of the board.")
    for code in ("blurred", "glare", "too_small"):
        if code in det.codes:
            return ViewDecision(False, code, det.message)
    if len(sel.views) >= sel.max_views:
        return ViewDecision(False, "full", f"Enough views ({sel.max_views}): calibrate now.")
    dup = t.duplicate_of(det, sel.duplicate_fraction)
    if dup is not None:
        return ViewDecision(False, "duplicate", "Same as a kept view: move or tilt the board.")
    pose = view_pose(det, t.K, t.dist)
    cells = t.cells(det)
    new_cells = int(np.count_nonzero(cells & (t.heat == 0)))
    new_tilt = pose is not None and pose.tilt_bin not in t.tilt_bins
    new_dist = pose is not None and pose.distance_bin not in t.distance_bins
    new_pose = t.pose_novel(pose)
    if sel.require_novelty and len(sel.views) >= 3 and not (new_cells or new_pose):
        return ViewDecision(
            False,
            "no_new_info",
            "Adds no new area, angle or distance: " + (t.advice() or "move the board elsewhere."),
            pose=pose,
        )
    what = []
    if new_cells:
        what.append(f"{new_cells} new cell(s)")
    if new_tilt:
        what.append("a new angle")
    if new_dist:
        what.append("a new distance")
    if new_pose and not (new_tilt or new_dist):
        what.append("a new pose")
    return ViewDecision(
        True,
        "accepted",
        "Kept" + (": " + ", ".join(what) if what else "."),
        new_cells,
        new_tilt,
        new_dist,
        pose,
        new_pose,
    )


def _state(sel: ViewSelector | PairSelector, trackers: Sequence[_Tracker]) -> SelectionState:
    heat = trackers[0].heat.copy()
    coverage = min(t.coverage() for t in trackers)
    bins = set(trackers[0].tilt_bins)
    dists = trackers[0].distances
    n = len(sel.views) if isinstance(sel, ViewSelector) else len(sel.pairs)
    if n >= sel.max_views:
        advice = f"Enough views ({n}): calibrate now."
    else:
        advice = ""
        for t in trackers:
            advice = t.advice()
            if advice:
                if len(trackers) > 1:
                    advice = f"Camera {trackers.index(t)}: " + advice
                break
        if not advice:
            advice = (
                f"Keep going: {sel.min_views - n} more view(s) needed."
                if n < sel.min_views
                else "Good coverage: add a few more angles or calibrate now."
            )
        elif n < sel.min_views and n == 0:
            advice = "Show the whole board to the camera" + ("s." if len(trackers) > 1 else ".")
    return SelectionState(
        views_kept=n,
        max_views=sel.max_views,
        min_views=sel.min_views,
        frames_seen=sel.frames_seen,
        frames_found=sel.frames_found,
        coverage=coverage,
        heatmap=heat,
        tilt_diversity=len(bins) / TILT_BINS,
        tilt_bins=tuple(sorted(bins)),
        distance_bins=len(trackers[0].distance_bins),
        distance_range_m=(min(dists), max(dists)) if dists else (float("nan"), float("nan")),
        last=sel.last,
        rejected=dict(sel.rejected),
        advice=advice,
    )


class PairSelector:
    """Decides which stereo pairs (the board seen by both cameras at the same instant) to keep.

    A pair needs at least ``min_corners`` corner ids seen in BOTH views; it is kept when it is not a
    near-duplicate in both cameras and (``require_novelty``) adds coverage, tilt or distance in either.
    :meth:`state` reports camera 0's heat map; :meth:`heatmaps` gives both.
    """

    def __init__(
        self,
        image_sizes: tuple[tuple[int, int], tuple[int, int]],
        board: Board,
        *,
        max_pairs: int = 40,
        min_pairs: int = 6,
        min_corners: int = 6,
        duplicate_fraction: float = 0.02,
        require_novelty: bool = True,
        grid_cells: int = 8,
        max_motion_px: float | None = None,
    ) -> None:
        self.board = board
        self.max_motion_px = max_motion_px
        self.max_views = int(max_pairs)
        self.min_views = int(min_pairs)
        self.min_corners = int(min_corners)
        self.duplicate_fraction = float(duplicate_fraction)
        self.require_novelty = require_novelty
        self._t = (_Tracker(image_sizes[0], board, grid_cells), _Tracker(image_sizes[1], board, grid_cells))
        self.pairs: list[tuple[Detection, Detection]] = []
        self.views = self.pairs  # for the shared checks
        self.poses: list[tuple[ViewPose | None, ViewPose | None]] = []
        self.frames_seen = 0
        self.frames_found = 0
        self.rejected: Counter[str] = Counter()
        self.last: ViewDecision | None = None

    def set_camera_matrix(self, cam: int, K: np.ndarray, dist: np.ndarray | None = None) -> None:
        self._t[cam].K = np.asarray(K, np.float64)
        self._t[cam].dist = None if dist is None else np.asarray(dist, np.float64)

    def consider(self, det0: Detection, det1: Detection, motion_px: float | None = None) -> ViewDecision:
        """Judge a pair and keep it if it adds information.

        ``motion_px``: how far the board moved since the previous frame (the larger of the two cameras, px);
        above ``max_motion_px`` the pair is rejected as "moving" (unsynchronised webcams expose a moving
        board at different instants, which shows up as stereo error).
        """
        self.frames_seen += 1
        both = det0.found and det1.found
        self.frames_found += int(both)
        dec = self._evaluate(det0, det1)
        if (
            dec.accepted
            and self.max_motion_px is not None
            and motion_px is not None
            and np.isfinite(motion_px)
            and motion_px > self.max_motion_px
        ):
            dec = ViewDecision(
                False,
                "moving",
                f"Hold the board still: it moved {motion_px:.1f} px since the last frame "
                f"(at most {self.max_motion_px:g} px for a pair).",
                pose=dec.pose,
            )
        if dec.accepted:
            self._commit(det0, det1)
        else:
            self.rejected[dec.code] += 1
        self.last = dec
        return dec

    def _commit(self, det0: Detection, det1: Detection) -> None:
        c0, c1 = common_view(det0, det1)
        poses = []
        for t, d in zip(self._t, (c0, c1)):
            pose = view_pose(d, t.K, t.dist)
            t.commit(d, t.cells(d), pose)
            poses.append(pose)
        self.pairs.append((det0, det1))
        self.poses.append((poses[0], poses[1]))

    def _evaluate(self, det0: Detection, det1: Detection) -> ViewDecision:
        if not det0.found or not det1.found:
            miss = [i for i, d in enumerate((det0, det1)) if not d.found]
            msg = " ".join(f"Camera {i}: {(det0, det1)[i].message or 'no board.'}" for i in miss)
            return ViewDecision(False, "not_found", msg if len(miss) == 1 else "Neither camera sees the board. " + msg)
        c0, c1 = common_view(det0, det1)
        if c0.n < self.min_corners:
            return ViewDecision(
                False, "too_few_corners", f"Only {c0.n} corners are seen by both cameras: show the board to both."
            )
        decs = [_evaluate(t, d, _PairView(self)) for t, d in zip(self._t, (c0, c1))]
        for d in decs:
            if not d.accepted and d.code not in ("duplicate", "no_new_info"):
                return d
        if all(d.code == "duplicate" for d in decs):
            return decs[0]
        if any(d.accepted for d in decs):
            return next(d for d in decs if d.accepted)
        return decs[0]

    def state(self) -> SelectionState:
        return _state(self, list(self._t))

    def thin(self, k: int) -> None:
        """Keep only ``k`` pairs, as different as possible in both cameras (see :meth:`ViewSelector.thin`)."""
        if len(self.pairs) <= k:
            return
        commons = [common_view(a, b) for a, b in self.pairs]
        feats = np.stack(
            [
                np.concatenate([view_features(c0, p0), view_features(c1, p1)])
                for (c0, c1), (p0, p1) in zip(commons, self.poses)
            ]
        )
        keep = diverse_subset(feats, k, first=int(np.argmax([c0.n for c0, _ in commons])))
        pairs = [self.pairs[i] for i in keep]
        self._t = (self._t[0].fresh(), self._t[1].fresh())
        self.pairs.clear()
        self.poses.clear()
        for a, b in pairs:
            self._commit(a, b)

    def heatmaps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(gy, gx)`` heat maps of both cameras (copies)."""
        return self._t[0].heat.copy(), self._t[1].heat.copy()

    def coverage(self) -> tuple[float, float]:
        return self._t[0].coverage(), self._t[1].coverage()


class _PairView:
    """Adapter so a pair selector's limits feed the single-view checks."""

    def __init__(self, sel: PairSelector) -> None:
        self.min_corners = sel.min_corners
        self.max_views = sel.max_views
        self.views = sel.pairs
        self.duplicate_fraction = sel.duplicate_fraction
        self.require_novelty = sel.require_novelty


def motion_px(prev: Detection | None, cur: Detection) -> float:
    """Mean displacement (px) of the corners both detections share (NaN when there is nothing to compare)."""
    if prev is None or not prev.found or not cur.found:
        return float("nan")
    _, i0, i1 = np.intersect1d(prev.ids, cur.ids, return_indices=True)
    if len(i0) < 4:
        return float("nan")
    return float(np.mean(np.linalg.norm(prev.corners[i0] - cur.corners[i1], axis=1)))


def common_view(det0: Detection, det1: Detection) -> tuple[Detection, Detection]:
    """The two detections restricted to the corner ids both cameras saw (same order)."""
    common, i0, i1 = np.intersect1d(det0.ids, det1.ids, return_indices=True)
    if len(common) == det0.n == det1.n and np.array_equal(det0.ids, det1.ids):
        return det0, det1

    def sub(d: Detection, idx: np.ndarray) -> Detection:
        return Detection(
            d.found,
            d.corners[idx],
            d.ids[idx],
            d.object_points[idx],
            d.image_size,
            d.sharpness,
            d.edge_width_px,
            d.glare,
            d.spacing_px,
            d.n_markers,
            d.reasons,
            d.codes,
            d.hints,
            d.elapsed_ms,
        )

    return sub(det0, i0), sub(det1, i1)
