"""Sessions on real footage: import + process + export of the Pose2Sim trial (checked against Pose2Sim's own
3D), and the import of a real two-webcam Caliscope recording paired by its capture-time CSV."""

from __future__ import annotations

import csv
import json

import numpy as np

from core import skeleton as sk
from core.calibration_io import save_calibration
from core.camera import Camera, CameraGroup, rodrigues_to_matrix
from core.capture import SourceState
from core.session.exporting import export_session
from core.session.importing import import_videos
from core.session.processing import process_session
from core.session.session import Session
from core.session.sources import session_sources
from core.sync import synchronize
from tests.paths import CALISCOPE, POSE2SIM, need
from tests.pose2sim_reference import reference12
from tests.trc_reader import read_trc


def test_import_process_and_export_the_pose2sim_trial_matches_the_reference(tmp_path):
    videos = [need(POSE2SIM / "videos" / f"cam{c}.mp4") for c in ("01", "04")]
    out = tmp_path / "balancing"
    summary = import_videos(*videos, POSE2SIM / "Calib_qualisys.toml", out, cameras=["cam_01", "cam_04"])
    assert summary.pairs == 100 and summary.pairing == "index" and summary.fps == 60.0
    assert any("crop" in w for w in summary.warnings)  # 1080-wide video, 1088-wide calibration

    result = process_session(out, refine=False)
    json.dumps(result.to_dict())
    assert result.frames == 100 and result.percent_with_3d >= 95.0
    assert result.median_reprojection_error_px < 15.0 and result.refinement == "disabled"
    assert result.seconds_per_100_frames > 0

    e = export_session(out, "trc", tmp_path / "balancing.trc")
    assert e.up_axis == "+z" and e.up_axis_reason == "inferred from the cameras" and e.which == "coarse"
    names, time_s, pts, header = read_trc(tmp_path / "balancing.trc")
    assert header["Units"] == "m" and header["DataRate"] == "60" and len(pts) == 100
    np.testing.assert_allclose(time_s, np.arange(100) / 60, atol=1e-6)
    # TRC and reference are Y-up with X, Y, Z = the calibration frame's Y, Z, X: compare in the calibration frame
    ours = pts[..., [2, 0, 1]][:, [names.index(sk.MARKER_NAMES[j]) for j in sk.SHARED_12]]
    median_mm = float(np.nanmedian(np.linalg.norm(ours - reference12(), axis=-1)) * 1000)
    assert median_mm <= 60.0, median_mm

    kps = Session.open(out).keypoints()
    assert kps is not None and kps["cam_04"].shape == (100, 17, 3) and np.nanmax(kps["cam_04"][..., 1]) < 1920


def _caliscope_rig() -> CameraGroup:
    """Two 1280x720 webcams with the same plausible intrinsics, 0.5 m apart (only for the import test)."""
    K = [[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]
    a = Camera("cam_0", K, np.zeros(5), np.eye(3), [0, 0, 0], (1280, 720))
    b = Camera("cam_1", K, np.zeros(5), rodrigues_to_matrix(np.array([0, -0.3, 0])), [-0.5, 0, 0.1], (1280, 720))
    return CameraGroup([a, b])


def test_import_a_real_webcam_pair_with_caliscope_timestamps(tmp_path):
    videos = [need(CALISCOPE / "cam_0.mp4"), need(CALISCOPE / "cam_1.mp4")]
    ts_csv = CALISCOPE / "timestamps.csv"
    calib = save_calibration(tmp_path / "rig.toml", _caliscope_rig())
    out = tmp_path / "charuco"
    summary = import_videos(*videos, calib, out, timestamps=ts_csv)
    assert summary.pairing == "timestamps" and summary.frames == {"cam_0": 111, "cam_1": 111}
    s = Session.open(out)
    ts = s.check()

    # the capture times are Caliscope's, frame by frame
    with open(ts_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    by_cam = {c: sorted((r for r in rows if r["cam_id"] == c), key=lambda r: float(r["frame_time"])) for c in "01"}
    for c, name in (("0", "cam_0"), ("1", "cam_1")):
        expected = [int(round(float(r["frame_time"]) * 1e9)) for r in by_cam[c]]
        assert ts[name].tolist() == expected
    # our pairs agree with Caliscope's own synchronisation (its sync_index) for nearly every frame
    pairs = s.pairs()
    sync_a = [by_cam["0"][i]["sync_index"] for i in pairs.index_a]
    sync_b = [by_cam["1"][i]["sync_index"] for i in pairs.index_b]
    agree = np.mean([a == b for a, b in zip(sync_a, sync_b, strict=True)])
    assert len(pairs) >= 100 and agree >= 0.95, (len(pairs), agree)
    assert np.abs(pairs.skew_ms).max() <= summary.tolerance_ms

    # replayed with its original timestamps, the synchroniser forms exactly pairs.csv again
    frames = []
    sources = session_sources(s, pace=False)
    for src in sources:
        src.subscribe(frames.append)
    for src in sources:
        src.start()
    try:
        for src in sources:
            assert src.wait_for_state(SourceState.ENDED, timeout=30)
    finally:
        for src in sources:
            src.stop()
    assert len(frames) == 222 and frames[0].image.shape == (720, 1280, 3)
    replayed, _ = synchronize(frames, s.names, nominal_fps=tuple(c.fps for c in s.meta.cameras))
    assert [(p.frames[0].index, p.frames[1].index) for p in replayed] == list(
        zip(pairs.index_a.tolist(), pairs.index_b.tolist(), strict=True)
    )
