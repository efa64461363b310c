"""Bundle adjustment of a two-camera board calibration: both cameras' intrinsics, their relative pose and every
board pose refined together, with a robust loss, outlier rejection, a held-out check and the uncertainty of the
result. No Qt.

The per-camera solves (``calibrateCamera``) each see one camera; the stereo solve (``stereoCalibrate``) then holds
those intrinsics fixed. On strongly distorted webcams with a board held in the middle of the view that leaves the
principal points and focal lengths poorly placed, and every error there becomes a rotation of camera 1. The
bundle adjustment lets the pairs (the same board pose seen by both cameras) pull on the intrinsics too.

Parameters (one vector): per camera ``fx, fy, cx, cy`` (px) and ``k1, k2, p1, p2, k3`` (the OpenCV model; the terms
a camera's model leaves out stay at zero), camera 1's pose relative to camera 0 (axis-angle rad, metres), and one
pose per board instant (axis-angle rad, metres; in camera 0's frame, or camera 1's for a view only camera 1 saw).
Residuals: reprojected minus detected corner, px. The Jacobian is sparse (each corner depends on its camera's 9
intrinsics, its board pose and, for camera 1, the relative pose) and is given to scipy's ``least_squares`` as
``jac_sparsity``.

Typical use (what :meth:`calibration.engine.CalibrationSession.solve` does)::

    check = adjust_stereo(pairs, singles, stereo, models=("k1k2p1p2", "k1k2p1p2"))
    check.kept, check.note, check.result.sigma["rotation_deg"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from calibration.detect import Detection
from calibration.schur import BlockProblem, BlockSolution, solve_blocks
from calibration.selection import common_view
from calibration.stereo import StereoResult, epipolar_errors, fixed_intrinsics_pose, split_heldout
from core.camera import (
    Camera,
    CameraGroup,
    convergence_angle_deg,
    distort_normalized,
    matrix_to_rodrigues,
    relative_pose,
    rodrigues_to_matrix,
)
from core.errors import CalibrationError

#: The intrinsic parameters of one camera, in the order of the parameter vector.
INTRINSIC_NAMES = ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3")
_NI = len(INTRINSIC_NAMES)
_REL = 2 * _NI  # start of the relative pose in the parameter vector
_POSES = _REL + 6  # start of the board poses
#: The distortion terms each model leaves out (held at zero).
_MODEL_FIXED = {"k1k2p1p2k3": (), "k1k2p1p2": ("k3",), "k1k2": ("p1", "p2", "k3")}
#: Robust (soft-L1) loss scale, px: residuals well under it count squared, larger ones grow linearly.
F_SCALE_PX = 1.0
#: After a first solve, a corner whose residual is above ``max(OUTLIER_FACTOR x median, OUTLIER_MIN_PX)`` is
#: dropped and the solve repeated.
OUTLIER_FACTOR = 4.0
OUTLIER_MIN_PX = 1.5
#: The refined result is kept only when it lowers the held-out epipolar error below this fraction of the stereo
#: solve's (and does not raise the held-out reprojection error).
KEEP_GAIN = 0.98


@dataclass(frozen=True, eq=False)
class BoardObservations:
    """Every corner seen, flattened over views.

    ``cam`` ``(M,)`` camera 0 or 1; ``pose`` ``(M,)`` the board-pose index; ``obj`` ``(M, 3)`` board coordinates,
    metres; ``uv`` ``(M, 2)`` detected pixels. ``frame`` ``(P,)``: the camera each board pose is expressed in (1
    for a view camera 1 saw alone, else 0); ``paired`` ``(P,)``: both cameras saw that board pose.
    """

    cam: np.ndarray
    pose: np.ndarray
    obj: np.ndarray
    uv: np.ndarray
    frame: np.ndarray
    paired: np.ndarray

    @property
    def n_poses(self) -> int:
        return len(self.frame)

    def __len__(self) -> int:
        return len(self.cam)

    @property
    def via_relative(self) -> np.ndarray:
        """``(M,)`` the corner is seen by camera 1 in a pose expressed in camera 0's frame."""
        return (self.cam == 1) & (self.frame[self.pose] == 0)

    def subset(self, keep: np.ndarray) -> BoardObservations:
        """Only the corners where ``keep`` ``(M,)`` is True (the poses keep their indices)."""
        return BoardObservations(
            self.cam[keep], self.pose[keep], self.obj[keep], self.uv[keep], self.frame, self.paired
        )


def board_observations(
    pairs: Sequence[tuple[Detection, Detection]], singles: tuple[Sequence[Detection], Sequence[Detection]] = ((), ())
) -> BoardObservations:
    """Flatten board detections: each pair (the same instant in both cameras; the corner ids both saw) is one
    board pose; each view in ``singles[c]`` (camera ``c`` alone) one more."""
    cams, poses, objs, uvs, frames, paired = [], [], [], [], [], []
    for a, b in pairs:
        c0, c1 = common_view(a, b)
        p = len(frames)
        for c, d in ((0, c0), (1, c1)):
            cams.append(np.full(d.n, c))
            poses.append(np.full(d.n, p))
            objs.append(d.object_points)
            uvs.append(d.corners)
        frames.append(0)
        paired.append(True)
    for c in (0, 1):
        for d in singles[c]:
            cams.append(np.full(d.n, c))
            poses.append(np.full(d.n, len(frames)))
            objs.append(d.object_points)
            uvs.append(d.corners)
            frames.append(c)
            paired.append(False)
    if not frames:
        return BoardObservations(
            np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0, int), np.zeros(0, bool)
        )
    return BoardObservations(
        np.concatenate(cams).astype(int),
        np.concatenate(poses).astype(int),
        np.concatenate(objs).astype(np.float64).reshape(-1, 3),
        np.concatenate(uvs).astype(np.float64).reshape(-1, 2),
        np.asarray(frames, int),
        np.asarray(paired, bool),
    )


# --------------------------------------------------------------------------- the model
def _intrinsics_vector(cam: Camera) -> np.ndarray:
    K, d = cam.K, np.zeros(5)
    d[: len(cam.dist)] = np.asarray(cam.dist, np.float64)[:5]
    return np.array([K[0, 0], K[1, 1], K[0, 2], K[1, 2], *d])


def _camera(name: str, v: np.ndarray, size: tuple[int, int], R: np.ndarray, t: np.ndarray) -> Camera:
    K = np.array([[v[0], 0.0, v[2]], [0.0, v[1], v[3]], [0.0, 0.0, 1.0]])
    return Camera(name, K, v[4:9].copy(), R, t, size)


def project_observations(x: np.ndarray, obs: BoardObservations) -> np.ndarray:
    """Pixels ``(M, 2)`` of every observed corner under the full parameter vector ``x`` (see the module doc).

    Points behind a camera are clamped to 1 µm in front of it, so a bad start gives large residuals, not NaN.
    """
    intr = x[:_REL].reshape(2, _NI)
    rel = x[_REL:_POSES]
    poses = x[_POSES:].reshape(-1, 6)
    Rb = rodrigues_to_matrix(poses[:, :3])[obs.pose]  # (M, 3, 3)
    X = np.einsum("mij,mj->mi", Rb, obs.obj) + poses[obs.pose, 3:]
    Rr = rodrigues_to_matrix(rel[:3])
    X = np.where(obs.via_relative[:, None], X @ Rr.T + rel[3:], X)
    xy = X[:, :2] / np.maximum(X[:, 2:3], 1e-6)
    p = intr[obs.cam]  # (M, 9)
    xyd = distort_normalized(xy, p[:, 4:])
    return xyd * p[:, :2] + p[:, 2:4]


def initial_poses(obs: BoardObservations, cam0: Camera, cam1: Camera) -> np.ndarray:
    """``(P, 6)`` board poses (axis-angle rad, metres) from each instant's corners by PnP (camera 0's view of a pair,
    or camera 1's moved into camera 0's frame when camera 0's fails). A pose with no usable view stays at 1 m ahead."""
    R, t = relative_pose(cam0, cam1)
    out = np.tile([0.0, 0.0, 0.0, 0.0, 0.0, 1.0], (obs.n_poses, 1))
    order = np.argsort(obs.pose, kind="stable")
    starts = np.searchsorted(obs.pose[order], np.arange(obs.n_poses + 1))
    for p in range(obs.n_poses):  # one PnP per board instant: set-up, not a hot path
        idx = order[starts[p] : starts[p + 1]]
        tries = (obs.frame[p],) + ((1,) if obs.frame[p] == 0 else ())
        for c in tries:
            sel = idx[obs.cam[idx] == c]
            cam = cam0 if c == 0 else cam1
            pose = _pnp(obs.obj[sel], obs.uv[sel], cam)
            if pose is None:
                continue
            Rb, tb = pose
            if c != obs.frame[p]:  # camera 1's view of a pair: into camera 0's frame
                Rb, tb = R.T @ Rb, R.T @ (tb - t)
            out[p] = np.concatenate([matrix_to_rodrigues(Rb), tb])
            break
    return out


def _pnp(obj: np.ndarray, uv: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray] | None:
    if len(obj) < 4:
        return None
    ok, rvec, tvec = cv2.solvePnP(obj, uv, cam.K, np.asarray(cam.dist, np.float64), flags=cv2.SOLVEPNP_IPPE)
    if not ok or not np.all(np.isfinite(tvec)) or tvec.ravel()[2] <= 0:
        return None
    return cv2.Rodrigues(rvec)[0], tvec.ravel()


# --------------------------------------------------------------------------- the solve
@dataclass(frozen=True, eq=False)
class BundleResult:
    """A bundle-adjusted pair of cameras and its figures.

    ``cameras``: camera 0 at the origin, camera 1 relative to it (metres). ``poses`` ``(P, 6)``: the board poses.
    ``rms_px``: reprojection RMS over the inlier corners; ``rms_per_camera_px`` ``(2,)``; ``rms_pairs_px`` over
    the corners of board poses both cameras saw (a stereo RMS); ``per_pair_px`` ``(P_pairs, 2)`` per pair and
    camera. ``n_observations`` inlier corners, ``n_rejected`` dropped as outliers. ``sigma``: 1-sigma
    uncertainties from the Jacobian at the solution: ``fx0, fy0, cx0, cy0, fx1, ...`` (px), ``k1_0, ...``,
    ``baseline_m`` and ``rotation_deg`` (the RMS angle of the relative rotation's error). ``seconds``: solve time.
    """

    cameras: tuple[Camera, Camera]
    poses: np.ndarray
    rms_px: float
    rms_per_camera_px: np.ndarray
    rms_pairs_px: float
    per_pair_px: np.ndarray
    n_observations: int
    n_rejected: int
    sigma: dict[str, float]
    seconds: float
    iterations: int = 0

    @property
    def baseline_m(self) -> float:
        return float(np.linalg.norm(self.cameras[1].center - self.cameras[0].center))

    def to_json(self) -> dict:
        r = _r
        return {
            "rms_px": r(self.rms_px),
            "rms_per_camera_px": [r(v) for v in self.rms_per_camera_px],
            "rms_pairs_px": r(self.rms_pairs_px),
            "corners": self.n_observations,
            "corners_rejected": self.n_rejected,
            "baseline_m": r(self.baseline_m, 5),
            "sigma": {k: r(v, 6) for k, v in self.sigma.items()},
            "seconds": r(self.seconds, 3),
        }


def _r(v: float, nd: int = 4) -> float | None:
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def _free_mask(
    n_poses: int, models: tuple[str, str], fix_intrinsics: tuple[bool, bool], fix_relative: bool, used: np.ndarray
) -> np.ndarray:
    free = np.ones(_POSES + 6 * n_poses, bool)
    for c in (0, 1):
        block = free[c * _NI : (c + 1) * _NI]
        if fix_intrinsics[c]:
            block[:] = False
            continue
        for name in _MODEL_FIXED.get(models[c], ()):
            block[INTRINSIC_NAMES.index(name)] = False
    if fix_relative:
        free[_REL:_POSES] = False
    free[_POSES:] = np.repeat(used, 6)
    return free


def _solve_once(x0: np.ndarray, free: np.ndarray, obs: BoardObservations, max_iter: int) -> BlockSolution:
    problem = BlockProblem(
        residuals=lambda x: (project_observations(x, obs) - obs.uv).ravel(),
        n_global=_POSES,
        block_size=6,
        row_block=np.repeat(obs.pose, 2),
        free=free,
        point=2,
        f_scale=F_SCALE_PX,
    )
    sol = solve_blocks(problem, x0, max_iter=max_iter)
    if not np.all(np.isfinite(sol.x)):
        raise CalibrationError(
            "the bundle adjustment diverged. Capture more pairs where both cameras see the whole board."
        )
    return sol


def bundle_adjust(
    obs: BoardObservations,
    cam0: Camera,
    cam1: Camera,
    *,
    models: tuple[str, str] = ("k1k2p1p2k3", "k1k2p1p2k3"),
    fix_intrinsics: tuple[bool, bool] = (False, False),
    fix_relative: bool = False,
    poses: np.ndarray | None = None,
    reject_outliers: bool = True,
    max_iter: int = 100,
) -> BundleResult:
    """Refine both cameras, their relative pose and the board poses on ``obs``.

    ``cam0``/``cam1``: the start (intrinsics, and camera 1's pose relative to camera 0). ``models``: each camera's
    distortion model (a key of :data:`calibration.intrinsics.MODELS`; left-out terms stay zero).
    ``fix_intrinsics``: keep a camera's intrinsics as given (known lens). ``fix_relative``: keep the relative pose
    (only the board poses move: fitting held-out views). ``poses``: ``(P, 6)`` start poses (default: PnP).
    ``reject_outliers``: drop corners above ``max(OUTLIER_FACTOR x median, OUTLIER_MIN_PX)`` and solve again.
    """
    t_start = time.perf_counter()
    if len(obs) < 8:
        raise CalibrationError(
            f"only {len(obs)} board corners to adjust; capture more views where the board is seen whole."
        )
    R, t = relative_pose(cam0, cam1)
    start = poses if poses is not None else initial_poses(obs, cam0, cam1)
    x0 = np.concatenate([_intrinsics_vector(cam0), _intrinsics_vector(cam1), matrix_to_rodrigues(R), t, start.ravel()])
    used = np.bincount(obs.pose, minlength=obs.n_poses) >= 4
    free = _free_mask(obs.n_poses, models, fix_intrinsics, fix_relative, used)
    sol = _solve_once(x0, free, obs, max_iter)
    iterations = sol.iterations
    n_rejected = 0
    if reject_outliers:
        err = np.linalg.norm(sol.residuals.reshape(-1, 2), axis=1)
        thr = max(OUTLIER_FACTOR * float(np.median(err)), OUTLIER_MIN_PX)
        keep = err <= thr
        if not keep.all():
            n_rejected = int((~keep).sum())
            obs = obs.subset(keep)
            used = np.bincount(obs.pose, minlength=obs.n_poses) >= 4
            free = _free_mask(obs.n_poses, models, fix_intrinsics, fix_relative, used)
            sol = _solve_once(sol.x, free, obs, max_iter)
            iterations += sol.iterations
    return _result(sol, free, obs, (cam0, cam1), n_rejected, time.perf_counter() - t_start, iterations)


def _result(
    sol: BlockSolution,
    free: np.ndarray,
    obs: BoardObservations,
    start: tuple[Camera, Camera],
    n_rejected: int,
    seconds: float,
    iterations: int,
) -> BundleResult:
    x = sol.x
    intr = x[:_REL].reshape(2, _NI)
    R = rodrigues_to_matrix(x[_REL : _REL + 3])
    t = x[_REL + 3 : _POSES]
    c0 = _camera(start[0].name, intr[0], start[0].size, np.eye(3), np.zeros(3))
    c1 = _camera(start[1].name, intr[1], start[1].size, R, t)
    err2 = np.sum((project_observations(x, obs) - obs.uv) ** 2, axis=1)
    per_cam = np.array([_rms(err2[obs.cam == c]) for c in (0, 1)])
    on_pair = obs.paired[obs.pose]
    pair_ids = np.cumsum(obs.paired) - 1
    n_pairs = int(obs.paired.sum())
    per_pair = np.full((n_pairs, 2), np.nan)
    for c in (0, 1):
        sel = on_pair & (obs.cam == c)
        k = pair_ids[obs.pose[sel]]
        ssum = np.bincount(k, err2[sel], minlength=n_pairs)
        cnt = np.bincount(k, minlength=n_pairs)
        per_pair[:, c] = np.sqrt(ssum / np.maximum(cnt, 1))
        per_pair[cnt == 0, c] = np.nan
    sigma = _sigma(x, sol.cov_global, free)
    return BundleResult(
        cameras=(c0, c1),
        poses=x[_POSES:].reshape(-1, 6).copy(),
        rms_px=_rms(err2),
        rms_per_camera_px=per_cam,
        rms_pairs_px=_rms(err2[on_pair]),
        per_pair_px=per_pair,
        n_observations=len(obs),
        n_rejected=n_rejected,
        sigma=sigma,
        seconds=seconds,
        iterations=iterations,
    )


def _rms(err2: np.ndarray) -> float:
    return float(np.sqrt(np.mean(err2))) if len(err2) else float("nan")


def _sigma(x: np.ndarray, cov: np.ndarray, free: np.ndarray) -> dict[str, float]:
    """1-sigma uncertainties of the named parameters from the globals' covariance ``cov`` (0 for fixed ones)."""
    out: dict[str, float] = {}
    for c in (0, 1):
        for k, name in enumerate(INTRINSIC_NAMES):
            i = c * _NI + k
            out[f"{name}_{c}"] = float(np.sqrt(cov[i, i])) if free[i] else 0.0
    rel = slice(_REL, _POSES)
    if free[_REL]:
        c_rel = cov[rel, rel]
        out["rotation_deg"] = float(np.degrees(np.sqrt(np.trace(c_rel[:3, :3]))))
        g = _baseline_gradient(x[rel])
        out["baseline_m"] = float(np.sqrt(max(g @ c_rel @ g, 0.0)))
    else:
        out["rotation_deg"] = out["baseline_m"] = 0.0
    return out


def _baseline_gradient(rel: np.ndarray, h: float = 1e-7) -> np.ndarray:
    """``(6,)`` d|C1| / d(rvec, t) by central differences (``C1 = -R^T t``, camera 1's centre)."""

    def baseline(v: np.ndarray) -> float:
        return float(np.linalg.norm(rodrigues_to_matrix(v[:3]).T @ v[3:]))

    eye = np.eye(6) * h
    return np.array([(baseline(rel + e) - baseline(rel - e)) / (2 * h) for e in eye])


# --------------------------------------------------------------------------- the held-out check
@dataclass(frozen=True, eq=False)
class BundleCheck:
    """Whether the bundle adjustment was kept, and the held-out figures that decided it.

    ``result``: the adjustment on ALL pairs and views (when kept), or on the training ones (when not kept; None
    when it could not run). ``epipolar_px`` / ``reprojection_px``: ``(stereo solve, bundle adjustment)`` on the
    held-out pairs (reprojection: the board pose of each held-out pair fitted with the cameras fixed).
    ``note``: one line for people saying which result is saved and why. ``heldout``: the held-out pairs' indices.
    """

    kept: bool
    note: str
    result: BundleResult | None = None
    epipolar_px: tuple[float, float] = (float("nan"), float("nan"))
    reprojection_px: tuple[float, float] = (float("nan"), float("nan"))
    heldout: tuple[int, ...] = ()
    seconds: float = 0.0
    sigma: dict[str, float] = field(default_factory=dict)
    """The uncertainties of the SAVED result: the adjustment's when kept, else the stereo solve's."""

    def to_json(self) -> dict:
        return {
            "kept": self.kept,
            "note": self.note,
            "heldout_epipolar_px": {"stereo": _r(self.epipolar_px[0]), "bundle": _r(self.epipolar_px[1])},
            "heldout_reprojection_px": {"stereo": _r(self.reprojection_px[0]), "bundle": _r(self.reprojection_px[1])},
            "heldout_pairs": list(self.heldout),
            "seconds": _r(self.seconds, 3),
            "sigma": {k: _r(v, 6) for k, v in self.sigma.items()},
            "result": None if self.result is None else self.result.to_json(),
        }


def heldout_reprojection_px(pairs: Sequence[tuple[Detection, Detection]], cam0: Camera, cam1: Camera) -> float:
    """Reprojection RMS (px) of held-out ``pairs`` with the cameras fixed: each pair's board pose is fitted to both
    views at once, so the figure measures how well the two cameras agree on where the board was."""
    obs = board_observations(pairs)
    if len(obs) < 8:
        return float("nan")
    res = bundle_adjust(obs, cam0, cam1, fix_intrinsics=(True, True), fix_relative=True, reject_outliers=False)
    return res.rms_px


def heldout_epipolar_px(pairs: Sequence[tuple[Detection, Detection]], cam0: Camera, cam1: Camera) -> float:
    """Mean symmetric epipolar distance (px) of ``pairs``' common corners (NaN without any)."""
    views = [common_view(a, b) for a, b in pairs]
    if not views:
        return float("nan")
    uv0 = np.concatenate([a.corners for a, _ in views])
    uv1 = np.concatenate([b.corners for _, b in views])
    return float(np.mean(epipolar_errors(cam0, cam1, uv0, uv1))) if len(uv0) else float("nan")


def _singles(
    views: tuple[Sequence[Detection], Sequence[Detection]], pairs: Sequence[tuple[Detection, Detection]]
) -> tuple[list[Detection], list[Detection]]:
    """Each camera's views that are not one side of a pair (the same detection object)."""
    out: list[list[Detection]] = []
    for c in (0, 1):
        taken = {id(p[c]) for p in pairs}
        out.append([v for v in views[c] if v.found and v.n >= 4 and id(v) not in taken])
    return out[0], out[1]


def adjust_stereo(
    pairs: Sequence[tuple[Detection, Detection]],
    views: tuple[Sequence[Detection], Sequence[Detection]],
    stereo: StereoResult,
    *,
    models: tuple[str, str] = ("k1k2p1p2k3", "k1k2p1p2k3"),
    fix_intrinsics: tuple[bool, bool] = (False, False),
    force: bool = False,
) -> BundleCheck:
    """Bundle-adjust a stereo solution and keep it only when held-out pairs agree better.

    ``pairs``: the pairs :func:`calibration.stereo.calibrate_stereo` solved (``stereo.heldout`` indexes the found
    ones); ``views``: each camera's intrinsic views (those that are not one side of a pair join as single views).
    The adjustment is fitted without the held-out pairs, started from the stereo solve on the training pairs, and
    kept when the held-out epipolar error drops below :data:`KEEP_GAIN` times the stereo solve's and the held-out
    reprojection error does not rise (``force``: keep it regardless). A kept result is solved again on everything.
    """
    t_start = time.perf_counter()
    found = [(a, b) for a, b in pairs if a.found and b.found and common_view(a, b)[0].n >= 4]
    held = set(stereo.heldout)
    train = [p for k, p in enumerate(found) if k not in held]
    test = [p for k, p in enumerate(found) if k in held]
    start = stereo.heldout_group if stereo.heldout_group is not None else stereo.group
    s0, s1 = start[0], start[1]
    try:
        res = bundle_adjust(
            board_observations(train, _singles(views, found)), s0, s1, models=models, fix_intrinsics=fix_intrinsics
        )
    except CalibrationError as exc:
        return BundleCheck(False, f"bundle adjustment not used: {exc}", seconds=time.perf_counter() - t_start)
    b0, b1 = res.cameras
    if test:
        epi = (heldout_epipolar_px(test, s0, s1), heldout_epipolar_px(test, b0, b1))
        rep = (heldout_reprojection_px(test, s0, s1), heldout_reprojection_px(test, b0, b1))
        better = epi[1] < KEEP_GAIN * epi[0] and rep[1] <= rep[0]
        figures = (
            f"held-out epipolar error {epi[0]:.3f} -> {epi[1]:.3f} px, reprojection {rep[0]:.3f} -> {rep[1]:.3f} px"
        )
    else:
        epi = rep = (float("nan"), float("nan"))
        better = False
        figures = "too few pairs to hold some out, so it could not be checked"
    keep = better or force
    everything = board_observations(found, _singles(views, found))
    held_t = tuple(sorted(held))
    if not keep:
        note = f"bundle adjustment discarded ({figures}); the stereo solve is saved"
        sigma = uncertainty(everything, stereo.group[0], stereo.group[1], models=models, fix_intrinsics=fix_intrinsics)
        return BundleCheck(False, note, res, epi, rep, held_t, time.perf_counter() - t_start, sigma)
    final = bundle_adjust(everything, b0, b1, models=models, fix_intrinsics=fix_intrinsics)
    note = f"bundle adjustment saved ({figures})" + ("" if better else " (forced)")
    return BundleCheck(True, note, final, epi, rep, held_t, time.perf_counter() - t_start, final.sigma)


def uncertainty(
    obs: BoardObservations,
    cam0: Camera,
    cam1: Camera,
    *,
    models: tuple[str, str] = ("k1k2p1p2k3", "k1k2p1p2k3"),
    fix_intrinsics: tuple[bool, bool] = (False, False),
) -> dict[str, float]:
    """The 1-sigma uncertainties (:attr:`BundleResult.sigma`) of GIVEN cameras on ``obs``: the board poses are
    fitted with the cameras fixed, then the covariance is evaluated there with every parameter free."""
    try:
        poses = bundle_adjust(obs, cam0, cam1, fix_intrinsics=(True, True), fix_relative=True, reject_outliers=False)
        at = bundle_adjust(
            obs,
            cam0,
            cam1,
            models=models,
            fix_intrinsics=fix_intrinsics,
            poses=poses.poses,
            reject_outliers=False,
            max_iter=0,
        )
    except CalibrationError:
        return {}
    return at.sigma


def stereo_with_bundle(
    stereo: StereoResult, pairs: Sequence[tuple[Detection, Detection]], check: BundleCheck
) -> StereoResult:
    """``stereo`` with the check attached and, when the adjustment was kept, its cameras and figures (``pairs``: the
    pairs that were solved)."""
    if not check.kept or check.result is None:
        return replace(stereo, bundle=check, refine_note=f"{stereo.refine_note}; {check.note}")
    res = check.result
    c0, c1 = res.cameras
    found = [(a, b) for a, b in pairs if a.found and b.found and common_view(a, b)[0].n >= 4]
    return replace(
        stereo,
        group=CameraGroup([c0, c1], origin=c0.name),
        rms=res.rms_pairs_px,
        per_pair_errors=res.per_pair_px,
        baseline_m=res.baseline_m,
        convergence_deg=convergence_angle_deg(c0, c1),
        epipolar_px=check.epipolar_px[1] if np.isfinite(check.epipolar_px[1]) else stereo.epipolar_px,
        epipolar_all_px=heldout_epipolar_px(found, c0, c1),
        refine_note=f"{stereo.refine_note}; {check.note}",
        bundle=check,
    )


def heldout_bundle_error(
    pairs: Sequence[tuple[Detection, Detection]],
    cam0: Camera,
    cam1: Camera,
    *,
    heldout_every: int = 3,
    max_iter: int = 30,
) -> float:
    """How well these pairs agree with ONE rigid two-camera rig: the held-out epipolar error (px) of a bundle
    adjustment (both intrinsics, the relative pose, the board poses) fitted on the other pairs.

    The frame-offset search scores each shift with it (:mod:`calibration.frame_offset`). NaN with too few pairs;
    infinite when no rig fits the training pairs (the solve diverges).
    """
    found = [(a, b) for a, b in pairs if a.found and b.found and common_view(a, b)[0].n >= 4]
    train, test = split_heldout(found, heldout_every)
    if len(train) < 3 or not test:
        return float("nan")
    try:
        c1 = fixed_intrinsics_pose(train, cam0, cam1)
        res = bundle_adjust(board_observations(train), cam0, c1, max_iter=max_iter)
    except CalibrationError:
        return float("inf")  # no rigid rig fits these pairs at all
    return heldout_epipolar_px(test, *res.cameras)
