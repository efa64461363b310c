"""Capture and synchroniser throughput: ``python -m bench.sync`` prints one JSON object.

Measured in one run (best of a few repeats):

- ``pair_timestamps_per_second``: offline vectorised pairing of two simulated streams (30 and 15 fps,
  jitter, drift, drops), counted as input timestamps per second;
- ``stream_frames_per_second``: the pure streaming core (``FrameSynchronizer.push``) on the same frames;
- ``live_push_us``: mean cost of one ``LiveSynchronizer.push`` (lock, watermarks, pairing), microseconds;
- ``stream_matches_offline``: whether both gave identical pairs;
- ``file_decode_fps``: ``VideoFileSource(as_fast_as_possible=True)`` on the 1080x1920 real video, when present
  (the ceiling for playing a file as a camera on this machine);
- ``device_open_failure_ms``: time for ``DeviceSource(0)`` to report DISCONNECTED when there is no camera.
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np

from bench.shared import POSE2SIM
from bench.timing import best_of
from core.capture import DeviceSource, SimulatedCamera, SourceState, VideoFileSource, VirtualClock
from core.sync import FrameSynchronizer, LiveSynchronizer, default_tolerance_ns, pair_timestamps

VIDEO = POSE2SIM / "videos" / "cam01.mp4"


def main(duration_s: float = 2000.0) -> dict:
    a = SimulatedCamera("a", fps=30, duration_s=duration_s, jitter_ms=3, drop_prob=0.02, seed=1, size=(2, 2))
    b = SimulatedCamera(
        "b", fps=15, duration_s=duration_s, jitter_ms=3, drift_ppm=200, offset_ms=5, drop_prob=0.02, seed=2, size=(2, 2)
    )
    fa, fb = a.generate(), b.generate()
    ta, tb = np.array([f.t_ns for f in fa]), np.array([f.t_ns for f in fb])
    tol = default_tolerance_ns(30, 15)
    order = sorted(fa + fb, key=lambda f: f.t_ns)
    n = len(order)

    t_off = best_of(lambda: pair_timestamps(ta, tb, tol), 3)
    ia, ib, _ = pair_timestamps(ta, tb, tol)

    def stream() -> list:
        sync = FrameSynchronizer(("a", "b"), tolerance_ns=tol)
        out = []
        for f in order:
            out += sync.push(f)
        return out + sync.flush()

    t_stream = best_of(stream, 3)
    got = stream()
    same = [(p.frames[0].index, p.frames[1].index) for p in got] == [(fa[i].index, fb[j].index) for i, j in zip(ia, ib)]

    clock = VirtualClock(0)
    live = LiveSynchronizer(("a", "b"), tolerance_ns=tol, clock=clock)
    sub = order[:20000]
    t0 = time.perf_counter()
    for f in sub:
        clock.advance_to(f.t_ns + 2_000_000)
        live.push(f)
    t_live = (time.perf_counter() - t0) / len(sub)

    result: dict = {
        "frames": n,
        "pairs": len(got),
        "pair_timestamps_per_second": round(n / t_off),
        "stream_frames_per_second": round(n / t_stream),
        "live_push_us": round(t_live * 1e6, 2),
        "stream_matches_offline": same,
    }

    if VIDEO.is_file():
        src = VideoFileSource(VIDEO, as_fast_as_possible=True)
        src.start()
        t0 = time.perf_counter()
        src.wait_for_state(SourceState.ENDED, timeout=60)
        elapsed = time.perf_counter() - t0
        result["file_decode_fps"] = round(src.status().frames_delivered / elapsed, 1)
        src.stop()

    dev = DeviceSource(0)
    t0 = time.perf_counter()
    dev.start()
    if dev.wait_for_state(SourceState.DISCONNECTED, SourceState.CONNECTED, timeout=10):
        result["device_open_failure_ms"] = round((time.perf_counter() - t0) * 1e3, 2)
        result["device_state"] = dev.status().state.value
    dev.stop()

    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
