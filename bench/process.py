"""Session processing speed: ``python -m bench.process`` prints one JSON object.

Data: the Pose2Sim balancing pair (cam01 + cam04, 1080x1920, 60 fps, 100 frames), imported into a temporary
session with :func:`core.session.importing.import_videos`.

1. ``process``: :func:`core.session.processing.process_session` end to end, as ``python main.py process`` runs it:
   opening the session, starting both MediaPipe detectors, decoding ahead, detection of both views in
   parallel, triangulation, refinement (when a model is available; ``--no-refine`` to skip), writing results.
2. ``bare_detector``: MediaPipe alone on the same frames in the same run: the frames are decoded beforehand
   (not timed), then one detector per camera runs on each pair, one view after the other, in one thread.
   ``seconds`` times the detection calls only; ``seconds_with_startup`` adds creating the two detectors.

``ratio_to_bare_detector`` = process seconds / bare detector seconds, the median over ``--repeat`` interleaved
runs (below 1: the session processing, with its decoding, triangulation and file writing, is faster than
MediaPipe run sequentially on its own); the seconds reported are the fastest run of each.

``python -m bench.process --codecs`` instead compares recording codecs on 100 real 1280x720 webcam frames
(caliscope_2cam_charuco cam_0): write time and size per frame, and how many of 60 frames written by a process
that is then killed with SIGKILL (no close, no index) OpenCV and PyAV can still decode (docs/session-format.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from bench.shared import CALISCOPE, POSE2SIM, REPO
from core.detection import PoseDetector
from core.session.importing import import_videos
from core.session.processing import process_session

VIDEOS = (POSE2SIM / "videos" / "cam01.mp4", POSE2SIM / "videos" / "cam04.mp4")
CALIB = POSE2SIM / "Calib_qualisys.toml"
CAMERAS = ("cam_01", "cam_04")


def _decode_all(path: Path) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def run_bare() -> dict:
    a, b = (_decode_all(p) for p in VIDEOS)
    n = min(len(a), len(b))
    t0 = time.perf_counter()
    dets = [PoseDetector(), PoseDetector()]
    t1 = time.perf_counter()
    try:
        for k in range(n):
            dets[0].detect(a[k])
            dets[1].detect(b[k])
        t2 = time.perf_counter()
    finally:
        for d in dets:
            d.close()
    return {
        "pairs": n,
        "seconds": t2 - t1,
        "seconds_with_startup": t2 - t0,
        "seconds_per_100_frames": 100 * (t2 - t1) / n,
    }


def run_process(refine: bool, folder: Path) -> dict:
    out = folder / f"session_{time.monotonic_ns()}"
    import_videos(*VIDEOS, CALIB, out, cameras=list(CAMERAS))
    return process_session(out, refine=refine, refine_loader=_load_refine_hook).to_dict()


def _load_refine_hook():
    """The shipped model, loaded inside the measured run as ``python main.py process`` does."""
    from models.refiner import load_refine_hook

    return load_refine_hook()


# ------------------------------------------------------------------------------------------ codecs

WEBCAM = CALISCOPE / "cam_0.mp4"


def _webcam_frames(n: int) -> list:
    frames = _decode_all(WEBCAM)
    return [frames[k % len(frames)] for k in range(n)]


class _CvWriter:
    def __init__(self, path: Path, api: int) -> None:
        self.w = cv2.VideoWriter(str(path), api, cv2.VideoWriter_fourcc(*"MJPG"), 30, (1280, 720))

    def write(self, img) -> None:
        self.w.write(img)

    def close(self) -> None:
        self.w.release()


class _AvEncoder:
    def __init__(self, path: Path, fmt: str) -> None:
        import av

        self.c = av.open(str(path), "w", format=fmt, options={"flush_packets": "1"})
        self.s = self.c.add_stream("libx264", rate=30)
        self.s.width, self.s.height, self.s.pix_fmt = 1280, 720, "yuv420p"
        self.s.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23"}

    def write(self, img) -> None:
        import av

        for pkt in self.s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
            self.c.mux(pkt)

    def close(self) -> None:
        for pkt in self.s.encode():
            self.c.mux(pkt)
        self.c.close()


class _JpegPackets:
    """cv2.imencode JPEG (quality 90) muxed as packets by PyAV into ``fmt`` (Matroska here; AVI is the session's)."""

    def __init__(self, path: Path, fmt: str) -> None:
        import av

        self.av = av
        self.c = av.open(str(path), "w", format=fmt, options={"flush_packets": "1"})
        self.s = self.c.add_stream("mjpeg", rate=30)
        self.s.width, self.s.height, self.s.pix_fmt = 1280, 720, "yuvj420p"
        self.k = 0

    def write(self, img) -> None:
        pkt = self.av.Packet(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        pkt.stream, pkt.pts, pkt.time_base = self.s, self.k, Fraction(1, 30)
        self.c.mux(pkt)
        self.k += 1

    def close(self) -> None:
        self.c.close()


def _session_writer(path: Path):
    from core.session.avi import MjpegAviWriter

    return MjpegAviWriter(path, 1280, 720, 30)


CODECS = {
    "session: MJPEG (cv2.imencode q90) in AVI via PyAV, flushed per frame": (".avi", _session_writer),
    "MJPEG (cv2.imencode q90) in Matroska via PyAV": (".mkv", lambda p: _JpegPackets(p, "matroska")),
    "cv2.VideoWriter MJPG AVI (FFmpeg backend)": (".avi", lambda p: _CvWriter(p, cv2.CAP_FFMPEG)),
    "cv2.VideoWriter MJPG AVI (OpenCV built-in)": (".avi", lambda p: _CvWriter(p, cv2.CAP_OPENCV_MJPEG)),
    "H.264 (libx264 ultrafast) in Matroska via PyAV": (".mkv", lambda p: _AvEncoder(p, "matroska")),
    "H.264 (libx264 ultrafast) in MP4 via PyAV": (".mp4", lambda p: _AvEncoder(p, "mp4")),
}


def _readable(path: Path) -> dict:
    import av

    cap = cv2.VideoCapture(str(path))
    n_cv = 0
    while cap.read()[0]:
        n_cv += 1
    cap.release()
    n_av: int | str = 0
    try:
        with av.open(str(path)) as c:
            n_av = sum(1 for _ in c.decode(video=0))
    except Exception as exc:
        n_av = f"unreadable ({type(exc).__name__})"
    return {"opencv": n_cv, "pyav": n_av}


def _killed_child(name: str, path: str, n: int) -> None:
    """Write n frames with a candidate and SIGKILL this process without closing anything."""
    w = CODECS[name][1](Path(path))
    for img in _webcam_frames(n):
        w.write(img)
    os.kill(os.getpid(), signal.SIGKILL)


def run_codecs() -> dict:
    if not WEBCAM.is_file():
        raise SystemExit(f"benchmark data '{WEBCAM}' is absent; set CROSSVIEW_SHARED_DATA to the shared data folder.")
    frames = _webcam_frames(100)
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="crossview-codecs-") as tmp:
        for i, (name, (ext, make)) in enumerate(CODECS.items()):
            path = Path(tmp) / f"c{i}{ext}"
            w = make(path)
            t0 = time.perf_counter()
            for img in frames:
                w.write(img)
            w.close()
            ms = (time.perf_counter() - t0) * 1e3 / len(frames)
            killed = Path(tmp) / f"k{i}{ext}"
            code = f"from bench.process import _killed_child; _killed_child({name!r}, {str(killed)!r}, 60)"
            subprocess.run([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.DEVNULL, check=False)
            out[name] = {
                "write_ms_per_frame": round(ms, 2),
                "kB_per_frame": round(path.stat().st_size / len(frames) / 1e3, 1),
                "frames_readable_after_sigkill_at_60": _readable(killed) if killed.exists() else "no file",
            }
    return {"data": "100 frames of a real 1280x720 webcam (caliscope cam_0)", "cpu_count": os.cpu_count(), **out}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-refine", action="store_true", help="process without the refinement model")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each measurement")
    parser.add_argument("--codecs", action="store_true", help="compare recording codecs instead")
    args = parser.parse_args(argv)
    if args.codecs:
        return run_codecs()
    for p in (*VIDEOS, CALIB):
        if not p.is_file():
            raise SystemExit(f"benchmark data '{p}' is absent; set CROSSVIEW_SHARED_DATA to the shared data folder.")
    PoseDetector().close()  # load MediaPipe's libraries and model once, outside both measurements
    processes, bares = [], []
    with tempfile.TemporaryDirectory(prefix="crossview-bench-") as tmp:
        for _ in range(max(1, args.repeat)):  # interleaved, so both see the same load from other programs
            processes.append(run_process(not args.no_refine, Path(tmp)))
            bares.append(run_bare())
    proc = min(processes, key=lambda r: r["seconds"])
    bare = min(bares, key=lambda r: r["seconds"])
    ratios = [p["seconds"] / b["seconds"] for p, b in zip(processes, bares, strict=True)]
    return {
        "data": "Pose2Sim balancing cam01 + cam04, 1080x1920, 60 fps, 100 frame pairs",
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "process": {
            k: proc[k]
            for k in (
                "frames",
                "seconds",
                "seconds_per_100_frames",
                "percent_with_3d",
                "median_reprojection_error_px",
                "refined",
                "refinement",
                "model",
            )
        },
        "bare_detector": bare,
        "process_seconds_per_100_frames": proc["seconds_per_100_frames"],
        "bare_detector_seconds_per_100_frames": bare["seconds_per_100_frames"],
        "ratio_to_bare_detector": float(np.median(ratios)),
        "ratios_per_run": ratios,
        "runs": len(processes),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
