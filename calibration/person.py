"""Calibrating two cameras from a person walking around the shared view: no board. No Qt.

From the same person's 2D keypoints in both views over many frames (H36M-17 pixels and confidences):

1. **Correspondences:** every joint both views saw confidently, in every frame, undistorted with each camera's
   intrinsics (known, or a focal length from the field of view the user picks, refined later).
2. **Relative pose:** an essential matrix by RANSAC over all of them (``cv2.findEssentialMat``; a detector's
   left/right swaps are a minority and fall out as outliers), the pose by ``cv2.recoverPose``.
3. **Left/right repair:** with that provisional rig, :func:`core.swaps.fix_left_right_swaps` relabels the frames
   where one view mirrored the body, and the pose is estimated again from the repaired labels.
4. **Bundle adjustment** (:mod:`calibration.schur`) over camera 2's rotation, its direction of translation (the
   scale is not observable from images), the focal lengths when they are not known, and every 3D joint, with a
   robust loss.
5. **Scale** from the person's height as the user types it (the skeleton's standing height,
   :func:`standing_height`) or from one known distance between the cameras. The bone lengths' spread over the
   take is reported: a rigid, well-calibrated body keeps its bones.
6. **Floor and up:** up is the body's median ankle-to-head direction; the floor is under the ankles' lowest
   positions (:func:`core.skeleton.floor_below_ankles`), so the world is z = 0 on the floor, z up.

:func:`calibrate_from_keypoints` does all of it on arrays; :func:`calibrate_from_person_videos` runs the detector on
two videos first and writes the calibration TOML (the ``calibrate --from-person`` command).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calibration.engine import check_cancel, report_at
from calibration.schur import BlockProblem, solve_blocks
from core import skeleton
from core.calibration_io import save_calibration
from core.camera import Camera, CameraGroup, matrix_to_rodrigues, project_points, rodrigues_to_matrix
from core.errors import CalibrationError
from core.jobs import CancelLike, Progress
from core.swaps import fix_left_right_swaps
from core.triangulation import triangulate

#: Joints used as correspondences only above this detector confidence.
MIN_CONFIDENCE = 0.6
#: Fewest frames with the person confidently seen in both views.
MIN_FRAMES = 20
#: RANSAC inlier threshold of the essential matrix, pixels.
RANSAC_PX = 6.0
#: Robust loss scale of the bundle adjustment, pixels: about the robust spread of MediaPipe's per-frame error on real
#: footage (``docs/detector_noise.md`` of the shared data: 15-20 mm at 3.3 m with fx 1678 px, heavy-tailed).
#: Nothing is rejected outright: a hard cut (4 x the median) made cameras 03+04 of the balancing take 0.7 deg worse.
F_SCALE_PX = 8.0
#: The chain the standing height is measured along: shank, thigh (each side), pelvis-spine, spine-thorax, then
#: thorax to head top directly; the ankle joint's height above the floor is added.
_LEG = ((3, 2), (2, 1), (6, 5), (5, 4))
_TRUNK = ((0, 7), (7, 8), (8, 10))


@dataclass(frozen=True, eq=False)
class PersonCalibration:
    """A two-camera calibration from a person.

    ``group``: both cameras in the floor frame (z up, metres). ``frames``: frames used; ``correspondences`` and
    ``inliers``: joint pairs seen by both views and kept by RANSAC. ``rms_px``: the bundle adjustment's reprojection
    RMS. ``scale_source``: "height" or "distance". ``height_m``: the person's height used (or measured, with a known
    distance). ``bone_spread``: the median relative spread (std / median) of the 3D bone lengths over the take.
    ``swapped_frames``: frames where one view's left and right were relabelled. ``sigma``: 1-sigma uncertainties
    (``rotation_deg``, ``baseline_fraction``, ``f_0``, ``f_1`` px). ``coverage``: per camera, the fraction of the
    image grid the person's joints reached. ``verdict`` and ``advice`` as for a board calibration.
    """

    group: CameraGroup
    frames: int
    correspondences: int
    inliers: int
    rms_px: float
    scale_source: str
    height_m: float
    bone_spread: float
    swapped_frames: int
    sigma: dict[str, float]
    coverage: tuple[float, float]
    verdict: str
    advice: str
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def baseline_m(self) -> float:
        return float(np.linalg.norm(self.group[1].center - self.group[0].center))

    def metadata(self) -> dict[str, Any]:
        """The ``[metadata]`` table written with the calibration (metres, px, degrees)."""
        return {
            "units": "m",
            "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "solver": "person keypoints (essential matrix + bundle adjustment)",
            "board": "none: calibrated from a person",
            "error": round(float(self.rms_px), 6),
            "reprojection_rms_px": round(float(self.rms_px), 6),
            "frames": int(self.frames),
            "correspondences": int(self.correspondences),
            "scale_source": self.scale_source,
            "person_height_m": round(float(self.height_m), 4),
            "bone_length_spread": round(float(self.bone_spread), 4),
            "baseline_m": round(self.baseline_m, 6),
            "sigma_rotation_deg": _f(self.sigma.get("rotation_deg")),
            "sigma_baseline_m": _f(self.sigma.get("baseline_fraction", np.nan) * self.baseline_m),
            "verdict": self.verdict,
            "advice": self.advice,
            "world_up": "+z",
            "origin": "floor",
        }

    def save(self, path: str | os.PathLike) -> PersonCalibration:
        """Write the calibration TOML (anipose/Pose2Sim layout, metres)."""
        return replace(self, path=save_calibration(path, self.group, self.metadata()))

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "advice": self.advice,
            "out": None if self.path is None else str(self.path),
            "frames": self.frames,
            "correspondences": self.correspondences,
            "inliers": self.inliers,
            "rms_px": _f(self.rms_px),
            "baseline_m": _f(self.baseline_m),
            "scale_source": self.scale_source,
            "height_m": _f(self.height_m),
            "bone_length_spread": _f(self.bone_spread),
            "swapped_frames": self.swapped_frames,
            "coverage": [_f(c) for c in self.coverage],
            "sigma": {k: _f(v) for k, v in self.sigma.items()},
            "units": {"lengths": "m", "errors": "px", "angles": "deg"},
            "info": self.info,
        }

    def summary(self) -> str:
        s = self.sigma
        lines = [
            f"Calibration from a person {self.verdict.upper()}: {self.frames} frames, {self.inliers} of "
            f"{self.correspondences} joint pairs kept, reprojection RMS {self.rms_px:.2f} px.",
            f"Baseline {self.baseline_m:.3f} m (± {100 * s.get('baseline_fraction', np.nan):.1f} %), rotation "
            f"± {s.get('rotation_deg', np.nan):.2f} deg; scale from the {self.scale_source} "
            f"({self.height_m:.2f} m tall); bone lengths vary {100 * self.bone_spread:.1f} %.",
        ]
        if self.advice:
            lines.append("Advice: " + self.advice)
        if self.path is not None:
            lines.append(f"Saved to {self.path}")
        return "\n".join(lines)


def _f(v: float | None, nd: int = 6) -> float | None:
    if v is None or not np.isfinite(v):
        return None
    return round(float(v), nd)


# --------------------------------------------------------------------------- body measures
def standing_height(points: np.ndarray) -> float:
    """The person's standing height (points' unit) from 3D joints ``(F, 17, 3)``: the median over frames of the leg
    (shank + thigh, both sides averaged), the trunk (pelvis, spine, thorax) and thorax to head top, plus the ankle
    joint's height above the floor taken as 4.5 % of the height (anthropometric tables put the ankle joint at
    about 4 - 5 % of stature). NaN when too few joints were seen."""
    pts = np.asarray(points, np.float64)

    def length(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
        a, b = zip(*pairs)
        return np.nanmedian(np.linalg.norm(pts[:, list(a)] - pts[:, list(b)], axis=-1), axis=0)

    leg = length(_LEG)
    legs = np.array([leg[0] + leg[1], leg[2] + leg[3]])
    trunk = float(np.sum(length(_TRUNK)))
    chain = float(np.nanmean(legs)) + trunk
    return chain / (1.0 - 0.045) if np.isfinite(chain) else float("nan")


def bone_spread(points: np.ndarray) -> float:
    """How much the bones' 3D lengths vary over the frames ``(F, 17, 3)``: the median over bones of each bone's
    robust spread (1.4826 x the median absolute deviation) over its median length (NaN-aware)."""
    lengths = skeleton.bone_lengths(np.asarray(points, np.float64))  # (F, 16)
    med = np.nanmedian(lengths, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(lengths - med), axis=0)
    return float(np.nanmedian(mad / np.where(med > 0, med, np.nan)))


# --------------------------------------------------------------------------- geometry
def focal_from_fov(size: tuple[int, int], horizontal_fov_deg: float) -> float:
    """The focal length (px) of a pinhole camera whose image ``(w, h)`` spans ``horizontal_fov_deg``."""
    if not (20.0 <= horizontal_fov_deg <= 150.0):
        raise CalibrationError(
            f"a horizontal field of view of {horizontal_fov_deg:g} degrees is not plausible; use 20-150."
        )
    return 0.5 * size[0] / np.tan(np.radians(0.5 * horizontal_fov_deg))


def _normalised(uv: np.ndarray, cam: Camera) -> np.ndarray:
    """Undistorted normalised coordinates ``(N, 2)`` of pixels ``(N, 2)``."""
    pts = cv2.undistortPoints(uv.reshape(-1, 1, 2).astype(np.float64), cam.K, np.asarray(cam.dist, np.float64))
    return pts.reshape(-1, 2)


def _essential_pose(
    uv0: np.ndarray, uv1: np.ndarray, cam0: Camera, cam1: Camera
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(R, t unit, inlier mask (N,))`` of camera 1 relative to camera 0 from matched pixels ``(N, 2)``."""
    n0, n1 = _normalised(uv0, cam0), _normalised(uv1, cam1)
    f = 0.5 * (cam0.K[0, 0] + cam1.K[0, 0])
    E, mask = cv2.findEssentialMat(
        n0, n1, np.eye(3), method=cv2.RANSAC, prob=0.9999, threshold=RANSAC_PX / f, maxIters=5000
    )
    if E is None or E.shape != (3, 3):
        raise CalibrationError(
            "no consistent camera pose was found from the person's joints. Make sure both videos show the SAME "
            "person at the same time, walking over most of the shared view."
        )
    inl = mask.ravel().astype(bool)
    _, R, t, pose_mask = cv2.recoverPose(E, n0, n1, np.eye(3), mask=mask.copy())
    return R, t.ravel() / np.linalg.norm(t), inl & (pose_mask.ravel() > 0)


def _direction(t: np.ndarray) -> np.ndarray:
    """``(theta, phi)`` of a unit vector."""
    t = t / np.linalg.norm(t)
    return np.array([np.arccos(np.clip(t[2], -1, 1)), np.arctan2(t[1], t[0])])


def _unit(angles: np.ndarray) -> np.ndarray:
    th, ph = angles
    return np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])


def _bundle(
    uv: np.ndarray, cams: tuple[Camera, Camera], R: np.ndarray, t: np.ndarray, X: np.ndarray, refine_focal: bool
) -> tuple[Camera, Camera, np.ndarray, dict[str, float], float, np.ndarray]:
    """Bundle adjustment over ``[rvec (3), t direction (2), f0, f1]`` and the 3D joints ``X (N, 3)`` (camera 0's
    frame, unit baseline). ``uv`` ``(2, N, 2)`` px. Returns both cameras (camera 0 at the origin, ``|t| = 1``),
    the points, the uncertainties, the reprojection RMS (px) and each point's worse-view error ``(N,)`` px."""
    c0, c1 = cams
    g0 = np.concatenate([matrix_to_rodrigues(R), _direction(t), [c0.K[0, 0], c1.K[0, 0]]])
    n_global = len(g0)
    aspect = (c0.K[1, 1] / c0.K[0, 0], c1.K[1, 1] / c1.K[0, 0])

    def camera_pair(g: np.ndarray) -> tuple[Camera, Camera]:
        out = []
        for k, (c, f) in enumerate(((c0, g[5]), (c1, g[6]))):
            K = c.K.copy()
            K[0, 0], K[1, 1] = f, f * aspect[k]
            out.append(K)
        a = Camera(c0.name, out[0], c0.dist, np.eye(3), np.zeros(3), c0.size)
        b = Camera(c1.name, out[1], c1.dist, rodrigues_to_matrix(g[:3]), _unit(g[3:5]), c1.size)
        return a, b

    def residuals(x: np.ndarray) -> np.ndarray:
        a, b = camera_pair(x[:n_global])
        P = x[n_global:].reshape(-1, 3)
        r0 = project_points(P, a.K, a.dist, a.R, a.t) - uv[0]
        r1 = project_points(P, b.K, b.dist, b.R, b.t) - uv[1]
        return np.nan_to_num(np.stack([r0, r1], axis=1), nan=1e3).ravel()  # (N, 2 views, 2) per point

    free = np.ones(n_global + X.size, bool)
    if not refine_focal:
        free[5:7] = False
    problem = BlockProblem(residuals, n_global, 3, np.repeat(np.arange(len(X)), 4), free, point=2, f_scale=F_SCALE_PX)
    sol = solve_blocks(problem, np.concatenate([g0, X.ravel()]), max_iter=60)
    a, b = camera_pair(sol.x[:n_global])
    cov = sol.cov_global
    sigma = {
        "rotation_deg": float(np.degrees(np.sqrt(np.trace(cov[:3, :3])))),
        "direction_deg": float(np.degrees(np.sqrt(cov[3, 3] + np.sin(sol.x[3]) ** 2 * cov[4, 4]))),
        "f_0": float(np.sqrt(cov[5, 5])) if refine_focal else 0.0,
        "f_1": float(np.sqrt(cov[6, 6])) if refine_focal else 0.0,
    }
    err = np.sqrt(np.sum(sol.residuals.reshape(-1, 2, 2) ** 2, axis=2)).max(axis=1)  # (N,) worse view, px
    rms = float(np.sqrt(np.mean(np.sum(sol.residuals.reshape(-1, 2) ** 2, axis=1))))
    return a, b, sol.x[n_global:].reshape(-1, 3), sigma, rms, err


def _coverage(uv: np.ndarray, size: tuple[int, int], cells: int = 8) -> float:
    """Fraction of a ``cells``-wide grid over the image that the pixels ``(N, 2)`` reached."""
    w, h = size
    rows = max(1, round(cells * h / w))
    gx = np.clip((uv[:, 0] / w * cells).astype(int), 0, cells - 1)
    gy = np.clip((uv[:, 1] / h * rows).astype(int), 0, rows - 1)
    return float(len(np.unique(gy * cells + gx)) / (cells * rows))


def _floor_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(R_wn, t_wn)`` putting the floor at z = 0 with z up, from 3D joints ``(F, 17, 3)`` in the current world."""
    ankles = np.nanmean(points[:, list(skeleton.ANKLES)], axis=1)
    head = points[:, skeleton.JOINT_INDEX["head_top"]]
    up_vec = head - ankles
    ok = np.isfinite(up_vec).all(axis=1)
    if ok.sum() < 3:
        raise CalibrationError("the person's head and ankles were not seen often enough to find the floor.")
    v = up_vec[ok] / np.linalg.norm(up_vec[ok], axis=1, keepdims=True)
    up = np.median(v, axis=0)
    up /= np.linalg.norm(up)
    # a right-handed frame with z up and y along camera 0's viewing direction on the floor (its image x axis when
    # it looks straight down); portrait cameras make the image x axis vertical, so it is not the first choice
    y = np.array([0.0, 0.0, 1.0]) - up * up[2]
    if np.linalg.norm(y) < 0.3:
        y = np.array([1.0, 0.0, 0.0]) - up * up[0]
    y /= np.linalg.norm(y)
    x = np.cross(y, up)
    R_wn = np.stack([x, y, up])  # rows: the new axes in old coordinates
    heights = (points[:, list(skeleton.ANKLES)] @ up).ravel()
    floor = skeleton.floor_below_ankles(heights)
    centre = np.nanmedian(ankles[ok], axis=0)
    origin = centre - up * (centre @ up - (floor if floor is not None else 0.0))
    return R_wn, -R_wn @ origin


def _grade(
    rms: float, frames: int, coverage: tuple[float, float], sigma: dict[str, float], focal_spread: float = 0.0
) -> tuple[str, str]:
    """A verdict and one advice line. ``focal_spread``: the focal lengths' relative 1-sigma when they were estimated
    (0 when the lenses were given)."""
    cov = min(coverage)
    rot = sigma.get("rotation_deg", np.nan)
    if frames < MIN_FRAMES * 2 or cov < 0.2 or not np.isfinite(rot) or rot > 2.0 or rms > 12 or focal_spread > 0.05:
        level = "poor"
    elif cov < 0.35 or rot > 0.7 or rms > 6 or focal_spread > 0.02:
        level = "usable"
    else:
        level = "good"
    if focal_spread > 0.02:
        advice = (
            f"The lenses' focal lengths are uncertain here (± {100 * focal_spread:.0f} %): calibrate each lens "
            "once with a board (or give a lens calibration file), or walk longer, nearer and farther."
        )
    elif cov < 0.35:
        advice = (
            "Walk to the left and right edges, and nearer and farther from the cameras, so both views see you "
            "everywhere."
        )
    elif frames < MIN_FRAMES * 3:
        advice = "Record longer (30-60 s): more frames of the person in both views make the pose surer."
    elif rms > 6:
        advice = "The two views disagree: make sure both videos show the same person at the same moment."
    else:
        advice = ""
    return level, advice


def calibrate_from_keypoints(
    kp2d: np.ndarray,
    cam0: Camera,
    cam1: Camera,
    *,
    height_m: float | None = None,
    distance_m: float | None = None,
    refine_focal: bool = False,
    min_confidence: float = MIN_CONFIDENCE,
    progress: Progress | None = None,
    cancel: CancelLike = None,
) -> PersonCalibration:
    """Calibrate two cameras from one person's 2D joints.

    ``kp2d``: ``(2, F, 17, 3)`` H36M-17 ``[x_px, y_px, confidence]`` of the same person in both views, frame by frame
    (NaN or 0 where unseen). ``cam0``/``cam1``: the intrinsics (K px, distortion); their poses are ignored.
    ``height_m``: the person's height, metres, or ``distance_m``: the distance between the two cameras, metres (one
    of them sets the scale). ``refine_focal``: also estimate the focal lengths (when they come from a field of
    view, not a lens calibration). Raises :class:`CalibrationError` saying what to record when it cannot.
    """
    t_start = time.perf_counter()
    kp = np.asarray(kp2d, np.float64)
    if kp.ndim != 4 or kp.shape[0] != 2 or kp.shape[2] != skeleton.NUM_JOINTS or kp.shape[3] != 3:
        raise CalibrationError(f"expected keypoints of shape (2, F, 17, 3), got {kp.shape}.")
    if (height_m is None) == (distance_m is None):
        raise CalibrationError("give the person's height (--height) or the distance between the cameras (--distance).")
    scale_given = float(height_m if height_m is not None else distance_m)  # type: ignore[arg-type]
    if not (0.3 < scale_given < 50.0):
        raise CalibrationError(f"a scale of {scale_given:g} m is not plausible: give it in metres (e.g. 1.75).")
    report_at(progress, 0.05, "matching the person's joints between the views")
    pts, conf = kp[..., :2], kp[..., 2]
    seen = np.isfinite(pts).all(-1) & (conf >= min_confidence)
    frames_ok = (seen[0] & seen[1]).sum(axis=1) >= 6
    if frames_ok.sum() < MIN_FRAMES:
        raise CalibrationError(
            f"the person was seen well by both cameras in only {int(frames_ok.sum())} frame(s); at least {MIN_FRAMES} "
            "are needed (20-60 s of walking is best). Record both cameras at once with the whole person in view."
        )
    cams = (cam0.with_pose(np.eye(3), np.zeros(3)), cam1.with_pose(np.eye(3), np.zeros(3)))
    R, t, pts, conf, swapped = _pose_with_swap_repair(pts, conf, cams, min_confidence, cancel)
    check_cancel(cancel)
    report_at(progress, 0.5, "bundle adjustment of the pose and every joint")
    both = np.isfinite(pts).all(-1).all(0) & (conf >= min_confidence).all(0)  # (F, J)
    fi, ji = np.nonzero(both)
    uv = pts[:, fi, ji]  # (2, N, 2)
    # every correspondence goes in (the robust loss down-weights the bad ones): restricting the adjustment to the
    # essential matrix's RANSAC inliers kept a biased half and landed 25 degrees off on cameras 03+04 of the
    # balancing take, against 2 degrees with all of them
    start = CameraGroup([cams[0], cams[1].with_pose(R, t)])
    X0 = triangulate(uv[:, None], np.ones(uv.shape[:2])[:, None], start, reject_outlier_views=False).points[0]
    keep = np.isfinite(X0).all(axis=1)
    c0, c1, X, sigma, rms, _ = _bundle(uv[:, keep], cams, R, t, X0[keep], refine_focal)
    check_cancel(cancel)
    report_at(progress, 0.8, "scale, floor and up")
    unit = CameraGroup([c0, c1])
    tri = triangulate(pts, conf, unit, min_confidence=min_confidence, reject_outlier_views=False).points  # (F, 17, 3)
    if height_m is not None:
        h_unit = standing_height(tri)
        if not np.isfinite(h_unit) or h_unit <= 0:
            raise CalibrationError("the person's legs and trunk were not seen well enough to measure their height.")
        scale = height_m / h_unit
    else:
        scale = float(distance_m) / float(np.linalg.norm(c1.center))  # type: ignore[arg-type]
    group = CameraGroup([c0, c1.with_pose(c1.R, c1.t * scale)])
    tri = tri * scale
    R_wn, t_wn = _floor_frame(tri)
    group = group.transformed(R_wn, t_wn, origin=None)
    coverage = (_coverage(uv[0], cam0.size), _coverage(uv[1], cam1.size))
    sigma = dict(sigma, baseline_fraction=_baseline_fraction(sigma, height_m is not None, tri))
    focal_spread = max(sigma["f_0"] / c0.K[0, 0], sigma["f_1"] / c1.K[0, 0]) if refine_focal else 0.0
    verdict, advice = _grade(rms, int(frames_ok.sum()), coverage, sigma, focal_spread)
    return PersonCalibration(
        group=group,
        frames=int(frames_ok.sum()),
        correspondences=int(both.sum()),
        inliers=int(keep.sum()),
        rms_px=rms,
        scale_source="height" if height_m is not None else "distance",
        height_m=float(height_m) if height_m is not None else standing_height(tri),
        bone_spread=bone_spread(tri),
        swapped_frames=swapped,
        sigma=sigma,
        coverage=coverage,
        verdict=verdict,
        advice=advice,
        info={"seconds": round(time.perf_counter() - t_start, 3), "focal_refined": refine_focal},
    )


def _baseline_fraction(sigma: dict[str, float], from_height: bool, tri: np.ndarray) -> float:
    """The baseline's relative 1-sigma: the height estimate's spread (when the scale comes from it) and the pose's."""
    if not from_height:
        return 0.0
    legs = np.linalg.norm(tri[:, [3, 6]] - tri[:, [2, 5]], axis=-1)  # shanks: how stable a length is over the take
    rel = np.nanstd(legs) / np.nanmedian(legs) / np.sqrt(max(np.isfinite(legs).sum(), 1))
    return float(np.hypot(rel, 0.02))  # 2 %: the anthropometric ratio of the standing height to the skeleton


def _pose_with_swap_repair(
    pts: np.ndarray, conf: np.ndarray, cams: tuple[Camera, Camera], min_confidence: float, cancel: CancelLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The essential-matrix pose, then the left/right repair with that provisional rig, then the pose again."""
    both = np.isfinite(pts).all(-1).all(0) & (conf >= min_confidence).all(0)
    fi, ji = np.nonzero(both)
    R, t, _ = _essential_pose(pts[0, fi, ji], pts[1, fi, ji], *cams)
    check_cancel(cancel)
    rig = CameraGroup([cams[0], cams[1].with_pose(R, t)])
    fixed, fixed_conf, kind = fix_left_right_swaps(pts, conf, rig, min_confidence)
    swapped = int(np.sum(kind != ""))
    if swapped:
        both = np.isfinite(fixed).all(-1).all(0) & (fixed_conf >= min_confidence).all(0)
        fi, ji = np.nonzero(both)
        R, t, _ = _essential_pose(fixed[0, fi, ji], fixed[1, fi, ji], *cams)
    return R, t, fixed, fixed_conf, swapped
