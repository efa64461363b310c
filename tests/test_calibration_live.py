"""The wizard's Qt-free calibration run: the capture loop on simulated cameras, its controls, the frame-offset
search of recorded videos, the pair plan shift and the rectifier (real 9x6 stereo photos).

No Qt: jobs run in plain threads and every wait is on an event, never a sleep.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from calibration.boards import Board
from calibration.detect import BoardDetector
from calibration.feeds import FeedEnded, RecordingFeed
from calibration.frame_offset import MIN_KEPT_PAIRS, best_frame_offset
from calibration.intrinsics import calibrate_intrinsics
from calibration.live import CaptureControl, CaptureJob, Notice, PreviewPacket
from calibration.rectify import Rectifier
from calibration.run import CalibrationRun, InputSpec, open_recordings
from calibration.sources import PairPlan
from calibration.stereo import calibrate_stereo
from core.capture import SimulatedCamera
from core.jobs import Cancelled, CancelToken, null_progress
from tests.paths import SHARED_DATA, need

STEREO_9X6 = SHARED_DATA / "calibration" / "opencv_stereo_9x6"
PAIR_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)


@pytest.fixture(scope="module")
def stereo_9x6() -> dict:
    """Detections of the 13 OpenCV stereo pairs, both cameras' intrinsics and the stereo group."""
    need(STEREO_9X6)
    det = BoardDetector(Board.chessboard(9, 6, 1.0), thorough=True)
    left = [det.detect(cv2.imread(str(STEREO_9X6 / f"left{i:02d}.jpg"))) for i in PAIR_NUMBERS]
    right = [det.detect(cv2.imread(str(STEREO_9X6 / f"right{i:02d}.jpg"))) for i in PAIR_NUMBERS]
    i0 = calibrate_intrinsics(left, (640, 480), name="cam_0")
    i1 = calibrate_intrinsics(right, (640, 480), name="cam_1")
    st = calibrate_stereo(list(zip(left, right)), i0.camera, i1.camera, models=(i0.model, i1.model))
    return {"left": left, "right": right, "cam0": i0.camera, "cam1": i1.camera, "group": st.group}


def _capture(sizes, until, timeout_s: float = 10.0):
    """Run a stereo capture job on two simulated cameras of ``sizes`` until ``until(packets, problems)``."""
    cams = [SimulatedCamera(f"cam_{k}", fps=30.0, size=sizes[k], camera_id=k) for k in (0, 1)]
    for c in cams:
        c.start()
    run = CalibrationRun(Board.chessboard(9, 6, 0.025), InputSpec("cameras"), devices=cams)
    control = CaptureControl()
    packets: list[PreviewPacket | None] = []
    problems: list[str] = []
    enough = threading.Event()

    def on_notice(notice) -> None:
        if notice.kind is Notice.PACKET:
            packets.append(control.take_packet())
        elif notice.kind is Notice.PROBLEM:
            problems.append(notice.text)
        if until(packets, problems):
            enough.set()

    cancel = CancelToken()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["summary"] = CaptureJob(run, "pairs", control, on_notice)(null_progress, cancel)
        except Cancelled:
            outcome["cancelled"] = True

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert enough.wait(timeout_s)
    finally:
        cancel.cancel()
        thread.join(5)
        for c in cams:
            c.stop()
    assert not thread.is_alive() and outcome == {"cancelled": True}  # stopping is a cancel
    return packets, problems


def test_live_stereo_capture_pairs_two_cameras_and_refuses_mixed_resolutions():
    """The stereo capture from two running (simulated) cameras: frames paired by timestamp, both previews,
    counters; cameras at different resolutions give a readable problem instead of pairs."""
    packets, problems = _capture([(160, 120), (160, 120)], lambda pk, _pr: sum(p is not None for p in pk) >= 5)
    last = [p for p in packets if p is not None][-1]
    assert len(last.images) == 2 and last.images[0].shape == (120, 160, 3) and "skew" in last.label
    assert last.state.pairs is not None and last.state.pairs.frames_seen >= 5 and not any(problems)
    assert not any(d.found for d in last.detections) and last.pair_decision.code == "not_found"

    packets, problems = _capture(
        [(160, 120), (320, 240)], lambda _pk, pr: any("different resolutions" in p for p in pr)
    )
    assert not any(p is not None for p in packets)
    assert "160x120" in next(p for p in problems if p) and "320x240" in next(p for p in problems if p)


def test_capture_control_keeps_only_the_newest_packet_and_one_manual_offer():
    control = CaptureControl(auto=False)
    a, b = object(), object()
    assert control.publish(a) and not control.publish(b)  # only the first tells the consumer
    assert control.pending_packet() is b and control.take_packet() is b and control.take_packet() is None
    assert not control.take_offer()
    control.request_capture()
    assert control.take_offer() and not control.take_offer()  # one capture per request
    control.set_auto(True)
    assert control.take_offer() and control.take_offer()
    control.set_paused(True)
    assert control.paused() and not control.wait_resumed(0.01)
    control.set_paused(False)
    assert control.wait_resumed(0.01)


def test_capture_job_refuses_an_unknown_mode():
    run = CalibrationRun(Board.chessboard(9, 6, 0.025), InputSpec("cameras"), devices=[object(), object()])
    with pytest.raises(ValueError, match="cam0, cam1 or pairs"):
        CaptureJob(run, "cam2", CaptureControl(), lambda n: None)


def test_best_frame_offset_finds_camera_2_one_frame_late(stereo_9x6):
    left, right = stereo_9x6["left"], stereo_9x6["right"]
    n = len(left)
    dets0 = dict(enumerate(left))
    late = {i + 1: d for i, d in enumerate(right)}  # camera 2's frame i + 1 shows what camera 1's frame i shows
    asked: list[list[int]] = []

    def detect1(frames: list[int]) -> dict:
        asked.append(frames)
        return {f: late[f] for f in frames if f in late}

    kept = [(i, i) for i in range(n)]  # paired by (wrong) timestamps
    search = best_frame_offset(kept, dets0, detect1, stereo_9x6["cam0"], stereo_9x6["cam1"], n + 1)
    # whole frames first, then the quarter frames within one frame of the best of them
    assert search.offset == 1 and sorted(search.scores) == [-2, -1, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]
    assert search.rms(1) < 0.85 * search.rms(0) and search.rms(1) < 1.0
    assert all(search.rms(1) < v for k, v in search.scores.items() if k != 1)
    assert asked == [list(range(n + 1))]  # every needed camera-2 frame once, in order, inside the recording
    in_sync = best_frame_offset(kept, dets0, lambda f: {i: right[i] for i in f if i < n}, *_cams(stereo_9x6), n)
    assert in_sync.offset == 0 and in_sync.rms(0) < 1.0
    few = best_frame_offset(kept[: MIN_KEPT_PAIRS - 1], dets0, detect1, *_cams(stereo_9x6), n + 1)
    assert few.offset == 0 and few.scores == {} and np.isnan(few.rms(0))


def _cams(data: dict) -> tuple:
    return data["cam0"], data["cam1"]


def test_pair_plan_shift_keeps_the_frames_inside_the_recording():
    plan = PairPlan(np.arange(5), np.arange(5), np.zeros(5), "test")
    assert plan.shifted(0, 5) is plan
    later = plan.shifted(2, 5)
    assert later.idx0.tolist() == [0, 1, 2] and later.idx1.tolist() == [2, 3, 4] and later.method == "test"
    earlier = plan.shifted(-1, 5)
    assert earlier.idx0.tolist() == [1, 2, 3, 4] and earlier.idx1.tolist() == [0, 1, 2, 3]


def test_rectifier_puts_the_same_corner_on_the_same_row(stereo_9x6):
    rect = Rectifier(stereo_9x6["group"])
    assert not rect.vertical and rect.size == (640, 480)
    a, b = stereo_9x6["left"][0], stereo_9x6["right"][0]
    assert rect.row_error(a, b) < 0.5
    img0 = cv2.imread(str(STEREO_9X6 / "left01.jpg"))
    img1 = cv2.imread(str(STEREO_9X6 / "right01.jpg"))
    out = rect.compose(img0, img1, a, b)
    assert out.shape == (480, 2 * 640 + 6, 3) and out.dtype == np.uint8


def test_recording_feed_plays_the_pairs_then_ends_and_applies_a_frame_shift():
    need(STEREO_9X6)
    rec = open_recordings(InputSpec("images", (str(STEREO_9X6 / "left*.jpg"), str(STEREO_9X6 / "right*.jpg"))))
    feed = RecordingFeed(rec, None, pace=False, stop=threading.Event())
    items = []
    with pytest.raises(FeedEnded):
        while True:
            items.append(feed.get(0.1))
    assert len(items) == feed.total == 13 and all(len(it.images) == 2 for it in items)
    assert (
        items[0].label == "frames 0 / 0"
        and items[-1].progress == (13, 13)
        and items[0].images[0].shape == (480, 640, 3)
    )
    assert RecordingFeed(rec, None, False, threading.Event(), offset=1).total == 12
    one = RecordingFeed(rec, 1, False, threading.Event())
    first = one.get(0.1)
    assert one.total == 13 and len(first.images) == 1 and first.frames == [0] and first.label == rec.sources[1].label(0)
    one.close()
