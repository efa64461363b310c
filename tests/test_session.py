"""Sessions: recording from live cameras, reopening, replay, crash recovery, a full disk, a slow disk, bad input.

Recordings come from simulated cameras at real-time pace (about one second) through a LivePipeline whose
detector projects a known 3D pose (tests/test_pipeline.py FakeDetector), so every stored value can be checked.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from cli import _load_refine_hook
from core.calibration_io import load_calibration, save_calibration
from core.camera import Camera, CameraGroup
from core.capture import Frame, SimulatedCamera, SourceState
from core.detection import Detection
from core.errors import InputError, SessionError
from core.jobs import Cancelled
from core.pipeline import LivePipeline
from core.session.avi import MjpegAviWriter, count_video_frames
from core.session.exporting import export_session
from core.session.importing import import_videos
from core.session.journal import Poses, read_journal, write_npz
from core.session.layout import (
    JOURNAL_FILE,
    PAIRS_FILE,
    POSES_FILE,
    SESSION_FILE,
    TIMESTAMPS_FILE,
    CameraInfo,
    SessionMeta,
    write_json_atomic,
)
from core.session.lock import is_recording_live
from core.session.processing import process_session
from core.session.recorder import SessionRecorder
from core.session.recovery import find_unfinished, recover
from core.session.session import Session
from core.session.sources import session_sources
from core.session.tables import PairTable, pairs_bytes, timestamps_bytes
from core.sync import LiveSynchronizer, pair_timestamps
from tests.polling import until
from tests.test_pipeline import SIZE, _factory, _rig, _truth

REPO = Path(__file__).resolve().parents[1]


def _wait_for(predicate, timeout: float, what: str) -> None:
    """Poll a condition (with a timeout) instead of sleeping a fixed time."""
    assert until(predicate, timeout, 0.02), f"timed out waiting for {what}"


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def _sims(n_frames: int | None = 30, size=SIZE, **kw):
    a = SimulatedCamera("left", fps=30, n_frames=n_frames, size=size, camera_id=0, jitter_ms=1.0, seed=1, **kw)
    b = SimulatedCamera("right", fps=30, n_frames=n_frames, size=size, camera_id=1, jitter_ms=1.0, seed=2)
    return [a, b]


# ------------------------------------------------------------------------------------------------ round trip


def test_record_reopen_and_replay_round_trip(tmp_path):
    group = _rig()
    sources = _sims(30, drop_indices=[7])  # the left camera drops frame 7: one unpaired right frame
    pipe = LivePipeline(sources, group, detector_factory=_factory(group))
    delivered: dict[str, list] = {"left": [], "right": []}
    for s in sources:
        s.subscribe(lambda f: delivered[f.camera].append((f.index, f.t_ns, f.image)))
    live_pairs, results = [], []
    pipe.sync.subscribe(live_pairs.append)
    pipe.subscribe(results.append)
    folder = tmp_path / "rec"
    rec = SessionRecorder.attach(pipe, folder, model_id="test-model")
    pipe.start()
    try:
        assert is_recording_live(folder) and find_unfinished(tmp_path) == []  # a live writer holds it
        for s in sources:
            assert s.wait_for_state(SourceState.ENDED, timeout=10)
        _wait_for(lambda: pipe.sync.stats().pending == (0, 0), 5, "the synchroniser to resolve the last frames")
    finally:
        pipe.stop()
    session = rec.stop()
    stats = rec.stats()
    assert stats.state == "stopped" and stats.frames_dropped == (0, 0) and stats.error is None
    assert stats.frames_written == (29, 30) and stats.bytes_on_disk > 0

    s = Session.open(folder)
    assert s.meta.status == "complete" and s.names == ["left", "right"] and not is_recording_live(folder)
    assert not (folder / ".recording.lock").exists()
    ts = s.check()
    for name in s.names:
        assert ts[name].tolist() == [t for _, t, _ in delivered[name]]
        assert s.meta.camera(name).frames == len(delivered[name]) == count_video_frames(s.video_path(name))
        assert (s.meta.camera(name).width, s.meta.camera(name).height) == SIZE
    # every frame decodes to the image captured (JPEG: within a few grey levels)
    for name in s.names:
        frames = list(s.iter_frames(name))
        assert len(frames) == len(delivered[name])
        for f, (_, t, img) in zip(frames, delivered[name], strict=True):
            assert f.t_ns == t and np.abs(f.image.astype(int) - img.astype(int)).max() <= 3
    # pairs.csv holds exactly the live synchroniser's pairs, as positions in the videos
    pairs = s.pairs()
    pos = {n: {t: k for k, (_, t, _) in enumerate(delivered[n])} for n in s.names}
    expected = [(pos["left"][p.frames[0].t_ns], pos["right"][p.frames[1].t_ns]) for p in live_pairs]
    assert list(zip(pairs.index_a.tolist(), pairs.index_b.tolist(), strict=True)) == expected
    assert len(pairs) == 29 and s.meta.pairs == 29
    np.testing.assert_allclose(pairs.skew_ms, [p.skew_ms for p in live_pairs], atol=1e-3)
    # live results: stored at their pair, exact 3D; pairs the pipeline skipped are marked and NaN
    poses = s.poses()
    kps = s.keypoints()
    assert poses is not None and kps is not None and poses.source == "live"
    done = {r.pair_index: r for r in results}
    assert len(done) >= 2
    for p, st in enumerate(poses.status):
        if p in done:
            r = done[p]
            assert st == "ok"
            np.testing.assert_allclose(poses.coarse[p], _truth(r.frames[0].index), atol=1e-4)
            np.testing.assert_allclose(kps["left"][p], r.keypoints2d[0], atol=1e-3)
        else:
            assert st == "skipped" and np.isnan(poses.coarse[p]).all() and (kps["right"][p][:, 2] == 0).all()
    assert poses.time_s[0] >= 0 and np.all(np.diff(poses.time_s) > 0)
    # everyone the pipeline saw was recorded too (here one person per view, matched: one track, followed)
    from core.session.people import PeopleTable

    people = PeopleTable.read(folder)
    assert people is not None and len(people.followed) == len(pairs)
    assert set(people.pair.tolist()) == set(done) and len(people.tracks()) == 1
    for p in done:
        rows = np.flatnonzero((people.pair == p) & (people.view == 0))
        assert len(rows) == 1 and people.track[rows[0]] == people.followed[p] >= 0
        np.testing.assert_allclose(people.keypoints[rows[0]], done[p].people.keypoints[0][0], atol=1e-3)
    assert s.meta.recorder["model"] == "test-model"

    # replay: original timestamps, and the live synchroniser forms the same pairs again
    replay = session_sources(session, pace=True)
    sync = LiveSynchronizer.for_sources(*replay)
    got = []
    sync.subscribe(got.append)
    for src in replay:
        src.start()
    try:
        for src in replay:
            assert src.wait_for_state(SourceState.ENDED, timeout=10)

        def resolved():
            sync.poll()
            return sync.stats().pending == (0, 0)

        _wait_for(resolved, 5, "the replayed pairs")
    finally:
        for src in replay:
            src.stop()
        sync.close()
    assert [(p.frames[0].index, p.frames[1].index) for p in got] == expected
    assert [p.frames[0].t_ns for p in got] == [p.frames[0].t_ns for p in live_pairs]


# ------------------------------------------------------------------------------------------------ kill


_CHILD = """
import sys, threading
sys.path.insert(0, {repo!r})
from core.pipeline import LivePipeline
from core.session.recorder import SessionRecorder
from tests.test_pipeline import _factory, _rig, _sources
group = _rig()
pipe = LivePipeline(_sources(), group, detector_factory=_factory(group))
SessionRecorder.attach(pipe, {folder!r}, meta_interval_s=0.2)
pipe.start()
print("recording", flush=True)
threading.Event().wait()
"""


def _rows(path: Path) -> dict[str, int]:
    counts = {"left": 0, "right": 0}
    if path.is_file():
        for line in path.read_text().splitlines()[1:]:
            cam = line.split(",")[0]
            if cam in counts:
                counts[cam] += 1
    return counts


def test_a_killed_recording_stays_readable_and_is_recovered(tmp_path):
    folder = tmp_path / "killed"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), folder=str(folder))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    try:

        def written():
            return min(_rows(folder / TIMESTAMPS_FILE).values()) >= 20 and len(read_journal(folder / JOURNAL_FILE)) >= 2

        _wait_for(lambda: child.poll() is not None or written(), 60, "20 frames per camera on disk")
        assert child.poll() is None, "the recording process ended on its own"
        assert is_recording_live(folder)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    # what the killed process left: readable as it is, offered for recovery
    assert find_unfinished(tmp_path) == [folder]
    assert not is_recording_live(folder)
    s = Session.open(folder)
    assert s.meta.status == "recording"
    rows = s.timestamps(strict=False)
    for name in s.names:
        assert count_video_frames(s.video_path(name)) >= len(rows[name]) - 1  # at most the frame in flight

    recovered = recover(folder)
    assert recovered.meta.status == "recovered"
    assert find_unfinished(tmp_path) == []
    ts = recovered.check()
    for name in recovered.names:
        frames = list(recovered.iter_frames(name))
        assert len(frames) == len(ts[name]) == recovered.meta.camera(name).frames >= 19
        assert [f.t_ns for f in frames] == ts[name].tolist()
    pairs = recovered.pairs()
    assert len(pairs) >= 15 and recovered.meta.pairs == len(pairs)
    # the live results were journaled while recording and rebuilt: the 3D of each processed pair is exact
    poses = recovered.poses()
    assert poses is not None and len(poses.status) == len(pairs)
    ok = np.flatnonzero(poses.status == "ok")
    assert len(ok) >= 1
    from core.session.people import PeopleTable

    people = PeopleTable.read(folder)  # everyone's 2D survives the kill too
    assert people is not None and set(ok.tolist()) <= set(people.pair.tolist())
    t_left = ts["left"]
    period = 1e9 / 30
    for p in ok:
        k = int(round((t_left[pairs.index_a[p]] - t_left[0]) / period))  # SimulatedCamera: frame 0 first
        np.testing.assert_allclose(poses.coarse[p], _truth(k), atol=1e-4)
    assert recover(folder).meta.status == "recovered"  # idempotent


# ------------------------------------------------------------------------------------------------ disks


class _Disk:
    """A fake drive: files opened through it fail with ENOSPC once ``limit`` bytes were written in total, or
    block while ``gate`` is clear (a very slow disk)."""

    def __init__(self, limit: int | None = None, gate: threading.Event | None = None, gated: str = "") -> None:
        self.limit, self.gate, self.gated = limit, gate, gated
        self.written = 0

    def open(self, path: Path):
        disk = self
        raw = open(path, "xb", buffering=0)  # noqa: SIM115

        class File(io.RawIOBase):
            def writable(self):
                return True

            def seekable(self):
                return True

            def write(self, b):
                if disk.gate is not None and path.name.startswith(disk.gated):
                    disk.gate.wait(20)
                if disk.limit is not None and disk.written + len(b) > disk.limit:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                disk.written += len(b)
                return raw.write(b)

            def seek(self, off, whence=0):
                return raw.seek(off, whence)

            def tell(self):
                return raw.tell()

            def fileno(self):
                return raw.fileno()

            def close(self):
                raw.close()
                super().close()

        return File()


def test_a_full_disk_stops_the_recording_with_a_clear_error_and_keeps_what_was_written(tmp_path):
    group = _rig()
    sources = _sims(None, size=(320, 240))
    pipe = LivePipeline(sources, group, detector_factory=_factory(group))
    failed = threading.Event()
    errors = []
    disk = _Disk(limit=60_000)
    rec = SessionRecorder.attach(
        pipe, tmp_path / "full", opener=disk.open, on_error=lambda e: (errors.append(e), failed.set())
    )
    pipe.start()
    try:
        assert failed.wait(20), "the recorder never reported the full disk"
        n = sources[0].status().frames_delivered
        assert sources[0].wait_for_frames(n + 5, timeout=5)  # the cameras keep running
        assert pipe.error is None
    finally:
        pipe.stop()
    err = errors[0]
    assert isinstance(err, SessionError) and rec.error is err
    text = str(err)
    assert "disk is full" in text and "saved and readable" in text and "Free disk space" in text
    stats = rec.stats()
    assert stats.state == "failed" and stats.error == text
    assert f"{stats.frames_written[0]} frames of 'left'" in text
    assert all(s.callback_errors == 0 for s in sources)
    s = rec.stop()
    assert s.meta.error == text
    ts = s.check()
    for name, n_written in zip(s.names, stats.frames_written, strict=True):
        assert len(ts[name]) == n_written
        assert len(list(s.iter_frames(name))) == n_written


class _PushSource:
    """A camera whose frames the test pushes itself, from its own thread (standing in for a capture thread)."""

    nominal_fps = 30.0

    def __init__(self, name: str, cam_id: int) -> None:
        self.name, self.cam_id, self._subs = name, cam_id, []
        self.sim = SimulatedCamera(name, size=SIZE, camera_id=cam_id)

    def subscribe(self, cb):
        self._subs.append(cb)
        return lambda: self._subs.remove(cb)

    def push(self, k: int) -> None:
        frame = Frame(self.name, k, 1_000_000_000 + k * 33_333_333 + self.cam_id * 1_000_000, self.sim.image(k))
        for cb in list(self._subs):
            cb(frame)


def test_a_slow_disk_drops_and_counts_frames_and_never_blocks_the_cameras(tmp_path):
    sources = [_PushSource("left", 0), _PushSource("right", 1)]
    gate = threading.Event()
    rec = SessionRecorder(
        tmp_path / "slow", _rig(), sources, max_queued_frames=8, opener=_Disk(gate=gate, gated="left").open
    )
    rec.start()
    pushed = threading.Event()

    def capture(ks):
        for k in ks:
            for src in sources:
                src.push(k)
        pushed.set()

    try:
        threading.Thread(target=capture, args=(range(100),), daemon=True).start()
        assert pushed.wait(10), "a capture thread was blocked by the recorder"  # the writer is stuck on the disk
        stuck = rec.stats()
        assert sum(stuck.frames_dropped) >= 180 and stuck.queued_frames <= 8 and stuck.state == "recording"
    finally:
        gate.set()
    _wait_for(lambda: rec.stats().queued_frames == 0, 10, "the queue to drain")
    for k in range(100, 120):  # the disk keeps up again: nothing more is dropped
        for src in sources:
            src.push(k)
        _wait_for(lambda: rec.stats().queued_frames == 0, 10, "the queue to drain")
    s = rec.stop()
    stats = rec.stats()
    assert stats.frames_dropped == stuck.frames_dropped
    for k in (0, 1):
        assert stats.frames_written[k] + stats.frames_dropped[k] == 120 and stats.frames_written[k] >= 20
    assert [c.dropped for c in s.meta.cameras] == list(stats.frames_dropped)
    ts = s.check()
    # the recorder paired what it wrote, with the synchroniser's rule
    ia, ib, _ = pair_timestamps(ts["left"], ts["right"], 16_666_667)
    pairs = s.pairs()
    assert pairs.index_a.tolist() == ia.tolist() and pairs.index_b.tolist() == ib.tolist() and len(pairs) >= 20


# ------------------------------------------------------------------------------------------------ synthetic sessions


def _grey_code(k: int) -> np.ndarray:
    """A 64x48 frame carrying k in two grey bands that survive JPEG."""
    img = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
    img[:, :32] = (k % 16) * 16 + 8
    img[:, 32:] = ((k // 16) % 16) * 16 + 8
    return img


class _BandDetector:
    """Reads k from :func:`_grey_code` frames and projects the known pose through ``cam``."""

    def __init__(self, cam) -> None:
        self.cam = cam

    def detect(self, image, offset=(0.0, 0.0)) -> Detection:
        lo = int(round((float(image[:, :32].mean()) - 8) / 16))
        hi = int(round((float(image[:, 32:].mean()) - 8) / 16))
        uv = self.cam.project(_truth(lo + 16 * hi))
        kp = np.concatenate([uv, np.full((17, 1), 0.9)], axis=1)
        return Detection(keypoints=kp, found=True, box=(0.0, 0.0, float(SIZE[0]), float(SIZE[1])))

    def close(self) -> None:
        pass


def _band_factory(group: CameraGroup):
    made = iter([_BandDetector(group[0]), _BandDetector(group[1])])
    return lambda: next(made)


@pytest.fixture
def synthetic(tmp_path):
    """Two 20-frame videos of the synthetic rig and its calibration."""
    group = _rig()
    calib = save_calibration(tmp_path / "rig.toml", group)
    videos = []
    for name, n in (("a", 20), ("b", 20), ("short", 17)):
        w = MjpegAviWriter(tmp_path / f"{name}.avi", *SIZE, 30)
        for k in range(n):
            w.write(_grey_code(k))
        w.close()
        videos.append(tmp_path / f"{name}.avi")
    return group, calib, videos


def test_import_process_with_a_refine_hook_and_export(synthetic, tmp_path):
    group, calib, (va, vb, _) = synthetic
    out = tmp_path / "imported"
    summary = import_videos(va, vb, calib, out)
    assert summary.pairs == 20 and summary.pairing == "index" and summary.frames == {"left": 20, "right": 20}
    s = Session.open(out)
    assert s.meta.origin == "imported" and s.meta.status == "complete" and s.meta.fps == 30
    assert [f.read_bytes() for f in (out / "left.avi", out / "right.avi")] == [va.read_bytes(), vb.read_bytes()]
    np.testing.assert_array_equal(s.timestamps()["right"], np.round(np.arange(20) * 1e9 / 30).astype(np.int64))

    calls = []
    result = process_session(
        out,
        refine_hook=lambda inp: inp.coarse + 0.001,
        model_id="fake-ugcn",
        detector_factory=_band_factory(group),
        progress=lambda d, t, m: calls.append((d, t)),
    )
    assert result.frames == 20 and result.frames_with_3d == 20 and result.percent_with_3d == 100.0
    assert result.refined and result.model == "fake-ugcn" and result.median_reprojection_error_px < 1e-6
    assert result.seconds_per_100_frames > 0 and calls[-1] == (20, 20)
    json.dumps(result.to_dict())
    poses = Session.open(out).poses()
    assert poses is not None and poses.source == "processed"
    truth = np.stack([_truth(k) for k in range(20)])
    np.testing.assert_allclose(poses.coarse, truth, atol=1e-6)
    np.testing.assert_allclose(poses.refined, truth + 0.001, atol=1e-6)
    np.testing.assert_allclose(poses.time_s, np.arange(20) / 30, atol=1e-9)
    assert Session.open(out).meta.processing["frames_with_3d"] == 20

    e = export_session(out, "json", tmp_path / "m.json", which="coarse")
    assert e.up_axis == "-y" and e.frames_with_3d == 20  # both rig cameras have image-up along world -y
    data = json.loads((tmp_path / "m.json").read_text())
    assert len(json.dumps(data)) > 100
    e2 = export_session(out, "trc", tmp_path / "m.trc")
    assert e2.which == "refined"


class _TakeMean:
    """A refinement that needs the whole take: every frame becomes the take's mean pose (core.pipeline.TakeRefiner)."""

    id = "take-mean"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def refine_take(self, kp2d, coarse, cameras, time_s=None):
        self.calls.append(len(coarse))
        np.testing.assert_allclose(time_s, np.arange(len(coarse)) / 30, atol=1e-9)
        assert kp2d.shape == (len(coarse), 2, 17, 3) and len(cameras) == 2
        return np.broadcast_to(np.nanmean(coarse, axis=0), coarse.shape).copy()

    def __call__(self, inp):
        raise AssertionError("a take refiner is never called pair by pair")


def test_process_refines_the_whole_take_at_once_with_a_model_that_looks_ahead(synthetic, tmp_path):
    group, calib, (va, vb, _) = synthetic
    out = tmp_path / "imported"
    import_videos(va, vb, calib, out)
    take = _TakeMean()
    calls = []
    r = process_session(
        out,
        refine_hook=take,
        model_id="take-mean",
        detector_factory=_band_factory(group),
        progress=lambda d, t, m: calls.append(m),
    )
    assert take.calls == [20] and r.refined and "refining the whole take" in calls
    poses = Session.open(out).poses()
    truth = np.stack([_truth(k) for k in range(20)])
    np.testing.assert_allclose(poses.refined, np.broadcast_to(truth.mean(0), truth.shape), atol=1e-5)

    class Broken(_TakeMean):
        def refine_take(self, kp2d, coarse, cameras, time_s=None):
            raise RuntimeError("out of memory")

    r = process_session(out, refine_hook=Broken(), detector_factory=_band_factory(group))
    assert not r.refined and any("refinement failed (out of memory)" in w for w in r.warnings)
    np.testing.assert_allclose(Session.open(out).poses().coarse, truth, atol=1e-6)  # the processing is kept


def test_import_with_crossview_timestamps_pairs_by_time(synthetic, tmp_path, monkeypatch):
    group, calib, (va, vb, _) = synthetic
    rng = np.random.default_rng(3)
    t_a = 5_000_000_000 + np.arange(20) * 33_333_333 + rng.integers(-3_000_000, 3_000_000, 20)
    t_b = 5_000_000_000 + np.arange(20) * 33_333_333 + 12_000_000  # camera B runs 12 ms late
    t_b[10:] += 33_333_333  # ...and lost a frame after frame 9: its later frames pair one frame further
    lines = (
        ["camera,frame_index,t_ns"]
        + [f"A,{k},{t}" for k, t in enumerate(t_a)]
        + [f"B,{k},{t}" for k, t in enumerate(t_b)]
    )
    (tmp_path / "ts.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "timed"
    summary = import_videos(va, vb, calib, out, timestamps=tmp_path / "ts.csv")
    assert summary.pairing == "timestamps" and any("taken as" in w for w in summary.warnings)
    s = Session.open(out)
    ts = s.check()
    np.testing.assert_array_equal(ts["left"], t_a)
    ia, ib, skew = pair_timestamps(t_a, t_b, 16_666_667)
    pairs = s.pairs()
    assert pairs.index_a.tolist() == ia.tolist() and pairs.index_b.tolist() == ib.tolist()
    assert 9 in pairs.index_a.tolist() and (10, 10) not in list(zip(pairs.index_a.tolist(), pairs.index_b.tolist()))
    np.testing.assert_allclose(pairs.skew_ms, skew / 1e6, atol=1e-3)

    # no refinement model importable: processing goes on without it and says so
    monkeypatch.setitem(sys.modules, "models.refiner", None)
    r = process_session(out, detector_factory=_band_factory(group), refine_loader=_load_refine_hook)
    assert not r.refined and r.refinement.startswith("skipped") and r.frames == len(pairs)
    assert Session.open(out).poses().refined is None


def test_processing_can_be_cancelled_and_writes_nothing(synthetic, tmp_path):
    group, calib, (va, vb, _) = synthetic
    out = tmp_path / "s"
    import_videos(va, vb, calib, out)
    cancel = threading.Event()
    calls = []

    def progress(done, total, message=""):
        calls.append(done)
        cancel.set()

    with pytest.raises(Cancelled):
        process_session(out, refine=False, detector_factory=_band_factory(group), cancel=cancel, progress=progress)
    assert max(calls) < 20  # it stopped before every pair was processed
    assert not (out / POSES_FILE).exists()
    with pytest.raises(SessionError, match="process"):
        export_session(out, "trc", tmp_path / "x.trc")


@pytest.mark.parametrize("fmt", ["c3d", "csv", "bvh"])
def test_export_formats_of_a_processed_session(tmp_path, fmt):
    """Export reads the session's results with the up axis its calibration declares."""
    group = _rig()
    s_dir = tmp_path / "s"
    s_dir.mkdir()
    # a minimal processed session built with the format's writers
    P = 30
    t = {n: np.arange(P, dtype=np.int64) * 33_333_333 for n in group.names}
    (s_dir / TIMESTAMPS_FILE).write_bytes(timestamps_bytes(group.names, t))
    idx = np.arange(P)
    (s_dir / PAIRS_FILE).write_bytes(pairs_bytes(group.names, PairTable(idx, idx, np.zeros(P))))
    save_calibration(s_dir / "calibration.toml", group, metadata={"world_up": "-y"})
    pts = np.stack([_truth(k) for k in range(P)])
    poses = Poses(np.arange(P) / 30, pts, None, np.zeros((P, 17)), np.full(P, "ok"))
    write_npz(s_dir / POSES_FILE, poses.to_arrays())
    meta = SessionMeta([CameraInfo(n, f"{n}.avi", 64, 48, 30.0, P) for n in group.names], fps=30.0, status="complete")
    write_json_atomic(s_dir / SESSION_FILE, meta.to_dict())
    e = export_session(s_dir, fmt, tmp_path / f"m.{fmt}")
    assert e.up_axis == "-y" and e.up_axis_reason == "from the calibration" and e.frames_with_3d == P
    assert (tmp_path / f"m.{fmt}").stat().st_size > 100


# ------------------------------------------------------------------------------------------------ bad input


def test_bad_sessions_give_clear_errors_and_nothing_is_deleted(synthetic, tmp_path):
    group, calib, (va, vb, _) = synthetic

    def fresh(name: str) -> Path:
        out = tmp_path / name
        import_videos(va, vb, calib, out)
        return out

    # corrupt session.json
    out = fresh("corrupt")
    (out / SESSION_FILE).write_text('{"format": "crossview-session", "format_ver')
    before = _listing(out)
    with pytest.raises(SessionError, match="corrupt"):
        Session.open(out)
    with pytest.raises(SessionError, match="corrupt"):
        process_session(out, detector_factory=_band_factory(group))
    assert _listing(out) == before

    # a newer format version
    out = fresh("future")
    meta = json.loads((out / SESSION_FILE).read_text())
    meta["format_version"] = 99
    (out / SESSION_FILE).write_text(json.dumps(meta))
    before = _listing(out)
    with pytest.raises(SessionError, match="version 99.*Update CrossView"):
        Session.open(out)
    assert _listing(out) == before

    # a missing video
    out = fresh("missing")
    (out / "right.avi").rename(tmp_path / "elsewhere.avi")
    before = _listing(out)
    with pytest.raises(SessionError, match="camera 'right'.*right.avi.*missing"):
        process_session(out, detector_factory=_band_factory(group))
    assert _listing(out) == before

    # a video shorter than its timestamps
    out = fresh("short")
    with open(out / TIMESTAMPS_FILE, "a") as f:
        f.writelines(f"right,{k},{10**12 + k}\n" for k in range(20, 25))
    before = _listing(out)
    with pytest.raises(SessionError, match="'right.avi' of camera 'right' holds 20 frames but timestamps.csv lists 25"):
        process_session(out, detector_factory=_band_factory(group))
    assert _listing(out) == before

    # a calibration for other cameras
    out = fresh("othercal")
    cal = load_calibration(out / "calibration.toml")
    renamed = CameraGroup([Camera(n, c.K, c.dist, c.R, c.t, c.size) for c, n in zip(cal.group, ["cam_7", "cam_8"])])
    save_calibration(out / "calibration.toml", renamed)
    before = _listing(out)
    with pytest.raises(SessionError, match=r"other cameras.*cam_7.*\['left', 'right'\]"):
        process_session(out, detector_factory=_band_factory(group))
    assert _listing(out) == before


def test_bad_imports_give_clear_errors_and_create_nothing(synthetic, tmp_path):
    group, calib, (va, vb, vshort) = synthetic
    out = tmp_path / "never"
    with pytest.raises(InputError, match=r"different lengths.*'a.avi' has 20 frames.*'short.avi' has 17"):
        import_videos(va, vshort, calib, out)
    with pytest.raises(InputError, match=r"other cameras.*'cam_9'"):
        import_videos(va, vb, calib, out, cameras=["left", "cam_9"])
    portrait = CameraGroup([Camera(c.name, c.K, c.dist, c.R, c.t, (48, 64)) for c in group])
    with pytest.raises(InputError, match="another aspect ratio"):
        import_videos(va, vb, save_calibration(tmp_path / "portrait.toml", portrait), out)
    with pytest.raises(InputError, match="does not exist"):
        import_videos(tmp_path / "nope.avi", vb, calib, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial import left
    # an existing non-empty folder is never written into
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    with pytest.raises(SessionError, match="already holds files"):
        import_videos(va, vb, calib, taken)
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]


def test_an_empty_recording_is_reported_as_empty(tmp_path):
    sources = _sims(5)
    rec = SessionRecorder(tmp_path / "empty", _rig(), sources)  # the cameras are never started
    rec.start()
    s = rec.stop()
    assert s.meta.status == "complete" and [c.frames for c in s.meta.cameras] == [0, 0]
    before = _listing(s.path)
    with pytest.raises(SessionError, match="empty: no frame was recorded"):
        process_session(s.path, detector_factory=_band_factory(_rig()))
    assert _listing(s.path) == before
