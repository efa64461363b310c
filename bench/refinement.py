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
* ``speed``: refiner ms/frame at batch 1 and 256 on CPU (network alone and the whole refine call),
  and training samples/second.

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

    from models.data import Recording, from_recording, split
    from models.losses import LossConfig
    from models.train import TrainConfig, Trainer

    names = group.names
    pairs = [(names[a], names[b]) for a, b in itertools.combinations(range(len(names)), 2) if (a, b) != held_out]
    rec = Recording("pose2sim_balancing", {n: kp[i] for i, n in enumerate(names)}, group, fps)
    data = from_recording(rec, pairs=pairs)
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
    res = Trainer(train, val, out, cfg, init=init, meta={"kind": "bench leave-pair-out fine-tune"}).fit()
    return res


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
        refined = refiner.refine(k, coarse, sub)
        k_fixed = np.moveaxis(kp[[a, b]], 0, 1).copy()
        pts, conf, kind = fix_left_right_swaps(kp[[a, b]][..., :2], kp[[a, b]][..., 2], sub)
        k_fixed[..., :2], k_fixed[..., 2] = np.moveaxis(pts, 0, 1), np.moveaxis(conf, 0, 1)
        coarse_fixed = prep.triangulate_pair(k_fixed, sub)
        refined_fixed = swap_refiner.refine(k, coarse, sub)
        res = finetune_leave_pair_out(kp, group, (a, b), refiner.checkpoint, work / f"ft_{a}{b}.pt", finetune_epochs)
        tuned = Refiner(res.checkpoint, device="cpu").refine(k, coarse, sub)
        c, r, f = (pair_mpjpe_mm(x, ref) for x in (coarse, refined, tuned))
        rows.append(
            {
                "pair": _pair_name(CAMS[a], CAMS[b]),
                "coarse_mpjpe_mm": round(c, 2),
                "refined_mpjpe_mm": round(r, 2),
                "finetuned_mpjpe_mm": round(f, 2),
                "refined_change_pct": round(100 * (r - c) / c, 1),
                "finetuned_change_pct": round(100 * (f - c) / c, 1),
                "coarse_median_mm": round(_median_mm(coarse, ref), 2),
                "refined_median_mm": round(_median_mm(refined, ref), 2),
                "finetuned_median_mm": round(_median_mm(tuned, ref), 2),
                "finetune_epochs": res.epochs_run,
                "swapfix_frames": int((kind != "").sum()),
                "swapfix_coarse_mpjpe_mm": round(pair_mpjpe_mm(coarse_fixed, ref), 2),
                "swapfix_refined_mpjpe_mm": round(pair_mpjpe_mm(refined_fixed, ref), 2),
            }
        )
        _log(f"{rows[-1]}")
    summary = {
        "mean_coarse_mpjpe_mm": round(float(np.mean([r["coarse_mpjpe_mm"] for r in rows])), 2),
        "mean_refined_mpjpe_mm": round(float(np.mean([r["refined_mpjpe_mm"] for r in rows])), 2),
        "mean_finetuned_mpjpe_mm": round(float(np.mean([r["finetuned_mpjpe_mm"] for r in rows])), 2),
        "worst_refined_change_pct": max(r["refined_change_pct"] for r in rows),
        "worst_finetuned_change_pct": max(r["finetuned_change_pct"] for r in rows),
        "mean_swapfix_coarse_mpjpe_mm": round(float(np.mean([r["swapfix_coarse_mpjpe_mm"] for r in rows])), 2),
        "mean_swapfix_refined_mpjpe_mm": round(float(np.mean([r["swapfix_refined_mpjpe_mm"] for r in rows])), 2),
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
    """Median ms of the network alone and of the whole refine call, at batch 1 and 256 (per frame)."""
    from models import prep

    cams = prep.CameraArrays.from_group(sub)
    F = len(coarse)
    x = prep.prepare(coarse, np.broadcast_to(cams.R, (F, 2, 3, 3)), np.broadcast_to(cams.t, (F, 2, 3))).x
    reps = -(-256 // F)
    x256, k256, c256 = (np.concatenate([a] * reps)[:256] for a in (x, k, coarse))
    return {
        "network_ms_batch1": round(_time_ms(lambda: r.residual(x[:1]), 300), 3),
        "network_ms_per_frame_batch256": round(_time_ms(lambda: r.residual(x256), 20) / 256, 4),
        "refine_call_ms_batch1": round(_time_ms(lambda: r.refine(k[:1], coarse[:1], sub), 200), 3),
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
        out.update({f"{tag}_{k}": v for k, v in _refiner_speed(r, k, coarse, sub).items()})
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.refinement", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="checkpoint (default: the shipped one)")
    ap.add_argument("--finetune-epochs", type=int, default=40)
    ap.add_argument("--skip", nargs="*", default=[], choices=["synthetic", "real", "speed"])
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
    if "real" not in args.skip:
        _log("real pairs (MediaPipe on 4 videos, cached)...")
        result["real_pairs"], result["real_summary"] = real_pairs(refiner, args.finetune_epochs)
    if "speed" not in args.skip:
        _log("speed...")
        result["speed"] = speed(ck)
    goals = {}
    if "synthetic" in result:
        goals["synthetic_improvement_ge_25pct"] = result["synthetic"]["improvement_pct"] >= 25.0
    if "real_summary" in result:
        s = result["real_summary"]
        goals["real_mean_lowered"] = s["mean_refined_mpjpe_mm"] < s["mean_coarse_mpjpe_mm"]
        goals["real_no_pair_worse_than_5pct"] = s["worst_refined_change_pct"] <= 5.0
    result["goals"] = goals
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
