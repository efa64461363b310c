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

from bench.shared import SHARED_DATA
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
    p2s = DATA / "calibration" / "pose2sim_intrinsics_4x7"
    det = BoardDetector(Board.chessboard(4, 7, 0.06), thorough=True)
    views = [det.detect(cv2.imread(str(p)), "none") for p in sorted(p2s.glob("cam01_*.jpg"))]
    t = time.perf_counter()
    r = calibrate_intrinsics([v for v in views if v.found], (1088, 1920))
    out["pose2sim_cam01_intrinsics_s"] = round(time.perf_counter() - t, 3)
    out["pose2sim_cam01_fx"] = round(float(r.camera.K[0, 0]), 2)

    from calibration.headless import calibrate_from_paths

    cs = DATA / "sessions" / "caliscope_2cam_charuco"
    t = time.perf_counter()
    res = calibrate_from_paths(
        cs / "cam_0.mp4", cs / "cam_1.mp4", cs / "charuco.toml", None, timestamps=cs / "timestamps.csv"
    )
    out["caliscope_headless"] = {
        "total_s": round(time.perf_counter() - t, 3),
        "solve_s": round(res.info["timings"]["solve_s"], 3),
        "frames": res.info["frame_pairs"],
        "intrinsics_rms_px": [round(ir.rms, 4) for ir in res.intrinsics],
        "stereo_rms_px": round(res.stereo.rms, 4),
        "baseline_m": round(res.stereo.baseline_m, 4),
        "epipolar_heldout_px": round(res.stereo.epipolar_px, 4),
        "frame_offset": res.info["frame_offset"],
        "verdict": res.verdict,
    }
    return out


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
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
