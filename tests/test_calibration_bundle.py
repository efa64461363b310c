"""Bundle adjustment, the sub-frame synchronisation search and the synthetic board renderer, on scenes with known
truth: boards rendered through known distorted cameras (``calibration.synthetic``), detected like real footage."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.boards import Board
from calibration.bundle import (
    adjust_stereo,
    board_observations,
    bundle_adjust,
    heldout_bundle_error,
    project_observations,
)
from calibration.detect import BoardDetector, Detection
from calibration.engine import CalibrationSession
from calibration.frame_offset import best_frame_offset, detection_at, frames_needed
from calibration.schur import BlockProblem, solve_blocks
from calibration.synthetic import board_poses, pixel_rays, render_view, two_camera_rig
from core.camera import relative_pose
from core.errors import CalibrationError

CHARUCO = Board.charuco(7, 5, 0.05, 0.037, "DICT_4X4_50")


def _angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(Ra @ Rb.T) - 1) / 2, -1.0, 1.0))))


@pytest.fixture(scope="module")
def rendered() -> dict:
    """30 board poses seen by both cameras of a known rig, rendered (distortion, blur, noise) and detected."""
    rig = two_camera_rig()
    rng = np.random.default_rng(1)
    rays = [pixel_rays(c) for c in rig]
    session = CalibrationSession(
        CHARUCO, (rig[0].size, rig[1].size), require_novelty=False, max_motion_px=None, min_views=3, min_pairs=3
    )
    poses = board_poses(CHARUCO, rig, 30, rng)
    for R, t in poses:
        session.process_pair(
            *(
                render_view(CHARUCO, cam, cam.R @ R, cam.R @ t + cam.t, rays=rays[c], rng=rng)
                for c, cam in enumerate(rig)
            )
        )
    return {"rig": rig, "session": session, "poses": poses, "rays": rays}


def test_rendered_boards_are_detected_at_their_true_corners(rendered):
    """The renderer and both detectors agree with the projection to a few hundredths of a pixel: the ChArUco
    half-pixel offset of OpenCV < 4.13 is corrected, and a 9x6 chessboard is never numbered the wrong way round."""
    rig = rendered["rig"]
    rng = np.random.default_rng(5)
    for board, distance in ((CHARUCO, (0.8, 1.6)), (Board.chessboard(9, 6, 0.04), (0.9, 1.3))):
        det = BoardDetector(board)
        errors = []
        for R, t in board_poses(board, rig, 6, rng, distance_m=distance):
            for cam, rays in zip(rig, rendered["rays"]):
                d = det.detect(render_view(board, cam, cam.R @ R, cam.R @ t + cam.t, rays=rays, rng=rng))
                if d.found:
                    truth = cam.project(d.object_points @ R.T + t)
                    errors.append(np.linalg.norm(d.corners - truth, axis=1))
        err = np.concatenate(errors)
        assert len(errors) >= 6 and np.median(err) < 0.08 and np.percentile(err, 90) < 0.35, (
            board.kind,
            np.median(err),
        )


def test_bundle_adjustment_recovers_a_known_rig_within_its_sigma(rendered):
    rig, session = rendered["rig"], rendered["session"]
    assert len(session.pairs()) >= 15
    res = session.solve(bundle="auto")
    st = res.stereo
    assert st.solver == "bundle adjustment" and st.bundle.kept and "saved" in st.bundle.note
    assert st.bundle.epipolar_px[1] < st.bundle.epipolar_px[0]  # held-out pairs agree better
    sig = st.sigma
    for c in (0, 1):
        K, Kt = res.group[c].K, rig[c].K
        for name, (i, j) in {"fx": (0, 0), "fy": (1, 1), "cx": (0, 2), "cy": (1, 2)}.items():
            assert abs(K[i, j] - Kt[i, j]) < 3 * sig[f"{name}_{c}"] + 0.5, (
                c,
                name,
                K[i, j],
                Kt[i, j],
                sig[f"{name}_{c}"],
            )
        assert abs(res.group[c].dist[0] - rig[c].dist[0]) < 3 * sig[f"k1_{c}"] + 0.002
    R, t = relative_pose(res.group[0], res.group[1])
    Rt, _ = relative_pose(rig[0], rig[1])
    rot_err = _angle_deg(R, Rt)
    baseline_err = abs(np.linalg.norm(res.group[1].center) - np.linalg.norm(rig[1].center))
    assert rot_err < 3 * sig["rotation_deg"] and baseline_err < 3 * sig["baseline_m"] + 0.5e-3, (rot_err, baseline_err)
    assert 0.02 < sig["rotation_deg"] < 1.0 and 0 < sig["baseline_m"] < 0.005
    # the stereo solve alone (per-camera intrinsics held fixed) is further from the truth
    plain = session.solve(bundle=False)
    assert plain.stereo.solver.startswith("stereoCalibrate") and plain.stereo.bundle is None
    assert rot_err < _angle_deg(relative_pose(plain.group[0], plain.group[1])[0], Rt)
    # the saved file says which solver made it and how sure it is
    md = res.metadata()
    assert md["solver"] == "bundle adjustment" and md["adjusted"] is True
    assert md["sigma_rotation_deg"] == pytest.approx(sig["rotation_deg"], rel=1e-4)


def test_known_intrinsics_stay_fixed_and_an_unhelpful_adjustment_is_discarded(rendered):
    """With the true lenses loaded, only the pose can move: the adjustment gains nothing on held-out pairs, so the
    stereo solve is saved, and the note says so."""
    rig, session = rendered["rig"], rendered["session"]
    pairs = session.pairs()
    from calibration.stereo import calibrate_stereo

    st = calibrate_stereo(pairs, rig[0], rig[1])
    check = adjust_stereo(pairs, (session.views(0), session.views(1)), st, fix_intrinsics=(True, True))
    assert not check.kept and "stereo solve is saved" in check.note
    assert check.sigma["fx_0"] == 0.0 and check.sigma["rotation_deg"] > 0
    np.testing.assert_allclose(check.result.cameras[1].K, rig[1].K)


def test_bundle_adjustment_of_projected_corners_is_exact_and_its_errors_are_clear(rendered):
    """Noise-free projected corners from a perturbed start: the adjustment lands on the truth; too little data is a
    CalibrationError that says what to capture."""
    rig = rendered["rig"]
    obj = CHARUCO.object_points
    dets = []
    for R, t in rendered["poses"][:12]:
        pair = []
        for cam in rig:
            uv = cam.project(obj @ R.T + t)
            pair.append(Detection(True, uv, np.arange(len(obj)), obj, cam.size))
        dets.append(tuple(pair))
    obs = board_observations(dets)
    assert len(obs) == 2 * 12 * len(obj) and obs.n_poses == 12 and obs.paired.all()
    start0 = rig[0].with_pose(np.eye(3), np.zeros(3))
    K = rig[1].K.copy()
    K[0, 2] += 15.0
    K[0, 0] *= 1.02
    from core.camera import Camera

    start1 = Camera("cam_1", K, rig[1].dist * 0.8, rig[1].R, rig[1].t + [0.01, 0, 0], rig[1].size)
    res = bundle_adjust(obs, start0, start1, models=("k1k2p1p2k3", "k1k2p1p2k3"))
    assert res.rms_px < 1e-3 and res.n_rejected == 0
    np.testing.assert_allclose(res.cameras[1].K, rig[1].K, atol=0.05)
    assert _angle_deg(res.cameras[1].R, rig[1].R) < 0.01 and np.allclose(res.cameras[1].t, rig[1].t, atol=1e-4)
    with pytest.raises(CalibrationError, match="capture more views"):
        bundle_adjust(obs.subset(np.arange(len(obs)) < 5), start0, start1)


def test_block_solver_matches_a_dense_least_squares():
    """The Schur-complement solver on a small line-fit problem (2 globals, 3 blocks of 1) against numpy's lstsq."""
    rng = np.random.default_rng(0)
    xs = np.linspace(-1, 1, 12)
    offsets = np.array([0.3, -0.2, 0.5])
    which = np.repeat(np.arange(3), 4)
    y = 1.5 * xs + 0.25 + offsets[which] + rng.normal(0, 1e-3, 12)

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * xs + p[1] + p[2:][which] - y

    free = np.array([True, False, True, True, True])  # the intercept is fixed (gauge)
    problem = BlockProblem(residuals, 2, 1, which, free, point=1, f_scale=10.0)
    sol = solve_blocks(problem, np.array([0.0, 0.25, 0.0, 0.0, 0.0]))
    A = np.column_stack([xs, *(which == k for k in range(3))]).astype(float)
    ref = np.linalg.lstsq(A, y - 0.25, rcond=None)[0]
    np.testing.assert_allclose(sol.x[[0, 2, 3, 4]], ref, atol=1e-6)
    assert sol.converged and np.isfinite(sol.cov_global[0, 0]) and np.isnan(sol.cov_global[1, 1])


def test_a_fractional_frame_offset_is_found_by_interpolating_camera_2(rendered):
    """A board moving steadily; camera 2 exposes half a frame after camera 1, so the timestamp pairs are skewed.
    The search finds -0.5 (camera 2's view half a frame earlier) and interpolated pairs agree again."""
    rig = rendered["rig"]
    obj = CHARUCO.object_points
    R0, t0 = rendered["poses"][0]
    rng = np.random.default_rng(3)

    def board_at(time: float) -> tuple[np.ndarray, np.ndarray]:
        ang = 0.35 * np.sin(0.4 * time)
        c, s = np.cos(ang), np.sin(ang)
        Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        return Ry @ R0, t0 + np.array([0.06 * np.sin(0.5 * time), 0.02 * time - 0.2, 0.0])

    def seen(cam, time: float) -> Detection:
        R, t = board_at(time)
        uv = cam.project(obj @ R.T + t) + rng.normal(0, 0.1, (len(obj), 2))
        return Detection(True, uv, np.arange(len(obj)), obj, cam.size)

    n = 24
    dets0 = {i: seen(rig[0], float(i)) for i in range(n)}
    dets1 = {i: seen(rig[1], i + 0.5) for i in range(n)}
    kept = [(i, i) for i in range(1, n - 1, 2)]
    assert frames_needed(4, 0.5) == (4, 5) and frames_needed(4, -1.0) == (3,)
    mid = detection_at(dets1, 4, -0.5)
    np.testing.assert_allclose(mid.corners, 0.5 * (dets1[3].corners + dets1[4].corners))
    assert detection_at(dets1, n - 1, 0.5) is None  # the next frame is not there
    search = best_frame_offset(kept, dets0, lambda f: {i: dets1[i] for i in f}, rig[0], rig[1], n, max_offset=1)
    assert search.offset == -0.5, search.scores
    assert search.rms(-0.5) < 0.5 * search.rms(0.0)
    pairs = [(dets0[a], detection_at(dets1, b, -0.5)) for a, b in kept]
    assert heldout_bundle_error(pairs, rig[0], rig[1]) < 0.3


def test_projection_of_observations_matches_the_camera_model(rendered):
    rig = rendered["rig"]
    obj = CHARUCO.object_points
    R, t = rendered["poses"][2]
    dets = [(Detection(True, rig[0].project(obj @ R.T + t), np.arange(len(obj)), obj, rig[0].size),) * 2]
    obs = board_observations([], ([dets[0][0]], []))
    assert obs.frame.tolist() == [0] and not obs.paired.any()
    from core.camera import matrix_to_rodrigues

    x = np.concatenate([np.zeros(24), matrix_to_rodrigues(R), t])
    K = rig[0].K
    x[:9] = [K[0, 0], K[1, 1], K[0, 2], K[1, 2], *rig[0].dist]
    np.testing.assert_allclose(project_observations(x, obs), rig[0].project(obj @ R.T + t), atol=1e-9)
