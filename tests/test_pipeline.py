"""The live pipeline: pairing -> parallel detection -> triangulation -> refinement hook -> smoothing."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time

import numpy as np
import pytest

from core import skeleton as sk
from core.calibration_io import load_calibration
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.capture import SimulatedCamera, SourceState, VirtualClock, synchronized_videos
from core.detection import Detection
from core.pipeline import LivePipeline, PairProcessor, process_pairs
from core.video_io import iter_index_pairs
from tests.paths import POSE2SIM, need
from tests.polling import until
from tests.pose2sim_reference import reference12

SIZE = (64, 48)


def _rig(focal_px: float = 50.0) -> CameraGroup:
    K = [[focal_px, 0, 32], [0, focal_px, 24], [0, 0, 1]]
    a = Camera("left", K, np.zeros(5), np.eye(3), [0, 0, 0], SIZE)
    b = Camera("right", K, np.zeros(5), rodrigues_to_matrix(np.array([0, -0.4, 0])), [-1.0, 0, 0.2], SIZE)
    return CameraGroup([a, b])


def _truth(k: int) -> np.ndarray:
    """A synthetic (17, 3) pose at 3 m that moves with the frame index k."""
    rng = np.random.default_rng(0)
    base = rng.normal([0, 0, 3], 0.25, size=(17, 3))
    return base + np.array([0.01 * np.sin(k / 5), 0, 0])


class FakeDetector:
    """Stands in for MediaPipe: reads the frame index from the simulated image and projects the truth.

    ``blind`` makes it see nobody; ``gate`` (a Semaphore) makes each call wait for the test's permission.
    """

    def __init__(
        self, cam: Camera, blind: bool = False, gate: threading.Semaphore | None = None, mirrored: bool = False
    ) -> None:
        self.cam, self.blind, self.gate, self.mirrored = cam, blind, gate, mirrored
        self.calls = 0

    def detect(self, image: np.ndarray, offset=(0.0, 0.0)) -> Detection:
        if self.gate is not None:
            self.gate.acquire(timeout=10)
        self.calls += 1
        if self.blind:
            return Detection.empty("no person detected")
        k = int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])
        uv = self.cam.project(_truth(k))
        kp = np.concatenate([uv, np.full((17, 1), 0.9)], axis=1)
        if self.mirrored:  # a detector that swaps the person's left and right
            kp = kp[sk.MIRROR]
        return Detection(keypoints=kp, found=True)  # no box: the follower never crops these tiny frames

    def close(self) -> None:
        pass


def _factory(group: CameraGroup, **kwargs):
    made = iter([FakeDetector(group[0], **kwargs.get("a", {})), FakeDetector(group[1], **kwargs.get("b", {}))])
    return lambda: next(made)


def _sources(n_frames=None):
    a = SimulatedCamera("left", fps=30, n_frames=n_frames, size=SIZE, camera_id=0, jitter_ms=1.0, seed=1)
    b = SimulatedCamera("right", fps=30, n_frames=n_frames, size=SIZE, camera_id=1, jitter_ms=1.0, seed=2)
    return [a, b]


def live_spec(disconnect_b: tuple[float, float] | None = None):
    """A :class:`core.live.StartSpec` of the simulated rig with the fake detector; camera 'right' is unplugged
    during ``disconnect_b`` = (start_s, end_s) when given."""
    from core.live import StartSpec

    group = _rig()

    def sources():
        a = SimulatedCamera("left", fps=30, size=SIZE, camera_id=0, jitter_ms=1.0, seed=1)
        cuts = [disconnect_b] if disconnect_b else ()
        b = SimulatedCamera("right", fps=30, size=SIZE, camera_id=1, jitter_ms=1.0, seed=2, disconnects=cuts)
        return [a, b]

    return StartSpec("simulated rig", make_sources=sources, calibration=group, detector_factory=_factory(group))


def _collect(pipe: LivePipeline, n: int, timeout: float = 20.0) -> list:
    got: list = []
    done = threading.Event()

    def on_result(r):
        got.append(r)
        if len(got) >= n:
            done.set()

    pipe.subscribe(on_result)
    pipe.start()
    assert done.wait(timeout), f"only {len(got)} results arrived; error={pipe.error}"
    return got


def _pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("pipeline-", "detect-")) and t.is_alive()]


def test_live_pipeline_gives_exact_3d_on_a_synthetic_rig_and_stops_cleanly():
    group = _rig()
    hook_calls = []

    def refine(inp):
        hook_calls.append(inp.coarse.shape)
        return inp.coarse + 0.001

    pipe = LivePipeline(_sources(), group, refine_hook=refine, detector_factory=_factory(group))
    try:
        results = _collect(pipe, 15)
    finally:
        assert pipe.stop()
    for r in results:
        assert r.status == "ok", r.reason
        k = r.frames[0].index
        assert r.frames[1].index == k  # paired frame by frame
        np.testing.assert_allclose(r.coarse, _truth(k), atol=1e-6)
        np.testing.assert_allclose(r.refined, r.coarse + 0.001)
        assert r.display is not None and r.display.shape == (17, 3)
        assert r.times.detect_wall_ms >= 0 and r.times.triangulate_ms >= 0 and r.times.refine_ms >= 0
        assert r.times.latency_ms > 0
    assert len(hook_calls) >= 15
    stats = pipe.stats()
    assert stats.processed >= 15 and stats.pairs >= 15
    assert set(stats.stages_ms) == {"grab_to_pair", "detect", "triangulate", "refine", "latency"}
    assert stats.stages_ms["latency"]["n"] >= 15
    assert not pipe.running
    assert _pipeline_threads() == []
    assert all(s.status().state == SourceState.STOPPED for s in pipe.sources)


def test_slow_processing_drops_old_pairs_instead_of_queueing():
    group = _rig()
    gate_a, gate_b = threading.Semaphore(0), threading.Semaphore(0)
    pipe = LivePipeline(_sources(), group, detector_factory=_factory(group, a={"gate": gate_a}, b={"gate": gate_b}))
    got = []
    arrived = threading.Event()
    pipe.subscribe(lambda r: (got.append(r), arrived.set()))
    pipe.start()
    try:
        for _ in range(4):
            # hold the detectors until the cameras have run well ahead, then let one pair through
            assert pipe.sources[0].wait_for_frames(pipe.sources[0].status().frames_delivered + 6, timeout=5)
            arrived.clear()
            gate_a.release()
            gate_b.release()
            assert arrived.wait(5)
    finally:
        gate_a.release(100)
        gate_b.release(100)
        assert pipe.stop()
    idx = [r.pair_index for r in got[:4]]
    assert all(b - a >= 3 for a, b in zip(idx, idx[1:], strict=False)), idx  # pairs were skipped, not queued
    stats = pipe.stats()
    assert stats.superseded >= 6
    # each processed pair was the newest one: its latency stays bounded by the wait, not by a backlog
    assert max(r.times.grab_to_pair_ms for r in got[1:4]) < 1000


def test_only_one_camera_seeing_the_person_gives_no_3d_with_the_reason():
    group = _rig()
    pipe = LivePipeline(_sources(), group, detector_factory=_factory(group, b={"blind": True}))
    try:
        results = _collect(pipe, 3)
    finally:
        pipe.stop()
    assert all(r.status == "one_view" and r.coarse is None for r in results)
    assert "only left sees the person" in results[0].reason
    assert np.isfinite(results[0].keypoints2d[0]).all() and np.isnan(results[0].keypoints2d[1, :, :2]).all()


def test_a_view_with_left_and_right_swapped_is_repaired_before_triangulation():
    group = _rig(focal_px=800.0)  # a webcam's focal length: a mirrored body is tens of pixels off
    pipe = LivePipeline(_sources(), group, detector_factory=_factory(group, b={"mirrored": True}))
    try:
        results = _collect(pipe, 5)
    finally:
        pipe.stop()
    for r in results:
        assert r.status == "ok" and r.relabelled == "body"
        np.testing.assert_allclose(r.coarse, _truth(r.frames[0].index), atol=1e-6)


def test_nobody_in_view():
    group = _rig()
    proc = PairProcessor(group, detector_factory=_factory(group, a={"blind": True}, b={"blind": True}))
    try:
        from core.sync import FramePair

        frames = tuple(cam.generate(n=1)[0] for cam in _sources(1))
        r = proc.process(FramePair(0, frames, 0.0, 0))
    finally:
        proc.close()
    assert r.status == "no_person" and r.coarse is None and "no person" in r.reason


class _ResultPacedClock(VirtualClock):
    """Virtual time for a rig of video files that lets a source play frame k only once k results were delivered.

    The live pipeline keeps only the newest pair, so which frames it processes, and MediaPipe's accuracy on
    them (its tracker smooths over the frames it is given: about 43 mm from the reference on every frame,
    59 mm on every 4th, 80 mm on every 8th), would depend on the machine's load. Paced by the results, the
    rig plays every frame in order through the same threads and pairing, whatever the load; in virtual time,
    so the files play at their own 60 fps timeline and nothing is late.
    """

    def __init__(self) -> None:
        super().__init__(time.monotonic_ns())
        self._results = 0
        self._asked: dict[int, int] = {}  # capture thread -> frames it asked for
        self._gate = threading.Condition()

    def result_delivered(self, _result: object) -> None:
        with self._gate:
            self._results += 1
            self._gate.notify_all()

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        with self._gate:
            k = self._asked.get(threading.get_ident(), 0)
            self._asked[threading.get_ident()] = k + 1
            while self._results < k and not stop.is_set():
                self._gate.wait(0.05)
        return super().sleep_until(t_ns, stop)


@pytest.mark.slow
def test_real_videos_played_live_through_the_whole_pipeline():
    need(POSE2SIM / "videos" / "cam04.mp4")
    cal = load_calibration(POSE2SIM / "Calib_qualisys.toml", cameras=["cam_01", "cam_04"])
    videos = [POSE2SIM / "videos" / f"cam{c}.mp4" for c in ("01", "04")]
    clock = _ResultPacedClock()
    sources = synchronized_videos(videos, ["cam_01", "cam_04"], loop=True, clock=clock)
    pipe = LivePipeline(sources, cal.group)
    pipe.subscribe(clock.result_delivered)
    try:
        results = _collect(pipe, 40, timeout=120)
    finally:
        assert pipe.stop()
    assert all(r.frames[0].index == r.frames[1].index for r in results)  # a synchronised rig pairs frame-exact
    indices = [r.frames[0].index for r in results]
    assert np.all(np.diff(indices) == 1) and indices[0] + len(results) <= 100  # every frame, in order
    ok = [r for r in results if r.status == "ok"]
    assert len(ok) >= 0.9 * len(results)
    ref = reference12()
    err = [np.linalg.norm(r.coarse[list(sk.SHARED_12)] - ref[r.frames[0].index % 100], axis=-1) for r in ok]
    median_mm = float(np.nanmedian(err) * 1000)
    assert median_mm <= 60.0, median_mm
    stats = pipe.stats()
    assert any("crop" in w for w in stats.warnings)  # 1080-wide video, 1088-wide calibration
    assert stats.camera_fps[0] > 0 and stats.pairs >= len(results)
    # the live threads computed exactly what the offline processor computes for the same frames
    proc = PairProcessor(cal.group)
    try:
        # from the first frame, as the live detectors saw them (VIDEO mode tracks: a result depends on the past)
        with contextlib.closing(iter_index_pairs(videos, ["cam_01", "cam_04"])) as pairs:
            seen = list(process_pairs(itertools.islice(pairs, indices[-1] + 1), proc))
        offline = [r for r in seen if r.pair_index in set(indices)]
    finally:
        proc.close()
    assert [r.status for r in offline] == [r.status for r in results]
    for live, off in zip(ok, (r for r in offline if r.status == "ok"), strict=True):
        np.testing.assert_allclose(live.coarse, off.coarse, atol=1e-6)


@pytest.mark.slow
def test_batch_processing_of_real_videos_is_lossless():
    need(POSE2SIM / "videos" / "cam04.mp4")
    cal = load_calibration(POSE2SIM / "Calib_qualisys.toml", cameras=["cam_01", "cam_04"])
    proc = PairProcessor(cal.group)
    try:
        paths = [POSE2SIM / "videos" / "cam01.mp4", POSE2SIM / "videos" / "cam04.mp4"]
        results = list(process_pairs(iter_index_pairs(paths, ["cam_01", "cam_04"]), proc))
    finally:
        proc.close()
    assert [r.pair_index for r in results] == list(range(100))
    pts = np.stack([r.coarse if r.coarse is not None else np.full((17, 3), np.nan) for r in results])
    assert sum(r.status == "ok" for r in results) >= 95
    median_mm = float(np.nanmedian(np.linalg.norm(pts[:, list(sk.SHARED_12)] - reference12(), axis=-1)) * 1000)
    assert median_mm <= 50.0, median_mm


BYSTANDER_OFFSET = np.array([0.3, 0.7, 0.4])  # metres, beside and behind the subject, further off-centre


class TwoPeopleDetector(FakeDetector):
    """A several-people detector: the subject and a bystander, listed in ``order`` (a view's own order)."""

    def __init__(self, cam: Camera, order: tuple[int, int] = (0, 1)) -> None:
        super().__init__(cam)
        self.order = order

    def detect_all(self, image: np.ndarray, t_s: float | None = None) -> list[Detection]:
        k = int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])
        people = []
        for who in self.order:
            uv = self.cam.project(_truth(k) + (BYSTANDER_OFFSET if who else 0))
            kp = np.concatenate([uv, np.full((17, 1), 0.9)], axis=1)
            people.append(Detection(kp, found=True, box=(*uv.min(0), *uv.max(0))))
        return people


def test_with_two_people_the_central_one_is_followed_and_a_click_moves_both_views_to_the_other():
    group = _rig()
    made = iter([TwoPeopleDetector(group[0], (1, 0)), TwoPeopleDetector(group[1], (0, 1))])
    pipe = LivePipeline(_sources(), group, detector_factory=lambda: next(made))
    got: list = []
    pipe.subscribe(got.append)
    try:
        pipe.start()
        _wait(lambda: sum(r.has_3d for r in got) >= 3)
        first = [r for r in got if r.has_3d]
        for r in first:  # the subject (nearest the middle of both images), never a mix
            np.testing.assert_allclose(r.coarse, _truth(r.frames[0].index), atol=1e-6)
            assert [len(k) for k in r.people.keypoints] == [2, 2] and r.people.followed > 0
        subject_track = first[-1].people.followed
        # click the bystander's pelvis in view 1
        r = first[-1]
        who = int(np.flatnonzero(r.people.tracks[1] != subject_track)[0])
        x, y = r.people.keypoints[1][who][sk.ROOT, :2]
        n = len(got)
        pipe.select_person(1, float(x), float(y))
        _wait(lambda: any(g.has_3d and g.people.followed != subject_track for g in got[n:]))
        later = [g for g in got[n:] if g.has_3d and g.people.followed != subject_track]
        for g in later:  # both views now give the bystander's 3D
            np.testing.assert_allclose(g.coarse, _truth(g.frames[0].index) + BYSTANDER_OFFSET, atol=1e-6)
        assert pipe.processor.target_boxes()[0] is not None
    finally:
        pipe.stop()


def _wait(cond, timeout: float = 20.0) -> None:
    deadline = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        deadline.wait(0.02)
    raise AssertionError("condition not met in time")


class _TeleportDetector(FakeDetector):
    """The person jumps 0.8 m further away from frame 10 on (a looping video rewinding to another place)."""

    def detect(self, image: np.ndarray, offset=(0.0, 0.0)) -> Detection:
        k = int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])
        pts = _truth(k) + (np.array([0.0, 0.0, 0.8]) if k >= 10 else 0.0)
        kp = np.concatenate([self.cam.project(pts), np.full((17, 1), 0.9)], axis=1)
        return Detection(keypoints=kp, found=True)


@pytest.mark.parametrize("rewound", [True, False])
def test_a_rewound_video_restarts_the_tracks_so_the_3d_goes_on(rewound):
    import dataclasses

    from core.sync import FramePair

    group = _rig()
    made = iter([_TeleportDetector(group[0]), _TeleportDetector(group[1])])
    proc = PairProcessor(group, detector_factory=lambda: next(made))
    statuses = []
    try:
        streams = [cam.generate(n=20) for cam in _sources(20)]
        for k, frames in enumerate(zip(*streams, strict=True)):
            if rewound and k >= 10:  # the sources say their timeline restarted
                frames = tuple(dataclasses.replace(f, take=1) for f in frames)
            statuses.append(proc.process(FramePair(k, frames, 0.0, int(k * 1e9 / 30))).status)
    finally:
        proc.close()
    if rewound:
        assert statuses == ["ok"] * 20
    else:  # without the restart the followed track is kept for its memory, away from where the person now is
        assert statuses[:10] == ["ok"] * 10 and statuses[10] == "one_view"


def test_a_camera_that_drops_out_and_comes_back_is_reported_and_recovered():
    """Camera 'right' stops delivering from 1.0 to 2.0 s of its run: the pipeline reports it within 1 s, camera
    'left' keeps delivering, 3D comes back after the camera does, and everything stops cleanly."""
    from core.live import StartSpec

    spec = live_spec(disconnect_b=(1.0, 2.0))
    assert isinstance(spec, StartSpec)
    group = spec.calibration
    pipe = LivePipeline(spec.make_sources(), group, detector_factory=spec.detector_factory)
    results: list = []
    pipe.subscribe(results.append)
    pipe.start()
    try:
        assert until(lambda: sum(r.has_3d for r in results) >= 5, 10)
        assert until(lambda: pipe.camera_problem() is not None, 2.5)  # the cut starts at 1.0 s
        problem = pipe.camera_problem()
        assert "'right'" in problem and ("disconnected" in problem or "reconnecting" in problem), problem
        left = pipe.sources[0].latest().index
        assert until(lambda: pipe.sources[0].latest().index >= left + 5, 2)  # the other view goes on
        n = len(results)
        assert until(lambda: pipe.camera_problem() is None, 3)  # back at 2.0 s
        assert until(lambda: sum(r.has_3d for r in results[n:]) >= 5, 5)  # and so is the 3D
        assert pipe.error is None
    finally:
        assert pipe.stop()
    assert not pipe.running
