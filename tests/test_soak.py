"""The 1-minute soak (issue 14, part 5; `python -m bench.soak --minutes 30` is the long run): the live demo with the
shipped refinement, recording 15 s on and 15 s off, keeps a constant thread count in each state, does not grow its
memory beyond the goal, finalises every recording and stops cleanly."""

from __future__ import annotations

import numpy as np

from bench.soak import run


def test_a_one_minute_soak_keeps_threads_and_memory_flat():
    out = run(minutes=1.0, every_s=5.0, record_s=15.0, warmup_s=30.0)  # warm-up: one recording on and off
    s = out["summary"]
    assert out["stopped_cleanly"] and out["recordings"] >= 1
    assert len(s["threads_recording"]) == 1 and len(s["threads_not_recording"]) == 1, s
    assert s["threads_recording"][0] > s["threads_not_recording"][0]  # the recorder's writer, and only while on
    assert s["rss_growth_mb"] < 50, s
    samples = out["samples"]
    assert len(samples) >= 10 and all(x["paired"] > 0 for x in samples[1:])
    assert np.nanmin([x["processed_per_paired"] for x in samples[1:]]) > 0  # never stalled
