"""The Stream control's logic without widgets: StreamPresenter follows the live capture (waits, sends, stops with
it, sends again on the next start), streams JSON that matches the simulated truth in world metres with Z up, keeps
to the chosen rate, and remembers its settings. Simulated cameras and the fake detector keep it fast."""

from __future__ import annotations

import numpy as np
import pytest

from app.live.presenter import LivePresenter, LiveState
from app.live.stream import StreamPresenter, StreamState
from app.settings import Settings
from app.state import AppState
from app.tasks import TaskRegistry
from core.skeleton import JOINT_NAMES
from core.stream.live import StreamConfig
from core.stream.receivers import JsonReceiver
from core.up_axis import rotation_to_z_up
from tests.test_pipeline import _truth, live_spec


@pytest.fixture
def rig(qtbot, tmp_path):
    registry = TaskRegistry()
    live = LivePresenter(registry, device_lister=lambda: [])
    state = AppState(Settings.in_folder(tmp_path), registry)
    rx = JsonReceiver()
    stream = StreamPresenter(live, state)
    yield live, stream, state, rx
    stream.stop()
    live.stop(wait=True)
    rx.close()


def test_streaming_follows_the_capture_and_sends_the_truth_z_up(rig, qtbot, tmp_path):
    live, stream, state, rx = rig
    stream.set_config(StreamConfig(protocol="json", json_port=rx.port, fps=10, source="raw"))
    assert Settings.in_folder(tmp_path).stream_json_port == rx.port  # remembered
    assert stream.state is StreamState.OFF
    assert stream.set_enabled(True) and stream.state is StreamState.WAITING

    with qtbot.waitSignal(live.started, timeout=10_000):
        live.start(live_spec())
    assert stream.state is StreamState.SENDING
    qtbot.waitUntil(lambda: len(rx.docs) >= 12, timeout=15_000)
    with qtbot.waitSignal(stream.statsUpdated, timeout=5000) as st:
        pass
    stats = st.args[0]
    assert stats.sent >= 1 and stats.rate_skipped > 0  # the 30 fps rig is cut to 10 fps

    # the simulated rig's world is camera 1's frame (-y up): the stream is that world turned to Z up
    R = rotation_to_z_up("-y")
    doc = rx.docs[-1]
    assert doc["refined"] is False and list(doc["joints"]) == list(JOINT_NAMES)
    pts = np.array([doc["joints"][n] for n in JOINT_NAMES], dtype=float)
    errors = [np.nanmax(np.abs(pts - _truth(k) @ R.T)) for k in range(0, 3000)]
    assert min(errors) < 0.05  # metres: some simulated frame index matches
    times = np.array([d["t"] for d in rx.docs])
    assert np.all(np.diff(times) > 0) and np.median(np.diff(times)) == pytest.approx(0.1, abs=0.034)

    # the capture stops: the stream stops with it and waits for the next start
    with qtbot.waitSignal(live.stopped, timeout=10_000):
        live.stop()
    assert live.state is LiveState.IDLE and stream.state is StreamState.WAITING
    n = len(rx.docs)
    with qtbot.waitSignal(live.started, timeout=10_000):
        live.start(live_spec())
    qtbot.waitUntil(lambda: len(rx.docs) > n + 3, timeout=15_000)
    assert stream.set_enabled(False) and stream.state is StreamState.OFF


def test_a_bad_target_is_refused_with_what_to_do(rig, qtbot):
    live, stream, _state, _rx = rig
    with qtbot.waitSignal(live.started, timeout=10_000):
        live.start(live_spec())
    stream.set_config(StreamConfig(protocol="vmc", host="no-such-host.invalid"))
    with qtbot.waitSignal(stream.streamFailed, timeout=5000) as failed:
        assert not stream.set_enabled(True)
    assert "cannot find the VMC host" in failed.args[0] and stream.state is StreamState.OFF
