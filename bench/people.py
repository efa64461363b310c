"""Who is followed on real footage: every camera pair of the Pose2Sim balancing take (a bystander walks behind the
subject in cam01 and cam02), imported and processed through the real pipeline with each 2D backend, against the
4-camera reference.

``python -m bench.people [--detectors multi,single] [--pairs 01+02,...]`` prints one JSON object: per pair and
backend the median and mean error (mm, over the 12 joints MediaPipe shares with the reference, frames with 3D),
the percentage of frames with 3D, and ``far_frames``: frames with 3D whose median error exceeds 250 mm (the wrong
person, or a left/right mirror that was not repaired).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.shared import POSE2SIM
from core import skeleton as sk

#: Reference marker of each of the 12 joints shared with H36M (same names as core.skeleton.MARKER_NAMES).
_TRC_NAMES = {1: "RHip", 2: "RKnee", 3: "RAnkle", 4: "LHip", 5: "LKnee", 6: "LAnkle",
              11: "LShoulder", 12: "LElbow", 13: "LWrist", 14: "RShoulder", 15: "RElbow", 16: "RWrist"}  # fmt: skip
FAR_MM = 250.0


def reference12() -> np.ndarray:
    """The 4-camera reference ``(100, 12, 3)`` m in the calibration frame (Z up), joints ``sk.SHARED_12``."""
    lines = (POSE2SIM / "reference_pose2sim_4cam.trc").read_text().splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n.strip()]
    rows = np.array([[float(x) for x in ln.split("\t")[2 : 2 + 3 * len(names)]] for ln in lines[5:] if ln.strip()])
    pts = rows.reshape(len(rows), len(names), 3)[..., [2, 0, 1]]  # the TRC's X, Y, Z are the calibration's Y, Z, X
    return pts[:, [names.index(_TRC_NAMES[j]) for j in sk.SHARED_12]]


def run_pair(a: str, b: str, detector: str, root: Path) -> dict:
    from core.session.importing import import_videos
    from core.session.processing import process_session
    from core.session.session import Session

    out = root / f"{a}_{b}_{detector}"
    videos = [POSE2SIM / "videos" / f"cam{c}.mp4" for c in (a, b)]
    import_videos(*videos, POSE2SIM / "Calib_qualisys.toml", out, cameras=[f"cam_{a}", f"cam_{b}"])
    t0 = time.perf_counter()
    summary = process_session(out, refine=False, detector=detector)
    seconds = time.perf_counter() - t0
    poses = Session.open(out).poses()
    assert poses is not None
    ours = poses.coarse[:, list(sk.SHARED_12)]
    ref = reference12()
    n = min(len(ours), len(ref))
    err = np.linalg.norm(ours[:n] - ref[:n], axis=-1) * 1000  # (F, 12) mm
    frame = np.nanmedian(np.where(np.isfinite(err), err, np.nan), axis=1) if np.isfinite(err).any() else err[:, 0]
    has = np.isfinite(frame)
    return {
        "median_mm": round(float(np.nanmedian(err)), 1),
        "mean_mm": round(float(np.nanmean(err)), 1),
        "percent_with_3d": round(100.0 * has.mean(), 1),
        "far_frames": int((frame[has] > FAR_MM).sum()),
        "seconds": round(seconds, 1),
        "median_reprojection_error_px": summary.median_reprojection_error_px,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", default="single,multi")
    ap.add_argument(
        "--pairs", default=",".join(f"{a}+{b}" for a, b in itertools.combinations(["01", "02", "03", "04"], 2))
    )
    args = ap.parse_args(argv)
    if not (POSE2SIM / "videos").is_dir():
        print(json.dumps({"skipped": f"the shared data is missing: {POSE2SIM}"}))
        return 0
    out: dict = {"pairs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for pair in args.pairs.split(","):
            a, b = pair.split("+")
            out["pairs"][pair] = {d: run_pair(a, b, d, Path(tmp)) for d in args.detectors.split(",")}
            print(pair, out["pairs"][pair], file=sys.stderr, flush=True)
    for d in args.detectors.split(","):
        vals = [v[d] for v in out["pairs"].values()]
        out[f"{d}_mean_of_pair_medians_mm"] = round(float(np.mean([v["median_mm"] for v in vals])), 1)
        out[f"{d}_far_frames"] = int(sum(v["far_frames"] for v in vals))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
