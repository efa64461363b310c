"""Stereo extrinsics (``cv2.stereoCalibrate``), epipolar error on held-out pairs, and the floor frame.

The solve runs with the intrinsics FIXED, on the corner ids both cameras saw at the same instant.
An optional joint refinement (``stereoCalibrate`` started from the fixed solution, with the focal
lengths and principal points free and the distortion kept) is kept only when it lowers the epipolar
error on HELD-OUT pairs by at least 3 %.

World frame: camera 0's frame (``R = I``, ``t = 0``); :func:`floor_frame` re-expresses a group in a
frame where a board lying on the floor defines the origin (its centre) and Z up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np

from calibration.detect import Detection
from calibration.intrinsics import MODELS
from calibration.selection import board_pose, common_view
from core.camera import Camera, CameraGroup, convergence_angle_deg, relative_pose
from core.errors import CalibrationError
from core.triangulation import triangulate

if TYPE_CHECKING:
    from calibration.bundle import BundleCheck

MIN_PAIRS = 3
T = TypeVar("T")
#: A joint refinement must beat the fixed-intrinsics solution by this factor on held-out pairs.
_REFINE_GAIN = 0.97
_CALIB_USE_EXTRINSIC_GUESS = getattr(cv2, "CALIB_USE_EXTRINSIC_GUESS", 1 << 22)
#: The joint refinement keeps the distortion from the intrinsic fits (which see more views, all over the
#: image) and re-estimates focal lengths and principal points with the pose. Freeing the distortion too
#: let it drift wildly on the Caliscope session (k1 -0.40 -> -0.21, k2 of camera 1 -> -1.05) for a 5 %
#: held-out gain, since held-out pairs cover the same image region as the training pairs.
_JOINT_FIXED = cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3 | cv2.CALIB_FIX_TANGENT_DIST


@dataclass(frozen=True, eq=False)
class StereoResult:
    """The two-camera solution and its figures.

    ``group``: both cameras, world = camera 0's frame (``origin`` = camera 0's name). ``rms``: stereo
    reprojection RMS (px) over all pairs. ``per_pair_errors`` ``(P, 2)`` px RMS per pair and camera.
    ``baseline_m``: distance between the optical centres. ``convergence_deg``: angle between the optical
    axes. ``epipolar_px``: mean symmetric distance of undistorted corners to their epipolar lines on
    HELD-OUT pairs (fit without them); ``epipolar_all_px``: the same over all pairs with the final fit.
    ``refined``: whether the joint refinement was kept; ``refine_note`` says why.
    ``board_distances_m`` ``(P,)``: board centre distance from camera 0 per pair; ``working_distance_m``
    their median.
    """

    group: CameraGroup
    rms: float
    per_pair_errors: np.ndarray
    baseline_m: float
    convergence_deg: float
    epipolar_px: float
    epipolar_all_px: float
    n_pairs: int
    heldout: tuple[int, ...]
    refined: bool
    refine_note: str
    board_distances_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rms_fixed: float = float("nan")
    epipolar_fixed_px: float = float("nan")
    heldout_group: CameraGroup | None = None
    """The cameras fitted WITHOUT the held-out pairs, which the held-out figures were measured with."""
    bundle: BundleCheck | None = None
    """The bundle adjustment's check (:func:`calibration.bundle.adjust_stereo`): kept or not, why, and the
    uncertainties of the saved result (None when it did not run)."""

    @property
    def solver(self) -> str:
        """What produced the saved cameras: "bundle adjustment", "stereoCalibrate (joint)" or
        "stereoCalibrate (fixed intrinsics)"."""
        if self.bundle is not None and self.bundle.kept:
            return "bundle adjustment"
        return "stereoCalibrate (joint)" if self.refined else "stereoCalibrate (fixed intrinsics)"

    @property
    def sigma(self) -> dict[str, float]:
        """1-sigma uncertainties of the saved result (``fx_0``, ... px; ``baseline_m``; ``rotation_deg``), from
        the bundle adjustment's Jacobian; empty when it did not run."""
        return {} if self.bundle is None else dict(self.bundle.sigma)

    @property
    def working_distance_m(self) -> float:
        d = self.board_distances_m[np.isfinite(self.board_distances_m)]
        return float(np.median(d)) if len(d) else float("nan")

    def to_json(self) -> dict:
        r = _r
        return {
            "rms_px": r(self.rms),
            "rms_fixed_intrinsics_px": r(self.rms_fixed),
            "baseline_m": r(self.baseline_m, 5),
            "convergence_deg": r(self.convergence_deg, 3),
            "epipolar_heldout_px": r(self.epipolar_px),
            "epipolar_heldout_fixed_px": r(self.epipolar_fixed_px),
            "epipolar_all_px": r(self.epipolar_all_px),
            "pairs": self.n_pairs,
            "heldout_pairs": list(self.heldout),
            "refined": self.refined,
            "refine_note": self.refine_note,
            "working_distance_m": r(self.working_distance_m, 3),
            "per_pair_errors_px": [[r(a), r(b)] for a, b in self.per_pair_errors],
            "solver": self.solver,
            "sigma": {k: r(v, 6) for k, v in self.sigma.items()},
            "bundle": None if self.bundle is None else self.bundle.to_json(),
        }


def _r(v: float, nd: int = 4) -> float | None:
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def fundamental_matrix(cam0: Camera, cam1: Camera) -> np.ndarray:
    """``(3, 3)`` F for UNDISTORTED pixels: ``x1^T F x0 = 0``."""
    R, t = relative_pose(cam0, cam1)
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return np.linalg.inv(cam1.K).T @ tx @ R @ np.linalg.inv(cam0.K)


def epipolar_errors(cam0: Camera, cam1: Camera, uv0: np.ndarray, uv1: np.ndarray) -> np.ndarray:
    """Symmetric epipolar distance ``(N,)`` px of matched distorted pixels ``uv0, uv1`` ``(N, 2)``.

    Both are undistorted with their camera first; each entry is the mean of the distance of x1 to the
    line ``F x0`` and of x0 to ``F^T x1``.
    """
    u0 = cam0.undistort(np.asarray(uv0, np.float64).reshape(-1, 2))
    u1 = cam1.undistort(np.asarray(uv1, np.float64).reshape(-1, 2))
    F = fundamental_matrix(cam0, cam1)
    h0 = np.concatenate([u0, np.ones((len(u0), 1))], axis=1)
    h1 = np.concatenate([u1, np.ones((len(u1), 1))], axis=1)
    l1 = h0 @ F.T  # lines in image 1
    l0 = h1 @ F  # lines in image 0
    alg = np.abs(np.sum(h1 * l1, axis=1))
    d1 = alg / np.hypot(l1[:, 0], l1[:, 1])
    d0 = alg / np.hypot(l0[:, 0], l0[:, 1])
    return 0.5 * (d0 + d1)


def _pair_arrays(pairs: Sequence[tuple[Detection, Detection]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    for d0, d1 in pairs:
        c0, c1 = common_view(d0, d1)
        out.append((c0.object_points, c0.corners, c1.corners))
    return out


def _solve(
    data: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    cam0: Camera,
    cam1: Camera,
    joint: bool,
    model_flags: int,
    R0: np.ndarray | None = None,
    T0: np.ndarray | None = None,
) -> tuple[float, Camera, Camera, np.ndarray]:
    obj = [o.astype(np.float32).reshape(-1, 1, 3) for o, _, _ in data]
    p0 = [a.astype(np.float32).reshape(-1, 1, 2) for _, a, _ in data]
    p1 = [b.astype(np.float32).reshape(-1, 1, 2) for _, _, b in data]
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9)
    if joint:
        flags = cv2.CALIB_USE_INTRINSIC_GUESS | model_flags | _JOINT_FIXED
        if R0 is not None:
            flags |= _CALIB_USE_EXTRINSIC_GUESS
    else:
        flags = cv2.CALIB_FIX_INTRINSIC
    R_in = np.eye(3) if R0 is None else R0.copy()
    T_in = np.zeros((3, 1)) if T0 is None else T0.reshape(3, 1).copy()
    try:
        out = cv2.stereoCalibrateExtended(
            obj,
            p0,
            p1,
            cam0.K.copy(),
            cam0.dist.copy(),
            cam1.K.copy(),
            cam1.dist.copy(),
            cam0.size,
            R_in,
            T_in,
            flags=flags,
            criteria=crit,
        )
    except cv2.error as exc:
        raise CalibrationError(
            f"the stereo solve failed inside OpenCV ({str(exc).strip().splitlines()[-1]}). "
            "Capture more pairs with the whole board seen by both cameras."
        ) from None
    rms, K0, d0, K1, d1, R, T = out[:7]
    per_view = np.asarray(out[-1]).reshape(-1, 2)
    c0 = Camera(cam0.name, K0, np.asarray(d0).ravel()[:5], np.eye(3), np.zeros(3), cam0.size)
    c1 = Camera(cam1.name, K1, np.asarray(d1).ravel()[:5], R, np.asarray(T).ravel(), cam1.size)
    return float(rms), c0, c1, per_view


def heldout_indices(n: int, every: int = 5) -> tuple[int, ...]:
    """The items held out of ``n`` (every ``every``-th, from the ``every``-th; none with fewer than 6 items)."""
    return tuple(range(every - 1, n, every)) if n >= 6 and every > 1 else ()


def split_heldout(items: Sequence[T], every: int = 5) -> tuple[list[T], list[T]]:
    """``(training, held-out)`` items by :func:`heldout_indices`."""
    held = set(heldout_indices(len(items), every))
    return [x for k, x in enumerate(items) if k not in held], [x for k, x in enumerate(items) if k in held]


def fixed_intrinsics_pose(pairs: Sequence[tuple[Detection, Detection]], cam0: Camera, cam1: Camera) -> Camera:
    """Camera 1 posed relative to camera 0 (at the origin) by a fixed-intrinsics stereo solve of ``pairs``."""
    data = [d for d in _pair_arrays(pairs) if len(d[0]) >= 4]
    if len(data) < MIN_PAIRS:
        raise CalibrationError(f"only {len(data)} pair(s) share 4 corners; at least {MIN_PAIRS} are needed.")
    rms, _, c1, _ = _solve(data, cam0, cam1, joint=False, model_flags=0)
    _check(rms, cam0, c1)
    return c1


def _epipolar(data: list[tuple[np.ndarray, np.ndarray, np.ndarray]], c0: Camera, c1: Camera) -> float:
    if not data:
        return float("nan")
    uv0 = np.concatenate([a for _, a, _ in data])
    uv1 = np.concatenate([b for _, _, b in data])
    return float(np.mean(epipolar_errors(c0, c1, uv0, uv1)))


def _check(rms: float, c0: Camera, c1: Camera) -> None:
    baseline = float(np.linalg.norm(c1.t))
    if not np.isfinite(rms) or rms > 25 or not np.isfinite(baseline) or baseline < 1e-6:
        raise CalibrationError(
            f"the stereo solve diverged (RMS {rms:.3g} px, baseline {baseline:.3g} m). Check that both cameras "
            "see the SAME board at the same instants (synchronised frames), that the board definition is right, "
            "and that each camera's intrinsics are good."
        )


def _model_flags(model0: str, model1: str) -> int:
    """stereoCalibrate flags that keep the distortion terms each camera's model fixed at zero."""
    flags = 0
    for m in (model0, model1):
        f = MODELS.get(m, 0)
        flags |= f & (cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST)
    return flags


def calibrate_stereo(
    pairs: Sequence[tuple[Detection, Detection]],
    cam0: Camera,
    cam1: Camera,
    *,
    refine: bool | str = "auto",
    heldout_every: int = 5,
    models: tuple[str, str] = ("k1k2p1p2k3", "k1k2p1p2k3"),
    min_pairs: int = MIN_PAIRS,
) -> StereoResult:
    """Solve camera 1's pose relative to camera 0 from synchronised board pairs.

    ``pairs``: ``(det0, det1)`` found in both views at the same instant (common ids are used).
    ``cam0``/``cam1``: intrinsics (their R, t are ignored). ``refine``: True, False or "auto" (try the
    joint refinement and keep it only if it helps on held-out pairs). ``heldout_every``: every k-th pair
    is held out to measure the epipolar error (with >= 6 pairs; otherwise all pairs are used).
    ``models``: each camera's distortion model (terms fixed at zero stay so in the joint refinement).
    """
    pairs = [(a, b) for a, b in pairs if a.found and b.found]
    if len(pairs) < min_pairs:
        raise CalibrationError(
            f"only {len(pairs)} pair(s) with the board seen by BOTH cameras at the same instant; at least "
            f"{min_pairs} are needed (10-20 recommended). Hold the board where both cameras see it, at several "
            "places and angles."
        )
    for k, (a, b) in enumerate(pairs):
        if tuple(a.image_size) != tuple(cam0.size) or tuple(b.image_size) != tuple(cam1.size):
            raise CalibrationError(
                f"pair {k}: image sizes {a.image_size[0]}x{a.image_size[1]} / {b.image_size[0]}x{b.image_size[1]} "
                f"do not match the intrinsics ({cam0.size[0]}x{cam0.size[1]} / {cam1.size[0]}x{cam1.size[1]}). "
                "Use intrinsics calibrated at the footage's resolution."
            )
    data = _pair_arrays(pairs)
    keep = [k for k, (o, _, _) in enumerate(data) if len(o) >= 4]
    if len(keep) < min_pairs:
        raise CalibrationError(
            f"only {len(keep)} pair(s) share at least 4 corners between the cameras; at least {min_pairs} are "
            "needed. Show more of the board to both cameras at once."
        )
    data = [data[k] for k in keep]
    n = len(data)
    heldout = heldout_indices(n, heldout_every)
    train = [d for k, d in enumerate(data) if k not in heldout]
    test = [d for k, d in enumerate(data) if k in heldout] or data
    mflags = _model_flags(*models)

    rms_f, f0, f1, _ = _solve(train, cam0, cam1, joint=False, model_flags=mflags)
    _check(rms_f, f0, f1)
    epi_fixed = _epipolar(test, f0, f1)
    use_joint, note, epi_joint, joint = _joint_refinement(train, test, f0, f1, mflags, refine, bool(heldout), epi_fixed)

    # Final fit on all pairs with the chosen method.
    rms_fixed_all, a0, a1, per_fixed = _solve(data, cam0, cam1, joint=False, model_flags=mflags)
    _check(rms_fixed_all, a0, a1)
    if use_joint:
        rms, c0, c1, per = _solve(data, a0, a1, joint=True, model_flags=mflags, R0=a1.R, T0=a1.t)
        _check(rms, c0, c1)
    else:
        rms, c0, c1, per = rms_fixed_all, a0, a1, per_fixed
    group = CameraGroup([c0, c1], origin=c0.name)
    distances = np.array([_board_distance(o, a, c0) for o, a, _ in data])
    return StereoResult(
        group=group,
        rms=rms,
        per_pair_errors=per,
        baseline_m=float(np.linalg.norm(c1.center - c0.center)),
        convergence_deg=convergence_angle_deg(c0, c1),
        epipolar_px=epi_joint if use_joint else epi_fixed,
        epipolar_all_px=_epipolar(data, c0, c1),
        n_pairs=n,
        heldout=tuple(keep[k] for k in heldout),
        refined=use_joint,
        refine_note=note,
        board_distances_m=distances,
        rms_fixed=rms_fixed_all,
        epipolar_fixed_px=epi_fixed,
        heldout_group=joint if joint is not None else CameraGroup([f0, f1], origin=c0.name),
    )


def _joint_refinement(
    train: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    test: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    f0: Camera,
    f1: Camera,
    mflags: int,
    refine: bool | str,
    heldout: bool,
    epi_fixed: float,
) -> tuple[bool, str, float, CameraGroup | None]:
    """Try the joint refinement from the fixed-intrinsics solution ``f0, f1`` on the training pairs:
    ``(use it, note, its held-out epipolar error px, its cameras when used)``."""
    if not refine:
        return False, "joint refinement not requested", float("nan"), None
    try:
        rms_j, j0, j1, _ = _solve(train, f0, f1, joint=True, model_flags=mflags, R0=f1.R, T0=f1.t)
        _check(rms_j, j0, j1)
        epi_joint = _epipolar(test, j0, j1)
    except CalibrationError as exc:
        return False, f"joint refinement failed ({exc}); fixed-intrinsics solution kept", float("nan"), None
    gain_ok = np.isfinite(epi_joint) and epi_joint < _REFINE_GAIN * epi_fixed
    where = "held-out" if heldout else "all (too few pairs to hold some out)"
    if refine is True or gain_ok:
        note = f"joint refinement kept: epipolar error on {where} pairs {epi_fixed:.3f} -> {epi_joint:.3f} px" + (
            "" if gain_ok else " (forced)"
        )
        return True, note, epi_joint, CameraGroup([j0, j1], origin=j0.name)
    note = (
        f"joint refinement discarded: epipolar error on {where} pairs {epi_fixed:.3f} -> "
        f"{epi_joint:.3f} px (not at least 3% better)"
    )
    return False, note, epi_joint, None


def _board_distance(obj: np.ndarray, uv: np.ndarray, cam: Camera) -> float:
    det = Detection(True, uv, np.arange(len(uv)), obj, cam.size)
    pose = board_pose(det, cam.K, cam.dist)
    if pose is None:
        return float("nan")
    R, t = pose
    return float(np.linalg.norm(R @ obj.mean(axis=0) + t))


def floor_frame(group: CameraGroup, det0: Detection, det1: Detection | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The world change ``(R_wn, t_wn)`` that puts a board lying on the floor at the origin with Z up.

    New-world points are ``X_new = R_wn @ X_old + t_wn`` (feed them to ``CameraGroup.transformed``).
    The origin is the centre of the board's corners; X runs along the board's columns; Z points from the
    floor towards the cameras. With ``det1`` (the same instant in camera 1) the corners are triangulated;
    otherwise the board pose comes from camera 0 alone.
    """
    if not det0.found or det0.n < 4:
        raise CalibrationError(
            "the floor view does not show the board in camera 0. Lay the board flat on the floor where both "
            "cameras see it and pick that frame."
        )
    board_pts = np.zeros((0, 3))
    world_pts = np.zeros((0, 3))
    if det1 is not None and det1.found:
        c0, c1 = common_view(det0, det1)
        if c0.n >= 4:
            uv = np.stack([c0.corners, c1.corners])[:, None]  # (2, 1, N, 2)
            tri = triangulate(uv, np.ones(uv.shape[:-1]), group, reject_outlier_views=False)
            ok = np.isfinite(tri.points[0]).all(axis=1)
            world_pts, board_pts = tri.points[0][ok], c0.object_points[ok]
    if len(board_pts) < 4:
        cam = group[0]
        pose = board_pose(det0, cam.K, cam.dist)
        if pose is None:
            raise CalibrationError("could not find the pose of the floor board; pick a sharper view of it.")
        R, t = pose
        board_pts = det0.object_points
        world_pts = cam.camera_to_world(board_pts @ R.T + t)
    # Rigid fit board -> world (Kabsch): world = R_bw @ board + t_bw.
    mb = board_pts.mean(axis=0)
    mw = world_pts.mean(axis=0)
    H = (board_pts - mb).T @ (world_pts - mw)
    U, _, Vt = np.linalg.svd(H)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    R_bw = Vt.T @ D @ U.T
    t_bw = mw - R_bw @ mb
    # Up = the board normal on the cameras' side.
    centres_b = np.stack([R_bw.T @ (c.center - t_bw) for c in group])
    up_sign = 1.0 if np.median(centres_b[:, 2]) > 0 else -1.0
    x_b = np.array([1.0, 0.0, 0.0])
    z_b = np.array([0.0, 0.0, up_sign])
    y_b = np.cross(z_b, x_b)
    R_nb = np.stack([x_b, y_b, z_b])  # rows: new axes in board coordinates
    R_wn = R_nb @ R_bw.T
    origin_w = R_bw @ mb + t_bw  # board centre in the old world
    t_wn = -R_wn @ origin_w
    return R_wn, t_wn


def pair_consistency_rms(pairs: Sequence[tuple[Detection, Detection]], cam0: Camera, cam1: Camera) -> float:
    """Stereo RMS (px) of a fixed-intrinsics solve on these pairs: a quick score of how well they agree
    with ONE rigid camera pose (NaN with fewer than 3 usable pairs). Used to check frame synchronisation."""
    data = [d for d in _pair_arrays([(a, b) for a, b in pairs if a.found and b.found]) if len(d[0]) >= 4]
    if len(data) < MIN_PAIRS:
        return float("nan")
    try:
        rms, _, _, _ = _solve(data, cam0, cam1, joint=False, model_flags=0)
    except CalibrationError:
        return float("nan")
    return rms


def board_points(group: CameraGroup, pairs: Sequence[tuple[Detection, Detection]]) -> list[np.ndarray]:
    """The board corners of each pair triangulated in the world of ``group``: a list of ``(N_k, 3)`` metres
    (empty ``(0, 3)`` for a pair with fewer than 3 corners seen by both cameras)."""
    out = []
    for a, b in pairs:
        common, i0, i1 = np.intersect1d(a.ids, b.ids, return_indices=True)
        if len(common) < 3:
            out.append(np.zeros((0, 3)))
            continue
        uv = np.stack([a.corners[i0], b.corners[i1]])[:, None]  # (2, 1, N, 2)
        tri = triangulate(uv, np.ones(uv.shape[:-1]), group, reject_outlier_views=False)
        pts = np.asarray(tri.points[0])
        out.append(pts[np.isfinite(pts).all(axis=1)])
    return out
