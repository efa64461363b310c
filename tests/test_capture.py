"""Tests of core/capture/: simulated, device (real absent camera + fake captures), file and iterable sources.

No test sleeps: they wait on the sources' conditions (``wait_for_state`` / ``wait_for_frames``) or events,
and simulated cameras run on a VirtualClock (no real waiting at all).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.capture import (
    CameraSource,
    DeviceSource,
    Frame,
    IterableSource,
    ReconnectPolicy,
    SimulatedCamera,
    SourceState,
    VideoFileSource,
    VirtualClock,
    default_backend,
    list_devices,
)
from core.errors import CameraError, InputError
from tests.paths import POSE2SIM

VIDEO = POSE2SIM / "videos" / "cam01.mp4"
MS = 1_000_000
FAST = ReconnectPolicy(initial_s=0.001, factor=2.0, max_s=0.004)

needs_video = pytest.mark.skipif(not VIDEO.is_file(), reason=f"real video {VIDEO} is absent")


def collect(source: CameraSource) -> list[Frame]:
    got: list[Frame] = []
    source.subscribe(got.append)
    return got


def record_states(source: CameraSource) -> list[tuple[SourceState, str]]:
    states: list[tuple[SourceState, str]] = []
    source.subscribe_status(lambda s: states.append((s.state, s.reason)))
    return states


# ---------------------------------------------------------------------------------------------------
# Simulated camera
# ---------------------------------------------------------------------------------------------------


def test_simulated_schedule_jitter_drift_drops_and_determinism():
    cam = SimulatedCamera("s", fps=30, n_frames=3000, jitter_ms=2, drift_ppm=500, drop_prob=0.1, drop_indices=[5])
    idx, t = cam.schedule()
    idx2, t2 = SimulatedCamera(
        "s", fps=30, n_frames=3000, jitter_ms=2, drift_ppm=500, drop_prob=0.1, drop_indices=[5]
    ).schedule()
    assert np.array_equal(idx, idx2) and np.array_equal(t, t2)  # seeded: deterministic
    assert not np.array_equal(t, SimulatedCamera("s", fps=30, n_frames=3000, jitter_ms=2, seed=1).schedule()[1][:10])
    assert 5 not in idx and np.all(np.diff(t) > 0)
    assert 0.07 < 1 - len(idx) / 3000 < 0.13  # about 10 % dropped
    jitter = t - cam.nominal_time_ns(idx)
    assert np.std(jitter) / MS == pytest.approx(2.0, rel=0.1)
    # drift: the period is 1/30 s * (1 + 500e-6)
    slope = np.polyfit(idx, t, 1)[0]
    assert slope == pytest.approx(1e9 / 30 * (1 + 500e-6), rel=2e-5)
    frames = cam.generate(t0_ns=10**9, n=10)
    assert [f.index for f in frames] == [i for i in idx if i < 10]
    assert frames[0].image.shape == (24, 32, 3) and frames[0].image.dtype == np.uint8
    assert frames[3].image[0, 0, 0] == frames[3].index


def test_simulated_threaded_virtual_time_equals_schedule_with_disconnect():
    clock = VirtualClock(5 * 10**9)
    cam = SimulatedCamera(
        "s",
        fps=30,
        duration_s=3.0,
        jitter_ms=2,
        drift_ppm=-300,
        drop_prob=0.05,
        disconnects=[(1.01, 1.51)],
        seed=7,
        clock=clock,
        reconnect=ReconnectPolicy(initial_s=0.001, factor=1.0, max_s=0.001),
    )
    got = collect(cam)
    states = record_states(cam)
    q = cam.frame_queue(maxsize=3)
    cam.start()
    assert cam.wait_for_state(SourceState.ENDED, timeout=10)
    assert cam.stop()
    expected = cam.generate(t0_ns=5 * 10**9)
    assert [(f.index, f.t_ns) for f in got] == [(f.index, f.t_ns) for f in expected]
    assert all(np.array_equal(f.image, e.image) for f, e in zip(got, expected))
    nominal_rel = cam.nominal_time_ns(np.array([f.index for f in got]))  # relative to t0
    assert not np.any((nominal_rel >= 1.01e9) & (nominal_rel < 1.51e9))  # nothing while unplugged
    assert np.any(nominal_rel >= 1.51e9)  # and it came back
    seq = [s for s, _ in states]
    assert seq[:3] == [SourceState.CONNECTING, SourceState.CONNECTED, SourceState.DISCONNECTED]
    assert "unplugged" in states[2][1]
    assert SourceState.RECONNECTING in seq and seq.count(SourceState.CONNECTED) == 2
    assert seq[-1] is SourceState.ENDED
    st = cam.status()
    assert st.state is SourceState.ENDED and st.frames_delivered == len(expected) and st.failed_reads == 1
    assert st.reconnect_attempts >= 400  # 0.5 s of 1 ms backoff, in virtual time: no real waiting
    assert st.fps == pytest.approx(30 * 0.95, rel=0.15)  # measured over the last second of virtual time
    assert [f.index for f in cam.recent()] == [f.index for f in expected[-8:]]
    assert q.qsize() == 3 and q.dropped == len(expected) - 3  # the slow consumer only sees the newest frames
    assert [q.get_nowait().index for _ in range(3)] == [f.index for f in expected[-3:]]


def test_simulated_rejects_bad_parameters():
    with pytest.raises(InputError):
        SimulatedCamera("s", drop_prob=1.0)
    with pytest.raises(InputError):
        SimulatedCamera("s", disconnects=[(2.0, 1.0)])
    with pytest.raises(InputError):
        SimulatedCamera("s", fps=0)
    with pytest.raises(InputError, match="infinite"):
        SimulatedCamera("s").generate()


def test_callback_errors_never_stop_capture():
    cam = SimulatedCamera("s", fps=30, n_frames=20, clock=VirtualClock())

    def boom(frame: Frame) -> None:
        raise RuntimeError("consumer bug")

    cam.subscribe(boom)
    got = collect(cam)
    cam.start()
    assert cam.wait_for_state(SourceState.ENDED, timeout=5)
    assert len(got) == 20 and cam.callback_errors == 20


def test_unsubscribe_and_restart():
    cam = SimulatedCamera("s", fps=30, n_frames=5, clock=VirtualClock())
    got = []
    unsub = cam.subscribe(got.append)
    cam.start()
    assert cam.wait_for_state(SourceState.ENDED, timeout=5)
    unsub()
    cam.start()  # a finished source can be started again
    assert cam.wait_for_state(SourceState.ENDED, timeout=5)
    assert len(got) == 5 and cam.status().frames_delivered == 10


# ---------------------------------------------------------------------------------------------------
# Real device (absent on this machine)
# ---------------------------------------------------------------------------------------------------


def test_default_backend_per_platform():
    assert default_backend("linux") == cv2.CAP_V4L2
    assert default_backend("win32") == cv2.CAP_DSHOW
    assert default_backend("darwin") == cv2.CAP_AVFOUNDATION


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs listing is Linux only")
def test_list_devices_reads_sysfs_names_and_skips_metadata_nodes(tmp_path):
    for n, name, index in [(0, "HD Pro Webcam C920", 0), (1, "HD Pro Webcam C920", 1), (2, "USB2.0 Camera", 0)]:
        d = tmp_path / f"video{n}"
        d.mkdir()
        (d / "name").write_text(name + "\n")
        (d / "index").write_text(f"{index}\n")
    (tmp_path / "video9").mkdir()  # beyond max_index
    found = list_devices(max_index=8, sysfs=tmp_path)
    assert [(d.index, d.name, d.backend) for d in found] == [
        (0, "HD Pro Webcam C920", "V4L2"),
        (2, "USB2.0 Camera", "V4L2"),
    ]
    assert list_devices(sysfs=tmp_path / "absent") == []


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="a camera is plugged in")
def test_no_camera_gives_a_clear_status_not_a_crash_or_hang():
    assert list_devices() == []
    cam = DeviceSource(0, reconnect=FAST)
    cam.start()
    assert cam.wait_for_state(SourceState.DISCONNECTED, timeout=5)
    st = cam.status()
    assert isinstance(st.error, CameraError)
    assert "Camera 0" in st.reason and "could not be opened" in st.reason and st.frames_delivered == 0
    with pytest.raises(CameraError, match="could not be opened"):
        cam.wait_connected(timeout=0.05)
    assert cam.wait_until(lambda s: s.reconnect_attempts >= 2, timeout=5)  # keeps retrying
    assert cam.stop(timeout=2.0)
    assert cam.status().state is SourceState.STOPPED


class FakeCapture:
    """A scripted cv2.VideoCapture: ``frames`` good reads, then grab fails (unplugged) or blocks."""

    def __init__(
        self, clock: VirtualClock | None, frames: int, then: str = "fail", gate: threading.Event | None = None
    ):
        self.clock, self.left, self.then, self.gate = clock, frames, then, gate
        self.props: dict[int, float] = {cv2.CAP_PROP_FRAME_WIDTH: 640.0, cv2.CAP_PROP_FRAME_HEIGHT: 480.0}
        self.released = False
        self.n = 0

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def grab(self) -> bool:
        if self.left <= 0:
            if self.then == "block":
                assert self.gate is not None
                self.gate.wait(30)  # a stuck driver call
            return False
        if self.clock is not None:
            self.clock.advance(33 * MS)  # the frame arrives
        self.left -= 1
        return True

    def retrieve(self):
        if self.clock is not None:
            self.clock.advance(7 * MS)  # decoding takes time: the stamp must come before it
        self.n += 1
        return True, np.full((4, 6), self.n, np.uint8)  # grey: the source must convert to BGR

    def release(self) -> None:
        self.released = True


class ClosedCapture(FakeCapture):
    def __init__(self) -> None:
        super().__init__(None, 0)

    def isOpened(self) -> bool:
        return False


def test_device_disconnect_and_reconnect_through_the_same_logic():
    clock = VirtualClock(0)
    gate = threading.Event()
    plan = [FakeCapture(clock, 3), ClosedCapture(), ClosedCapture(), FakeCapture(clock, 4, "block", gate)]
    opened: list = []

    def opener(index: int, backend: int):
        opened.append((index, backend))
        return plan[min(len(opened) - 1, len(plan) - 1)]

    cam = DeviceSource(
        2, "left", width=1280, height=720, fps=30, exposure=-6, opener=opener, clock=clock, reconnect=FAST
    )
    got = collect(cam)
    states = record_states(cam)
    cam.start()
    assert cam.wait_for_frames(7, timeout=5)
    seq = [s for s, _ in states]
    assert seq[:3] == [SourceState.CONNECTING, SourceState.CONNECTED, SourceState.DISCONNECTED]
    assert "5 failed reads in a row" in states[2][1] and "unplugged" in states[2][1]
    assert "could not be opened" in states[4][1]  # the closed device, during reconnection
    assert seq.count(SourceState.RECONNECTING) == 3 and seq[-1] is SourceState.CONNECTED
    st = cam.status()
    assert st.state is SourceState.CONNECTED and st.error is None
    assert (st.frames_delivered, st.failed_reads, st.reconnect_attempts) == (7, 5, 3)
    assert opened == [(2, default_backend())] * 4 and plan[0].released
    # settings applied on every open, in the right order
    assert plan[3].props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert plan[3].props[cv2.CAP_PROP_FRAME_WIDTH] == 1280 and plan[3].props[cv2.CAP_PROP_FPS] == 30
    assert plan[3].props[cv2.CAP_PROP_EXPOSURE] == -6
    assert cam.actual_size == (1280, 720)
    # frames: numbered 0..6 across the reconnection, BGR, stamped at grab (before the 7 ms decode)
    assert [f.index for f in got] == list(range(7)) and all(f.camera == "left" for f in got)
    assert got[0].image.shape == (4, 6, 3)
    assert got[0].t_ns == 33 * MS and got[1].t_ns == 2 * 33 * MS + 7 * MS
    gate.set()
    assert cam.stop(timeout=5)


def test_stop_is_prompt_even_when_a_read_is_stuck_and_stall_is_reported():
    clock = VirtualClock(0)
    gate = threading.Event()
    cam = DeviceSource(0, opener=lambda i, b: FakeCapture(clock, 1, "block", gate), clock=clock, stall_timeout_s=2)
    cam.start()
    assert cam.wait_for_frames(1, timeout=5)
    assert cam.status().state is SourceState.CONNECTED
    clock.advance(3 * 10**9)  # 3 s without a frame: the watchdog reports it while the read is stuck
    st = cam.status()
    assert st.state is SourceState.DISCONNECTED and "no frame for 3.0 s" in st.reason
    assert cam.stop(timeout=0.2) is False  # bounded: the stuck thread is abandoned, stop returns
    assert cam.status().state is SourceState.STOPPED and "abandoned" in cam.status().reason
    gate.set()  # the driver call returns: the daemon thread exits on its own
    assert cam.stop(timeout=5) is True
    assert cam.status().state is SourceState.STOPPED


def test_device_rejects_bad_fourcc():
    with pytest.raises(InputError, match="fourcc"):
        DeviceSource(0, fourcc="MJPEG")


# ---------------------------------------------------------------------------------------------------
# Video file
# ---------------------------------------------------------------------------------------------------


@needs_video
def test_video_file_plays_at_its_own_rate():
    src = VideoFileSource(VIDEO)
    assert src.name == "cam01" and src.nominal_fps == pytest.approx(60.0)
    got = collect(src)
    src.start()
    assert src.wait_for_state(SourceState.ENDED, timeout=30)
    assert src.stop(timeout=1.0)
    assert [f.index for f in got] == list(range(100))
    t = np.array([f.t_ns for f in got])
    assert np.all(np.diff(t) > 0)
    span = (t[-1] - t[0]) / 1e9
    assert span >= 99 / 60 * 0.9  # paced (frame k is due k/60 s after the start; frame 0 may decode late)
    assert span < 99 / 60 * 4  # roughly the file's rate (loose: the machine may be loaded)
    assert got[0].image.shape == (1920, 1080, 3) and got[0].image.dtype == np.uint8
    assert src.status().frames_delivered == 100 and src.status().failed_reads == 0


@needs_video
def test_video_file_as_fast_as_possible_uses_the_file_timeline_and_loops():
    src = VideoFileSource(VIDEO, "v", as_fast_as_possible=True, loop=True)
    got = collect(src)
    src.start()
    assert src.wait_for_frames(105, timeout=30)
    assert src.stop(timeout=1.0)  # prompt, even while looping
    assert src.status().state is SourceState.STOPPED
    idx = [f.index for f in got]
    assert idx[:105] == list(range(105))  # indices continue across the loop
    t = np.array([f.t_ns for f in got[:105]]) - got[0].t_ns
    assert np.array_equal(t, np.round(np.arange(105) * 1e9 / 60).astype(np.int64))
    # frame 100 is frame 0 again, and says the timeline restarted (trackers start afresh)
    assert np.array_equal(got[100].image, got[0].image)
    assert [f.take for f in got[:105]] == [0] * 100 + [1] * 5


def test_video_file_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        VideoFileSource(tmp_path / "nope.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="could not be decoded"):
        VideoFileSource(bad)


# ---------------------------------------------------------------------------------------------------
# Iterable (replay) source
# ---------------------------------------------------------------------------------------------------


def test_iterable_source_keeps_original_timestamps_and_paces_on_the_clock():
    img = np.zeros((2, 2, 3), np.uint8)
    items = [Frame("rec", 10 + k, 1_000_000_000 + k * 50 * MS, img) for k in range(6)]
    clock = VirtualClock(7)
    src = IterableSource("left", items, nominal_fps=20, clock=clock)
    got = collect(src)
    src.start()
    assert src.wait_for_state(SourceState.ENDED, timeout=5)
    assert [(f.camera, f.index, f.t_ns) for f in got] == [("left", i.index, i.t_ns) for i in items]
    assert clock.now_ns() == 7 + 5 * 50 * MS  # replayed in (virtual) real time
    # plain (t_ns, image) pairs, unpaced; a non-increasing timestamp is a failed read, not a crash
    src = IterableSource("r", lambda: [(0, img), (10, img), (5, img), (20, img)], nominal_fps=30, pace=False)
    got = collect(src)
    src.start()
    assert src.wait_for_state(SourceState.ENDED, timeout=5)
    assert [(f.index, f.t_ns) for f in got] == [(0, 0), (1, 10), (2, 20)]
    assert src.status().failed_reads == 1


def test_shared_epoch_slows_the_rig_without_breaking_frame_pairs():
    from core.capture import SharedEpoch

    epoch = SharedEpoch(lead_s=0.0)
    t0 = epoch.resolve(1_000)
    assert t0 == 1_000 and epoch.resolve(5_000) == 1_000  # the first file fixes it
    period = 100
    for k in range(3):  # camera A emits frames 0..2 on time
        assert epoch.stamp(t0 + k * period) == t0 + k * period
        epoch.emitted(t0 + k * period)
    # camera B is still at frame 1 when the clock says frame 6 is due: the rig slips...
    epoch.fall_behind(t0 + 1 * period, now_ns=t0 + 6 * period)
    # ...but not for what A already emitted: both cameras stamp frames 0..2 alike
    assert [epoch.stamp(t0 + k * period) for k in range(3)] == [t0, t0 + 100, t0 + 200]
    # later frames are due later, by the same amount for every camera, and stay one period apart
    later = [epoch.stamp(t0 + k * period) for k in range(3, 6)]
    assert later[0] > t0 + 3 * period and np.all(np.diff(later) == period)
    # a second slip never moves time backwards
    epoch.fall_behind(t0 + 4 * period, now_ns=t0 + 2 * period)
    assert [epoch.stamp(t0 + k * period) for k in range(3, 6)] == later
