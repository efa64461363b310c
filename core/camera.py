"""The one camera model of CrossView: pinhole + OpenCV radial/tangential distortion.

Conventions (the same as OpenCV, anipose and Pose2Sim):

- ``K`` (3, 3) intrinsics in pixels; ``dist`` (5,) = (k1, k2, p1, p2, k3).
- ``R`` (3, 3), ``t`` (3,) map world to camera: ``X_cam = R @ X_world + t``, metres.
- ``size`` = (width, height) in pixels.
- Image points are ``(..., 2)`` pixels; world points ``(..., 3)`` metres.

All functions are batched over any leading dimensions and never loop in Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from core.errors import InputError


def rodrigues_to_matrix(rvec: np.ndarray) -> np.ndarray:
    """Axis-angle ``(..., 3)`` (radians) to rotation matrices ``(..., 3, 3)``."""
    rvec = np.asarray(rvec, dtype=np.float64)
    theta = np.linalg.norm(rvec, axis=-1, keepdims=True)  # (..., 1)
    safe = np.where(theta < 1e-12, 1.0, theta)
    k = rvec / safe
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    Kx = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(*rvec.shape[:-1], 3, 3)
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), Kx.shape)
    R = eye + s * Kx + (1 - c) * (Kx @ Kx)
    return np.where((theta < 1e-12)[..., None], eye, R)


def matrix_to_rodrigues(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` to axis-angle ``(..., 3)`` (radians)."""
    R = np.asarray(R, dtype=np.float64)
    flat = R.reshape(-1, 3, 3)
    out = np.stack([cv2.Rodrigues(m)[0].ravel() for m in flat]) if len(flat) else np.zeros((0, 3))
    return out.reshape(*R.shape[:-2], 3)


def distort_normalized(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Apply OpenCV distortion to normalised image points ``(..., 2)``.

    ``dist``: ``(5,)`` = (k1, k2, p1, p2, k3), or ``(..., 5)`` broadcasting against the points' leading axes
    (one set of terms per point, as a bundle adjustment over several cameras needs).
    """
    k1, k2, p1, p2, k3 = np.moveaxis(np.asarray(dist, dtype=np.float64), -1, 0)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def project_points(X: np.ndarray, K: np.ndarray, dist: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Project world points ``(..., 3)`` m to pixels ``(..., 2)`` through one camera, with distortion.

    Points behind the camera (z <= 0) come out NaN.
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = X @ np.asarray(R).T + np.asarray(t)
    z = Xc[..., 2:3]
    z = np.where(z > 1e-9, z, np.nan)
    xy = Xc[..., :2] / z
    xy = distort_normalized(xy, dist)
    return xy @ np.asarray(K)[:2, :2].T + np.asarray(K)[:2, 2]


def undistort_points(uv: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Remove lens distortion from pixels ``(..., 2)``; the result is ideal-pinhole pixels in the same K.

    Uses OpenCV's iterative solver with a tight criterion (strong webcam distortion,
    k1 about -0.3, needs more than the 5 default iterations). NaNs stay NaN.
    """
    uv = np.asarray(uv, dtype=np.float64)
    if not np.any(np.asarray(dist)):
        return uv.copy()
    flat = uv.reshape(-1, 1, 2)
    finite = np.isfinite(flat).all(axis=-1)[:, 0]
    out = np.full_like(flat, np.nan)
    if finite.any():
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-10)
        out[finite] = cv2.undistortPointsIter(
            flat[finite], np.asarray(K, np.float64), np.asarray(dist, np.float64), None, K, crit
        )
    return out.reshape(uv.shape)


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera. Extrinsics map world to camera (metres)."""

    name: str
    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))
    size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        d = np.zeros(5)
        dist = np.asarray(self.dist, dtype=np.float64).ravel()
        d[: min(5, dist.size)] = dist[:5]
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "dist", d)
        object.__setattr__(self, "R", np.asarray(self.R, dtype=np.float64).reshape(3, 3))
        object.__setattr__(self, "t", np.asarray(self.t, dtype=np.float64).reshape(3))
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    @property
    def rvec(self) -> np.ndarray:
        """Rotation as a Rodrigues vector ``(3,)``."""
        return matrix_to_rodrigues(self.R)

    @property
    def P(self) -> np.ndarray:
        """Projection matrix ``K [R | t]`` (3, 4) for undistorted pixels."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def center(self) -> np.ndarray:
        """Optical centre in world coordinates ``(3,)`` m."""
        return -self.R.T @ self.t

    def project(self, X: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` m -> distorted pixels ``(..., 2)``."""
        return project_points(X, self.K, self.dist, self.R, self.t)

    def undistort(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels ``(..., 2)`` -> ideal pinhole pixels ``(..., 2)``."""
        return undistort_points(uv, self.K, self.dist)

    def world_to_camera(self, X: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> this camera's frame ``(..., 3)``, metres."""
        return np.asarray(X) @ self.R.T + self.t

    def camera_to_world(self, Xc: np.ndarray) -> np.ndarray:
        """This camera's frame ``(..., 3)`` -> world ``(..., 3)``, metres."""
        return (np.asarray(Xc) - self.t) @ self.R

    def with_pose(self, R: np.ndarray, t: np.ndarray) -> Camera:
        """A copy with other extrinsics."""
        return replace(self, R=R, t=t)

    def scaled_to(self, size: tuple[int, int]) -> Camera:
        """The same camera at another resolution with the same aspect ratio (K scaled)."""
        sx = size[0] / self.size[0]
        sy = size[1] / self.size[1]
        K = self.K.copy()
        K[0] *= sx
        K[1] *= sy
        return replace(self, K=K, size=size)

    def same_as(self, other: Camera, atol: float = 1e-9) -> bool:
        """True when every parameter matches to ``atol``."""
        return (
            self.name == other.name
            and self.size == other.size
            and all(
                np.allclose(a, b, atol=atol, rtol=0)
                for a, b in ((self.K, other.K), (self.dist, other.dist), (self.R, other.R), (self.t, other.t))
            )
        )


def relative_pose(cam_a: Camera, cam_b: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pose of camera b relative to camera a: ``X_b = R_ab @ X_a + t_ab`` (metres)."""
    R_ab = cam_b.R @ cam_a.R.T
    t_ab = cam_b.t - R_ab @ cam_a.t
    return R_ab, t_ab


def convergence_angle_deg(cam_a: Camera, cam_b: Camera) -> float:
    """Angle between the two optical axes, degrees."""
    za = cam_a.R[2]
    zb = cam_b.R[2]
    return float(np.degrees(np.arccos(np.clip(za @ zb, -1.0, 1.0))))


def repeated_names(names: Sequence[str]) -> list[str]:
    """The names that occur more than once in ``names``, sorted (empty when every name is unique)."""
    return sorted(n for n, k in Counter(names).items() if k > 1)


class CameraGroup:
    """An ordered set of calibrated cameras sharing one world frame.

    ``origin`` names the camera whose frame was chosen as the world (or ``None``
    when the world is some other frame, e.g. a floor or a mocap lab).
    """

    def __init__(self, cameras: Sequence[Camera], origin: str | None = None) -> None:
        names = [c.name for c in cameras]
        if repeated_names(names):
            raise ValueError(f"camera names must be unique, got {names}")
        if origin is not None and origin not in names:
            raise ValueError(f"origin camera {origin!r} is not one of {names}")
        self.cameras: tuple[Camera, ...] = tuple(cameras)
        self.origin = origin

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self):
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        if isinstance(key, str):
            for c in self.cameras:
                if c.name == key:
                    return c
            raise KeyError(f"no camera named {key!r}; cameras are {self.names}")
        return self.cameras[key]

    def __repr__(self) -> str:
        return f"CameraGroup({self.names}, origin={self.origin!r})"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def subset(self, names: Iterable[str]) -> CameraGroup:
        """The cameras with these names, in this order."""
        names = list(names)
        origin = self.origin if self.origin in names else None
        return CameraGroup([self[n] for n in names], origin=origin)

    def projection_matrices(self) -> np.ndarray:
        """``(V, 3, 4)`` projection matrices for undistorted pixels."""
        return np.stack([c.P for c in self.cameras])

    def project(self, X: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> pixels in every view ``(V, ..., 2)``."""
        return np.stack([c.project(X) for c in self.cameras])

    def undistort(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels ``(V, ..., 2)`` -> ideal pinhole pixels ``(V, ..., 2)``."""
        return np.stack([c.undistort(uv[i]) for i, c in enumerate(self.cameras)])

    def with_origin(self, name: str) -> CameraGroup:
        """Re-express the world frame as camera ``name``'s frame (it gets R = I, t = 0)."""
        ref = self[name]
        cams = []
        for c in self.cameras:
            R_rel, t_rel = relative_pose(ref, c)
            cams.append(c.with_pose(R_rel, t_rel))
        return CameraGroup(cams, origin=name)

    def transformed(self, R_wn: np.ndarray, t_wn: np.ndarray, origin: str | None = None) -> CameraGroup:
        """Change the world frame: new-world points are ``X_new = R_wn @ X_old + t_wn``."""
        R_nw = np.asarray(R_wn).T
        t_nw = -R_nw @ np.asarray(t_wn)
        cams = [c.with_pose(c.R @ R_nw, c.R @ t_nw + c.t) for c in self.cameras]
        return CameraGroup(cams, origin=origin)

    def same_as(self, other: CameraGroup, atol: float = 1e-9) -> bool:
        """True when both hold the same cameras, in the same order."""
        return len(self) == len(other) and all(a.same_as(b, atol) for a, b in zip(self, other, strict=True))


def cameras_for_frames(cameras: CameraGroup, sizes: Sequence[tuple[int, int]]) -> tuple[CameraGroup, list[str]]:
    """Adapt calibrated cameras to the frame sizes actually delivered.

    Same aspect ratio: intrinsics are scaled, with a warning. Another aspect ratio: InputError,
    because the calibration cannot describe those images.
    Returns the (possibly scaled) group and the warnings for the user.
    """
    warnings: list[str] = []
    cams: list[Camera] = []
    for cam, (w, h) in zip(cameras, sizes, strict=True):
        if cam.size == (w, h) or cam.size == (0, 0):
            cams.append(cam)
            continue
        cw, ch = cam.size
        if abs(cw / ch - w / h) < 1e-3:
            warnings.append(
                f"camera '{cam.name}' delivers {w}x{h} but was calibrated at {cw}x{ch}; intrinsics were scaled. "
                "Calibrating at the capture resolution is more accurate."
            )
            cams.append(cam.scaled_to((w, h)))
        elif abs(w - cw) <= 0.02 * cw and abs(h - ch) <= 0.02 * ch:
            # A few rows or columns of codec padding or cropping (1088 vs 1080): the optics are unchanged.
            # Measured on pose2sim_balancing: keeping K gives 40 mm from the reference, scaling it 42 mm.
            warnings.append(
                f"camera '{cam.name}' delivers {w}x{h} but was calibrated at {cw}x{ch}; treated as a crop of a few "
                "pixels, intrinsics kept."
            )
            cams.append(cam)
        else:
            raise InputError(
                f"camera '{cam.name}' delivers {w}x{h} frames but was calibrated at {cw}x{ch} (another aspect "
                "ratio). Set the camera to the calibrated resolution, or recalibrate at this resolution."
            )
    return CameraGroup(cams, origin=cameras.origin), warnings


def optical_axes_meeting_point(centres: np.ndarray, axes: np.ndarray, max_distance_m: float = 20.0) -> np.ndarray:
    """The point ``(3,)`` nearest (least squares) to every camera's optical axis, where the cameras look.

    ``centres`` ``(V, 3)`` camera centres and ``axes`` ``(V, 3)`` unit viewing directions, any one frame (metres).
    Falls back to the centres' mean when the axes are parallel or the point lies over ``max_distance_m`` away.

    >>> optical_axes_meeting_point(np.array([[-1.0, 0, 0], [1, 0, 0]]), np.array([[1.0, 0, 1], [-1, 0, 1]]) / 2**0.5)
    array([0., 0., 1.])
    """
    c = np.asarray(centres, dtype=np.float64)
    d = np.asarray(axes, dtype=np.float64)
    eye = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # projectors orthogonal to each axis
    try:
        p = np.linalg.solve(eye.sum(axis=0), np.einsum("vij,vj->i", eye, c))
    except np.linalg.LinAlgError:
        p = c.mean(axis=0)
    if not np.isfinite(p).all() or np.linalg.norm(p - c.mean(axis=0)) > max_distance_m:
        p = c.mean(axis=0)
    return p
