"""A long live run: ``python -m bench.soak --minutes N`` prints one JSON object.

The shipped demo pair plays live (looping, 60 fps) through :class:`core.pipeline.LivePipeline` with the shipped
refinement on, and a :class:`core.session.recorder.SessionRecorder` records for ``--record-s`` seconds, then rests
as long, over and over (each finished recording is deleted to keep the disk free). Every ``--every-s`` seconds it
samples the process's thread count, RSS (MB), the pairs made and processed since the last sample, and the median
end-to-end latency of the results since then.

``summary`` (:func:`summarize`), each state on its own because the recorder's bounded frame queue adds a few hundred
MB while it records: the median RSS of the samples taken while not recording in the first and the last quarter after
``--warmup-s`` and their difference (goal < 50 MB over 30 min), the thread counts seen while recording and while not
(goal: constant), and the processed / paired ratio and the latency median of the first and the last quarter (goal:
no growth).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.pipeline import _refine_hook
from core.calibration_io import load_calibration
from core.demo import demo_files, demo_sources
from core.pipeline import LivePipeline
from core.session.recorder import SessionRecorder


def rss_mb() -> float:
    """Resident memory of this process, MB (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _quarter(samples: list[dict], key: str, first: bool) -> float:
    n = max(1, len(samples) // 4)
    part = samples[:n] if first else samples[-n:]
    vals = [s[key] for s in part if np.isfinite(s[key])]
    return float(np.median(vals)) if vals else float("nan")


def summarize(samples: list[dict], warmup_s: float) -> dict:
    """The soak's figures from its samples (see the module docstring); each state (recording or not) on its own."""
    warm = [s for s in samples if s["t_s"] >= warmup_s] or samples
    idle = [s for s in warm if not s["recording"]] or warm  # the recorder's bounded frame queue holds frames while on
    rec = [s for s in warm if s["recording"]]
    first, last = _quarter(idle, "rss_mb", True), _quarter(idle, "rss_mb", False)
    return {
        "rss_mb_idle": [first, last],
        "rss_growth_mb": last - first,
        "rss_mb_max_recording": max((s["rss_mb"] for s in rec), default=None),
        "threads_recording": sorted({s["threads"] for s in rec}),
        "threads_not_recording": sorted({s["threads"] for s in idle}),
        "processed_per_paired_idle": [
            _quarter(idle, "processed_per_paired", True),
            _quarter(idle, "processed_per_paired", False),
        ],
        "latency_ms_median_idle": [
            _quarter(idle, "latency_ms_median", True),
            _quarter(idle, "latency_ms_median", False),
        ],
        "latency_ms_median_recording": [
            _quarter(rec, "latency_ms_median", True),
            _quarter(rec, "latency_ms_median", False),
        ]
        if rec
        else None,
        "goals": {"rss_growth_mb": "< 50 over 30 min", "threads": "constant", "latency": "no growth"},
    }


def run(minutes: float, every_s: float, record_s: float, warmup_s: float, refine: bool = True) -> dict:
    files = demo_files()
    cal = load_calibration(files.calibration, cameras=list(files.cameras))
    hook, label = _refine_hook() if refine else (None, "disabled")
    pipe = LivePipeline(demo_sources(loop=True), cal.group, refine_hook=hook)
    latencies: list[float] = []
    lock = threading.Lock()

    def on_result(r) -> None:
        with lock:
            latencies.append(r.times.latency_ms)

    pipe.subscribe(on_result)
    root = Path(tempfile.mkdtemp(prefix="crossview-soak-"))
    samples: list[dict] = []
    recorder: SessionRecorder | None = None
    recordings = 0
    pipe.start()
    t0 = time.monotonic()
    last = pipe.stats()
    next_sample = t0 + every_s
    next_toggle = t0 + record_s
    try:
        while time.monotonic() - t0 < minutes * 60:
            now = time.monotonic()
            if now >= next_toggle:  # record for record_s, rest for record_s
                if recorder is None:
                    recorder = SessionRecorder.attach(pipe, root / f"take{recordings}")
                else:
                    folder = recorder.folder
                    recorder.stop()
                    recorder = None
                    recordings += 1
                    shutil.rmtree(folder, ignore_errors=True)
                next_toggle += record_s
            if now >= next_sample:
                st = pipe.stats()
                with lock:
                    lat, latencies[:] = list(latencies), []
                paired, processed = st.pairs - last.pairs, st.processed - last.processed
                samples.append(
                    {
                        "t_s": round(now - t0, 1),
                        "recording": recorder is not None,
                        "threads": threading.active_count(),
                        "rss_mb": round(rss_mb(), 1),
                        "paired": paired,
                        "processed": processed,
                        "processed_per_paired": processed / paired if paired else float("nan"),
                        "latency_ms_median": float(np.median(lat)) if lat else float("nan"),
                    }
                )
                last = st
                next_sample += every_s
            threading.Event().wait(0.05)  # the soak paces itself in real time
    finally:
        if recorder is not None:
            recorder.stop()
        stopped = pipe.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "minutes": minutes,
        "refinement": label,
        "recordings": recordings,
        "stopped_cleanly": stopped,
        "cpu_count": os.cpu_count(),
        "summary": summarize(samples, warmup_s),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every-s", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--record-s", type=float, default=60.0, help="seconds of recording, then as many off")
    parser.add_argument("--warmup-s", type=float, default=120.0, help="RSS growth is measured from here")
    parser.add_argument("--no-refine", action="store_true")
    args = parser.parse_args(argv)
    return run(args.minutes, args.every_s, args.record_s, args.warmup_s, refine=not args.no_refine)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
