"""The Live tab's logic without widgets: checking a start choice (core.live), the presenter's state computed
from its tasks, synchronous and asynchronous stops, the recording presenter, the result bridge's throttling and
the world-up decision. Simulated cameras and a fake detector (tests/test_pipeline.py) keep it fast."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.live.bridge import ResultBridge
from app.live.presenter import LivePresenter, LiveState, display_world_up
from app.live.record import RecordPresenter, RecordState
from app.settings import Settings
from app.state import AppState
from app.tasks import TaskRegistry
from core.calibration_io import load_calibration
from core.errors import InputError
from core.live import NO_CALIBRATION, SourceChoice, SourceKind, StartSpec, calibration_pair, camera_pairs, start_spec
from core.pipeline import PoseResult, StageTimes
from core.session.session import Session
from tests.paths import POSE2SIM, need
from tests.test_pipeline import _rig, _truth, live_spec

DEMO_CALIBRATION = Path(__file__).resolve().parents[1] / "data" / "demo" / "calibration.toml"


def _live_threads() -> list[str]:
    prefixes = ("pipeline-", "detect-", "capture-")
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(prefixes) and t.is_alive())


@pytest.fixture
def presenter(qtbot):
    registry = TaskRegistry()
    p = LivePresenter(registry, device_lister=lambda: [])
    p.registry = registry
    states: list[str] = []
    p.stateChanged.connect(states.append)
    p.states = states
    yield p
    p.stop(wait=True)
    assert p.state is LiveState.IDLE


# --- choosing what to start (no Qt) ---------------------------------------------------------------------------


def test_a_start_choice_is_checked_and_says_what_to_do():
    calib = load_calibration(need(POSE2SIM / "Calib_qualisys.toml"))
    cams = SourceChoice(SourceKind.CAMERAS, devices=(0, 2), resolution=(640, 480), fps=15, mjpg=False)
    with pytest.raises(InputError) as err:
        start_spec(cams, None)
    assert str(err.value) == NO_CALIBRATION and "Demo" in str(err.value)
    with pytest.raises(InputError, match="fewer were found"):
        start_spec(SourceChoice(SourceKind.CAMERAS, devices=(0, None)), calib)
    with pytest.raises(InputError, match="the same device"):
        start_spec(SourceChoice(SourceKind.CAMERAS, devices=(1, 1)), calib)
    with pytest.raises(InputError, match="exactly two video files"):
        start_spec(SourceChoice(SourceKind.VIDEOS, videos=("a.mp4",)), calib)
    spec = start_spec(cams, calib)
    assert spec.label == "Cameras" and spec.cameras == ("cam_01", "cam_02") and spec.calibration is calib
    # a four-camera lab calibration offers every ordered pair; a pair it does not have is refused
    assert len(camera_pairs(calib)) == 12 and ("cam_04", "cam_01") in camera_pairs(calib)
    assert calibration_pair(calib, ("cam_01", "cam_04")) == ("cam_01", "cam_04")
    with pytest.raises(InputError, match="no camera pair cam_01 \\+ cam_09"):
        calibration_pair(calib, ("cam_01", "cam_09"))
    one = dataclasses.replace(calib, group=calib.group.subset(["cam_01"]))
    with pytest.raises(InputError, match="needs two calibrated together"):
        start_spec(cams, one)
    demo = start_spec(SourceChoice(SourceKind.DEMO), None)  # the demo brings its own calibration
    assert demo.label == "Demo (Pose2Sim)" and demo.calibration().group.names[:2] == ["cam_01", "cam_04"]


def test_world_up_from_metadata_camera_frame_or_image_up():
    demo = load_calibration(DEMO_CALIBRATION)
    assert display_world_up(demo, demo.group) == ("+z", "from the calibration")
    # a world that is camera 1's frame: y down
    cam1 = demo.group.with_origin("cam_01")
    assert display_world_up(None, cam1)[0] == "-y"
    rig = _rig()  # camera-1 frame without the origin recorded: inferred from the image-up vectors
    assert display_world_up(None, rig) == ("-y", "inferred from the cameras")
    # the Pose2Sim lab calibration says nothing about up: its cameras' image-up vectors say +Z
    qualisys = load_calibration(need(POSE2SIM / "Calib_qualisys.toml"))
    assert qualisys.world_up is None
    assert display_world_up(qualisys, qualisys.group) == ("+z", "inferred from the cameras")


# --- the presenter ----------------------------------------------------------------------------------------------


def test_the_state_follows_what_runs_and_results_arrive(presenter, qtbot):
    results: list[PoseResult] = []
    presenter.resultReady.connect(results.append)
    with qtbot.waitSignal(presenter.started, timeout=10_000) as started:
        assert presenter.start(live_spec())
        assert presenter.state is LiveState.STARTING
        assert not presenter.start(live_spec())  # one session at a time
    session = started.args[0]
    assert presenter.state is LiveState.RUNNING and presenter.session is session
    assert session.camera_names == ["left", "right"] and (session.world_up, session.world_up_reason)[0] == "-y"
    qtbot.waitUntil(lambda: any(r.display is not None for r in results), timeout=10_000)
    r = next(r for r in results if r.display is not None)
    assert np.nanmax(np.abs(r.coarse - _truth(r.frames[0].index))) < 0.05  # metres
    with qtbot.waitSignal(presenter.statsReady, timeout=5000) as stats:
        pass
    assert stats.args[0].stats.processed_fps >= 0 and len(stats.args[0].sources) == 2
    with qtbot.waitSignal(presenter.stopped, timeout=10_000):
        assert presenter.stop()
        assert presenter.state is LiveState.STOPPING
    assert presenter.state is LiveState.IDLE and presenter.session is None
    assert presenter.states == ["starting", "running", "stopping", "idle"]
    qtbot.waitUntil(lambda: _live_threads() == [], timeout=5000)


def test_a_synchronous_stop_while_starting_leaves_nothing_running(presenter, qtbot):
    stopped: list[bool] = []
    presenter.stopped.connect(lambda: stopped.append(True))
    assert presenter.start(live_spec())
    assert presenter.stop(wait=True) is True  # the window closes while the sources open
    assert presenter.state is LiveState.IDLE and presenter.session is None and stopped == [True]
    qtbot.waitUntil(lambda: not presenter.registry.busy(), timeout=5000)  # the start task's late signals arrived
    assert presenter.session is None and presenter.state is LiveState.IDLE and stopped == [True]
    assert _live_threads() == []


def test_a_start_that_fails_reports_the_error_once(presenter, qtbot):
    def broken():
        raise InputError("camera 'left' cannot be opened; is it plugged in?")

    spec = StartSpec("broken", make_sources=broken, calibration=_rig())
    with qtbot.waitSignal(presenter.startFailed, timeout=5000) as failed:
        presenter.start(spec)
    assert "cannot be opened" in str(failed.args[0])
    qtbot.waitUntil(lambda: presenter.state is LiveState.IDLE, timeout=2000)
    assert presenter.states == ["starting", "idle"]


def test_cameras_are_listed_in_a_task(qtbot):
    from core.capture import DeviceInfo

    found = [DeviceInfo(0, "HD Webcam", "V4L2")]
    p = LivePresenter(TaskRegistry(), device_lister=lambda: found)
    assert p.devices() is None
    with qtbot.waitSignal(p.devicesListed, timeout=5000) as listed:
        assert p.refresh_devices() and not p.refresh_devices()  # one listing at a time
    assert listed.args[0] == found and p.devices() == found
    qtbot.waitUntil(lambda: not p.listing(), timeout=2000)


def test_recording_through_the_presenters_announces_the_session(qtbot, tmp_path):
    state = AppState(Settings.in_folder(tmp_path / "settings"))
    state.set_sessions_root(tmp_path / "sessions")
    live = LivePresenter(state.tasks, device_lister=lambda: [])
    rec = RecordPresenter(live, state)
    assert rec.state is RecordState.IDLE and not rec.can_record() and not rec.start()
    with qtbot.waitSignal(live.started, timeout=10_000):
        live.start(live_spec())
    with qtbot.waitSignal(rec.recordingStarted, timeout=10_000) as started:
        assert rec.start()
    folder = Path(started.args[0])
    assert folder.parent == tmp_path / "sessions" and rec.state is RecordState.RECORDING
    qtbot.waitUntil(lambda: rec.last_stats is not None and min(rec.last_stats.frames_written) >= 5, timeout=10_000)
    with qtbot.waitSignal(state.sessionRecorded, timeout=15_000) as recorded:
        rec.stop(wait=False)
        assert rec.state is RecordState.STOPPING
    assert recorded.args == [str(folder)] and rec.state is RecordState.IDLE
    assert Session.open(folder).meta.status == "complete"
    live.stop(wait=True)
    assert state.tasks.wait_all(5000)


# --- the result bridge ----------------------------------------------------------------------------------------


def _result(i: int) -> PoseResult:
    kp = np.zeros((2, 17, 3))
    return PoseResult(i, 0, (None, None), kp, None, np.zeros(17), "no_person", times=StageTimes())  # type: ignore[arg-type]


def test_result_bridge_delivers_only_the_newest_result_at_the_display_rate(qtbot):
    bridge = ResultBridge(rate_hz=30.0)
    got: list[int] = []
    bridge.resultReady.connect(lambda r: got.append(r.pair_index))
    n = 5000
    t0 = time.monotonic()
    worker = threading.Thread(target=lambda: [bridge.push(_result(i)) for i in range(n)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(got) and got[-1] == n - 1, timeout=5000)
    elapsed = time.monotonic() - t0
    assert bridge.pushed == n
    assert len(got) <= 2 + elapsed * 30.0, (len(got), elapsed)  # never a backlog of thousands
    assert got == sorted(got)
