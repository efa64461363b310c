"""Pipeline throughput and latency on the shipped demo pair: ``python -m bench.pipeline`` prints one JSON object.

1. ``fast``: every pair of the two demo videos (1080x1920, 100 frames each) through the pipeline as fast as
   it can: decoding in one thread per video, the two MediaPipe detectors in parallel, triangulation, the
   refinement hook in its own worker.
2. ``baseline``: one thread that decodes both frames and then runs MediaPipe on each, one after the other,
   over the same frames. ``ratio_vs_baseline`` = pipeline pairs/s / baseline pairs/s (same run).
3. ``paced``: the two videos played live at their own 60 fps as a synchronised rig (looping) through
   :class:`core.pipeline.LivePipeline` for ``--seconds``; paired fps, processed fps, drops and latency.

``overhead_fraction`` = ms per pair of pairing + triangulation (with the left/right check) + the refinement
hook, divided by the ms of one detector on one frame; each is timed alone on an idle machine, on the same
frames. ``overhead_fraction_under_load`` uses the stages' thread CPU time inside the running pipeline
instead, where two detectors and two decoders compete for the two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import cv2
import numpy as np

from core.calibration_io import load_calibration
from core.demo import demo_files, demo_sources
from core.detection import DEFAULT_DETECTOR, Detection, detector_factory
from core.pipeline import LivePipeline, PairProcessor, PoseResult, RefineHook, RefineInput, process_pairs
from core.sync import FrameSynchronizer
from core.video_io import iter_index_pairs


def _summary(values: list[float]) -> dict[str, float]:
    a = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"median": float("nan"), "p95": float("nan")}
    return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95))}


def _refine_hook() -> tuple[RefineHook | None, str]:
    """The CV-UGCN refiner when a model is available, else None."""
    try:
        from models.refiner import default_refine_hook  # type: ignore[attr-defined]
    except ImportError:
        return None, "none (no refiner available)"
    try:
        hook, label = default_refine_hook()
    except Exception as exc:  # the bench still measures the rest
        return None, f"none ({exc})"
    return hook, label


def _light(result: PoseResult) -> PoseResult:
    """The result without its images."""
    return replace(result, frames=())


#: The 2D detector factory every part of the run uses (set from ``--detector``).
DETECTOR = [detector_factory(DEFAULT_DETECTOR)]


class _NoDetector:
    """Stands in for MediaPipe where only the stages after detection are timed."""

    def close(self) -> None:
        pass


def stage_costs(results: list[PoseResult], refine: RefineHook | None) -> dict[str, float]:
    """Milliseconds per pair of triangulation (with the left/right check) and refinement, timed alone.

    Replays the keypoints the pipeline produced through the same stage functions, on an idle machine,
    as the detector is timed alone in the baseline.
    """
    files = demo_files()
    cal = load_calibration(files.calibration, cameras=list(files.cameras))
    proc = PairProcessor(cal.group, refine_hook=refine, detector_factory=_NoDetector)  # type: ignore[arg-type]
    done = [r for r in results if r.status == "ok"]
    tri_ms, ref_ms = [], []
    try:
        for k, r in enumerate(done):
            people = [[Detection(p, found=True, box=_box(p)) for p in view] for view in r.people.keypoints]
            t0 = time.perf_counter()
            who, kp, _ = proc._choose_person(people, ["", ""], k / 60)  # cross-view association and tracking
            geometry = proc.chosen_geometry if kp is not None else None
            tri, used, _ = proc.triangulate_keypoints(
                kp if kp is not None else r.keypoints2d, k / 60, who.followed, geometry
            )
            tri_ms.append((time.perf_counter() - t0) * 1e3)
            if refine is not None:
                t0 = time.perf_counter()
                refine(RefineInput(used, tri.points[0], proc.cameras))
                ref_ms.append((time.perf_counter() - t0) * 1e3)
    finally:
        proc.close()
    return {"triangulate": float(np.median(tri_ms)), "refine": float(np.median(ref_ms)) if ref_ms else 0.0}


def _box(kp: np.ndarray) -> tuple[float, float, float, float]:
    ok = kp[:, 2] > 0.3
    lo, hi = kp[ok, :2].min(0), kp[ok, :2].max(0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def run_fast(refine: RefineHook | None) -> dict:
    files = demo_files()
    cal = load_calibration(files.calibration, cameras=list(files.cameras))
    proc = PairProcessor(cal.group, refine_hook=refine, detector_factory=DETECTOR[0])
    try:
        # warm-up: load the MediaPipe graphs outside the timed run
        warm = iter_index_pairs(files.videos, files.cameras)
        proc.process(next(warm))
        warm.close()
        # keep only what is measured: holding every result would keep every decoded frame alive (12 MB a pair)
        t0 = time.perf_counter()
        results = [_light(r) for r in process_pairs(iter_index_pairs(files.videos, files.cameras), proc)]
        wall = time.perf_counter() - t0
    finally:
        proc.close()
    pairs = len(results)
    # the cost of pairing: the streaming synchroniser over the same timestamps
    fps = 60.0
    sync = FrameSynchronizer(files.cameras, nominal_fps=(fps, fps))
    from core.capture import Frame

    frames = [
        Frame(cam, k, int(round(k * 1e9 / fps)), np.empty((1, 1, 3), np.uint8))
        for k in range(pairs)
        for cam in files.cameras
    ]
    t1 = time.perf_counter()
    for f in frames:
        sync.push(f)
    sync.flush()
    pairing_ms = (time.perf_counter() - t1) * 1e3 / max(pairs, 1)
    det_wall = [r.times.detect_wall_ms for r in results]
    det_each = [t for r in results for t in r.times.detect_ms]
    tri = [r.times.triangulate_ms for r in results]
    tri_cpu = [r.times.triangulate_cpu_ms for r in results]
    ref = [r.times.refine_ms for r in results]
    ref_cpu = [r.times.refine_cpu_ms for r in results]
    # what pairing, triangulation (with the left/right repair) and refinement cost the machine per pair
    # (CPU time of their threads: immune to waiting for a busy core)
    overhead = pairing_ms + np.nanmedian(tri_cpu) + (np.nanmedian(ref_cpu) if refine is not None else 0.0)
    alone = stage_costs(results, refine)
    return {
        "pairs": pairs,
        "wall_s": wall,
        "alone_ms": {"pairing": pairing_ms, **alone},
        "overhead_ms_per_pair_alone": pairing_ms + alone["triangulate"] + alone["refine"],
        "pairs_per_second": pairs / wall,
        "with_3d": sum(r.status == "ok" for r in results),
        "stages_ms": {
            "pairing": {"median": pairing_ms, "p95": pairing_ms},
            "detect_parallel_wall": _summary(det_wall),
            "detect_per_camera": _summary(det_each),
            "triangulate": _summary(tri),
            "triangulate_cpu": _summary(tri_cpu),
            "refine": _summary(ref),
            "refine_cpu": _summary(ref_cpu),
        },
        "overhead_ms_per_pair_under_load": float(overhead),
    }


def run_baseline() -> dict:
    files = demo_files()
    caps = [cv2.VideoCapture(str(p)) for p in files.videos]
    dets = [DETECTOR[0](), DETECTOR[0]()]
    try:
        # warm-up on the first frame, then rewind
        for cap, det in zip(caps, dets, strict=True):
            ok, img = cap.read()
            det.detect(img)
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        n = 0
        detect_ms = []
        t0 = time.perf_counter()
        while True:
            ok_a, a = caps[0].read()
            ok_b, b = caps[1].read()
            if not (ok_a and ok_b):
                break
            for det, img in ((dets[0], a), (dets[1], b)):
                t1 = time.perf_counter()
                det.detect(img)
                detect_ms.append((time.perf_counter() - t1) * 1e3)
            n += 1
        wall = time.perf_counter() - t0
    finally:
        for d in dets:
            d.close()
        for c in caps:
            c.release()
    return {"pairs": n, "wall_s": wall, "pairs_per_second": n / wall, "detect_ms_per_frame": _summary(detect_ms)}


def run_paced(seconds: float, refine: RefineHook | None, stream: bool = False) -> dict:
    """The live run; ``stream``: with a VMC + JSON stream attached (to a closed local port: UDP, nobody listens)."""
    files = demo_files()
    cal = load_calibration(files.calibration, cameras=list(files.cameras))
    pipe = LivePipeline(demo_sources(loop=True), cal.group, refine_hook=refine, detector_factory=DETECTOR[0])
    results = []
    pipe.subscribe(lambda r: results.append(_light(r)))
    live_stream = None
    if stream:
        from core.stream.live import LiveStream, StreamConfig

        live_stream = LiveStream(StreamConfig(protocol="both", vmc_port=9, json_port=9, source="smoothed"), pipe, "+z")
    pipe.start()
    warm = 1.0
    time.sleep(warm)  # the benchmark measures a live run in real time
    n0 = len(results)
    stats0 = pipe.stats()
    time.sleep(seconds)
    stats = pipe.stats()
    done = results[n0:]
    ok = pipe.stop()
    lat = [r.times.latency_ms for r in done]
    extra = {}
    if live_stream is not None:
        st = live_stream.stop()
        extra = {
            "stream": {
                "pushed": st.pushed,
                "rate_skipped": st.rate_skipped,
                "no_pose": st.no_pose,
                "sent": st.sent,
                "dropped": st.dropped,
                "sender_cpu_us_per_frame": st.cost_us,
            }
        }
    return {
        **extra,
        "seconds": seconds,
        "camera_fps": list(stats.camera_fps),
        "paired_fps": (stats.pairs - stats0.pairs) / seconds,
        "processed_fps": len(done) / seconds,
        "superseded_pairs": stats.superseded - stats0.superseded,
        "camera_dropped_frames": [
            b - a for a, b in zip(stats0.dropped_by_camera, stats.dropped_by_camera, strict=True)
        ],
        "skew_ms_mean": stats.skew_ms,
        "latency_ms": _summary(lat),
        "grab_to_pair_ms": _summary([r.times.grab_to_pair_ms for r in done]),
        "stopped_cleanly": ok,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the paced live run")
    parser.add_argument("--no-refine", action="store_true", help="run without the refinement hook")
    parser.add_argument("--detector", default=str(DEFAULT_DETECTOR), help="2D backend: multi or single")
    parser.add_argument("--stream", action="store_true", help="also a paced run with a VMC + JSON stream attached")
    args = parser.parse_args(argv)
    DETECTOR[0] = detector_factory(args.detector)
    refine, refine_label = (None, "disabled") if args.no_refine else _refine_hook()
    fast = run_fast(refine)
    base = run_baseline()
    paced = run_paced(args.seconds, refine)
    streamed = run_paced(args.seconds, refine, stream=True) if args.stream else None
    extra = {}
    if streamed is not None:
        extra["paced_streaming"] = streamed
        extra["streaming_effect"] = {
            "processed_fps": [paced["processed_fps"], streamed["processed_fps"]],
            "latency_ms_median": [paced["latency_ms"]["median"], streamed["latency_ms"]["median"]],
            "sender_fraction_of_one_detection": streamed["stream"]["sender_cpu_us_per_frame"]
            / 1000
            / base["detect_ms_per_frame"]["median"],
        }
    return {
        **extra,
        "data": "demo pair: Pose2Sim balancing cam01 + cam04, 1080x1920, 60 fps, 100 frames",
        "cpu_count": os.cpu_count(),
        "refinement": refine_label,
        "detector": args.detector,
        "fast": fast,
        "baseline": base,
        "ratio_vs_baseline": fast["pairs_per_second"] / base["pairs_per_second"],
        # pairing + triangulation + refinement against one detector on one frame, each timed alone
        "overhead_fraction": fast["overhead_ms_per_pair_alone"] / base["detect_ms_per_frame"]["median"],
        # the same stages' CPU time inside the running pipeline, where two detectors and two decoders compete
        "overhead_fraction_under_load": fast["overhead_ms_per_pair_under_load"] / base["detect_ms_per_frame"]["median"],
        "paced": paced,
        "paired_fps": paced["paired_fps"],
        "end_to_end_latency_ms": paced["latency_ms"],
        "goals": {"ratio_vs_baseline": ">= 1.5", "overhead_fraction": "< 0.10"},
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
