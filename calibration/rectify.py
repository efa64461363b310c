"""Rectification of a calibrated camera pair, for the results preview: :class:`Rectifier`. No Qt.

After rectification a scene point lies on the same image ROW in both images (the same column for cameras
stacked vertically). Pixels are full-resolution pixels of the calibrated image size; images are BGR
``(H, W, 3)`` uint8.
"""

from __future__ import annotations

import cv2
import numpy as np

from calibration.detect import Detection
from core.camera import CameraGroup, relative_pose

#: Epipolar line colours (BGR), alternating.
LINE_COLOURS = ((80, 220, 255), (255, 170, 60))
#: Corner colours (BGR) of camera 1 and camera 2.
CORNER_COLOURS = ((90, 240, 90), (240, 90, 240))
#: Grey (0-255) of the gap between the two rectified images.
GAP_GREY = 24


class Rectifier:
    """Rectification of a calibrated pair: after it, a scene point lies on the same image ROW in both images
    (on the same column for cameras stacked vertically: ``vertical``).

    The rotations come from ``cv2.stereoRectify``. Its own projections suit nearly parallel cameras; for
    strongly converging ones (rectification then stretches the images a lot) :meth:`compose` aims the
    projections at the board of the pair shown: one focal length and one row origin for both cameras
    (required for equal rows), each camera's column origin centring its board.
    """

    def __init__(self, group: CameraGroup) -> None:
        c0, c1 = group[0], group[1]
        R, t = relative_pose(c0, c1)
        self.size = (int(c0.size[0]), int(c0.size[1]))
        R1, R2, P1, P2, _, _, _ = cv2.stereoRectify(
            c0.K, c0.dist, c1.K, c1.dist, self.size, R, t.reshape(3, 1), flags=cv2.CALIB_ZERO_DISPARITY, alpha=0
        )
        self.vertical = bool(abs(P2[1, 3]) > abs(P2[0, 3]))
        self._R = (R1, R2)
        self._default_P = (P1[:, :3].copy(), P2[:, :3].copy())
        self._cams = (c0, c1)
        self._maps: dict[tuple, tuple] = {}

    def _normalised(self, cam: int, uv: np.ndarray) -> np.ndarray:
        c = self._cams[cam]
        pts = uv.reshape(-1, 1, 2).astype(np.float64)
        return cv2.undistortPoints(pts, c.K, c.dist, R=self._R[cam]).reshape(-1, 2)

    def projections(
        self, det0: Detection | None = None, det1: Detection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two rectified camera matrices ``(3, 3)`` used for a pair (the default ones when they show
        the board at a sensible scale, else ones aimed at the board)."""
        if det0 is None or det1 is None or not det0.found or not det1.found:
            return self._default_P
        w, h = self.size
        n0, n1 = self._normalised(0, det0.corners), self._normalised(1, det1.corners)
        ok = True
        for P, n, c in zip(self._default_P, (n0, n1), self._cams):
            uv = n @ P[:2, :2].T + P[:2, 2]
            scale = P[0, 0] / c.K[0, 0]
            inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
            ok &= bool(inside.all()) and 0.4 <= scale <= 2.5
        if ok:
            return self._default_P
        across, along = (1, 0) if not self.vertical else (0, 1)  # across: the shared (row) axis
        both = np.concatenate([n0, n1])
        span_across = float(np.ptp(both[:, across])) or 1e-3
        span_along = max(float(np.ptp(n0[:, along])), float(np.ptp(n1[:, along]))) or 1e-3
        extent = (w, h)
        f = min(
            float(self._cams[0].K[0, 0]),
            0.6 * extent[across] / span_across,
            0.6 * extent[along] / span_along,
        )
        mid_across = 0.5 * (both[:, across].min() + both[:, across].max())
        out = []
        for n in (n0, n1):
            mid_along = 0.5 * (n[:, along].min() + n[:, along].max())
            P = np.array([[f, 0.0, 0.0], [0.0, f, 0.0], [0.0, 0.0, 1.0]])
            P[across, 2] = extent[across] / 2 - f * mid_across
            P[along, 2] = extent[along] / 2 - f * mid_along
            out.append(P)
        return out[0], out[1]

    def _map(self, cam: int, P: np.ndarray) -> tuple:
        key = (cam, P.tobytes())
        if key not in self._maps:
            if len(self._maps) > 8:
                self._maps.clear()
            c = self._cams[cam]
            self._maps[key] = cv2.initUndistortRectifyMap(c.K, c.dist, self._R[cam], P, self.size, cv2.CV_16SC2)
        return self._maps[key]

    def points(self, cam: int, uv: np.ndarray, P: np.ndarray | None = None) -> np.ndarray:
        """Distorted pixels ``(N, 2)`` of camera ``cam`` -> rectified pixels ``(N, 2)`` (with projection ``P``)."""
        if not len(uv):
            return np.zeros((0, 2))
        P = self._default_P[cam] if P is None else P
        return self._normalised(cam, uv) @ P[:2, :2].T + P[:2, 2]

    def row_error(self, det0: Detection, det1: Detection) -> float:
        """Mean |row difference| (px, at the preview's scale) of the corners both cameras saw, after
        rectification (columns for a vertical rig)."""
        common, i0, i1 = np.intersect1d(det0.ids, det1.ids, return_indices=True)
        if not len(common):
            return float("nan")
        P0, P1 = self.projections(det0, det1)
        a = self.points(0, det0.corners[i0], P0)
        b = self.points(1, det1.corners[i1], P1)
        axis = 0 if self.vertical else 1
        return float(np.mean(np.abs(a[:, axis] - b[:, axis])))

    def compose(
        self,
        img0: np.ndarray,
        img1: np.ndarray,
        det0: Detection | None = None,
        det1: Detection | None = None,
        step_px: int = 40,
    ) -> np.ndarray:
        """Both images rectified side by side (stacked for a vertical rig) with epipolar lines every
        ``step_px`` px and the detected corners: BGR ``(h, 2w + gap, 3)`` (``(2h + gap, w, 3)`` stacked)."""
        P0, P1 = self.projections(det0, det1)
        r0 = cv2.remap(img0, *self._map(0, P0), cv2.INTER_LINEAR)
        r1 = cv2.remap(img1, *self._map(1, P1), cv2.INTER_LINEAR)
        out, offsets = self._side_by_side(r0, r1)
        self._draw_lines(out, step_px)
        w, h = self.size
        r = max(3, round(max(w, h) / 250))
        for cam, det, P in ((0, det0, P0), (1, det1, P1)):
            if det is None or not det.found:
                continue
            ox, oy = offsets[cam]
            for x, y in self.points(cam, det.corners, P):
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(out, (round(x + ox), round(y + oy)), r, CORNER_COLOURS[cam], -1, cv2.LINE_AA)
        return out

    def _side_by_side(self, r0: np.ndarray, r1: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """The two rectified images in one canvas (stacked for a vertical rig) and each one's ``(x, y)`` offset."""
        w, h = self.size
        gap = 6
        if self.vertical:
            out = np.full((2 * h + gap, w, 3), GAP_GREY, np.uint8)
            out[:h], out[h + gap :] = r0, r1
            return out, [(0, 0), (0, h + gap)]
        out = np.full((h, 2 * w + gap, 3), GAP_GREY, np.uint8)
        out[:, :w], out[:, w + gap :] = r0, r1
        return out, [(0, 0), (w + gap, 0)]

    def _draw_lines(self, out: np.ndarray, step_px: int) -> None:
        """Epipolar lines every ``step_px`` px across the canvas (rows; columns for a vertical rig)."""
        w, h = self.size
        thick = max(1, round(max(w, h) / 900))
        if self.vertical:
            for k, x in enumerate(range(step_px // 2, w, step_px)):
                cv2.line(out, (x, 0), (x, out.shape[0] - 1), LINE_COLOURS[k % 2], thick, cv2.LINE_AA)
        else:
            for k, y in enumerate(range(step_px // 2, h, step_px)):
                cv2.line(out, (0, y), (out.shape[1] - 1, y), LINE_COLOURS[k % 2], thick, cv2.LINE_AA)
