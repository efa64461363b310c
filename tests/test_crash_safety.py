"""Crash safety, proven (issue 14, part 3): the real recorder records two real videos (the demo pair, played live at
60 fps) in a child process that is SIGKILLed at several moments; each time the session reopens through the recovery
path with every frame up to about 1 s before the kill readable, and its tables agree with its videos."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.session.layout import TIMESTAMPS_FILE
from core.session.lock import is_recording_live
from core.session.recovery import find_unfinished, recover
from core.session.session import Session
from tests.polling import until

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import sys, threading
sys.path.insert(0, {repo!r})
from core.calibration_io import load_calibration
from core.capture import synchronized_videos
from core.demo import demo_files
from core.detection import Detection
from core.pipeline import LivePipeline
from core.session.recorder import SessionRecorder


class Nobody:  # the recording is what is under test: no detector cost (a several-people detector finding none)
    def detect_all(self, image, t_s):
        return []

    def detect(self, image, offset=(0.0, 0.0)):
        return Detection.empty("no person detected")

    def reset(self):
        pass

    def close(self):
        pass


files = demo_files()
cal = load_calibration(files.calibration, cameras=list(files.cameras))
pipe = LivePipeline(synchronized_videos(files.videos, files.cameras, loop=True), cal.group, detector_factory=Nobody)
SessionRecorder.attach(pipe, {folder!r}, meta_interval_s=0.2)
pipe.start()
print("recording", flush=True)
threading.Event().wait()
"""


def _rows(path: Path) -> int:
    """Frame rows of the camera with fewest in a timestamps.csv being written (0 while it is not there)."""
    if not path.is_file():
        return 0
    counts = {"cam_01": 0, "cam_04": 0}
    for line in path.read_text().splitlines()[1:]:
        cam = line.split(",")[0]
        if cam in counts:
            counts[cam] += 1
    return min(counts.values())


# the kill moments: after this many frames per camera are on disk (a seeded random draw: 0.4 to 3 s of video)
KILL_AFTER = sorted(np.random.default_rng(14).integers(25, 180, size=3).tolist())


@pytest.mark.parametrize("frames_before_kill", KILL_AFTER)
def test_a_recording_killed_at_any_moment_is_recovered_up_to_the_last_second(frames_before_kill, tmp_path):
    folder = tmp_path / "killed"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), folder=str(folder))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        assert until(lambda: child.poll() is not None or _rows(folder / TIMESTAMPS_FILE) >= frames_before_kill, 90)
        assert child.poll() is None, "the recording process ended on its own"
        t_kill = time.monotonic_ns()  # the capture clock is CLOCK_MONOTONIC, shared with the child
        seen = _rows(folder / TIMESTAMPS_FILE)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert not is_recording_live(folder) and find_unfinished(tmp_path) == [folder]

    recovered = recover(folder)
    assert recovered.meta.status == "recovered" and find_unfinished(tmp_path) == []
    ts = recovered.check()  # videos, timestamps and pairs agree (SessionError otherwise)
    lags = {}
    for name in recovered.names:
        frames = list(recovered.iter_frames(name))
        assert len(frames) == len(ts[name]) == recovered.meta.camera(name).frames >= seen - 1
        assert [f.t_ns for f in frames] == ts[name].tolist()
        assert frames[0].image.shape[:2] == (1920, recovered.meta.camera(name).width)
        lag_s = lags[name] = (t_kill - frames[-1].t_ns) / 1e9
        assert lag_s < 1.0, f"{name}: the last readable frame is {lag_s:.2f} s before the kill"
    # the 2D/3D tables: one row per pair, and every pair points at frames that are in the videos
    pairs = recovered.pairs()
    poses = recovered.poses()
    kp = recovered.keypoints()
    assert poses is not None and kp is not None and len(pairs) >= seen // 2  # a busy machine pairs fewer
    assert len(poses.status) == len(pairs) == recovered.meta.pairs
    assert all(len(kp[n]) == len(pairs) for n in recovered.names)
    assert pairs.index_a.max() < len(ts["cam_01"]) and pairs.index_b.max() < len(ts["cam_04"])
    assert set(np.unique(poses.status)) <= {"no_person", "skipped"}  # nobody detected; skipped: superseded live
    readable = {n: recovered.meta.camera(n).frames for n in recovered.names}
    print(f"kill after {seen} frames on disk: readable {readable}, {len(pairs)} pairs, last frame {lags} s before")
    assert Session.open(folder).meta.status == "recovered"
