"""Calibration from a person (no board) on the real Pose2Sim balancing take: all 6 camera pairs.

Run ``python -m bench.person_calibration``; prints ONE JSON object. MediaPipe 2D of the four videos is cached
(``bench.refinement.mediapipe_2d``). For each pair, with the Qualisys lenses given:

- the relative rotation (deg) and baseline (%) against the Qualisys calibration;
- the 2-view 3D (left/right repaired, triangulated) against Pose2Sim's 4-camera reference (median mm over the 12
  joints both skeletons share), with our calibration and with Qualisys's, each rigidly aligned to the reference
  (our world is the floor frame, not Qualisys's);
- the stated uncertainty and the solve time.

The scale: a typed height of 1.67 m (the skeleton height of the 4-camera MediaPipe reference measures 1.673 m),
and, for comparison, the reference TRC's head-top-above-heel height.
"""

from __future__ import annotations

import itertools
import json
import time

import numpy as np

from bench.refinement import real_session
from bench.shared import POSE2SIM, pose2sim_reference12, relative_pose_error
from calibration.person import calibrate_from_keypoints, standing_height
from core import skeleton
from core.export.trc import read_trc
from core.swaps import fix_left_right_swaps
from core.triangulation import triangulate

TYPED_HEIGHT_M = 1.67


def _two_view(kp2: np.ndarray, group) -> np.ndarray:
    pts, conf, _ = fix_left_right_swaps(kp2[..., :2], kp2[..., 2], group)
    return triangulate(pts, conf, group).points[:, skeleton.SHARED_12]


def _aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` ``(F, J, 3)`` moved rigidly (Kabsch, no scale) onto ``b``."""
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    pa, pb = a[ok], b[ok]
    ma, mb = pa.mean(0), pb.mean(0)
    U, _, Vt = np.linalg.svd((pa - ma).T @ (pb - mb))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    R = Vt.T @ D @ U.T
    return a @ R.T + (mb - R @ ma)


def _median_mm(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.nanmedian(np.linalg.norm(a - b, axis=-1)) * 1000), 1)


def trc_height_m() -> float:
    """The reference TRC's highest head top above its lowest heel (m; Z-up in the calibration frame)."""
    trc = read_trc(POSE2SIM / "reference_pose2sim_4cam.trc")
    z = trc.points[..., 1]  # the TRC is Y-up
    names = trc.marker_names
    heels = min(z[:, names.index("RHeel")].min(), z[:, names.index("LHeel")].min())
    return float(z[:, names.index("Head")].max() - heels)


def main() -> int:
    kp, group, ref_mp = real_session()
    ref12 = pose2sim_reference12()
    heights = {"typed_1.67": TYPED_HEIGHT_M, "trc_head_above_heels": round(trc_height_m(), 4)}
    out: dict = {
        "benchmark": "person_calibration",
        "heights_m": heights,
        "skeleton_height_of_4view_mediapipe_m": round(standing_height(ref_mp), 4),
        "pairs": {},
    }
    for a, b in itertools.combinations(range(4), 2):
        names = [group.names[a], group.names[b]]
        qualisys = group.subset(names)
        t = time.perf_counter()
        res = calibrate_from_keypoints(kp[[a, b]], group[a], group[b], height_m=TYPED_HEIGHT_M)
        seconds = time.perf_counter() - t
        angle, _ = relative_pose_error(res.group, qualisys)
        base_q = float(np.linalg.norm(qualisys[1].center - qualisys[0].center))
        ours_3d = _aligned(_two_view(kp[[a, b]], res.group), ref12)
        theirs_3d = _aligned(_two_view(kp[[a, b]], qualisys), ref12)
        ratio_trc = heights["trc_head_above_heels"] / TYPED_HEIGHT_M
        out["pairs"]["+".join(names)] = {
            "rotation_error_deg": round(angle, 3),
            "baseline_m": round(res.baseline_m, 4),
            "baseline_qualisys_m": round(base_q, 4),
            "baseline_error_pct": round(100 * (res.baseline_m / base_q - 1), 2),
            "baseline_error_pct_with_trc_height": round(100 * (res.baseline_m * ratio_trc / base_q - 1), 2),
            "mm_vs_reference_ours": _median_mm(ours_3d, ref12),
            "mm_vs_reference_qualisys": _median_mm(theirs_3d, ref12),
            "sigma_rotation_deg": round(res.sigma["rotation_deg"], 3),
            "sigma_baseline_pct": round(100 * res.sigma["baseline_fraction"], 2),
            "reprojection_rms_px": round(res.rms_px, 2),
            "swapped_frames": res.swapped_frames,
            "bone_length_spread": round(res.bone_spread, 4),
            "verdict": res.verdict,
            "solve_s": round(seconds, 3),
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
