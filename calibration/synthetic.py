"""Synthetic calibration scenes with known truth: a printed board (:func:`calibration.printing.render_board`) seen
through known distorted cameras, with blur and sensor noise. No Qt.

Every output pixel's ray is traced to the board plane (the camera's distortion removed once per camera by
:func:`pixel_rays`), so the images carry the same lens distortion, perspective and sampling a real camera gives;
detection then runs on them like on real footage. Used by the tests and ``bench.calibration``.

Example::

    rig = two_camera_rig()                                    # known K, distortion, relative pose
    poses = board_poses(board, rig, 20, np.random.default_rng(0))
    img = render_view(board, rig[0], *poses[0], rays=pixel_rays(rig[0]))
"""

from __future__ import annotations

import cv2
import numpy as np

from calibration.boards import Board
from calibration.printing import render_board
from core.camera import Camera, CameraGroup, rodrigues_to_matrix, undistort_points

#: Texture resolution of the rendered board (pixels per metre): well above any camera's sampling of it.
TEXTURE_PX_PER_M = 4000.0


def pixel_rays(cam: Camera) -> np.ndarray:
    """``(H, W, 3)`` the ray (normalised, ``z = 1``) in the camera frame through every pixel centre of ``cam``."""
    w, h = cam.size
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    ideal = undistort_points(np.stack([u, v], axis=-1), cam.K, cam.dist)  # (H, W, 2) pinhole pixels
    K = cam.K
    x = (ideal[..., 0] - K[0, 2]) / K[0, 0]
    y = (ideal[..., 1] - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def _texture(board: Board) -> tuple[np.ndarray, float]:
    """The board's texture with a white quiet zone of one square around it, and the board origin's texture offset
    (px): board coordinates ``(X, Y)`` m sit at texture pixel ``(X, Y) * TEXTURE_PX_PER_M + offset``."""
    tex = render_board(board, TEXTURE_PX_PER_M)
    margin = int(round(board.square * TEXTURE_PX_PER_M))
    paper = 0 if board.inverted else 255
    tex = cv2.copyMakeBorder(tex, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=paper)
    # chessboard object points start at the first INNER corner, one square in; ChArUco's at the board's corner
    offset = margin + (board.square * TEXTURE_PX_PER_M if board.kind == "chessboard" else 0.0)
    return tex, offset


def render_view(
    board: Board,
    cam: Camera,
    R_bc: np.ndarray,
    t_bc: np.ndarray,
    *,
    rays: np.ndarray | None = None,
    blur_sigma_px: float = 0.7,
    noise_std: float = 2.0,
    background: int = 110,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """``(H, W, 3)`` uint8: ``board`` posed at ``X_cam = R_bc @ X_board + t_bc`` (metres) seen by ``cam``.

    ``rays``: :func:`pixel_rays` of ``cam`` (computed when None; pass it for many views). ``blur_sigma_px``: Gaussian
    blur (px, the lens and motion); ``noise_std``: sensor noise (grey levels); ``background``: the scene's grey.
    """
    rays = pixel_rays(cam) if rays is None else rays
    R = np.asarray(R_bc, np.float64)
    t = np.asarray(t_bc, np.float64)
    n = R[:, 2]  # the board's normal in the camera frame; the plane holds t
    denom = rays @ n
    lam = np.where(np.abs(denom) > 1e-9, (n @ t) / np.where(np.abs(denom) > 1e-9, denom, 1.0), -1.0)
    hit = (rays * lam[..., None] - t) @ R  # (H, W, 3) board coordinates
    tex, offset = _texture(board)
    mx = (hit[..., 0] * TEXTURE_PX_PER_M + offset - 0.5).astype(np.float32)
    my = (hit[..., 1] * TEXTURE_PX_PER_M + offset - 0.5).astype(np.float32)
    behind = lam <= 0
    mx[behind] = -1e6
    my[behind] = -1e6
    # the texture is far finer than the camera's pixels: pre-blur it to the footprint of one camera pixel
    footprint = float(np.median(lam) * TEXTURE_PX_PER_M / cam.K[0, 0]) if np.any(~behind) else 1.0
    if footprint > 1.5:
        tex = cv2.GaussianBlur(tex, (0, 0), 0.5 * footprint)
    img = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=background)
    if blur_sigma_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_sigma_px)
    if noise_std > 0:
        rng = rng or np.random.default_rng(0)
        img = np.clip(img + rng.normal(0.0, noise_std, img.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def two_camera_rig(size: tuple[int, int] = (960, 540)) -> CameraGroup:
    """A known two-webcam rig: strong barrel distortion (k1 -0.3), principal points off centre, camera 1 0.6 m to
    the right of camera 0 and turned 25 degrees towards it (world = camera 0's frame)."""
    w, h = size
    K0 = np.array([[0.78 * w, 0, 0.5 * w + 12], [0, 0.78 * w, 0.5 * h - 9], [0, 0, 1]])
    K1 = np.array([[0.70 * w, 0, 0.5 * w - 15], [0, 0.70 * w, 0.5 * h + 7], [0, 0, 1]])
    d0 = np.array([-0.30, 0.10, 0.001, -0.0005, 0.0])
    d1 = np.array([-0.22, 0.05, -0.0008, 0.001, 0.0])
    R1 = rodrigues_to_matrix(np.array([0.02, -np.radians(25), 0.01]))
    c1 = np.array([0.6, 0.02, 0.05])  # camera 1's centre in camera 0's frame
    return CameraGroup(
        [Camera("cam_0", K0, d0, np.eye(3), np.zeros(3), size), Camera("cam_1", K1, d1, R1, -R1 @ c1, size)],
        origin="cam_0",
    )


def board_poses(
    board: Board, rig: CameraGroup, n: int, rng: np.random.Generator, distance_m: tuple[float, float] = (0.8, 1.6)
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` board poses in camera 0's frame (``(R_bc, t_bc)``: board to camera 0) that BOTH cameras see whole,
    tilted up to 45 degrees, spread over the shared view."""
    obj = board.object_points
    centre = obj.mean(axis=0)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(50 * n):  # rejection sampling of a handful of poses: set-up, not a hot path
        if len(out) == n:
            break
        d = rng.uniform(*distance_m)
        target = np.array([rng.uniform(-0.45, 0.75) * d * 0.6, rng.uniform(-0.3, 0.3) * d * 0.6, d])
        tilt = rng.normal(0.0, 0.35, 3)
        tilt[2] = rng.uniform(-0.4, 0.4)
        R = rodrigues_to_matrix(tilt)  # board x right, y down, z away from the camera: its printed face seen
        t = target - R @ centre
        if _seen_whole(obj, R, t, rig):
            out.append((R, t))
    return out


def _seen_whole(obj: np.ndarray, R: np.ndarray, t: np.ndarray, rig: CameraGroup, margin_px: float = 20.0) -> bool:
    X = obj @ R.T + t
    for cam in rig:
        Xc = cam.world_to_camera(X)
        normal_c = cam.R @ R[:, 2]
        facing = normal_c @ (Xc.mean(axis=0) / np.linalg.norm(Xc.mean(axis=0)))  # > 0: the printed face is seen
        if np.any(Xc[:, 2] <= 0.2) or facing < 0.5:
            return False
        uv = cam.project(X)
        w, h = cam.size
        if not np.all(np.isfinite(uv)) or np.any(uv < margin_px) or np.any(uv[:, 0] > w - margin_px):
            return False
        if np.any(uv[:, 1] > h - margin_px):
            return False
    return True
