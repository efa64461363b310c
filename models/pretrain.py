"""Reproduce the shipped CV-UGCN checkpoint from real motion capture: ``python -m models.pretrain``.

Data (docs/cv_ugcn.md, "Pretraining the shipped default model"): the clips of ``--motions`` (default
``<repo>/../shared/data/mocap``: 11 DeepMimic clips, 2 BVH files and the 29 CMU ASF/AMC takes of subjects
01-03, resampled to at most :data:`MAX_FPS`) are projected into random virtual stereo rigs (models/synthetic.py:
0.5-3 m baselines, 20-90 degree convergence, 1.5-5 m away). Training is **weak**: the input is the
triangulation of the noisy 2D, the 2D targets are the clean projections, and the 3D truth is only used to measure.

The network sees, per view and joint (``--inputs rays``, :func:`models.prep.node_features`), the coarse joint,
the two views' detector confidences, the joint's reprojection residual and the rays from both cameras: how far
to trust the input and how the rig sees it. ``--inputs xyz`` is the paper's input (the joint alone). With
``--past N`` (default 4) each node also sees the joint in the N earlier frames (a causal window, for live use;
:func:`models.prep.window_features`), with ``--future M`` the M later ones too (an offline model for Process, e.g.
``--future 4 --out models/weights/cvugcn_offline.pt``). ``--gate`` (default on) scales each residual by the model's
own confidence in it (``CVUGCNConfig.gate``).

Splits (fixed by name and seed, so the benchmark can rebuild them):

* test: the motions in :data:`TEST_MOTIONS` in rigs drawn from their own random stream - neither the motions
  nor the rigs are ever used in training or model selection (``python -m bench.refinement`` reports them);
* validation (model selection on the weak validation loss): the training motions in other held-out rigs;
* train: the remaining motions in the training rigs.

Augmentation of the training data (label-free, geometric), each measured on the held-out split and on the
real pairs of ``bench/refinement.py`` before being kept:

* every clip is also used mirrored (left/right swapped);
* every clip of every 2-rig chunk gets its own body: 8 symmetric segment scales in [0.85, 1.2] and a height
  scale in [0.85, 1.15] (:func:`reshape_body`, :func:`scale_motion`) - without it the network learns the
  mocap actors' proportions and shortens real forearms;
* every chunk gets its own noise (:func:`chunk_noise`, ``--noise mix``): 50 % the MediaPipe model measured on
  real footage (``NoiseConfig.mediapipe``: per-joint stds, a constant per-view bias, Student-t tails, correlation
  in time, left/right mirrors) at a level from logU(0.05, 1.5), 25 % the simpler Gaussian-plus-outliers model at
  x logU(0.1, 1.3) (:func:`scaled_noise`), 25 % clean (0.5-3 px) - so the network learns **how much** to correct;
  trained at the full noise level only, it moved even perfect input by ~40 mm towards its pose prior;
* every chunk holds ``--clips-per-chunk`` random clips (a random window of at most :data:`MAX_CLIP_FRAMES`
  frames of a long one), so 192 training rigs see every motion many times in different bodies and rigs;
* ``--pose-mix``: arms of one clip on the body of another (:func:`mix_arms`) and constant random limb
  rotations (:func:`bend_limbs`), for poses the 10 training clips do not hold;
* ``--hip-bias zero-mean`` (the default): the hip bias of the noise model is drawn around zero instead of
  the synthetic module's systematic 2-6 cm upwards. With the systematic bias the network learns to pull
  MediaPipe's hips (and so the pelvis, the root) down by ~2-4 cm on real data, which root-aligned MPJPE
  against a MediaPipe reference counts on every joint (see the report in bench/refinement.py). The test
  split always uses the synthetic module's default noise, systematic hip bias included.

Units: metres, pixels, seconds. Prints one JSON summary at the end (seed, data, time, metrics).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core import skeleton
from core.errors import CrossViewError, InputError

from .checkpoint import DEFAULT_CHECKPOINT
from .cvugcn import CVUGCNConfig
from .data import WeakData, from_synthetic
from .losses import LossConfig
from .mocap import Motion, load_motion_folder
from .prep import INPUT_CHANNELS
from .synthetic import NoiseConfig, make_stereo_samples

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MOTIONS = REPO.parent / "shared" / "data" / "mocap"

#: Motions never used for training or validation: the held-out test set (whole clips, one CMU take per subject).
TEST_MOTIONS: tuple[str, ...] = ("kick", "dance_a", "test_freebvh", "01_09", "02_05", "03_02")

#: Clips are resampled to at most this rate (CMU is 120 fps): more motions per sample, not more near-copies.
MAX_FPS = 30.0
#: A long clip contributes a random window of at most this many frames to each training chunk.
MAX_CLIP_FRAMES = 300


def _frames(m: Motion, sl: slice, **changes: Any) -> Motion:
    """The clip's frames ``sl`` (joints and, where it has one per frame, times)."""
    times = m.times[sl] if len(m.times) == m.num_frames else m.times
    return replace(m, joints=np.asarray(m.joints)[sl], times=times, **changes)


def at_most_fps(m: Motion, fps: float = MAX_FPS) -> Motion:
    """The clip with every k-th frame, for the smallest k that brings it to ``fps`` or below."""
    k = max(1, int(np.ceil(m.fps / fps - 1e-6)))
    return m if k == 1 else _frames(m, slice(None, None, k), fps=m.fps / k)


def clip_window(m: Motion, rng: np.random.Generator, max_frames: int = MAX_CLIP_FRAMES) -> Motion:
    """A random window of at most ``max_frames`` consecutive frames of the clip."""
    if m.num_frames <= max_frames:
        return m
    s = int(rng.integers(0, m.num_frames - max_frames + 1))
    return _frames(m, slice(s, s + max_frames))


#: Rig-id ranges of the three splits (the synthetic module numbers rigs from an offset).
_VAL_RIG_OFFSET = 100_000
_TEST_RIG_OFFSET = 200_000


def mirror_motion(m: Motion) -> Motion:
    """The clip mirrored across the world's x-z plane with left/right joints swapped (a valid human motion)."""
    X = np.asarray(m.joints, dtype=np.float64)[:, skeleton.MIRROR].copy()
    X[..., 1] *= -1.0
    return replace(m, name=m.name + "_mirrored", joints=X)


def scale_motion(m: Motion, s: float) -> Motion:
    """The clip with every length scaled by ``s`` about the floor point under its mean pelvis."""
    X = np.asarray(m.joints, dtype=np.float64)
    c = X[:, skeleton.ROOT].mean(axis=0)
    c[2] = 0.0
    return replace(m, joints=(X - c) * s + c)


#: Symmetric body segments, as (parent, child) bones scaled together (left and right alike, and both halves of
#: the trunk), so the derived joints stay where the detector mapping puts them: pelvis = mid-hips,
#: spine = mid(pelvis, thorax), thorax = mid-shoulders.
SEGMENTS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 1), (0, 4)),  # hip width
    ((1, 2), (4, 5)),  # thighs
    ((2, 3), (5, 6)),  # shins
    ((0, 7), (7, 8)),  # trunk
    ((8, 9), (9, 10)),  # neck and head
    ((8, 11), (8, 14)),  # shoulder width
    ((11, 12), (14, 15)),  # upper arms
    ((12, 13), (15, 16)),  # forearms
)


def reshape_body(m: Motion, factors: np.ndarray) -> Motion:
    """The clip with each of the 8 :data:`SEGMENTS` scaled by ``factors (8,)``: another person's proportions.

    Bone vectors are scaled and the joints rebuilt from the pelvis down the tree (vectorised over frames);
    the pelvis trajectory is kept.
    """
    X = np.asarray(m.joints, dtype=np.float64)
    scale = np.ones(skeleton.NUM_JOINTS)
    for f, bones in zip(factors, SEGMENTS, strict=True):
        for _, child in bones:
            scale[child] = f
    out = X.copy()
    for j in range(1, skeleton.NUM_JOINTS):  # parents come before children in core.skeleton's order
        p = skeleton.PARENTS[j]
        out[:, j] = out[:, p] + scale[j] * (X[:, j] - X[:, p])
    return replace(m, joints=out)


def scaled_noise(base: NoiseConfig, rng: np.random.Generator, scale: tuple[float, float] | None) -> NoiseConfig:
    """A noise level for one chunk: Gaussian sigmas times ``s ~ logU(scale)``, outlier/swap rates times ``U(0, 1.5)``.

    Training over many noise levels, down to nearly clean 2D, teaches the network to leave good input alone
    (trained at one level only, it pulls even perfect poses towards its prior). ``None`` keeps ``base``.
    """
    if scale is None:
        return base
    s = float(np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))))
    u = float(rng.uniform(0.0, 1.5))
    return replace(
        base,
        sigma_base_m=base.sigma_base_m * s,
        sigma_per_m=base.sigma_per_m * s,
        outlier_rate=base.outlier_rate * u,
        swap_limb_rate=base.swap_limb_rate * u,
        swap_all_rate=base.swap_all_rate * u,
    )


_ARMS = np.array([11, 12, 13, 14, 15, 16])


def _torso_frames(X: np.ndarray) -> np.ndarray:
    """Per-frame torso rotation ``(F, 3, 3)`` (columns: left, up, forward) from hips, thorax and shoulders."""
    up = X[:, 8] - X[:, 0]
    left = (X[:, 11] - X[:, 14]) + (X[:, 4] - X[:, 1])
    up = up / np.linalg.norm(up, axis=-1, keepdims=True).clip(1e-9)
    left = left - (left * up).sum(-1, keepdims=True) * up
    left = left / np.linalg.norm(left, axis=-1, keepdims=True).clip(1e-9)
    fwd = np.cross(left, up)
    return np.stack([left, up, fwd], axis=-1)


def mix_arms(body: Motion, arms: Motion) -> Motion:
    """A new clip: ``body``'s legs, trunk and head with the arm motion (shoulders to wrists) of ``arms``.

    The arms are carried from their own torso frame into ``body``'s, frame by frame (the shorter clip sets
    the length), and scaled to ``body``'s shoulder width; thorax stays the mid-shoulders point.
    """
    F = min(body.num_frames, arms.num_frames)
    A = np.asarray(body.joints[:F], dtype=np.float64)
    B = np.asarray(arms.joints[:F], dtype=np.float64)
    Ra, Rb = _torso_frames(A), _torso_frames(B)
    k = np.linalg.norm(A[:, 11] - A[:, 14], axis=-1) / np.linalg.norm(B[:, 11] - B[:, 14], axis=-1).clip(1e-9)
    local = np.einsum("fji,fnj->fni", Rb, B[:, _ARMS] - B[:, 8:9]) * k[:, None, None]
    out = A.copy()
    out[:, _ARMS] = A[:, 8:9] + np.einsum("fij,fnj->fni", Ra, local)
    times = np.asarray(body.times[:F]) if len(body.times) >= F else np.arange(F) / body.fps
    return replace(body, name=f"{body.name}+arms_{arms.name}", joints=out, times=times)


#: Limb chains rotated by :func:`bend_limbs`: (pivot joint, joints carried with it, max angle in degrees).
LIMB_CHAINS: tuple[tuple[int, tuple[int, ...], float], ...] = (
    (11, (12, 13), 35.0),  # left upper arm about the shoulder
    (14, (15, 16), 35.0),  # right upper arm
    (12, (13,), 30.0),  # left forearm about the elbow
    (15, (16,), 30.0),  # right forearm
    (1, (2, 3), 15.0),  # right thigh about the hip
    (4, (5, 6), 15.0),  # left thigh
)


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * Kx + (1 - np.cos(angle)) * Kx @ Kx


def bend_limbs(m: Motion, rng: np.random.Generator, strength: float = 1.0) -> Motion:
    """The clip with each limb chain of :data:`LIMB_CHAINS` turned by a constant random rotation about its pivot.

    A new pose repertoire from the same motion (arms held higher, wider...), smooth in time; bone lengths
    are kept. Rotations are in the torso's frame, so they follow the body as it turns.
    """
    X = np.asarray(m.joints, dtype=np.float64)
    T = _torso_frames(X)  # (F, 3, 3) torso -> world
    out = X.copy()
    for pivot, chain, max_deg in LIMB_CHAINS:
        R = _axis_angle(rng.normal(size=3), np.radians(rng.uniform(0.0, max_deg * strength)))
        W = np.einsum("fij,jk,flk->fil", T, R, T)  # the torso-frame rotation expressed in the world, per frame
        rel = out[:, list(chain)] - out[:, pivot : pivot + 1]
        out[:, list(chain)] = out[:, pivot : pivot + 1] + np.einsum("fij,fnj->fni", W, rel)
    return replace(m, joints=out)


def split_motions(motions: list[Motion]) -> tuple[list[Motion], list[Motion]]:
    """(train motions, test motions) by :data:`TEST_MOTIONS`, each at most :data:`MAX_FPS`."""
    motions = [at_most_fps(m) for m in motions]
    test = [m for m in motions if m.name in TEST_MOTIONS]
    train = [m for m in motions if m.name not in TEST_MOTIONS]
    if not train:
        raise InputError("every motion is in the held-out test set; add more motion files.")
    return train, test


@dataclass
class SyntheticSplits:
    """Weak data of each split, and (separately) the truth of validation and test, for measuring."""

    train: WeakData
    val: WeakData
    val_truth: np.ndarray
    test: WeakData | None
    test_truth: np.ndarray | None
    info: dict


#: Training noise mixtures (``--noise``): ``mix`` draws each chunk's detector noise from MediaPipe's measured model
#: at a random level (clean to 1.5 x as measured), the older Gaussian model, or pixel-clean 2D; ``simple`` is the
#: older model only (what the first shipped model was trained on).
NOISE_MIXES = ("mix", "simple")


def chunk_noise(
    rng: np.random.Generator, mix: str, base: NoiseConfig | None, scale: tuple[float, float] | None
) -> NoiseConfig:
    """One training chunk's noise. ``mix``: 50 % MediaPipe-like at level logU(0.05, 1.5), 25 % the simple model
    (:func:`scaled_noise`), 25 % clean (0.5-3 px); the left/right swap and outlier rates of the first two vary too."""
    simple = scaled_noise(base or NoiseConfig(), rng, scale)
    if mix == "simple":
        return simple
    u = rng.random()
    if u < 0.50:
        level = float(np.exp(rng.uniform(np.log(0.05), np.log(1.5))))
        k = float(rng.uniform(0.0, 2.0))
        return NoiseConfig.mediapipe(level, swap_limb_rate=0.005 * k, swap_all_rate=0.002 * k, outlier_rate=0.005 * k)
    if u < 0.75:
        return simple
    return NoiseConfig.clean(float(rng.uniform(0.5, 3.0)))


def _make(
    motions: list[Motion],
    n_rigs: int,
    rng: np.random.Generator,
    rig_offset: int,
    augment: bool,
    rigs_per_chunk: int = 2,
    segment_range: tuple[float, float] = (0.85, 1.2),
    noise: NoiseConfig | None = None,
    noise_scale: tuple[float, float] | None = (0.1, 1.3),
    pose_mix: bool = False,
    clips_per_chunk: int | None = None,
    noise_mix: str = "simple",
) -> tuple[WeakData, np.ndarray]:
    """Synthetic weak data over ``n_rigs`` rigs; with ``augment``, mirrored clips, a body per clip and chunk, a
    noise per chunk (:func:`chunk_noise`), ``clips_per_chunk`` random clips (random windows of long ones) per chunk."""
    parts, truths = [], []
    base = motions + [mirror_motion(m) for m in motions] if augment else motions
    for c0 in range(0, n_rigs, rigs_per_chunk):
        n = min(rigs_per_chunk, n_rigs - c0)
        chosen = base
        if clips_per_chunk is not None and clips_per_chunk < len(base):
            chosen = [base[i] for i in np.sort(rng.choice(len(base), clips_per_chunk, replace=False))]
        this_noise = noise
        if augment:  # every clip of every chunk gets its own body: height and segment proportions
            ms = []
            for m in chosen:
                m = clip_window(m, rng)
                if pose_mix:
                    if rng.random() < 0.5:
                        m = mix_arms(m, clip_window(base[rng.integers(len(base))], rng))
                    m = bend_limbs(m, rng)
                m = reshape_body(m, rng.uniform(*segment_range, len(SEGMENTS)))
                ms.append(scale_motion(m, rng.uniform(0.85, 1.15)))
        else:
            ms = chosen
        if augment or noise_mix != "simple":
            this_noise = chunk_noise(rng, noise_mix, noise, noise_scale)
        s = make_stereo_samples(ms, n, rng, noise_config=this_noise, rig_id_offset=rig_offset + c0)
        d, truth = from_synthetic(s)
        parts.append(d)
        truths.append(truth)
    data = WeakData.concat(parts)  # makes sequence ids unique across chunks
    data.group = data.seq.copy()  # one "session" per (rig, clip) sequence
    return data, np.concatenate(truths)


def build_splits(
    motions_dir: str | Path = DEFAULT_MOTIONS,
    seed: int = 0,
    train_rigs: int = 192,
    val_rigs: int = 8,
    test_rigs: int = 24,
    with_test: bool = True,
    train_noise: NoiseConfig | None = None,
    pose_mix: bool = False,
    clips_per_chunk: int | None = None,
    noise_mix: str = "simple",
) -> SyntheticSplits:
    """The pretraining data. Independent random streams per split (``[seed, k]``), so splits never share rigs.

    Validation uses the training motions (windows of at most :data:`MAX_CLIP_FRAMES` frames, so long clips do not
    swamp it) in held-out rigs, each rig with its own noise of ``noise_mix`` (:func:`chunk_noise`), so that model
    selection sees the clean-to-MediaPipe range the network trains on.
    """
    motions = load_motion_folder(motions_dir)
    train_m, test_m = split_motions(motions)
    t0 = time.perf_counter()
    rng_train = np.random.default_rng([seed, 1])
    train, _ = _make(
        train_m,
        train_rigs,
        rng_train,
        0,
        augment=True,
        noise=train_noise,
        pose_mix=pose_mix,
        clips_per_chunk=clips_per_chunk,
        noise_mix=noise_mix,
    )
    rng_val = np.random.default_rng([seed, 2])
    val_m = [clip_window(m, rng_val) for m in train_m]
    val, val_truth = _make(
        val_m, val_rigs, rng_val, _VAL_RIG_OFFSET, False, rigs_per_chunk=1, noise=train_noise, noise_mix=noise_mix
    )
    test = test_truth = None
    if with_test and test_m:
        test, test_truth = _make(test_m, test_rigs, np.random.default_rng([seed, 3]), _TEST_RIG_OFFSET, False)
    info = {
        "motions_dir": str(motions_dir),
        "train_motions": [m.name for m in train_m],
        "test_motions": [m.name for m in test_m],
        "max_fps": MAX_FPS,
        "clips_per_chunk": clips_per_chunk,
        "noise_mix": noise_mix,
        "train_rigs": train_rigs,
        "val_rigs": val_rigs,
        "test_rigs": test_rigs,
        "train_samples": len(train),
        "val_samples": len(val),
        "test_samples": len(test) if test is not None else 0,
        "data_seconds": round(time.perf_counter() - t0, 1),
    }
    return SyntheticSplits(train, val, val_truth, test, test_truth, info)


def test_set(
    motions_dir: str | Path = DEFAULT_MOTIONS,
    seed: int = 0,
    test_rigs: int = 24,
    noise: NoiseConfig | None = None,
    motions: list[Motion] | None = None,
):
    """Only the held-out test split (motions AND rigs never trained on): ``(WeakData, truth (N, 17, 3) m)``.

    Rigs and noise come from the test stream ``[seed, 3]``; ``noise`` (default: the synthetic module's model,
    systematic hip bias included) sets the 2D noise. Another noise model draws other (equally held-out) rigs.
    ``motions`` (already loaded, e.g. to build several conditions) replaces reading ``motions_dir``.
    """
    _, test_m = split_motions(motions if motions is not None else load_motion_folder(motions_dir))
    if not test_m:
        raise InputError(f"none of the held-out motions {TEST_MOTIONS} is in '{motions_dir}'.")
    return _make(test_m, test_rigs, np.random.default_rng([seed, 3]), _TEST_RIG_OFFSET, False, noise=noise)


#: Training noise variants: the synthetic module's default (the doc's model) or one whose hip bias averages zero.
HIP_BIAS: dict[str, NoiseConfig | None] = {
    "doc": None,
    "zero-mean": NoiseConfig(hip_bias_up_m=(-0.03, 0.03), hip_bias_out_m=(-0.015, 0.015)),
}

WIDTHS = {"narrow": CVUGCNConfig.narrow, "full": CVUGCNConfig.full, "tiny": CVUGCNConfig.tiny}


def fp16_check(state_path: Path, data: WeakData) -> dict:
    """Does float16 storage keep accuracy? The last float32 weights vs the same weights rounded to float16.

    Returns the largest and mean difference of the refined world poses, in mm.
    """
    import torch

    from .cvugcn import CVUGCN
    from .train import world_output

    st = torch.load(state_path, map_location="cpu", weights_only=True)
    m32 = CVUGCN(CVUGCNConfig.from_dict(st["model_config"]))
    m32.load_state_dict(st["model"])
    m16 = CVUGCN(CVUGCNConfig.from_dict(st["model_config"]))
    m16.load_state_dict(
        {
            k: v.half().float() if v.is_floating_point() and not k.endswith(("A_rows", "A_cols")) else v
            for k, v in st["model"].items()
        }
    )
    a = world_output(m32, data, torch.device("cpu"))
    b = world_output(m16, data, torch.device("cpu"))
    d = np.linalg.norm(a - b, axis=-1) * 1000
    return {"max_diff_mm": float(np.nanmax(d)), "mean_diff_mm": float(np.nanmean(d))}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m models.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--motions",
        type=Path,
        default=DEFAULT_MOTIONS,
        help="folder of mocap clips (.bvh, CMU .amc with its .asf, DeepMimic)",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT, help="checkpoint to write")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--epoch-samples", type=int, default=40_000, help="samples per epoch (random windows)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", choices=sorted(WIDTHS), default="narrow")
    ap.add_argument("--train-rigs", type=int, default=192)
    ap.add_argument("--val-rigs", type=int, default=8)
    ap.add_argument("--test-rigs", type=int, default=24)
    ap.add_argument("--loss", choices=LossConfig.PRESETS, default="structure-heavy")
    ap.add_argument("--robust", choices=("l2", "huber", "cauchy"), default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy 2-core CPU)")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--hip-bias",
        choices=("doc", "zero-mean"),
        default="zero-mean",
        help="training noise: the doc's systematic hip bias, or a zero-mean one (the test split always uses the doc's)",
    )
    ap.add_argument("--fp32", action="store_true", help="store float32 weights (default float16)")
    ap.add_argument("--inputs", choices=sorted(INPUT_CHANNELS), default="rays", help="what each network node sees")
    ap.add_argument("--past", type=int, default=4, help="earlier frames each prediction sees (causal window)")
    ap.add_argument("--future", type=int, default=0, help="later frames each prediction sees (offline models only)")
    ap.add_argument(
        "--gate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scale each residual by the model's own confidence in it",
    )
    ap.add_argument("--noise", choices=NOISE_MIXES, default="mix", help="training noise mixture (see NOISE_MIXES)")
    ap.add_argument("--clips-per-chunk", type=int, default=8, help="random clips per pair of training rigs")
    ap.add_argument("--resume", action="store_true", help="continue from <out>.state.pt")
    ap.add_argument(
        "--pose-mix",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mix arms across clips and bend limbs (augmentation; on for the shipped model)",
    )
    return ap


def _train_config(args: argparse.Namespace) -> Any:
    """The :class:`models.train.TrainConfig` of the command line."""
    from .train import TrainConfig

    loss = LossConfig.preset(args.loss)
    if args.robust:
        loss = replace(loss, robust=args.robust)
    return TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        epoch_samples=args.epoch_samples,
        threads=args.threads,
        half_checkpoint=not args.fp32,
        loss=loss,
    )


def _test_metrics(checkpoint: Path, state_path: Path, splits: SyntheticSplits) -> dict[str, Any]:
    """Triangulation alone and refined on the held-out test split, and the float16 check."""
    import torch

    from .checkpoint import load_checkpoint
    from .train import coarse_output, output_metrics, world_output

    model = load_checkpoint(checkpoint).build_model()
    ref = world_output(model, splits.test, torch.device("cpu"))
    return {
        "coarse": output_metrics(coarse_output(splits.test), splits.test, splits.test_truth),
        "refined": output_metrics(ref, splits.test, splits.test_truth),
        "fp16_check": fp16_check(state_path, splits.test),
    }


def _pretrain(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    """Build the splits, train, and measure: the JSON summary."""
    from .train import Trainer

    t0 = time.perf_counter()
    splits = build_splits(
        args.motions,
        args.seed,
        args.train_rigs,
        args.val_rigs,
        args.test_rigs,
        train_noise=HIP_BIAS[args.hip_bias],
        pose_mix=args.pose_mix,
        clips_per_chunk=args.clips_per_chunk or None,
        noise_mix=args.noise,
    )
    print(json.dumps({"data": splits.info}), file=sys.stderr, flush=True)
    meta = {
        "kind": "pretrained",
        "data": splits.info,
        "seed": args.seed,
        "command": "python -m models.pretrain " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    trainer = Trainer(
        splits.train,
        splits.val,
        args.out,
        _train_config(args),
        replace(WIDTHS[args.width]().with_inputs(args.inputs, args.past, args.future), gate=args.gate),
        val_truth=splits.val_truth,
        meta=meta,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    state = trainer.state_path if args.resume and trainer.state_path.is_file() else None
    res = trainer.fit(resume_from=state)
    summary = {
        "out": str(res.checkpoint),
        "checkpoint_id": res.checkpoint_id,
        "seed": args.seed,
        "width": args.width,
        "epochs_run": res.epochs_run,
        "best_epoch": res.best_epoch + 1,
        "train_seconds": round(res.seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "samples_per_second": round(res.samples_per_second, 1),
        "best_val": res.best_val,
        "data": splits.info,
    }
    if splits.test is not None:
        summary["test"] = _test_metrics(res.checkpoint, trainer.state_path, splits)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        summary = _pretrain(args, argv)
    except CrossViewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
