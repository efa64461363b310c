"""Virtual two-camera rigs and realistic noisy 2D detections from real mocap, for pretraining CV-UGCN.

Units: metres (3D, world Z-up with the floor at z = 0 and the subject near the origin), pixels (2D),
degrees in configs where named ``*_deg``. Cameras are :class:`core.camera.Camera` objects and every
projection goes through :mod:`core.camera`; extrinsics map world to camera.

**Rigs** (:func:`sample_rig`): two webcams on a floor, each 1.5-5 m from the subject's torso centre
(the point 1 m above the stage centre), 0.5-3 m apart, optical axes converging at 20-90 degrees. Each
camera aims at the subject with a random off-centre error and a small roll, has webcam-like intrinsics
(field of view across the long image side 55-90 degrees; 640x480, 1280x720, 1920x1080 and their
portrait variants; slightly unequal fx/fy; principal point near the centre) and mild, monotonic
radial/tangential distortion. A rig must also see a whole standing person (1.9 m tall, 0.4 m around)
at the stage centre in both images; rigs that cannot are drawn again. All ranges are checked on the
finished cameras (baseline, :func:`core.camera.convergence_angle_deg`, distances).

**2D noise** (:class:`NoiseConfig`, applied per view and frame) has two styles. ``style="mediapipe"``
(:meth:`NoiseConfig.mediapipe`, :func:`mediapipe_offsets`) follows ``docs/detector_noise.md``, MediaPipe's
error measured on real footage: per-joint 3D-equivalent stds (:data:`MEDIAPIPE_FLUCT_M`) times ``level``, a
constant per-view bias of the measured size (:data:`MEDIAPIPE_BIAS_M`), Student-t tails (``nu`` = 2.4, as a
Gaussian AR(1) times a slowly varying chi-square scale), correlation in time (``lag1_corr_60fps``, scaled to the
clip's frame rate), rare limb and whole-body mirrors, and a weakly informative confidence warped per view
(detectors' confidences are not calibrated). :meth:`NoiseConfig.clean` is ``sigma_px`` of Gaussian noise only.
The default ``style="simple"`` is the older model below:

* Gaussian noise whose 3D-equivalent std grows with the joint's distance from the torso:
  ``sigma_m = sigma_base_m + sigma_per_m * d`` where ``d`` is the distance (m) from the joint to the
  nearest torso joint (pelvis, hips, spine, thorax, shoulders) in that frame. In pixels that is
  ``fx * sigma_m / z`` (``z`` the joint's depth), so it scales with image size and distance the way
  a detector working on a person crop does. Each (sequence, view) also gets a log-normal difficulty.
* A constant bias on the hips, per sequence (subject): each hip moves ``hip_bias_up_m`` towards the
  thorax and ``hip_bias_out_m`` outwards in 3D before projection - the few centimetres by which
  detectors place hips away from the joint centres. It is the same in both views.
* Gross outliers (``outlier_rate`` per joint): half jump by ``outlier_m`` (3D-equivalent) in a random
  image direction, half land on another joint's true position.
* Left/right swaps per frame and view (using ``core.skeleton.MIRROR``): legs (knees+ankles) and arms
  (elbows+wrists) swap with ``swap_limb_rate`` each, the whole body with ``swap_all_rate``.
* Pelvis, spine and thorax take the error of the hips/shoulders they are built from, with the weights
  of the detector mapping ``core.skeleton.MEDIAPIPE_TO_H36M`` (their 2D is their own projection plus
  that weighted error, so a perspective difference between a 2D mean and a projected 3D mean does not
  leak in as noise).
* Confidence falls with the joint's 3D-equivalent error ``e`` (m): ``1 - 0.6 (1 - exp(-e / 0.1))`` plus
  N(0, 0.03); outliers are further multiplied by U(0.3, 0.8); derived joints take the minimum of their
  sources. The error for this excludes the hip bias (a detector cannot know its own bias).

The clean 2D (``kp2d_clean``) are the true projections: the targets that play the role of labels.
``joints3d`` is the truth, for measuring only - never for a loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from core.camera import Camera, CameraGroup, convergence_angle_deg, project_points
from core.errors import InputError
from core.skeleton import JOINT_INDEX, MEDIAPIPE_TO_H36M, MIRROR, NUM_JOINTS

from .mocap import Motion

__all__ = [
    "NoiseConfig",
    "RigConfig",
    "make_stereo_samples",
    "rig_from_samples",
    "sample_rig",
    "split_train_val",
]

#: Height (m) of the subject's torso centre above the stage centre, the point rig distances are measured to.
SUBJECT_CENTRE_Z = 1.0

_TORSO = np.array(
    [JOINT_INDEX[n] for n in ("pelvis", "right_hip", "left_hip", "spine", "thorax", "left_shoulder", "right_shoulder")]
)
_DERIVED = np.array([JOINT_INDEX["pelvis"], JOINT_INDEX["spine"], JOINT_INDEX["thorax"]])
# (3, 17) weights rebuilding the derived joints from H36M hips/shoulders, from the MediaPipe mapping
_MP_TO_H36M_SLOT = {11: JOINT_INDEX["left_shoulder"], 12: JOINT_INDEX["right_shoulder"], 23: 4, 24: 1}
_DERIVE_W = np.zeros((3, NUM_JOINTS))
for _s, _j in _MP_TO_H36M_SLOT.items():
    _DERIVE_W[:, _j] = MEDIAPIPE_TO_H36M[_DERIVED, _s]
_DERIVE_USES = _DERIVE_W != 0
_LEG_SWAP = np.array([JOINT_INDEX[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle")])
_ARM_SWAP = np.array([JOINT_INDEX[n] for n in ("right_elbow", "right_wrist", "left_elbow", "left_wrist")])
_HIPS = np.array([JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"]])

LANDSCAPE_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class RigConfig:
    """Ranges of random stereo rigs. Metres, degrees, pixels."""

    baseline_m: tuple[float, float] = (0.5, 3.0)
    convergence_deg: tuple[float, float] = (20.0, 90.0)
    distance_m: tuple[float, float] = (1.5, 5.0)
    fov_deg: tuple[float, float] = (55.0, 90.0)  #: across the long image side (HFOV in landscape)
    sizes: tuple[tuple[int, int], ...] = LANDSCAPE_SIZES  #: landscape (width, height); portrait is transposed
    portrait_prob: float = 0.2
    camera_height_m: tuple[float, float] = (0.5, 2.2)
    aim_height_m: tuple[float, float] = (0.6, 1.3)
    aim_jitter_m: float = 0.15  #: std of each camera's off-centre aim point, metres at the subject
    roll_std_deg: float = 3.0
    fxfy_std: float = 0.005  #: relative std of fy/fx - 1
    principal_std: float = 0.02  #: std of the principal point offset, fraction of width/height
    k1: tuple[float, float] = (-0.15, 0.05)
    k2: tuple[float, float] = (-0.03, 0.05)
    tangential_std: float = 5e-4
    body_height_m: float = 1.9  #: standing person that must fit in both images
    body_radius_m: float = 0.4

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NoiseConfig:
    """Detector noise model (see the module docstring). Metres are 3D-equivalent at the joint's depth."""

    sigma_base_m: float = 0.012
    sigma_per_m: float = 0.04
    difficulty_log_std: float = 0.35
    outlier_rate: float = 0.02
    outlier_m: tuple[float, float] = (0.15, 0.5)
    swap_limb_rate: float = 0.02
    swap_all_rate: float = 0.005
    hip_bias_up_m: tuple[float, float] = (0.02, 0.06)
    hip_bias_out_m: tuple[float, float] = (0.0, 0.03)
    conf_noise_std: float = 0.03
    #: ``"simple"``: the Gaussian/torso-distance model above; ``"mediapipe"``: the model measured on real MediaPipe
    #: output (``../shared/docs/detector_noise.md``, :func:`mediapipe_offsets`) instead of the Gaussian part.
    style: str = "simple"
    level: float = 1.0  #: "mediapipe" style: multiplies the measured stds and biases (1 = as measured)
    nu: float = 2.4  #: "mediapipe" style: Student-t degrees of freedom of the fluctuation
    lag1_corr_60fps: float = 0.86  #: "mediapipe" style: lag-1 correlation of its Gaussian part at 60 fps (doc: 0.78)
    shared_fraction: float = 0.1  #: "mediapipe" style: share of the fluctuation variance that moves the whole body
    sigma_px: float = 0.0  #: extra isotropic Gaussian pixel noise (std, px); the "clean" condition uses only this

    def __post_init__(self) -> None:
        if self.style not in NOISE_STYLES:
            raise InputError(f"noise style must be one of {NOISE_STYLES}, got {self.style!r}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def mediapipe(cls, level: float = 1.0, **kw: float) -> NoiseConfig:
        """MediaPipe's measured error (detector_noise.md) times ``level``: per-joint stds, a constant per-view bias,
        Student-t tails, correlation in time; rare residual swaps (after the left/right repair), no extra hip bias."""
        base = dict(
            style="mediapipe",
            level=level,
            outlier_rate=0.0,
            swap_limb_rate=0.005,
            swap_all_rate=0.002,
            hip_bias_up_m=(0.0, 0.0),
            hip_bias_out_m=(0.0, 0.0),
        )
        return cls(**(base | kw))

    @classmethod
    def clean(cls, sigma_px: float = 1.5) -> NoiseConfig:
        """Nearly perfect 2D: isotropic ``sigma_px`` pixel noise only (no outliers, swaps or bias)."""
        return cls(
            sigma_base_m=0.0,
            sigma_per_m=0.0,
            difficulty_log_std=0.0,
            outlier_rate=0.0,
            swap_limb_rate=0.0,
            swap_all_rate=0.0,
            hip_bias_up_m=(0.0, 0.0),
            hip_bias_out_m=(0.0, 0.0),
            sigma_px=sigma_px,
        )


NOISE_STYLES = ("simple", "mediapipe")

#: MediaPipe's fluctuation std per H36M joint (m at the subject; detector_noise.md, left and right averaged).
MEDIAPIPE_FLUCT_M = np.array(
    [0.019, 0.0235, 0.0365, 0.0495, 0.0235, 0.0365, 0.0495, 0.008, 0.011, 0.028, 0.019]
    + [0.0225, 0.0335, 0.040, 0.0225, 0.0335, 0.040]
)
#: MediaPipe's constant per-view bias per H36M joint (rms of the 2D offset, m at the subject; detector_noise.md).
MEDIAPIPE_BIAS_M = np.array(
    [0.012, 0.015, 0.0145, 0.017, 0.015, 0.0145, 0.017, 0.012, 0.012, 0.021, 0.007]
    + [0.0135, 0.015, 0.0125, 0.0135, 0.015, 0.0125]
)
#: Robust std (1.4826 MAD) of a unit Student-t with 2.4 degrees of freedom; the doc: std is ~2x the robust std.
_T_ROBUST = 1.1715


# ----------------------------------------------------------------------------- rigs


def _look_at(C: np.ndarray, target: np.ndarray, roll_rad: float) -> np.ndarray:
    """World->camera rotation (3, 3) of a camera at ``C`` looking at ``target``, Z-up world, OpenCV axes."""
    z = target - C
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    x, y = c * x + s * y, -s * x + c * y
    return np.stack([x, y, z])


def _sample_intrinsics(rng: np.random.Generator, cfg: RigConfig) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    w, h = cfg.sizes[rng.integers(len(cfg.sizes))]
    if rng.random() < cfg.portrait_prob:
        w, h = h, w
    fov = np.radians(rng.uniform(*cfg.fov_deg))
    f = 0.5 * max(w, h) / np.tan(0.5 * fov)
    fy = f * (1.0 + rng.normal(0.0, cfg.fxfy_std))
    cx = 0.5 * w + rng.normal(0.0, cfg.principal_std) * w
    cy = 0.5 * h + rng.normal(0.0, cfg.principal_std) * h
    K = np.array([[f, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    # mild distortion, monotonic out past the image corners
    r_max = 1.15 * np.hypot(max(cx, w - cx) / f, max(cy, h - cy) / fy)
    r = np.linspace(0.0, r_max, 64)
    for _ in range(100):
        k1, k2 = rng.uniform(*cfg.k1), rng.uniform(*cfg.k2)
        if np.all(1 + 3 * k1 * r**2 + 5 * k2 * r**4 > 0.3):
            break
    else:  # pragma: no cover - ranges make this practically impossible
        k1 = k2 = 0.0
    p1, p2 = rng.normal(0.0, cfg.tangential_std, 2)
    return K, np.array([k1, k2, p1, p2, 0.0]), (int(w), int(h))


def _body_probe(cfg: RigConfig) -> np.ndarray:
    """(16, 3) points on a standing-person cylinder at the stage centre."""
    a = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = np.stack([cfg.body_radius_m * np.cos(a), cfg.body_radius_m * np.sin(a)], axis=-1)
    return np.concatenate(
        [np.c_[ring, np.zeros(8)], np.c_[ring, np.full(8, cfg.body_height_m)]],
        axis=0,
    )


def _inside(uv: np.ndarray, size: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    w, h = size
    mx, my = margin * w, margin * h
    return (
        np.isfinite(uv).all(axis=-1)
        & (uv[..., 0] >= -mx)
        & (uv[..., 0] <= w - 1 + mx)
        & (uv[..., 1] >= -my)
        & (uv[..., 1] <= h - 1 + my)
    )


def _visible(cam: Camera, X: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """True where world points ``(..., 3)`` land inside the image, both with and without distortion."""
    uv = cam.project(X)
    ideal = project_points(X, cam.K, np.zeros(5), cam.R, cam.t)
    return _inside(uv, cam.size, margin) & _inside(ideal, cam.size, 0.1)


def rig_stats(group: CameraGroup) -> dict[str, float]:
    """Baseline (m), convergence (deg), each camera's distance to the subject centre (m) and FOVs (deg)."""
    a, b = group[0], group[1]
    S = np.array([0.0, 0.0, SUBJECT_CENTRE_Z])
    return {
        "baseline_m": float(np.linalg.norm(a.center - b.center)),
        "convergence_deg": convergence_angle_deg(a, b),
        "distance1_m": float(np.linalg.norm(a.center - S)),
        "distance2_m": float(np.linalg.norm(b.center - S)),
        "fov1_deg": float(np.degrees(2 * np.arctan(0.5 * max(a.size) / a.K[0, 0]))),
        "fov2_deg": float(np.degrees(2 * np.arctan(0.5 * max(b.size) / b.K[0, 0]))),
    }


def sample_rig(rng: np.random.Generator, config: RigConfig | None = None, max_tries: int = 10_000) -> CameraGroup:
    """One random two-camera rig (``CameraGroup`` of ``cam1``, ``cam2``) around a subject at the origin.

    The world is Z-up metres with the floor at z = 0; the subject stands at the stage centre (0, 0).
    Every stated range holds on the returned cameras.
    """
    cfg = config or RigConfig()
    probe = _body_probe(cfg)
    S = np.array([0.0, 0.0, SUBJECT_CENTRE_Z])
    for _ in range(max_tries):
        d = rng.uniform(*cfg.distance_m, size=2)
        theta = np.radians(rng.uniform(*cfg.convergence_deg))
        if not cfg.baseline_m[0] <= np.sqrt(d @ d - 2 * d[0] * d[1] * np.cos(theta)) <= cfg.baseline_m[1]:
            continue
        heights = rng.uniform(*cfg.camera_height_m, size=2)
        dz = heights - S[2]
        if np.any(np.abs(dz) >= 0.9 * d):
            continue
        r = np.sqrt(d**2 - dz**2)
        phi0 = rng.uniform(0, 2 * np.pi)
        phis = phi0 + np.array([-0.5, 0.5]) * theta
        centres = np.stack([r * np.cos(phis), r * np.sin(phis), heights], axis=-1)
        aim_z = rng.uniform(*cfg.aim_height_m)
        cams = []
        for i in range(2):
            target = np.array([0.0, 0.0, aim_z]) + rng.normal(0.0, cfg.aim_jitter_m, 3)
            R = _look_at(centres[i], target, np.radians(rng.normal(0.0, cfg.roll_std_deg)))
            K, dist, size = _sample_intrinsics(rng, cfg)
            cams.append(Camera(f"cam{i + 1}", K, dist, R, -R @ centres[i], size))
        group = CameraGroup(cams)
        st = rig_stats(group)
        ok = (
            cfg.baseline_m[0] <= st["baseline_m"] <= cfg.baseline_m[1]
            and cfg.convergence_deg[0] <= st["convergence_deg"] <= cfg.convergence_deg[1]
            and all(cfg.distance_m[0] <= st[k] <= cfg.distance_m[1] for k in ("distance1_m", "distance2_m"))
            and all(_visible(c, probe, margin=-0.02).all() for c in cams)
        )
        if ok:
            return group
    raise InputError(
        f"No rig satisfies the ranges {cfg} in {max_tries} tries; widen the distance or field-of-view ranges."
    )


# ----------------------------------------------------------------------------- noise


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-9)


def _hip_biased(X: np.ndarray, up_m: float, out_m: float) -> np.ndarray:
    """Move both hips ``up_m`` towards the thorax and ``out_m`` away from the pelvis: (F, 17, 3) -> same.

    Pelvis and spine are rebuilt from the moved hips with the detector mapping.
    """
    Xb = X.copy()
    up = _unit(X[:, JOINT_INDEX["thorax"]] - X[:, JOINT_INDEX["pelvis"]])  # (F, 3)
    out = _unit(X[:, _HIPS] - X[:, JOINT_INDEX["pelvis"], None])  # (F, 2, 3)
    Xb[:, _HIPS] += up_m * up[:, None] + out_m * out
    Xb[:, _DERIVED] = np.einsum("dj,fjc->fdc", _DERIVE_W, Xb)  # the detector's pelvis/spine follow its hips
    return Xb


def _torso_distance(X: np.ndarray) -> np.ndarray:
    """Distance (m) of every joint to its nearest torso joint, ``(F, 17, 3) -> (F, 17)``."""
    d = np.linalg.norm(X[:, :, None, :] - X[:, None, _TORSO, :], axis=-1)
    return d.min(axis=-1)


def mediapipe_offsets(rng: np.random.Generator, F: int, fps: float, cfg: NoiseConfig) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-like 2D error of one view over ``F`` frames at ``fps``: (offset ``(F, 17, 2)``, bias ``(F, 17, 2)``),
    both in metres at the joint (multiply by px per metre). detector_noise.md, scaled by ``cfg.level``:

    * a constant per-view bias per joint (Gaussian, rms :data:`MEDIAPIPE_BIAS_M`);
    * a fluctuation that is Student-t (``cfg.nu``) in each frame, with a robust std of half
      :data:`MEDIAPIPE_FLUCT_M` (the doc: std about twice the robust std), made as a Gaussian AR(1) in time
      (``cfg.lag1_corr_60fps`` at 60 fps) times a slowly varying chi-square scale, so the tails stay heavy;
      ``cfg.shared_fraction`` of its variance is one shift of the whole body. Tails are capped at 20 robust stds.

    ``offset`` includes the bias (the detector cannot know its own bias, so the confidence uses ``offset - bias``).
    """
    from scipy.signal import lfilter
    from scipy.special import chdtri, ndtr

    lv = cfg.level
    bias = rng.normal(size=(1, NUM_JOINTS, 2)) * (lv * MEDIAPIPE_BIAS_M / np.sqrt(2.0))[None, :, None]
    rho = float(cfg.lag1_corr_60fps ** (60.0 / max(fps, 1.0)))
    burn = int(min(200, np.ceil(5.0 / max(1e-3, 1.0 - rho))))

    def ar(r: float, shape: tuple[int, ...]) -> np.ndarray:  # unit-variance Gaussian AR(1) along axis 0
        return lfilter([np.sqrt(1.0 - r**2)], [1.0, -r], rng.normal(size=(F + burn, *shape)), axis=0)[burn:]

    g = ar(rho, (NUM_JOINTS + 1, 2))
    w = chdtri(cfg.nu, ndtr(ar(np.sqrt(rho), (NUM_JOINTS + 1, 1))))  # chi-square(nu) marginal, slowly varying
    t = np.clip(g * np.sqrt(cfg.nu / np.maximum(w, 1e-9)), -20 * _T_ROBUST, 20 * _T_ROBUST) / _T_ROBUST
    sh = np.sqrt(cfg.shared_fraction)
    unit = np.sqrt(1.0 - cfg.shared_fraction) * t[:, :NUM_JOINTS] + sh * t[:, NUM_JOINTS:]
    fluct = unit * (0.5 * lv * MEDIAPIPE_FLUCT_M)[None, :, None]
    return fluct + bias, np.broadcast_to(bias, fluct.shape)


def _noisy_view(
    rng: np.random.Generator,
    cam: Camera,
    X: np.ndarray,
    X_biased: np.ndarray,
    torso_d: np.ndarray,
    cfg: NoiseConfig,
    fps: float = 60.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noisy 2D of one view: (noisy (F, 17, 2), conf (F, 17), outlier (F, 17) bool, swapped (F, 17) bool)."""
    F = X.shape[0]
    fx = cam.K[0, 0]
    z = cam.world_to_camera(X)[..., 2]  # (F, 17)
    px_per_m = fx / z  # (F, 17)
    believed = cam.project(X_biased)  # where the detector "thinks" the joints are
    known_bias = np.zeros((F, NUM_JOINTS, 2))
    if cfg.style == "mediapipe":
        off_m, bias_m = mediapipe_offsets(rng, F, fps, cfg)
        sigma_px = 0.5 * cfg.level * MEDIAPIPE_FLUCT_M[None] * px_per_m  # robust std, for the outliers' "land"
        known_bias = bias_m * px_per_m[..., None]
        noisy = believed + off_m * px_per_m[..., None]
    else:
        difficulty = np.exp(rng.normal(0.0, cfg.difficulty_log_std))
        sigma_px = difficulty * (cfg.sigma_base_m + cfg.sigma_per_m * torso_d) * px_per_m
        noisy = believed + rng.normal(size=(F, NUM_JOINTS, 2)) * sigma_px[..., None]
    if cfg.sigma_px > 0:
        noisy = noisy + rng.normal(0.0, cfg.sigma_px, size=noisy.shape)

    # gross outliers
    outlier = rng.random((F, NUM_JOINTS)) < cfg.outlier_rate
    outlier[:, _DERIVED] = False
    jump = rng.random((F, NUM_JOINTS)) < 0.5
    ang = rng.uniform(0, 2 * np.pi, (F, NUM_JOINTS))
    mag = rng.uniform(*cfg.outlier_m, (F, NUM_JOINTS)) * px_per_m
    kick = noisy + np.stack([np.cos(ang), np.sin(ang)], axis=-1) * mag[..., None]
    other = (np.arange(NUM_JOINTS) + rng.integers(1, NUM_JOINTS, (F, NUM_JOINTS))) % NUM_JOINTS
    clean = cam.project(X)
    land = (
        np.take_along_axis(clean, other[..., None], axis=1) + rng.normal(size=(F, NUM_JOINTS, 2)) * sigma_px[..., None]
    )
    noisy = np.where((outlier & jump)[..., None], kick, noisy)
    noisy = np.where((outlier & ~jump)[..., None], land, noisy)

    # left/right swaps
    idx = np.broadcast_to(np.arange(NUM_JOINTS), (F, NUM_JOINTS)).copy()
    swap_all = rng.random(F) < cfg.swap_all_rate
    swap_leg = (rng.random(F) < cfg.swap_limb_rate) | swap_all
    swap_arm = (rng.random(F) < cfg.swap_limb_rate) | swap_all
    idx[np.ix_(swap_leg, _LEG_SWAP)] = MIRROR[_LEG_SWAP]
    idx[np.ix_(swap_arm, _ARM_SWAP)] = MIRROR[_ARM_SWAP]
    all_pairs = np.flatnonzero(MIRROR != np.arange(NUM_JOINTS))
    idx[np.ix_(swap_all, all_pairs)] = MIRROR[all_pairs]
    noisy = np.take_along_axis(noisy, idx[..., None], axis=1)
    outlier = np.take_along_axis(outlier, idx, axis=1)
    swapped = idx != np.arange(NUM_JOINTS)

    # the detector mapping rebuilds pelvis / spine / thorax from hips and shoulders: they carry the mean
    # error of their sources (added to their own projection, so that perspective adds no error of its own)
    offsets = noisy - believed
    noisy[:, _DERIVED] = believed[:, _DERIVED] + np.einsum("dj,fjc->fdc", _DERIVE_W, offsets)

    err_m = np.linalg.norm(noisy - believed - known_bias, axis=-1) / px_per_m
    if cfg.style == "mediapipe":  # a real detector's confidence says little about its error: weak, warped per view
        conf = 1.0 - 0.3 * (1.0 - np.exp(-err_m / 0.1)) + rng.normal(0.0, 0.05, (F, NUM_JOINTS))
        conf = np.clip(conf, 0.02, 1.0) ** np.exp(rng.uniform(np.log(0.5), np.log(3.0)))
    else:
        conf = 1.0 - 0.6 * (1.0 - np.exp(-err_m / 0.1)) + rng.normal(0.0, cfg.conf_noise_std, (F, NUM_JOINTS))
    conf = np.where(outlier, conf * rng.uniform(0.3, 0.8, (F, NUM_JOINTS)), conf)
    conf = np.clip(conf, 0.02, 1.0)
    conf[:, _DERIVED] = np.where(_DERIVE_USES[None], conf[:, None, :], np.inf).min(axis=-1)
    return noisy, conf, outlier, swapped


# ----------------------------------------------------------------------------- samples


def _place(X: np.ndarray, rng: np.random.Generator, offset_std_m: float = 0.2) -> np.ndarray:
    """Rotate a clip (F, 17, 3) about the vertical by a random yaw and centre its mean pelvis at the origin."""
    yaw = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    centre = X[:, JOINT_INDEX["pelvis"], :2].mean(axis=0)
    Xc = X.copy()
    Xc[..., :2] -= centre
    Xc = Xc @ Rz.T
    Xc[..., :2] += rng.normal(0.0, offset_std_m, 2)
    return Xc


def make_stereo_samples(
    motions: Sequence[Motion],
    n_rigs: int,
    rng: np.random.Generator,
    rig_config: RigConfig | None = None,
    noise_config: NoiseConfig | None = None,
    frame_stride: int = 1,
    clips_per_rig: int | None = None,
    rig_id_offset: int = 0,
) -> dict[str, np.ndarray]:
    """Project every clip into ``n_rigs`` random rigs with realistic 2D noise. All float arrays are float32.

    Each (rig, clip) pair is one *sequence*: the clip gets a random yaw and placement, one hip bias and
    one per-view difficulty. Frames where a true joint leaves either image are dropped. ``clips_per_rig``
    (default all) picks a random subset of clips for each rig. Returns (N samples):

    - ``kp2d_noisy`` (N, 2, 17, 2) px, ``conf`` (N, 2, 17) in [0, 1]: the simulated detections;
    - ``kp2d_clean`` (N, 2, 17, 2) px: the true projections (the 2D targets);
    - ``joints3d`` (N, 17, 3) m, world frame: truth, for measuring only;
    - ``K`` (N, 2, 3, 3), ``dist`` (N, 2, 5), ``R`` (N, 2, 3, 3), ``t`` (N, 2, 3) m, ``image_size`` (N, 2, 2) px;
    - ``clip_id`` (N,) index into ``motions`` / ``clip_names``, ``rig_id`` (N,) (plus ``rig_id_offset``),
      ``seq_id`` (N,), ``frame`` (N,) frame index in the clip: split validation by clip and rig, never frame;
    - ``outlier`` (N, 2, 17), ``swapped`` (N, 2, 17) bool: which joints the noise corrupted (diagnostics);
    - ``clip_names`` (C,) str.
    """
    if not motions:
        raise InputError("No motions given; load some with models.mocap.load_motion_folder().")
    if n_rigs < 1 or frame_stride < 1:
        raise ValueError("n_rigs and frame_stride must be >= 1")
    rcfg = rig_config or RigConfig()
    ncfg = noise_config or NoiseConfig()
    n_clips = len(motions)
    k = n_clips if clips_per_rig is None else min(clips_per_rig, n_clips)
    parts: dict[str, list[np.ndarray]] = {}
    seq = 0
    for r in range(n_rigs):
        group = sample_rig(rng, rcfg)
        cams = list(group)
        clip_ids = np.arange(n_clips) if k == n_clips else np.sort(rng.choice(n_clips, k, replace=False))
        for c in clip_ids:
            frames = np.arange(0, motions[c].num_frames, frame_stride)
            X = _place(np.asarray(motions[c].joints, dtype=np.float64)[frames], rng)
            keep = np.ones(len(frames), dtype=bool)
            for cam in cams:
                keep &= _visible(cam, X).all(axis=-1) & (cam.world_to_camera(X)[..., 2] > 0.3).all(axis=-1)
            if not keep.any():
                continue
            X, frames = X[keep], frames[keep]
            F = len(frames)
            Xb = _hip_biased(X, rng.uniform(*ncfg.hip_bias_up_m), rng.uniform(*ncfg.hip_bias_out_m))
            td = _torso_distance(X)
            fps = float(motions[c].fps) / frame_stride
            views = [_noisy_view(rng, cam, X, Xb, td, ncfg, fps) for cam in cams]
            out = {
                "kp2d_noisy": np.stack([v[0] for v in views], axis=1),
                "conf": np.stack([v[1] for v in views], axis=1),
                "outlier": np.stack([v[2] for v in views], axis=1),
                "swapped": np.stack([v[3] for v in views], axis=1),
                "kp2d_clean": np.stack([cam.project(X) for cam in cams], axis=1),
                "joints3d": X,
                "K": np.broadcast_to(np.stack([c.K for c in cams]), (F, 2, 3, 3)),
                "dist": np.broadcast_to(np.stack([c.dist for c in cams]), (F, 2, 5)),
                "R": np.broadcast_to(np.stack([c.R for c in cams]), (F, 2, 3, 3)),
                "t": np.broadcast_to(np.stack([c.t for c in cams]), (F, 2, 3)),
                "image_size": np.broadcast_to(np.array([c.size for c in cams]), (F, 2, 2)),
                "clip_id": np.full(F, c),
                "rig_id": np.full(F, r + rig_id_offset),
                "seq_id": np.full(F, seq),
                "frame": frames,
                "fps": np.full(F, fps),
            }
            for key, val in out.items():
                parts.setdefault(key, []).append(val)
            seq += 1
    if not parts:
        raise InputError("No frame of any clip was visible in the sampled rigs; check the motions' scale (metres).")
    dtypes = {"outlier": bool, "swapped": bool, "image_size": np.int32, "clip_id": np.int32, "rig_id": np.int32}
    dtypes |= {"seq_id": np.int32, "frame": np.int32}
    res = {key: np.concatenate(vals).astype(dtypes.get(key, np.float32)) for key, vals in parts.items()}
    res["clip_names"] = np.array([m.name for m in motions])
    return res


def rig_from_samples(samples: dict[str, np.ndarray], i: int) -> CameraGroup:
    """The two cameras of sample ``i`` as a ``CameraGroup`` (``cam1``, ``cam2``)."""
    return CameraGroup(
        [
            Camera(
                f"cam{v + 1}",
                samples["K"][i, v],
                samples["dist"][i, v],
                samples["R"][i, v],
                samples["t"][i, v],
                tuple(int(s) for s in samples["image_size"][i, v]),
            )
            for v in range(2)
        ]
    )


def split_train_val(
    samples: dict[str, np.ndarray], rng: np.random.Generator, val_clip_frac: float = 0.2, val_rig_frac: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val) over samples: val uses held-out clips AND held-out rigs; train uses neither.

    Samples with a held-out clip in a training rig (or the reverse) are in neither set. At least one
    clip and one rig are held out, and at least one of each is kept for training.
    """
    clips = np.unique(samples["clip_id"])
    rigs = np.unique(samples["rig_id"])
    if len(clips) < 2 or len(rigs) < 2:
        raise ValueError("need at least 2 clips and 2 rigs to split by clip and rig")
    n_c = int(np.clip(round(val_clip_frac * len(clips)), 1, len(clips) - 1))
    n_r = int(np.clip(round(val_rig_frac * len(rigs)), 1, len(rigs) - 1))
    val_c = rng.choice(clips, n_c, replace=False)
    val_r = rng.choice(rigs, n_r, replace=False)
    in_c = np.isin(samples["clip_id"], val_c)
    in_r = np.isin(samples["rig_id"], val_r)
    return ~in_c & ~in_r, in_c & in_r
