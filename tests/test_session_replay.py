"""What the replay shows, without widgets: the frame-pair decoder (exact frames, its cache, the newest request
wins, both videos in parallel, called back from its own thread) and which pair's 3D to show where the live
pipeline skipped pairs. Nothing sleeps: every wait polls a condition."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from core.session.importing import import_videos
from core.session.replay import DecodedPair, PairDecoder, held_pairs, load_replay_data
from tests.paths import POSE2SIM, need
from tests.test_session import _wait_for


def _pose2sim() -> tuple:
    videos = POSE2SIM / "videos"
    return need(videos / "cam01.mp4"), need(videos / "cam04.mp4"), need(POSE2SIM / "Calib_qualisys.toml")


def test_the_decoder_serves_exact_frames_from_a_cache_and_the_newest_request(tmp_path):
    """Random access (seek, grab forward, sequential) returns exactly the frame a sequential decode gives."""
    cam01, cam04, calib = _pose2sim()
    out = tmp_path / "s"
    import_videos(cam01, cam04, calib, out, cameras=["cam_01", "cam_04"])
    data = load_replay_data(out)
    seq = []
    cap = cv2.VideoCapture(str(cam04))
    for _ in range(100):
        ok, img = cap.read()
        assert ok
        seq.append(img)
    cap.release()
    got: dict[int, DecodedPair] = {}
    threads: set[str] = set()
    lock = threading.Lock()

    def ready(d: DecodedPair) -> None:
        with lock:
            got[d.pair_index] = d
            threads.add(threading.current_thread().name)

    dec = PairDecoder(
        [cam01, cam04],
        data.names,
        data.frame_a,
        data.frame_b,
        data.t_a,
        data.t_b,
        on_ready=ready,
        max_side=4096,
        cache_pairs=4,
    )
    try:
        for p in (70, 3, 4, 20, 95, 0):  # backward seeks, one step, a forward jump (grab), far jumps
            assert dec.request(p) is None
            _wait_for(lambda p=p: p in got, 15, f"pair {p}")
            d = got[p]
            assert d.frames[1].index == p and d.scales == (1.0, 1.0) and d.sizes[1] == (1088, 1920)
            assert np.array_equal(d.frames[1].image, seq[p]), p
            assert d.frames[1].t_ns == int(data.t_b[p])
        assert threads == {"replay-decoder"}  # called back from the decoder's thread
        hit = dec.request(0)  # cached now
        assert hit is not None and hit.pair_index == 0 and dec.cache_hits == 1
        # many requests at once: the newest wins, the others are never decoded
        before = dec.decoded_pairs
        got.clear()
        for p in range(30, 60):
            dec.request(p)
        _wait_for(lambda: 59 in got and dec.idle(), 15, "the newest request")
        assert dec.decoded_pairs - before <= 3
    finally:
        dec.stop()


def test_pairs_the_live_pipeline_skipped_hold_the_last_live_result():
    t = np.arange(8) / 10.0  # s
    coarse = np.full((8, 17, 3), np.nan)
    coarse[[0, 4]] = 1.0
    status = np.array(["ok", "skipped", "skipped", "skipped", "ok", "no_person", "skipped", "skipped"])
    # pair 3 is 0.3 s after pair 0 (held at 0.3 s); pair 5 found nobody: never held
    assert held_pairs(coarse, status, t, hold_s=0.3).tolist() == [0, 0, 0, 0, 4, -1, 4, 4]
    assert held_pairs(coarse, status, t, hold_s=0.15).tolist() == [0, 0, -1, -1, 4, -1, -1, -1]
