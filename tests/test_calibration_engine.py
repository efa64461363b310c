"""Stereo calibration engine on real footage: detection, selection, intrinsics, stereo, quality, headless.

Real data (skipped with the reason when absent): the OpenCV 9x6 stereo photos, the OpenCV ChArUco photo,
the Pose2Sim intrinsics photos (fx checked against the marker-based Qualisys calibration) and the Caliscope
two-webcam ChArUco session. Detections are computed once per module.
"""

from __future__ import annotations

import json
import shutil
import threading
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.shared import caliscope_reference, relative_pose_error
from calibration.boards import Board
from calibration.detect import BoardDetector, Detection
from calibration.engine import CalibrationCancelledError, CalibrationSession
from calibration.headless import calibrate_from_paths
from calibration.intrinsics import calibrate_intrinsics, load_intrinsics
from calibration.io import load_board
from calibration.selection import ViewSelector
from calibration.sources import open_source, pair_sources
from calibration.stereo import calibrate_stereo, epipolar_errors
from core.calibration_io import load_calibration
from core.errors import CalibrationError, InputError
from core.triangulation import triangulate
from tests.paths import CALISCOPE, POSE2SIM, SHARED_DATA, need

STEREO_9X6 = SHARED_DATA / "calibration" / "opencv_stereo_9x6"
CHARUCO_PHOTO = SHARED_DATA / "calibration" / "opencv_charuco_photo" / "choriginal.jpg"
POSE2SIM_INTR = SHARED_DATA / "calibration" / "pose2sim_intrinsics_4x7"
PAIR_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)
BOARD_9X6 = Board.chessboard(9, 6, 1.0)  # square size unknown: 1 unit, so translations come out in squares


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def stereo_9x6() -> dict:
    """Detections of the 13 OpenCV stereo pairs and the images of pair 1."""
    need(STEREO_9X6)
    det = BoardDetector(BOARD_9X6, thorough=True)
    left = [det.detect(cv2.imread(str(STEREO_9X6 / f"left{i:02d}.jpg"))) for i in PAIR_NUMBERS]
    right = [det.detect(cv2.imread(str(STEREO_9X6 / f"right{i:02d}.jpg"))) for i in PAIR_NUMBERS]
    return {"left": left, "right": right}


@pytest.fixture(scope="module")
def solved_9x6(stereo_9x6) -> dict:
    left, right = stereo_9x6["left"], stereo_9x6["right"]
    i0 = calibrate_intrinsics(left, (640, 480), name="cam_0")
    i1 = calibrate_intrinsics(right, (640, 480), name="cam_1")
    st = calibrate_stereo(list(zip(left, right)), i0.camera, i1.camera, models=(i0.model, i1.model))
    return {"i0": i0, "i1": i1, "stereo": st}


@pytest.fixture(scope="module")
def caliscope_result(tmp_path_factory) -> dict:
    need(CALISCOPE / "cam_0.mp4")
    out = tmp_path_factory.mktemp("caliscope") / "calib.toml"
    steps: list[tuple[float, str]] = []
    result = calibrate_from_paths(
        CALISCOPE / "cam_0.mp4",
        CALISCOPE / "cam_1.mp4",
        CALISCOPE / "charuco.toml",
        out,
        timestamps=CALISCOPE / "timestamps.csv",
        progress=lambda done, total, m="": steps.append((done / total, m)),
    )
    return {"result": result, "out": out, "steps": steps}


# ------------------------------------------------------------------ detection
def test_charuco_photo_all_24_corners():
    img = cv2.imread(str(need(CHARUCO_PHOTO)))
    board = Board.charuco(5, 7, 0.04, 0.02, "DICT_6X6_250")
    det = BoardDetector(board).detect(img)
    assert det.found and det.n == 24
    assert sorted(det.ids.tolist()) == list(range(24))
    np.testing.assert_allclose(det.object_points, board.object_points[det.ids])
    assert det.corners.shape == (24, 2) and np.isfinite(det.sharpness) and det.edge_width_px < 4


def test_chessboard_corners_subpixel_and_canonical(stereo_9x6):
    for det in stereo_9x6["left"] + stereo_9x6["right"]:
        assert det.found and det.n == 54 and det.reasons == ()
        assert not np.allclose(det.corners, np.round(det.corners))  # refined, not integer pixels
    # Canonical order: same physical corner first in both views, so ids agree across cameras.
    l0, r0 = stereo_9x6["left"][0], stereo_9x6["right"][0]
    d_first = l0.corners[0] - r0.corners[0]
    d_last = l0.corners[-1] - r0.corners[-1]
    assert np.linalg.norm(d_first - d_last) < 60  # a flip would swap ends (hundreds of px)


def test_not_found_reasons_name_the_fix():
    left = cv2.imread(str(need(STEREO_9X6 / "left01.jpg")))
    # A 7x6 definition on a 9x6 board: a sub-grid is found, rejected, and the real size named.
    det = BoardDetector(Board.chessboard(7, 6, 0.025)).detect(left, diagnose="quick")
    assert not det.found and "wrong_size" in det.codes
    full = BoardDetector(Board.chessboard(7, 6, 0.025)).detect(left, diagnose="full")
    assert "9x6" in full.message and full.hints["found_pattern"] == (9, 6)
    blurred = BoardDetector(BOARD_9X6).detect(cv2.GaussianBlur(left, (0, 0), 6), diagnose="quick")
    assert not blurred.found and "blurred" in blurred.codes
    cropped = BoardDetector(BOARD_9X6).detect(left[:, :400].copy(), diagnose="full")
    assert "partial" in cropped.codes and "Only part of the board" in cropped.message
    charuco = cv2.imread(str(need(CHARUCO_PHOTO)))
    wrong_dict = BoardDetector(Board.charuco(5, 7, 0.04, 0.02, "DICT_4X4_50")).detect(charuco, diagnose="full")
    assert "wrong_dictionary" in wrong_dict.codes and "DICT_6X6" in wrong_dict.message
    swapped = BoardDetector(Board.charuco(7, 5, 0.04, 0.02, "DICT_6X6_250")).detect(charuco, diagnose="full")
    assert "swap columns and rows" in swapped.message
    chess_on_charuco = BoardDetector(BOARD_9X6).detect(charuco, diagnose="full")
    assert "wrong_type" in chess_on_charuco.codes and "ChArUco" in chess_on_charuco.message


def test_inverted_print_is_recognised():
    need(CALISCOPE / "cam_0.mp4")
    board = load_board(CALISCOPE / "charuco.toml")
    frame = next(open_source(CALISCOPE / "cam_0.mp4").iter_frames([90]))[1]
    assert BoardDetector(board).detect(frame).found
    det = BoardDetector(board.with_changes(inverted=False)).detect(frame, diagnose="full")
    assert not det.found and "inverted" in det.codes and "inverted = true" in det.message


# ------------------------------------------------------------------ selection
def test_view_selector_counters_and_duplicates(stereo_9x6):
    sel = ViewSelector((640, 480), BOARD_9X6, max_views=5, min_views=3)
    first = stereo_9x6["left"][0]
    assert sel.consider(first).accepted
    dup = sel.consider(first)
    assert not dup.accepted and dup.code == "duplicate"
    miss = Detection(False, np.zeros((0, 2)), np.zeros(0, int), np.zeros((0, 3)), (640, 480), reasons=("x",))
    assert sel.consider(miss).code == "not_found"
    for det in stereo_9x6["left"][1:]:
        sel.consider(det)
    st = sel.state()
    assert st.views_kept == 5 and st.rejected["duplicate"] == 1 and st.rejected["full"] >= 1
    assert st.heatmap.shape == (6, 8) and st.heatmap.sum() > 0
    assert 0 < st.coverage <= 1 and 0 < st.tilt_diversity <= 1 and st.ready
    assert "calibrate now" in st.advice.lower()
    sel.thin(3)
    assert len(sel.views) == 3 and sel.state().views_kept == 3


def _shifted(det: Detection, dx: float) -> Detection:
    from dataclasses import replace

    return replace(det, corners=det.corners + np.array([dx, 0.0]))


def test_live_session_rejects_a_moving_board(stereo_9x6):
    session = CalibrationSession(BOARD_9X6, max_motion_px=2.0)
    a, b = stereo_9x6["left"][0], stereo_9x6["right"][0]
    assert session.add_pair(a, b).pair.accepted  # nothing to compare with yet
    fb = session.add_pair(_shifted(stereo_9x6["left"][2], 0), _shifted(stereo_9x6["right"][2], 0))
    assert fb.pair.code == "moving" and "Hold the board still" in fb.state.advice
    c, d = stereo_9x6["left"][5], stereo_9x6["right"][5]
    session.add_pair(c, d)
    still = session.add_pair(_shifted(c, 0.5), _shifted(d, 0.5))  # sub-pixel jitter: a still board
    assert still.pair.accepted and still.state.pairs.rejected["moving"] == 2


def test_live_session_feeds_counters_and_running_rms(stereo_9x6):
    session = CalibrationSession(BOARD_9X6, min_views=4, min_pairs=4, max_motion_px=None)
    assert "Waiting for frames" in session.state().advice
    for a, b in zip(stereo_9x6["left"], stereo_9x6["right"]):
        fb = session.add_pair(a, b)
    st = fb.state
    assert st.pairs is not None and st.pairs.views_kept >= 4 and st.ready
    assert st.cameras[0].views_kept >= 4 and st.cameras[0].heatmap.shape == (6, 8)
    est = session.running_rms(0)
    assert est is not None and est.rms < 1.0 and abs(est.K[0, 0] - 536) < 30
    assert session.state().running[0] is est
    json.dumps(session.state().to_json())
    result = session.solve()
    assert result.stereo.rms < 0.5 and result.verdict in ("good", "usable")


# ------------------------------------------------------------------ intrinsics + stereo on the OpenCV set
def test_opencv_9x6_stereo_figures(solved_9x6):
    i0, i1, st = solved_9x6["i0"], solved_9x6["i1"], solved_9x6["stereo"]
    assert i0.rms <= 0.45 and i1.rms <= 0.50
    assert abs(i0.camera.K[0, 0] - 536.1) / 536.1 < 0.01
    assert st.rms <= 0.46
    assert abs(st.baseline_m - 3.345) / 3.345 < 0.02  # squares
    assert st.epipolar_all_px <= 0.2
    assert st.per_pair_errors.shape == (13, 2) and len(st.heldout) == 2 and np.isfinite(st.epipolar_px)


def test_epipolar_error_matches_definition(stereo_9x6, solved_9x6):
    st = solved_9x6["stereo"]
    c0, c1 = st.group[0], st.group[1]
    uv0 = np.concatenate([d.corners for d in stereo_9x6["left"]])
    uv1 = np.concatenate([d.corners for d in stereo_9x6["right"]])
    err = epipolar_errors(c0, c1, uv0, uv1)
    assert err.shape == (13 * 54,)
    assert float(err.mean()) == pytest.approx(st.epipolar_all_px, rel=1e-6)
    # Mismatched corners violate the geometry by far more.
    assert float(epipolar_errors(c0, c1, uv0, uv1[::-1]).mean()) > 20 * st.epipolar_all_px


def test_floor_frame_puts_board_on_z0_and_cameras_above(stereo_9x6, solved_9x6, tmp_path):
    from calibration.engine import CalibrationResult
    from calibration.quality import assess

    st, i0, i1 = solved_9x6["stereo"], solved_9x6["i0"], solved_9x6["i1"]
    res = CalibrationResult(st.group, (i0, i1), st, assess((i0, i1), st), BOARD_9X6)
    a, b = stereo_9x6["left"][0], stereo_9x6["right"][0]
    floor = res.with_floor(a, b)
    assert floor.world_up == "+z" and floor.origin == "floor" and floor.group.origin is None
    uv = np.stack([a.corners, b.corners])[:, None]
    pts = triangulate(uv, np.ones(uv.shape[:-1]), floor.group, reject_outlier_views=False).points[0]
    assert np.abs(pts[:, 2]).max() < 0.05  # squares: the board lies in z = 0
    assert np.abs(pts.mean(axis=0)[:2]).max() < 0.05  # origin at the board centre
    assert all(c.center[2] > 1.0 for c in floor.group)  # cameras above the floor
    # Relative pose is unchanged.
    assert np.linalg.norm(floor.group[1].center - floor.group[0].center) == pytest.approx(st.baseline_m)
    saved = floor.save(tmp_path / "floor.toml")
    cal = load_calibration(saved.path)
    assert cal.world_up == "+z" and cal.metadata["origin"] == "floor"


def test_headless_folders_9x6_and_saved_toml(tmp_path):
    need(STEREO_9X6)
    out = tmp_path / "calib.toml"
    res = calibrate_from_paths(STEREO_9X6 / "left*.jpg", STEREO_9X6 / "right*.jpg", "chessboard:9x6:1", out)
    assert res.stereo.n_pairs == 13 and res.stereo.rms <= 0.46
    assert res.intrinsics[0].rms <= 0.45 and res.intrinsics[1].rms <= 0.50
    assert abs(res.stereo.baseline_m - 3.345) / 3.345 < 0.02
    cal = load_calibration(out)
    assert cal.units == "m" and not cal.units_assumed
    assert cal.group.names == ["cam_0", "cam_1"] and cal.group.origin == "cam_0"
    md = cal.metadata
    assert md["world_up"] == "-y" and md["verdict"] == res.verdict
    assert md["stereo_rms_px"] == pytest.approx(res.stereo.rms, abs=1e-5)
    assert set(md["intrinsics_rms_px"]) == {"cam_0", "cam_1"} and md["image_sizes"]["cam_1"] == [640, 480]
    assert "chessboard 9x6" in md["board"] and md["epipolar_error_px"] > 0 and "date" in md
    np.testing.assert_allclose(np.linalg.norm(cal.group["cam_1"].t), res.stereo.baseline_m, rtol=1e-6)
    js = json.loads(json.dumps(res.to_json()))
    assert js["out"] == str(out) and js["pairs"] == 13 and js["units"]["lengths"] == "m"
    # The intrinsics can be reused from the file instead of captured.
    ir = load_intrinsics(out, "cam_1", image_size=(640, 480))
    assert ir.source.startswith("file:") and ir.camera.K[0, 0] == pytest.approx(res.group["cam_1"].K[0, 0])
    assert ir.rms == pytest.approx(res.intrinsics[1].rms, abs=1e-5)
    again = calibrate_from_paths(
        STEREO_9X6 / "left*.jpg",
        STEREO_9X6 / "right*.jpg",
        "chessboard:9x6:1",
        None,
        intrinsics=(out, (out, "cam_1")),
        floor_frame=0,
    )
    assert [i.source for i in again.intrinsics] == [f"file:{out}"] * 2
    assert again.world_up == "+z" and again.origin == "floor" and again.stereo.rms <= 0.46


# ------------------------------------------------------------------ pose2sim intrinsics vs Qualisys
def test_pose2sim_intrinsics_fx_within_2_percent():
    need(POSE2SIM_INTR)
    qualisys = tomllib.loads(need(POSE2SIM / "Calib_qualisys.toml").read_text())
    board = Board.chessboard(4, 7, 0.06)
    det = BoardDetector(board, thorough=True)
    for cam in range(1, 5):
        views = [det.detect(cv2.imread(str(p)), "none") for p in sorted(POSE2SIM_INTR.glob(f"cam{cam:02d}_*.jpg"))]
        res = calibrate_intrinsics([v for v in views if v.found], (1088, 1920), name=f"cam_{cam:02d}")
        fx_ref = qualisys[f"cam_{cam:02d}"]["matrix"][0][0]
        assert abs(res.camera.K[0, 0] - fx_ref) / fx_ref < 0.02, (cam, res.camera.K[0, 0], fx_ref)
        assert res.rms < 0.5


# ------------------------------------------------------------------ Caliscope two-webcam session
def test_caliscope_session_headless(caliscope_result):
    res = caliscope_result["result"]
    assert 1.0 <= res.stereo.baseline_m <= 1.3
    if res.stereo.rms > 1.0:
        assert res.verdict != "good"
    assert res.verdict in ("good", "usable", "poor") and res.advice
    # The webcams' software timestamps pair frames 0.75 frame apart: the sync check finds it, camera 2's corners
    # interpolated between frames, judged by the bundle-adjusted held-out error.
    assert res.info["frame_offset"] == 0.75
    scores = res.info["frame_offset_scores_px"]
    assert scores["0.75"] < 0.5 * scores["0"] and scores["0.75"] < min(scores["0.5"], scores["1"])
    assert res.stereo.rms < 0.5 and res.stereo.epipolar_px < 0.6 and all(ir.rms < 0.5 for ir in res.intrinsics)
    # against Caliscope's own bundle-adjusted result (3.85 deg and 7.4 cm off before the sub-frame sync)
    angle, dt = relative_pose_error(res.group, caliscope_reference())
    assert angle < 2.5 and dt < 0.05, (angle, dt)
    # the uncertainty of the saved result, and which solver made it
    sig = res.stereo.sigma
    assert 0 < sig["rotation_deg"] < 3 and 0 < sig["baseline_m"] < 0.02 and 0 < sig["fx_0"] < 15
    assert res.stereo.bundle is not None and res.stereo.bundle.note in res.summary().lower()
    cal = load_calibration(caliscope_result["out"])
    assert cal.group["cam_0"].size == (1280, 720) and cal.metadata["world_up"] == "-y"
    assert cal.metadata["solver"] == res.stereo.solver and cal.metadata["sigma_rotation_deg"] == pytest.approx(
        sig["rotation_deg"], rel=1e-4
    )
    fractions = [f for f, _ in caliscope_result["steps"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_stereo_rms_above_1px_is_never_good(caliscope_result):
    from dataclasses import replace

    from calibration.quality import assess

    res = caliscope_result["result"]
    bad = replace(res.stereo, rms=1.2)
    assert assess(res.intrinsics, bad).verdict == "poor"
    assert "Stereo error 1.20 px" in assess(res.intrinsics, bad).advice


# ------------------------------------------------------------------ bad input
def _copy(files: list[Path], folder: Path, resize: float | None = None) -> Path:
    folder.mkdir()
    for f in files:
        if resize:
            img = cv2.imread(str(f))
            cv2.imwrite(str(folder / f.name), cv2.resize(img, None, fx=resize, fy=resize))
        else:
            shutil.copy(f, folder / f.name)
    return folder


def test_wrong_chessboard_size_names_the_real_one(tmp_path):
    need(STEREO_9X6)
    a = _copy([STEREO_9X6 / f"left{i:02d}.jpg" for i in (1, 3, 4)], tmp_path / "a")
    b = _copy([STEREO_9X6 / f"right{i:02d}.jpg" for i in (1, 3, 4)], tmp_path / "b")
    with pytest.raises(CalibrationError) as exc:
        calibrate_from_paths(a, b, "chessboard:7x5:0.025", tmp_path / "out.toml")
    msg = str(exc.value)
    assert "never found in camera 0" in msg and "9x6 inner corners" in msg and "7x5" in msg
    assert not (tmp_path / "out.toml").exists()


def test_wrong_charuco_dictionary_names_the_right_one(tmp_path):
    photo = need(CHARUCO_PHOTO)
    a = _copy([photo], tmp_path / "a")
    b = _copy([photo], tmp_path / "b")
    with pytest.raises(CalibrationError, match=r"DICT_6X6_\d+"):
        calibrate_from_paths(a, b, "charuco:5x7:0.04:0.02:DICT_5X5_100", None)


def test_single_camera_missing_and_empty_inputs(tmp_path):
    need(STEREO_9X6)
    with pytest.raises(InputError, match="TWO cameras"):
        calibrate_from_paths(STEREO_9X6 / "left*.jpg", None, "chessboard:9x6:1", None)
    with pytest.raises(InputError, match="same path"):
        calibrate_from_paths(STEREO_9X6, STEREO_9X6, "chessboard:9x6:1", None)
    with pytest.raises(InputError, match="does not exist"):
        calibrate_from_paths(tmp_path / "nope.mp4", STEREO_9X6 / "left*.jpg", "chessboard:9x6:1", None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        calibrate_from_paths(tmp_path / "empty", STEREO_9X6 / "left*.jpg", "chessboard:9x6:1", None)
    with pytest.raises(InputError, match="board spec"):
        calibrate_from_paths(STEREO_9X6 / "left*.jpg", STEREO_9X6 / "right*.jpg", "chessboard:9x6", None)


def test_mismatched_resolutions(tmp_path):
    need(STEREO_9X6)
    small = _copy([STEREO_9X6 / f"right{i:02d}.jpg" for i in (1, 3, 4)], tmp_path / "small", resize=0.5)
    with pytest.raises(InputError, match=r"different resolutions.*640x480.*320x240"):
        calibrate_from_paths(STEREO_9X6 / "left*.jpg", small, "chessboard:9x6:1", None)
    # Intrinsics made at another resolution are refused too.
    with pytest.raises(CalibrationError, match=r"1088x1920.*640x480"):
        load_intrinsics(need(POSE2SIM / "Calib_qualisys.toml"), "cam_01", image_size=(640, 480))


def test_too_few_pairs_and_cancel(tmp_path):
    need(STEREO_9X6)
    a = _copy([STEREO_9X6 / f"left{i:02d}.jpg" for i in (1, 3)], tmp_path / "a")
    b = _copy([STEREO_9X6 / f"right{i:02d}.jpg" for i in (1, 3)], tmp_path / "b")
    with pytest.raises(CalibrationError, match="at least 3"):
        calibrate_from_paths(a, b, "chessboard:9x6:1", None)
    stop = threading.Event()
    stop.set()
    with pytest.raises(CalibrationCancelledError):
        calibrate_from_paths(
            STEREO_9X6 / "left*.jpg", STEREO_9X6 / "right*.jpg", "chessboard:9x6:1", tmp_path / "c.toml", cancel=stop
        )
    assert not (tmp_path / "c.toml").exists()


def test_timestamp_pairing_of_the_caliscope_videos():
    need(CALISCOPE / "timestamps.csv")
    s0, s1 = open_source(CALISCOPE / "cam_0.mp4"), open_source(CALISCOPE / "cam_1.mp4")
    plan = pair_sources(s0, s1, CALISCOPE / "timestamps.csv")
    assert len(plan) == 111 and np.median(np.abs(plan.skew_s)) < 0.005 and np.abs(plan.skew_s).max() < 0.08
    assert "timestamps.csv" in plan.method
    by_rate = pair_sources(s0, s1)
    assert len(by_rate) == 111 and np.array_equal(by_rate.idx0, by_rate.idx1)


def test_mismatched_frames_make_the_stereo_solve_diverge(stereo_9x6, solved_9x6):
    left, right = stereo_9x6["left"], stereo_9x6["right"]
    shuffled = list(zip(left, right[1:] + right[:1]))  # every pair off by one photo
    with pytest.raises(CalibrationError, match="diverged.*SAME board at the same instants"):
        calibrate_stereo(shuffled, solved_9x6["i0"].camera, solved_9x6["i1"].camera)


def test_long_footage_is_subsampled():
    from calibration.sources import PairPlan

    n = 1800  # one minute at 30 fps
    plan = PairPlan(np.arange(n), np.arange(n), np.zeros(n), "test")
    sub = plan.subsample(400)
    assert len(sub) <= 400 and sub.idx0[0] == 0 and sub.idx0[-1] >= n - 5 and "every 5th" in sub.method
