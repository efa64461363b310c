"""Calibration engine speed: per-frame detection (live budget) and solve times on the real sets.

Run ``python -m bench.calibration``; prints ONE JSON object (times in milliseconds or seconds as named).
Detection is timed on real frames resized (letterboxed) to 640x480 and 1280x720, for a chessboard and a
ChArUco board, found and not found, with ``diagnose`` "none" (fastest), "quick" (the live default) and,
for not-found frames, "full" (the occasional deep diagnosis).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time

import cv2
import numpy as np

from bench.shared import CALISCOPE, SHARED_DATA, caliscope_reference, relative_pose_error
from calibration.boards import Board
from calibration.detect import BoardDetector
from calibration.engine import CalibrationSession
from calibration.intrinsics import calibrate_intrinsics, quick_calibrate
from calibration.io import load_board
from calibration.selection import ViewSelector
from calibration.sources import open_source
from calibration.stereo import calibrate_stereo

DATA = SHARED_DATA


def letterbox(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize keeping the aspect ratio and pad with grey to ``size`` (w, h)."""
    w, h = size
    s = min(w / img.shape[1], h / img.shape[0])
    r = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.full((h, w, 3), 128, np.uint8)
    y, x = (h - r.shape[0]) // 2, (w - r.shape[1]) // 2
    out[y : y + r.shape[0], x : x + r.shape[1]] = r
    return out


def time_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(ts), 2)


def bench_detection(repeat: int) -> dict:
    chess = Board.chessboard(9, 6, 0.025)
    charuco_photo = Board.charuco(5, 7, 0.04, 0.02, "DICT_6X6_250")
    caliscope = load_board(DATA / "sessions" / "caliscope_2cam_charuco" / "charuco.toml")
    left = cv2.imread(str(DATA / "calibration" / "opencv_stereo_9x6" / "left01.jpg"))
    photo = cv2.imread(str(DATA / "calibration" / "opencv_charuco_photo" / "choriginal.jpg"))
    video = open_source(DATA / "sessions" / "caliscope_2cam_charuco" / "cam_0.mp4")
    frames = dict(video.iter_frames([0, 90]))
    empty, held = frames[0], frames[90]  # no board / the inverted ChArUco held up
    cases = {
        "chessboard_found": (chess, left),
        "chessboard_not_found": (chess, empty),
        "charuco_found": (charuco_photo, photo),
        "charuco_inverted_found": (caliscope, held),
        "charuco_not_found": (caliscope, empty),
    }
    out: dict = {}
    for size in ((640, 480), (1280, 720)):
        key = f"{size[0]}x{size[1]}"
        out[key] = {}
        for name, (board, img) in cases.items():
            frame = letterbox(img, size)
            det = BoardDetector(board)
            found = det.detect(frame).found
            row = {"found": found}
            for mode in ("none", "quick") + (() if found else ("full",)):
                row[f"{mode}_ms"] = time_ms(
                    lambda d=det, f=frame, m=mode: d.detect(f, m), 3 if mode == "full" else repeat
                )
            out[key][name] = row
    return out


def bench_live(repeat: int) -> dict:
    """process_pair (2 detections + selection) at 640x480 on the 9x6 stereo photos."""
    base = DATA / "calibration" / "opencv_stereo_9x6"
    pairs = [
        (cv2.imread(str(base / f"left{i:02d}.jpg")), cv2.imread(str(base / f"right{i:02d}.jpg")))
        for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)
    ]
    session = CalibrationSession(Board.chessboard(9, 6, 0.025))
    ts = []
    for _ in range(max(1, repeat // len(pairs))):
        for a, b in pairs:
            t = time.perf_counter()
            session.process_pair(a, b)
            ts.append((time.perf_counter() - t) * 1000)
    dets = [BoardDetector(Board.chessboard(9, 6, 0.025)).detect(a) for a, _ in pairs]
    sel = ViewSelector((640, 480), Board.chessboard(9, 6, 0.025), require_novelty=True)
    t = time.perf_counter()
    for d in dets:
        sel.consider(d)
    per_view = (time.perf_counter() - t) * 1000 / len(dets)
    return {
        "process_pair_640x480_ms_median": round(statistics.median(ts), 2),
        "selection_ms_per_view": round(per_view, 3),
        "running_rms_12_views_ms": time_ms(lambda: quick_calibrate(dets, (640, 480)), 5),
        "state_snapshot_ms": time_ms(session.state, 20),
    }


def bench_solves() -> dict:
    out: dict = {}
    base = DATA / "calibration" / "opencv_stereo_9x6"
    det = BoardDetector(Board.chessboard(9, 6, 1.0), thorough=True)
    nums = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)
    left = [det.detect(cv2.imread(str(base / f"left{i:02d}.jpg"))) for i in nums]
    right = [det.detect(cv2.imread(str(base / f"right{i:02d}.jpg"))) for i in nums]
    t = time.perf_counter()
    i0 = calibrate_intrinsics(left, (640, 480))
    i1 = calibrate_intrinsics(right, (640, 480), name="cam_1")
    t_intr = time.perf_counter() - t
    t = time.perf_counter()
    st = calibrate_stereo(list(zip(left, right)), i0.camera, i1.camera, models=(i0.model, i1.model))
    out["opencv_stereo_9x6"] = {
        "intrinsics_both_s": round(t_intr, 3),
        "stereo_s": round(time.perf_counter() - t, 3),
        "rms_px": [round(i0.rms, 4), round(i1.rms, 4)],
        "stereo_rms_px": round(st.rms, 4),
        "baseline_squares": round(st.baseline_m, 4),
        "epipolar_all_px": round(st.epipolar_all_px, 4),
        "epipolar_heldout_px": round(st.epipolar_px, 4),
        "refined": st.refined,
    }
    session = CalibrationSession(Board.chessboard(9, 6, 1.0), require_novelty=False, max_motion_px=None, thorough=True)
    for a, b in zip(left, right):
        session.add_pair(a, b, consecutive=False)
    t = time.perf_counter()
    full = session.solve()
    out["opencv_stereo_9x6_session"] = {
        "solve_s": round(time.perf_counter() - t, 3),
        "solver": full.stereo.solver,
        "note": full.stereo.bundle.note if full.stereo.bundle is not None else "",
        "baseline_squares": round(full.stereo.baseline_m, 4),
        "epipolar_heldout_px": round(full.stereo.epipolar_px, 4),
        "sigma_rotation_deg": round(full.stereo.sigma.get("rotation_deg", float("nan")), 4),
    }
    p2s = DATA / "calibration" / "pose2sim_intrinsics_4x7"
    det = BoardDetector(Board.chessboard(4, 7, 0.06), thorough=True)
    views = [det.detect(cv2.imread(str(p)), "none") for p in sorted(p2s.glob("cam01_*.jpg"))]
    t = time.perf_counter()
    r = calibrate_intrinsics([v for v in views if v.found], (1088, 1920))
    out["pose2sim_cam01_intrinsics_s"] = round(time.perf_counter() - t, 3)
    out["pose2sim_cam01_fx"] = round(float(r.camera.K[0, 0]), 2)

    return out


def _caliscope_solve(bundle: bool | str) -> dict:
    """The headless calibration of the Caliscope session, against Caliscope's own result."""
    from calibration.headless import calibrate_from_paths

    cs = CALISCOPE
    t = time.perf_counter()
    res = calibrate_from_paths(
        cs / "cam_0.mp4", cs / "cam_1.mp4", cs / "charuco.toml", None, timestamps=cs / "timestamps.csv", bundle=bundle
    )
    angle, dt = relative_pose_error(res.group, caliscope_reference())
    s = res.stereo
    return {
        "solver": s.solver,
        "note": s.bundle.note if s.bundle is not None else "",
        "frame_offset": res.info["frame_offset"],
        "vs_caliscope_rotation_deg": round(angle, 3),
        "vs_caliscope_translation_cm": round(100 * dt, 2),
        "baseline_m": round(s.baseline_m, 4),
        "stereo_rms_px": round(s.rms, 4),
        "epipolar_heldout_px": round(s.epipolar_px, 4),
        "sigma": {k: round(v, 4) for k, v in s.sigma.items() if k in ("fx_0", "fx_1", "rotation_deg", "baseline_m")},
        "bundle_s": round(res.info["timings"].get("bundle_s", 0.0), 3),
        "solve_s": round(res.info["timings"]["solve_s"], 3),
        "total_s": round(time.perf_counter() - t, 3),
    }


def _caliscope_reference_pairing() -> dict:
    """How consistent the session's pairs are with Caliscope's OWN cameras, as the timestamps pair them and with
    camera 2 moved 0.75 frame (its corners interpolated): the stereo RMS (px) of a fixed-intrinsics solve, and how
    far that solve lands from Caliscope's relative pose."""
    from calibration.frame_offset import shifted_pairs
    from calibration.sources import pair_sources
    from calibration.stereo import fixed_intrinsics_pose, pair_consistency_rms

    cs = CALISCOPE
    board = load_board(cs / "charuco.toml")
    ref = caliscope_reference()
    dets = []
    for c in (0, 1):
        src = open_source(cs / f"cam_{c}.mp4")
        det = BoardDetector(board)
        dets.append({i: det.detect(img, "none") for i, img in src.iter_frames(list(range(src.n_frames)))})
    plan = pair_sources(open_source(cs / "cam_0.mp4"), open_source(cs / "cam_1.mp4"), cs / "timestamps.csv")
    frames = list(zip(plan.idx0.tolist(), plan.idx1.tolist()))
    out = {}
    for offset in (0.0, 0.75, 1.0):
        pairs = [(a, b) for _, _, a, b in shifted_pairs(frames, dets[0], dets[1], offset) if a.found and b.found]
        c1 = fixed_intrinsics_pose(pairs, ref[0], ref[1])
        angle, dt = relative_pose_error([ref[0].with_pose(np.eye(3), np.zeros(3)), c1], ref)
        out[f"{offset:g}"] = {
            "pairs": len(pairs),
            "rms_px": round(pair_consistency_rms(pairs, ref[0], ref[1]), 4),
            "vs_caliscope_rotation_deg": round(angle, 3),
            "vs_caliscope_translation_cm": round(100 * dt, 2),
        }
    return out


def _synthetic_rig() -> dict:
    """Boards rendered through a known distorted rig: each solver's errors against the truth and the stated sigma."""
    from calibration.synthetic import board_poses, pixel_rays, render_view, two_camera_rig
    from core.camera import relative_pose

    board = Board.charuco(7, 5, 0.05, 0.037, "DICT_4X4_50")
    rig = two_camera_rig()
    rng = np.random.default_rng(1)
    rays = [pixel_rays(c) for c in rig]
    session = CalibrationSession(board, (rig[0].size, rig[1].size), require_novelty=False, max_motion_px=None)
    for R, t in board_poses(board, rig, 30, rng):
        imgs = [
            render_view(board, cam, cam.R @ R, cam.R @ t + cam.t, rays=rays[c], rng=rng) for c, cam in enumerate(rig)
        ]
        session.process_pair(*imgs)
    Rt, _ = relative_pose(rig[0], rig[1])
    out: dict = {"pairs": len(session.pairs())}
    for bundle in ("auto", False):
        t = time.perf_counter()
        res = session.solve(bundle=bundle)
        R, _ = relative_pose(res.group[0], res.group[1])
        sig = res.stereo.sigma
        out["bundle" if bundle else "stereo_only"] = {
            "solver": res.stereo.solver,
            "rotation_error_deg": round(float(np.degrees(np.arccos(np.clip((np.trace(R @ Rt.T) - 1) / 2, -1, 1)))), 4),
            "baseline_error_mm": round(
                1000 * float(np.linalg.norm(res.group[1].center) - np.linalg.norm(rig[1].center)), 3
            ),
            "fx_error_px": [round(float(res.group[c].K[0, 0] - rig[c].K[0, 0]), 3) for c in (0, 1)],
            "cx_error_px": [round(float(res.group[c].K[0, 2] - rig[c].K[0, 2]), 3) for c in (0, 1)],
            "sigma": {
                k: round(v, 4)
                for k, v in sig.items()
                if k in ("fx_0", "fx_1", "cx_0", "cx_1", "rotation_deg", "baseline_m")
            },
            "solve_s": round(time.perf_counter() - t, 3),
        }
    return out


def bench_bundle() -> dict:
    """The bundle adjustment and sub-frame synchronisation figures of issue 12."""
    return {
        "caliscope_bundle_auto": _caliscope_solve("auto"),
        "caliscope_bundle_off": _caliscope_solve(False),
        "caliscope_reference_pairing": _caliscope_reference_pairing(),
        "synthetic_rig": _synthetic_rig(),
    }


def main() -> int:
    if not DATA.exists():
        print(json.dumps({"error": f"shared data not found at {DATA} (set CROSSVIEW_SHARED_DATA)"}))
        return 1
    repeat = int(os.environ.get("BENCH_REPEAT", "15"))
    result = {
        "benchmark": "calibration",
        "machine": {
            "python": sys.version.split()[0],
            "opencv": cv2.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "opencv_threads": cv2.getNumThreads(),
        "detection_ms": bench_detection(repeat),
        "live": bench_live(repeat),
        "solves": bench_solves(),
        "bundle": bench_bundle(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
