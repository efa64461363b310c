"""The calibration wizard's presenter without any widget: its state follows what runs (capture, pause, solve),
it relays the capture and the solve, opens and checks recordings, and makes a saved calibration the app's.

Simulated cameras and the OpenCV 9x6 stereo photos; ``qtbot`` only runs the event loop. No sleeps.
"""

from __future__ import annotations

import threading

import pytest

from app.calibration.presenter import CalibrationPresenter, CalibrationState, solve_failure_text
from app.settings import Settings
from app.state import AppState
from calibration.boards import Board
from calibration.engine import CalibrationCancelledError
from calibration.live import PreviewPacket
from calibration.run import InputSpec, SolveOutcome
from core.capture import DeviceInfo, SimulatedCamera
from core.errors import CalibrationError, InputError
from tests.paths import SHARED_DATA, need

STEREO_9X6 = SHARED_DATA / "calibration" / "opencv_stereo_9x6"
BOARD = Board.chessboard(9, 6, 0.025)


@pytest.fixture
def app_state(qtbot, qsettings_dir):
    state = AppState(Settings.in_folder(qsettings_dir))
    yield state
    qtbot.waitUntil(lambda: not state.tasks.busy(), timeout=10_000)  # every task's end reached the GUI thread


@pytest.fixture
def cameras(app_state):
    """A presenter with two simulated cameras (no board in view), and the cameras it made."""
    devices = [DeviceInfo(0, "Sim cam A", "SIM"), DeviceInfo(1, "Sim cam B", "SIM")]
    made: list[SimulatedCamera] = []

    def factory(slot: int, index: int, spec: InputSpec) -> SimulatedCamera:
        cam = SimulatedCamera(f"cam_{slot}", fps=30.0, size=(160, 120), camera_id=slot)
        made.append(cam)
        return cam

    p = CalibrationPresenter(app_state, device_lister=lambda: devices, camera_factory=factory)
    yield p, made
    p.stop_all()
    assert not any(c.running for c in made)


def _images_spec() -> InputSpec:
    need(STEREO_9X6)
    return InputSpec("images", (str(STEREO_9X6 / "left*.jpg"), str(STEREO_9X6 / "right*.jpg")))


def test_state_follows_the_capture_and_manual_capture_offers_one_frame(qtbot, app_state, cameras):
    p, made = cameras
    assert p.state == CalibrationState.IDLE == "idle" and len(p.list_devices()) == 2
    with pytest.raises(Exception, match="first page"):
        p.prepare_run(BOARD)
    p.choose_inputs(InputSpec("cameras", devices=(0, 1), width=160, height=120))
    run = p.prepare_run(BOARD)
    assert run.devices == made and all(c.running for c in made) and p.prepare_run(BOARD) is run
    assert app_state.settings.calibration_board_spec == "chessboard:9x6:0.025"
    assert app_state.settings.calibration_input_kind == "cameras"
    states: list[str] = []
    p.stateChanged.connect(states.append)
    with qtbot.waitSignal(p.packetReady, timeout=10_000) as sig:
        assert p.start_capture("pairs")
    assert isinstance(sig.args[0], PreviewPacket) and p.last_packet is not None
    assert p.state == "capturing" and p.capturing("pairs") and not p.capturing("cam0") and p.capture_mode == "pairs"

    p.set_auto(False)  # manual: frames are offered only when asked
    packets: list[PreviewPacket] = []
    p.packetReady.connect(packets.append)
    qtbot.waitUntil(lambda: len(packets) > 2, timeout=10_000)  # the setting reached the job
    offered = run.session.state().pairs.frames_seen
    qtbot.waitUntil(lambda: len(packets) > 6, timeout=10_000)
    assert run.session.state().pairs.frames_seen == offered and not packets[-1].offered
    p.capture_now()
    qtbot.waitUntil(lambda: run.session.state().pairs.frames_seen == offered + 1, timeout=10_000)

    p.set_paused(True)
    assert p.state == "paused" and p.paused()
    p.set_paused(False)
    p.stop_capture()
    assert p.state == "idle" and not p.capturing() and states == ["capturing", "paused", "capturing", "idle"]
    assert p.threads() == []


def test_failed_unexpected_and_cancelled_solves(qtbot, app_state, monkeypatch):
    p = CalibrationPresenter(app_state)
    assert not p.start_solve()  # nothing to solve yet
    p.choose_inputs(_images_spec())
    run = p.prepare_run(Board.chessboard(9, 6, 1.0))

    def diverge(**kwargs):
        raise CalibrationError("the stereo solve diverged. Check the frames.")

    monkeypatch.setattr(run.session, "solve", diverge)
    with qtbot.waitSignal(p.solveFailed, timeout=10_000) as sig:
        assert p.start_solve()
    assert sig.args == ["the stereo solve diverged. Check the frames."] and p.state == "idle"

    monkeypatch.setattr(run.session, "solve", lambda **kwargs: 1 / 0)
    with qtbot.waitSignal(p.solveFailed, timeout=10_000) as sig:
        p.start_solve()
    assert sig.args[0].startswith("The calibration failed with an unexpected error (ZeroDivisionError")
    assert solve_failure_text(InputError("bad input.")) == "bad input."

    started = threading.Event()

    def slow(progress=None, cancel=None, **kwargs):
        progress(50, 1000, "calibrating cam_0 intrinsics (13 views)")
        started.set()
        assert cancel.wait(30), "the presenter's cancel never reached the solver"
        raise CalibrationCancelledError()

    monkeypatch.setattr(run.session, "solve", slow)
    progress: list[tuple] = []
    p.solveProgress.connect(lambda *a: progress.append(a))
    p.start_solve()
    qtbot.waitUntil(lambda: started.is_set() and bool(progress), timeout=10_000)
    assert p.state == "solving" and p.solving() and progress[0] == (50, 1000, "calibrating cam_0 intrinsics (13 views)")
    with qtbot.waitSignal(p.solveCancelled, timeout=10_000):
        p.cancel_solve()
    assert not p.solving() and p.state == "idle"

    # a forgotten solve's outcome is ignored
    started.clear()
    outcomes: list = []
    p.solveCancelled.connect(lambda: outcomes.append("cancelled"))
    p.start_solve()
    qtbot.waitUntil(started.is_set, timeout=10_000)
    p.forget_solve()
    assert p.state == "idle"
    qtbot.waitUntil(lambda: not p.threads(), timeout=10_000)
    assert outcomes == []


def test_recordings_are_checked_played_solved_and_saved_as_the_apps_calibration(qtbot, app_state, tmp_path):
    spec = _images_spec()
    p = CalibrationPresenter(app_state)
    rec = p.open_recordings(spec)
    assert p.recordings_for(spec) is rec and len(rec.plan) == 13
    assert app_state.settings.calibration_paths("images") == list(spec.paths)
    p.forget_recordings_check()  # the paths were edited: check again
    assert p.recordings_for(spec) is None
    with pytest.raises(InputError, match="TWO cameras"):
        p.open_recordings(InputSpec("images", (spec.paths[0], "")))
    assert p.recordings_for(spec) is None

    p.choose_inputs(spec)
    run = p.prepare_run(Board.chessboard(9, 6, 1.0))  # the recordings are opened again
    assert run.recordings is not None and run.key() == (spec.key(), Board.chessboard(9, 6, 1.0))
    with qtbot.waitSignal(p.streamEnded, timeout=60_000) as sig:
        p.start_capture("cam0")
    assert sig.args[0].startswith("End of the recording:") and "view(s) kept" in sig.args[0]
    qtbot.waitUntil(lambda: p.state == "idle", timeout=10_000)
    assert "cam0" in run.played and len(run.session.views(0)) >= 10

    for mode in ("cam1", "pairs"):
        with qtbot.waitSignal(p.streamEnded, timeout=60_000):
            p.start_capture(mode)
        qtbot.waitUntil(lambda: p.state == "idle", timeout=10_000)
    with qtbot.waitSignal(p.solved, timeout=60_000) as sig:
        p.start_solve()
    outcome = sig.args[0]
    assert isinstance(outcome, SolveOutcome) and outcome.result.verdict == "good" and p.state == "idle"
    assert (
        outcome.rectifier is not None
        and 0 <= outcome.default_pair < len(outcome.pairs) == outcome.result.stereo.n_pairs
    )
    result = outcome.result
    out = tmp_path / "calib.toml"
    changed: list = []
    app_state.calibrationChanged.connect(changed.append)
    with qtbot.waitSignal(p.calibrationSaved, timeout=5000) as sig:
        saved = p.save(result, str(out))
    assert sig.args == [str(out)] and saved.path == out and out.is_file()
    assert app_state.calibration is not None and app_state.calibration_path == out and changed
    assert app_state.settings.calibration_dir == out.resolve().parent
    assert p.default_save_path().startswith(str(out.resolve().parent / "calibration_"))
