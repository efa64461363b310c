"""How many injected left/right swaps the two-view repair undoes: ``python -m bench.swaps`` prints one JSON object.

Held-out-style test built from ``../shared/data/mocap`` (DeepMimic and BVH clips at 30 fps): each clip is projected
into random two-camera rigs with the detector noise model of ``models.synthetic`` (its own random swaps turned off),
then swaps are injected into one view: whole-body mirrors and legs-only swaps, each lasting 10-40 frames, about a
third of the frames in all. Two rig families: ``good`` (the default ranges: 0.5-3 m baselines, 20-90 degrees of
convergence) and ``hard`` (near-parallel, 0.3 m baseline).

- ``repaired_fraction``: of the swapped frames, those whose labels came back exactly (the swapped view relabelled
  to the truth, the other untouched);
- ``false_repair_fraction``: of the frames with no swap, those that were relabelled anyway;
- ``detected_fraction``: of the swapped frames, those where some relabelling was applied (right or not): the gap
  to ``repaired_fraction`` is a wrong relabelling or the wrong view.

Per rig family, per swap kind, for the offline repair (``core.swaps.fix_left_right_swaps``, the whole take at once)
and, under ``live``, for the causal one (``core.swaps.LeftRightTracker``, one frame at a time, as the Live tab runs).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from bench.shared import SHARED_DATA
from bench.smoothing import _resample
from core.swaps import SWAP_CANDIDATES, LeftRightTracker, fix_left_right_swaps

RIGS = {
    "good": {},
    "hard": {"baseline_m": (0.28, 0.32), "convergence_deg": (0.0, 8.0)},
}
KINDS = {"body": SWAP_CANDIDATES["body"], "legs": SWAP_CANDIDATES["legs"]}


def _inject(rng: np.random.Generator, F: int) -> tuple[np.ndarray, np.ndarray]:
    """Which frames get which swap: kind index per frame ``(F,)`` (-1 none) and the swapped view ``(F,)``."""
    kind = np.full(F, -1)
    view = np.zeros(F, int)
    k = int(rng.integers(5, 30))
    while k < F:
        n = int(rng.integers(10, 41))
        kind[k : k + n] = rng.integers(len(KINDS))
        view[k : k + n] = rng.integers(2)
        k += n + int(rng.integers(20, 80))
    return kind, view


def _live(pts: np.ndarray, conf: np.ndarray, group) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The causal repair, frame by frame at 30 fps: same in/out as ``fix_left_right_swaps``."""
    tracker = LeftRightTracker(group)
    kp = np.concatenate([pts, conf[..., None]], axis=-1)  # (2, F, J, 3)
    out = np.stack([tracker.step(kp[:, f], f / 30.0)[0] for f in range(kp.shape[1])], axis=1)
    return out[..., :2], out[..., 2], np.zeros(kp.shape[1], str)


def run(rig_name: str, seed: int = 0, live: bool = False) -> dict:
    from models.mocap import load_motion_folder
    from models.synthetic import NoiseConfig, RigConfig, make_stereo_samples, rig_from_samples

    motions = [
        _resample(m, 30.0)
        for folder in ("deepmimic", "bvh")
        for m in load_motion_folder(SHARED_DATA / "mocap" / folder)
        if m.duration > 1.0
    ]
    rng = np.random.default_rng(seed)
    rig = dataclasses.replace(RigConfig(), **RIGS[rig_name])
    noise = dataclasses.replace(NoiseConfig(), swap_limb_rate=0.0, swap_all_rate=0.0)
    s = make_stereo_samples(motions, 3, rng, rig_config=rig, noise_config=noise)
    perms = np.stack(list(KINDS.values()))
    counts = {k: [0, 0] for k in KINDS}  # repaired, swapped
    detected = 0  # swapped frames where some relabelling was applied (right or wrong)
    clean = [0, 0]  # falsely relabelled, frames without a swap
    for seq in np.unique(s["seq_id"]):
        idx = np.flatnonzero(s["seq_id"] == seq)
        idx = idx[np.argsort(s["frame"][idx])]
        group = rig_from_samples(s, idx[0])
        pts = s["kp2d_noisy"][idx].transpose(1, 0, 2, 3).astype(np.float64)  # (2, F, J, 2)
        conf = s["conf"][idx].transpose(1, 0, 2).astype(np.float64)
        F = pts.shape[1]
        kind, view = _inject(rng, F)
        swapped_pts, swapped_conf = pts.copy(), conf.copy()
        frames = np.flatnonzero(kind >= 0)
        p = perms[kind[frames]]  # (n, J)
        swapped_pts[view[frames], frames] = pts[view[frames][:, None], frames[:, None], p]
        swapped_conf[view[frames], frames] = conf[view[frames][:, None], frames[:, None], p]
        fixed, _, _ = (_live if live else fix_left_right_swaps)(swapped_pts, swapped_conf, group)
        exact = np.isclose(fixed, pts, equal_nan=True).all(axis=(0, 2, 3))  # (F,) labels as the truth
        relabelled = ~np.isclose(fixed, swapped_pts, equal_nan=True).all(axis=(0, 2, 3))  # (F,) labels changed
        for k, name in enumerate(KINDS):
            sel = kind == k
            counts[name][0] += int((exact & sel).sum())
            counts[name][1] += int(sel.sum())
        detected += int((relabelled & (kind >= 0)).sum())
        none = kind < 0
        clean[0] += int((relabelled & none).sum())
        clean[1] += int(none.sum())
    swapped = sum(c[1] for c in counts.values())
    return {
        "sequences": int(len(np.unique(s["seq_id"]))),
        "swapped_frames": swapped,
        "repaired_fraction": round(sum(c[0] for c in counts.values()) / max(swapped, 1), 3),
        "false_repair_fraction": round(clean[0] / max(clean[1], 1), 4),
        "detected_fraction": round(detected / max(swapped, 1), 3),
        "by_kind": {k: round(c[0] / max(c[1], 1), 3) for k, c in counts.items()},
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.swaps", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="rigs, noise and swaps (the weights were chosen on 0)")
    seed = parser.parse_args(argv).seed
    if not (SHARED_DATA / "mocap").is_dir():
        print(json.dumps({"skipped": f"the shared mocap is missing: {SHARED_DATA / 'mocap'}"}))
        return 0
    out: dict = {name: run(name, seed) for name in RIGS}
    out["live"] = {name: run(name, seed, live=True) for name in RIGS}
    out["seed"] = seed
    out["goal"] = {"repaired_fraction": ">= 0.90", "false_repair_fraction": "< 0.01"}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
