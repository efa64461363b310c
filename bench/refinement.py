"""CV-UGCN refinement benchmark: ``python -m bench.refinement`` prints one JSON object.

* ``synthetic``: MPJPE (mm, root-aligned and absolute) of triangulation alone and of triangulation +
  refinement with the shipped checkpoint, on the held-out test split of models/pretrain.py (motions AND
  rigs never used in training or model selection).
* ``real_pairs``: the 6 camera pairs of ``sessions/pose2sim_balancing`` (4 videos, 100 frames, 60 fps).
  Reference = 4-view triangulation of MediaPipe's 2D over all four videos (computed here; the 2D is
  cached in ``$CROSSVIEW_CACHE`` or the system temp folder so reruns are fast). For each pair: MPJPE of
  the 2-view triangulation, of its refinement by the shipped model, and of its refinement after a
  fine-tune on the OTHER five pairs' data (leave-pair-out, labels-free targets of models/targets.py).
* ``swapfix_*`` columns (extra): the same with :func:`core.swaps.fix_left_right_swaps` undoing left/right label
  swaps between the two views before triangulating (MediaPipe mirrors cam_02's whole body for ~30 frames).
* ``finetune_held_out_frames``: the Training tab's fine-tune on the take's first 70 % (all pairs), measured on the
  last 30 % of every pair (frames never trained on), after the left/right repair.
* ``speed``: refiner ms/frame at batch 1 (the live call: a causal model's last frames as context) and 256 on CPU
  (network alone and the whole refine call), and training samples/second.

A temporal model's windows take every second frame of the 60 fps take (``fps=60``, as ``triangulate --refine
--fps 60`` or a session's timestamps give it).

Units: millimetres for errors, milliseconds and seconds for times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.shared import POSE2SIM
from core.swaps import fix_left_right_swaps

SESSION = POSE2SIM
CAMS = ("cam_01", "cam_02", "cam_03", "cam_04")
#: The balancing take's frame rate (Hz): a temporal model's windows take every second frame of it.
TAKE_FPS = 60.0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cache_dir() -> Path:
    d = Path(os.environ.get("CROSSVIEW_CACHE", Path(tempfile.gettempdir()) / "crossview-cache"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def mediapipe_2d(videos: list[Path]) -> np.ndarray:
    """MediaPipe Pose (complexity 1, tracking mode) on each video -> ``(V, F, 17, 3)`` [x_px, y_px, visibility].

    Cached by the videos' names, sizes and modification times.
    """
    import cv2

    from core.detection import PoseDetector

    key = hashlib.sha256(
        "|".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in videos).encode()
    ).hexdigest()[:16]
    path = cache_dir() / f"mediapipe_{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["kp2d"]
    out = []
    for v in videos:
        cap = cv2.VideoCapture(str(v))
        frames = []
        with PoseDetector(static_image_mode=False) as det:
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                frames.append(det.detect(img).keypoints)
        cap.release()
        out.append(np.stack(frames))
    n = min(len(a) for a in out)
    kp = np.stack([a[:n] for a in out])
    np.savez_compressed(path, kp2d=kp)
    return kp


# ----------------------------------------------------------------------------- real pairs


def real_session():
    """MediaPipe 2D ``(V, F, 17, 3)``, the four cameras (adapted to the videos' sizes) and the 4-view reference."""
    from core.calibration_io import load_calibration
    from core.camera import cameras_for_frames
    from core.triangulation import triangulate
    from core.video_io import probe_video

    videos = [SESSION / "videos" / f"cam0{i}.mp4" for i in range(1, 5)]
    kp = mediapipe_2d(videos)
    group = load_calibration(SESSION / "Calib_qualisys.toml").group.subset(CAMS)
    group, _ = cameras_for_frames(group, [(probe_video(v).width, probe_video(v).height) for v in videos])
    ref = triangulate(kp[..., :2], kp[..., 2], group).points
    return kp, group, ref


def pair_mpjpe_mm(pred: np.ndarray, ref: np.ndarray) -> float:
    from core import skeleton

    return skeleton.mpjpe(pred, ref) * 1000.0


def _pair_name(a: str, b: str) -> str:
    return f"{a}+{b}"


def finetune_leave_pair_out(
    kp: np.ndarray, group, held_out: tuple[int, int], init, out: Path, epochs: int, fps: float = 60.0, seed: int = 0
):
    """Fine-tune ``init`` on every pair but ``held_out`` (label-free targets), return the best checkpoint."""
    import itertools

    from models.data import Recording, from_recording

    names = group.names
    pairs = [(names[a], names[b]) for a, b in itertools.combinations(range(len(names)), 2) if (a, b) != held_out]
    rec = Recording("pose2sim_balancing", {n: kp[i] for i, n in enumerate(names)}, group, fps)
    return _finetune(from_recording(rec, pairs=pairs), init, out, epochs, seed)


def _finetune(data, init, out: Path, epochs: int, seed: int = 0):
    """The Training tab's fine-tune (preset ``finetune``) of ``init`` on weak ``data``: the training result."""
    from models.data import split
    from models.losses import LossConfig
    from models.train import TrainConfig, Trainer

    train, val, _ = split(data, 0.2, seed=seed)
    cfg = TrainConfig(
        epochs=epochs,
        lr=5e-4,
        batch_size=256,
        window=4,
        device="cpu",
        seed=seed,
        checkpoint_every=0,
        loss=LossConfig.preset("finetune"),
        early_stop_patience=15,
    )
    return Trainer(train, val, out, cfg, init=init, meta={"kind": "bench fine-tune"}).fit()


def _swap_fixed_coarse(kp: np.ndarray, sub) -> tuple[np.ndarray, np.ndarray]:
    """A pair's 2D ``(2, F, 17, 3)`` -> (its triangulation ``(F, 17, 3)`` m after the left/right repair, what was
    relabelled per frame)."""
    from models import prep

    pts, conf, kind = fix_left_right_swaps(kp[..., :2], kp[..., 2], sub)
    fixed = np.concatenate([np.moveaxis(pts, 0, 1), np.moveaxis(conf, 0, 1)[..., None]], axis=-1)
    return prep.triangulate_pair(fixed, sub), kind


def finetune_held_out_frames(refiner, epochs: int, train_fraction: float = 0.7) -> dict:
    """Fine-tune on the first ``train_fraction`` of the take (all 6 pairs' MediaPipe 2D, label-free targets), then
    measure every pair on the rest, frames it never trained on: MPJPE (mm) against the 4-view reference of the
    coarse pose, the shipped model and the fine-tuned one, all after the left/right repair."""
    import itertools

    from models import prep
    from models.data import Recording, from_recording
    from models.refiner import Refiner

    kp, group, ref = real_session()
    cut = int(round(train_fraction * kp.shape[1]))
    rec = Recording("pose2sim_balancing_start", {n: kp[i, :cut] for i, n in enumerate(group.names)}, group, TAKE_FPS)
    res = _finetune(from_recording(rec), refiner.checkpoint, Path(tempfile.mkdtemp(prefix="cv-ft-")) / "m.pt", epochs)
    models = {"shipped": Refiner(refiner.checkpoint, device="cpu", fix_swaps=True)}
    models["finetuned"] = Refiner(res.checkpoint, device="cpu", fix_swaps=True)
    rows = []
    for a, b in itertools.combinations(range(len(CAMS)), 2):
        sub = group.subset([CAMS[a], CAMS[b]])
        k = np.moveaxis(kp[[a, b]], 0, 1)
        coarse = prep.triangulate_pair(k, sub)
        fixed, _ = _swap_fixed_coarse(kp[[a, b]], sub)
        row = {"pair": _pair_name(CAMS[a], CAMS[b]), "coarse_mpjpe_mm": round(pair_mpjpe_mm(fixed[cut:], ref[cut:]), 2)}
        for name, r in models.items():  # the whole take in (a temporal model's context), the held-out frames scored
            row[f"{name}_mpjpe_mm"] = round(pair_mpjpe_mm(r.refine(k, coarse, sub, fps=TAKE_FPS)[cut:], ref[cut:]), 2)
        rows.append(row)
    mean = {key: round(float(np.mean([r[key] for r in rows])), 2) for key in rows[0] if key != "pair"}
    worst = max(100 * (r["finetuned_mpjpe_mm"] - r["coarse_mpjpe_mm"]) / r["coarse_mpjpe_mm"] for r in rows)
    return {
        "train_frames": cut,
        "held_out_frames": int(kp.shape[1] - cut),
        "epochs_run": res.epochs_run,
        "pairs": rows,
        "mean": mean,
        "worst_finetuned_change_pct": round(float(worst), 1),
    }


def _weak_metrics_on_pair(kp: np.ndarray, group, pair: tuple[int, int], checkpoints: dict, fps: float = 60.0) -> dict:
    """The label-free measures the Training tab's comparison shows (``models.train.output_metrics``: reprojection
    px, bone-length std mm, jitter mm/frame²) of each checkpoint on one pair of the real take."""
    import torch

    from models.checkpoint import load_checkpoint
    from models.data import Recording, from_recording
    from models.train import output_metrics, world_output

    names = group.names
    rec = Recording("pose2sim_balancing", {n: kp[i] for i, n in enumerate(names)}, group, fps)
    data = from_recording(rec, pairs=[(names[pair[0]], names[pair[1]])])
    dev = torch.device("cpu")
    out = {}
    for name, ck in checkpoints.items():
        ck = ck if hasattr(ck, "build_model") else load_checkpoint(ck)
        m = output_metrics(world_output(ck.build_model(dev), data, dev), data)
        out[name] = {k: round(v, 2) for k, v in m.items()}
    return out


def real_pairs(refiner, finetune_epochs: int = 40) -> tuple[list[dict], dict]:
    """Per-pair MPJPE (mm) against the 4-view MediaPipe reference: coarse, shipped model, leave-pair-out fine-tune."""
    import itertools

    from models import prep
    from models.refiner import Refiner

    kp, group, ref = real_session()
    swap_refiner = Refiner(refiner.checkpoint, device="cpu", fix_swaps=True)
    rows = []
    work = Path(tempfile.mkdtemp(prefix="cv-bench-"))
    t0 = time.perf_counter()
    for a, b in itertools.combinations(range(len(CAMS)), 2):
        sub = group.subset([CAMS[a], CAMS[b]])
        k = np.moveaxis(kp[[a, b]], 0, 1)
        coarse = prep.triangulate_pair(k, sub)
        refined = refiner.refine(k, coarse, sub, fps=TAKE_FPS)
        coarse_fixed, kind = _swap_fixed_coarse(kp[[a, b]], sub)
        refined_fixed = swap_refiner.refine(k, coarse, sub, fps=TAKE_FPS)
        c, r = pair_mpjpe_mm(coarse, ref), pair_mpjpe_mm(refined, ref)
        sc, sr = pair_mpjpe_mm(coarse_fixed, ref), pair_mpjpe_mm(refined_fixed, ref)
        row = {
            "pair": _pair_name(CAMS[a], CAMS[b]),
            "coarse_mpjpe_mm": round(c, 2),
            "refined_mpjpe_mm": round(r, 2),
            "refined_change_pct": round(100 * (r - c) / c, 1),
            "coarse_median_mm": round(_median_mm(coarse, ref), 2),
            "refined_median_mm": round(_median_mm(refined, ref), 2),
            "swapfix_frames": int((kind != "").sum()),
            "swapfix_coarse_mpjpe_mm": round(sc, 2),
            "swapfix_refined_mpjpe_mm": round(sr, 2),
            "swapfix_change_pct": round(100 * (sr - sc) / sc, 1),
        }
        if finetune_epochs > 0:
            ck, out = refiner.checkpoint, work / f"ft_{a}{b}.pt"
            res = finetune_leave_pair_out(kp, group, (a, b), ck, out, finetune_epochs)
            tuned = Refiner(res.checkpoint, device="cpu")
            f = pair_mpjpe_mm(tuned.refine(k, coarse, sub, fps=TAKE_FPS), ref)
            tuned.fix_swaps = True
            fs = pair_mpjpe_mm(tuned.refine(k, coarse, sub, fps=TAKE_FPS), ref)
            weak = _weak_metrics_on_pair(kp, group, (a, b), {"shipped": ck, "finetuned": res.checkpoint})
            row |= {
                "weak_metrics_held_out_pair": weak,
                "finetuned_mpjpe_mm": round(f, 2),
                "finetuned_change_pct": round(100 * (f - c) / c, 1),
                "swapfix_finetuned_mpjpe_mm": round(fs, 2),
                "swapfix_finetuned_change_pct": round(100 * (fs - sc) / sc, 1),
                "finetune_epochs": res.epochs_run,
            }
        rows.append(row)
        _log(f"{rows[-1]}")
    summary = {
        "mean_coarse_mpjpe_mm": round(float(np.mean([r["coarse_mpjpe_mm"] for r in rows])), 2),
        "mean_refined_mpjpe_mm": round(float(np.mean([r["refined_mpjpe_mm"] for r in rows])), 2),
        "worst_refined_change_pct": max(r["refined_change_pct"] for r in rows),
        "worst_swapfix_change_pct": max(r["swapfix_change_pct"] for r in rows),
        "mean_swapfix_coarse_mpjpe_mm": round(float(np.mean([r["swapfix_coarse_mpjpe_mm"] for r in rows])), 2),
        "mean_swapfix_refined_mpjpe_mm": round(float(np.mean([r["swapfix_refined_mpjpe_mm"] for r in rows])), 2),
        **(
            {
                "mean_finetuned_mpjpe_mm": round(float(np.mean([r["finetuned_mpjpe_mm"] for r in rows])), 2),
                "worst_finetuned_change_pct": max(r["finetuned_change_pct"] for r in rows),
                "mean_swapfix_finetuned_mpjpe_mm": round(
                    float(np.mean([r["swapfix_finetuned_mpjpe_mm"] for r in rows])), 2
                ),
                "worst_swapfix_finetuned_change_pct": max(r["swapfix_finetuned_change_pct"] for r in rows),
            }
            if finetune_epochs > 0
            else {}
        ),
        "reference": "4-view DLT of MediaPipe 2D (all four videos), root-aligned MPJPE",
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return rows, summary


def _median_mm(pred: np.ndarray, ref: np.ndarray) -> float:
    from core import skeleton

    d = np.linalg.norm(skeleton.root_centre(pred)[0] - skeleton.root_centre(ref)[0], axis=-1)
    return float(np.nanmedian(d) * 1000)


# ----------------------------------------------------------------------------- synthetic


def synthetic(refiner) -> dict:
    """Held-out motions AND rigs (models/pretrain.py's test split, rebuilt from the checkpoint's seed)."""
    import torch

    from models.pretrain import DEFAULT_MOTIONS, TEST_MOTIONS, test_set
    from models.train import coarse_output, output_metrics, world_output

    info = refiner.checkpoint.meta.get("data", {})
    seed = int(refiner.checkpoint.meta.get("seed", 0))
    rigs = int(info.get("test_rigs", 24))
    data, truth = test_set(DEFAULT_MOTIONS, seed=seed, test_rigs=rigs)
    model = refiner.checkpoint.build_model()
    out: dict = {"motions": list(TEST_MOTIONS), "rigs": rigs, "samples": len(data), "seed": seed}
    c = output_metrics(coarse_output(data), data, truth)
    modes = {}
    for mode in ("agreement", "agreement_both", "mean", "view1"):
        modes[mode] = output_metrics(world_output(model, data, torch.device("cpu"), mode), data, truth)
    r = modes["agreement"]
    out.update(
        coarse_mpjpe_mm=round(c["mpjpe_mm"], 2),
        refined_mpjpe_mm=round(r["mpjpe_mm"], 2),
        coarse_mpjpe_abs_mm=round(c["mpjpe_abs_mm"], 2),
        refined_mpjpe_abs_mm=round(r["mpjpe_abs_mm"], 2),
        improvement_pct=round(100 * (c["mpjpe_mm"] - r["mpjpe_mm"]) / c["mpjpe_mm"], 1),
        coarse_bone_std_mm=round(c["bone_std_mm"], 2),
        refined_bone_std_mm=round(r["bone_std_mm"], 2),
        coarse_reproj_px=round(c["reproj_px"], 2),
        refined_reproj_px=round(r["reproj_px"], 2),
        combine_modes_mpjpe_mm={k: round(v["mpjpe_mm"], 2) for k, v in modes.items()},
    )
    return out


# ----------------------------------------------------------------------------- noise conditions

#: The test conditions: MediaPipe's measured error (detector_noise.md) and nearly clean 2D (1 and 2 px).
CONDITIONS = ("realistic", "clean")
#: A clip x rig case counts as "worse" when refinement raises its MPJPE by more than this fraction.
WORSE_BY = 0.05
#: Pose2Sim-style zero-phase low-pass (Hz), the floor a learned stage must beat.
BUTTERWORTH_HZ = 6.0


def _per_joint_mm(world: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Root-aligned joint errors ``(N, 17)`` mm."""
    from core import skeleton

    return np.linalg.norm(skeleton.root_centre(world)[0] - skeleton.root_centre(truth)[0], axis=-1) * 1000.0


def _butterworth_by_sequence(world: np.ndarray, data, fps: float) -> np.ndarray:
    """Each (clip, rig) sequence of ``world (N, 17, 3)`` filtered zero-phase along its frames (gaps bridged)."""
    from core.filters import butterworth_zero_phase

    out = np.full_like(world, np.nan)
    for q in np.unique(data.seq):  # one filter call per sequence
        idx = np.flatnonzero(data.seq == q)
        fr = data.frame[idx] - data.frame[idx].min()
        full = np.full((int(fr.max()) + 1, *world.shape[1:]), np.nan)
        full[fr] = world[idx]
        out[idx] = butterworth_zero_phase(full, fps, BUTTERWORTH_HZ)[fr]
    return out


def _condition(model, data, truth, fps: float) -> dict:
    """Coarse, refined (network + the product's per-joint guard), network alone, and each + Butterworth."""
    import torch

    from core import skeleton
    from models import prep
    from models.train import coarse_output, world_output

    coarse = coarse_output(data)
    net = world_output(model, data, torch.device("cpu"))
    guarded, fell_back = prep.reprojection_guard(net, coarse, data.input2d, data.input_conf, data.cameras())
    outs = {"coarse": coarse, "refined": guarded, "network_only": net}
    outs["coarse_butterworth"] = _butterworth_by_sequence(coarse, data, fps)
    outs["refined_butterworth"] = _butterworth_by_sequence(guarded, data, fps)
    errs = {k: _per_joint_mm(v, truth) for k, v in outs.items()}
    res: dict = {f"{k}_mpjpe_mm": round(float(np.nanmean(e)), 2) for k, e in errs.items()}
    c, r = res["coarse_mpjpe_mm"], res["refined_mpjpe_mm"]
    res["improvement_pct"] = round(100 * (c - r) / c, 1)
    per_seq_c = np.array([np.nanmean(errs["coarse"][data.seq == q]) for q in np.unique(data.seq)])
    per_seq_r = np.array([np.nanmean(errs["refined"][data.seq == q]) for q in np.unique(data.seq)])
    res["cases"] = len(per_seq_c)
    res["worse_cases_frac"] = round(float(np.mean(per_seq_r > (1 + WORSE_BY) * per_seq_c)), 4)
    res["guard_fallback_frac"] = round(float(fell_back.sum() / max(1, np.isfinite(coarse).all(-1).sum())), 4)
    res["per_joint_mm"] = {
        name: [round(float(np.nanmean(errs["coarse"][:, j])), 1), round(float(np.nanmean(errs["refined"][:, j])), 1)]
        for j, name in enumerate(skeleton.JOINT_NAMES)
    }
    return res


def noise_conditions(refiner, rigs: int = 24) -> dict:
    """Held-out motions in held-out rigs (models/pretrain.py's test stream) under each of :data:`CONDITIONS`.

    ``realistic``: ``NoiseConfig.mediapipe()`` (detector_noise.md as measured). ``clean``: 1 px and 2 px Gaussian
    pixel noise only (the same rigs at both levels). Clips run at models.pretrain.MAX_FPS.
    """
    from models.data import WeakData
    from models.mocap import load_motion_folder
    from models.pretrain import DEFAULT_MOTIONS, MAX_FPS, test_set
    from models.synthetic import NoiseConfig

    seed = int(refiner.checkpoint.meta.get("seed", 0))
    motions = load_motion_folder(DEFAULT_MOTIONS)
    model = refiner.checkpoint.build_model()
    levels = {"realistic": [NoiseConfig.mediapipe(1.0)], "clean": [NoiseConfig.clean(1.0), NoiseConfig.clean(2.0)]}
    out: dict = {}
    for name in CONDITIONS:
        parts = [test_set(DEFAULT_MOTIONS, seed, rigs, noise=n, motions=motions) for n in levels[name]]
        data = WeakData.concat([d for d, _ in parts])
        truth = np.concatenate([t for _, t in parts])
        out[name] = _condition(model, data, truth, MAX_FPS) | {"samples": len(data), "rigs": rigs}
        _log(f"{name}: { ({k: v for k, v in out[name].items() if k != 'per_joint_mm'}) }")
    return out


# ----------------------------------------------------------------------------- another detector

#: The camera pairs of the OpenPose comparison (issue 11's table), through the ``triangulate --refine`` path.
OPENPOSE_PAIRS = (("cam_01", "cam_04"), ("cam_03", "cam_04"), ("cam_01", "cam_02"), ("cam_02", "cam_03"))


def another_detector(refiner) -> dict:
    """OpenPose BODY_25B 2D of the balancing take: per pair, the median joint error (mm, the 12 joints BODY_25B
    shares with H36M) against Pose2Sim's 4-camera reference, coarse (after the left/right repair) and refined."""
    from bench.shared import pose2sim_reference12
    from core import skeleton
    from core.calibration_io import load_calibration
    from core.keypoints_io import load_openpose_folder
    from core.triangulation import triangulate

    ref = pose2sim_reference12()
    kps = {
        f"cam_0{k}": skeleton.from_body25b(load_openpose_folder(SESSION / "openpose_body25b" / f"cam{k}"))
        for k in range(1, 5)
    }
    group = load_calibration(SESSION / "Calib_qualisys.toml").group
    rows = []
    for a, b in OPENPOSE_PAIRS:
        sub = group.subset([a, b])
        stack = np.stack([kps[a], kps[b]])  # (2, F, 17, 3)
        pts, conf, _ = fix_left_right_swaps(stack[..., :2], stack[..., 2], sub, min_confidence=0.3)
        stack = np.concatenate([pts, conf[..., None]], axis=-1)
        coarse = triangulate(stack[..., :2], stack[..., 2], sub, min_confidence=0.3).points
        refined = refiner.refine(np.moveaxis(stack, 0, 1), coarse, sub, fps=TAKE_FPS)  # triangulate --refine --fps 60
        n = min(len(ref), len(coarse))
        med = [
            float(np.nanmedian(np.linalg.norm(x[:n, list(skeleton.SHARED_12)] - ref[:n], axis=-1)) * 1000)
            for x in (coarse, refined)
        ]
        rows.append(
            {
                "pair": _pair_name(a, b),
                "coarse_median_mm": round(med[0], 1),
                "refined_median_mm": round(med[1], 1),
                "change_pct": round(100 * (med[1] - med[0]) / med[0], 1),
            }
        )
        _log(f"{rows[-1]}")
    return {
        "pairs": rows,
        "mean_coarse_median_mm": round(float(np.mean([r["coarse_median_mm"] for r in rows])), 2),
        "mean_refined_median_mm": round(float(np.mean([r["refined_median_mm"] for r in rows])), 2),
        "worst_change_pct": max(r["change_pct"] for r in rows),
        "reference": "Pose2Sim's 4-camera TRC, 12 shared joints, median over frames and joints, not root-aligned",
    }


# ----------------------------------------------------------------------------- speed


def _time_ms(fn, reps: int) -> float:
    fn()
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1000)


def _refiner_speed(r, k: np.ndarray, coarse: np.ndarray, sub) -> dict:
    """Median ms of the network alone and of the whole refine call, at batch 1 and 256 (per frame).

    Batch 1 is the live call: one frame refined, with a causal model's last ``past`` frames as its context (what
    ``models.refiner.RefinerHook`` passes)."""
    F = len(coarse)
    x = r.network_inputs(k, coarse, sub)  # what refine gives the network (node features of its input kind)
    reps = -(-256 // F)
    x256, k256, c256 = (np.concatenate([a] * reps)[:256] for a in (x, k, coarse))
    n = r.config.past + 1
    return {
        "network_ms_batch1": round(_time_ms(lambda: r.residual(x[:1]), 300), 3),
        "network_ms_per_frame_batch256": round(_time_ms(lambda: r.residual(x256), 20) / 256, 4),
        "refine_call_ms_batch1": round(_time_ms(lambda: r.refine(k[:n], coarse[:n], sub, context=n - 1), 200), 3),
        "refine_call_ms_per_frame_batch256": round(_time_ms(lambda: r.refine(k256, c256, sub), 10) / 256, 4),
    }


def speed(checkpoint) -> dict:
    """Refiner latency on CPU (median ms) and training throughput (samples/s)."""
    import torch

    from models import prep
    from models.losses import LossConfig
    from models.refiner import Refiner
    from models.train import TrainConfig, Trainer

    kp, group, _ = real_session()
    sub = group.subset(["cam_01", "cam_04"])
    k = np.moveaxis(kp[[0, 3]], 0, 1)
    coarse = prep.triangulate_pair(k, sub)
    out: dict = {"torch_threads_default": torch.get_num_threads()}
    for fast in (False, True):
        tag = "traced" if fast else "eager_fused"
        r = Refiner(checkpoint, device="cpu", fast=fast)
        out.update({f"{tag}_{key}": v for key, v in _refiner_speed(r, k, coarse, sub).items()})
    # training throughput on synthetic data (held-out split: it is only timed)
    from models.pretrain import DEFAULT_MOTIONS, test_set

    data, _ = test_set(DEFAULT_MOTIONS, seed=0, test_rigs=8)
    from models.checkpoint import load_checkpoint

    ck = load_checkpoint(checkpoint) if not hasattr(checkpoint, "model_config") else checkpoint
    for threads in (1, 2):
        cfg = TrainConfig(
            epochs=1,
            epoch_samples=8192,
            device="cpu",
            threads=threads,
            checkpoint_every=0,
            loss=LossConfig.preset("structure-heavy"),
        )
        tmp = Path(tempfile.mkdtemp(prefix="cv-speed-")) / "m.pt"
        res = Trainer(data, None, tmp, cfg, ck.model_config).fit()
        out[f"train_samples_per_s_threads{threads}"] = round(res.samples_per_second, 1)
    torch.set_num_threads(out["torch_threads_default"])
    return out


def goals(result: dict) -> dict[str, bool]:
    """Issue 11's goals, for the sections that ran."""
    g: dict[str, bool] = {}
    if "realistic" in result:
        g["realistic_improvement_ge_30pct"] = result["realistic"]["improvement_pct"] >= 30.0
    if "clean" in result:
        c = result["clean"]
        g["clean_not_worse_on_average"] = c["refined_mpjpe_mm"] <= c["coarse_mpjpe_mm"]
        g["clean_worse_cases_le_5pct"] = c["worse_cases_frac"] <= 0.05
    if "another_detector" in result:
        a = result["another_detector"]
        g["openpose_no_pair_worse_than_3pct"] = a["worst_change_pct"] <= 3.0
        g["openpose_better_on_average"] = a["mean_refined_median_mm"] < a["mean_coarse_median_mm"]
    if "real_summary" in result:
        s = result["real_summary"]
        g["real_swapfix_better_on_average"] = s["mean_swapfix_refined_mpjpe_mm"] < s["mean_swapfix_coarse_mpjpe_mm"]
        g["real_swapfix_no_pair_worse_than_3pct"] = s["worst_swapfix_change_pct"] <= 3.0
    if "speed" in result:  # the live path: traced, batch 1, the whole refine call (bench.pipeline has the overhead)
        g["live_refine_call_le_3ms_batch1"] = result["speed"]["traced_refine_call_ms_batch1"] <= 3.0
    return g


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.refinement", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="checkpoint (default: the shipped one)")
    ap.add_argument("--finetune-epochs", type=int, default=40)
    ap.add_argument(
        "--skip", nargs="*", default=[], choices=["synthetic", "conditions", "openpose", "real", "finetune", "speed"]
    )
    args = ap.parse_args(argv)
    if not SESSION.is_dir():
        print(json.dumps({"error": f"shared data not found at {SESSION}; set CROSSVIEW_SHARED_DATA"}))
        return 2
    from models.refiner import Refiner

    refiner = Refiner(args.model, device="cpu")
    ck = refiner.checkpoint
    result: dict = {
        "checkpoint": {
            "path": str(ck.path),
            "id": ck.id,
            "dtype": ck.dtype,
            "size_bytes": ck.path.stat().st_size if ck.path else None,
            "config": ck.model_config.to_dict(),
        }
    }
    if "synthetic" not in args.skip:
        _log("synthetic held-out split...")
        result["synthetic"] = synthetic(refiner)
    if "conditions" not in args.skip:
        _log("noise conditions (realistic, clean)...")
        result.update(noise_conditions(refiner))
    if "openpose" not in args.skip:
        _log("another detector (OpenPose pairs)...")
        result["another_detector"] = another_detector(Refiner(args.model, device="cpu", fix_swaps=False))
    if "real" not in args.skip:
        _log("real pairs (MediaPipe on 4 videos, cached)...")
        epochs = 0 if "finetune" in args.skip else args.finetune_epochs
        result["real_pairs"], result["real_summary"] = real_pairs(refiner, epochs)
        if epochs:
            _log("fine-tune on the take's first 70 %, measured on the rest...")
            result["finetune_held_out_frames"] = finetune_held_out_frames(refiner, epochs)
    if "speed" not in args.skip:
        _log("speed...")
        result["speed"] = speed(ck)
    result["goals"] = goals(result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
