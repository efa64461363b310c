"""Calibrating two cameras from a person (no board): real CMU motion projected through a known rig with detector-like
noise and left/right swaps (known truth), and the real Pose2Sim balancing take through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench.shared import SHARED_DATA, relative_pose_error
from calibration.person import bone_spread, calibrate_from_keypoints, focal_from_fov, standing_height
from calibration.person_videos import coverage_hint
from core import skeleton
from core.calibration_io import load_calibration
from core.camera import Camera, CameraGroup
from core.errors import CalibrationError
from tests.paths import POSE2SIM, REPO, need

CMU_WALK = SHARED_DATA / "mocap" / "cmu" / "02" / "02_01.amc"


def _look_at(name: str, centre: np.ndarray, target: np.ndarray, f: float, size=(1280, 720)) -> Camera:
    z = target - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    K = [[f, 0, size[0] / 2 + 7], [0, f, size[1] / 2 - 5], [0, 0, 1]]
    return Camera(name, K, [-0.05, 0.01, 0, 0, 0], R, -R @ centre, size)


@pytest.fixture(scope="module")
def walk() -> dict:
    """A real walk (CMU 02_01, every 4th frame: 30 fps) across the view and back, seen by two cameras 3.5 m apart
    5 m away; 2D with 3 px noise (``kp``) or MediaPipe's measured noise (``kp_mediapipe``), 2 % gross errors more,
    and the whole body mirrored in camera 2 for 15-frame runs."""
    from models.mocap import load_motion
    from models.synthetic import NoiseConfig, mediapipe_offsets

    motion = load_motion(need(CMU_WALK))
    one = motion.joints[::4]
    mid = np.nanmean(one.reshape(-1, 3), axis=0)
    one = one - [mid[0], mid[1], 0.0]
    across = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # the walk turned to cross the view
    joints = np.concatenate([one @ across.T, one @ (-across).T + [0.0, 1.2, 0.0]])  # across, then back farther away
    joints[len(one) :, :, 2] = one[..., 2]
    target = np.array([0.0, 0.6, 1.0])
    rig = CameraGroup(
        [
            _look_at("cam_0", target + [-1.75, -5.0, 0.4], target, 1100.0),
            _look_at("cam_1", target + [1.75, -4.6, 0.6], target, 1210.0),
        ]
    )
    rng = np.random.default_rng(0)
    swapped = np.zeros(len(joints), bool)
    for start in range(10, len(joints) - 15, 70):
        swapped[start : start + 15] = True
    out = {"rig": rig, "joints": joints, "swapped": swapped}
    for kind in ("iid", "mediapipe"):
        kp = np.zeros((2, len(joints), 17, 3))
        for v, cam in enumerate(rig):
            if kind == "iid":
                noise = rng.normal(0, 3.0, joints.shape[:2] + (2,))
            else:
                # MediaPipe's 2D error as measured on real footage (detector_noise.md): a constant per-view bias per
                # joint and heavy-tailed fluctuations correlated in time, in metres at the joint -> pixels at its depth
                offsets_m, _ = mediapipe_offsets(rng, len(joints), 30.0, NoiseConfig.mediapipe())
                noise = offsets_m * (cam.K[0, 0] / cam.world_to_camera(joints)[..., 2])[..., None]
            uv = cam.project(joints) + noise
            gross = rng.random(joints.shape[:2]) < 0.02
            uv[gross] += rng.normal(0, 40.0, (int(gross.sum()), 2))
            kp[v, ..., :2] = uv
            kp[v, ..., 2] = 0.9
        kp[1, swapped] = kp[1, swapped][:, skeleton.MIRROR]
        out["kp" if kind == "iid" else "kp_mediapipe"] = kp
    return out


def test_a_walk_calibrates_the_rig_it_was_seen_by(walk):
    rig, joints = walk["rig"], walk["joints"]
    height = standing_height(joints)
    assert 1.5 < height < 2.0
    res = calibrate_from_keypoints(walk["kp"], rig[0], rig[1], height_m=height)
    angle, dt = relative_pose_error(res.group, rig)
    true_baseline = np.linalg.norm(rig[1].center - rig[0].center)
    assert angle < 0.5 and abs(res.baseline_m / true_baseline - 1) < 0.02, (angle, res.baseline_m, true_baseline)
    assert res.swapped_frames >= 0.8 * walk["swapped"].sum()  # the mirrored frames were found and relabelled
    assert res.scale_source == "height" and res.height_m == pytest.approx(height)
    assert res.bone_spread < 0.1 and res.rms_px < 8.0 and res.frames == len(joints)
    assert 0 < res.sigma["rotation_deg"] < 0.5 and 0 < res.sigma["baseline_fraction"] < 0.05
    # the floor frame: z up (the true up, within 3 degrees) and the ankles just above z = 0
    tri = np.stack([c.project(joints) for c in rig])  # the true 2D, to place the true body in the new world
    from core.triangulation import triangulate

    world = triangulate(tri, np.ones(tri.shape[:-1]), res.group).points
    up_truth = np.nanmedian(joints[:, 10] - joints[:, [3, 6]].mean(axis=1), axis=0)
    up_ours = np.nanmedian(world[:, 10] - world[:, [3, 6]].mean(axis=1), axis=0)
    cos = up_truth @ up_ours / np.linalg.norm(up_truth) / np.linalg.norm(up_ours)
    assert up_ours[2] > 0 and np.degrees(np.arccos(min(cos, 1.0))) < 3.0
    ankles_z = world[:, list(skeleton.ANKLES), 2]
    assert abs(np.percentile(ankles_z, 5) - skeleton.ANKLE_HEIGHT_M) < 0.05
    # a known distance between the cameras sets the scale instead
    by_distance = calibrate_from_keypoints(walk["kp"], rig[0], rig[1], distance_m=float(true_baseline))
    assert by_distance.baseline_m == pytest.approx(true_baseline, rel=1e-6)
    assert abs(by_distance.height_m / height - 1) < 0.03


def test_a_walk_with_mediapipe_like_noise_meets_the_goals(walk):
    """MediaPipe's measured error (per-view biases, heavy tails): within the issue's goals (2 degrees; the baseline is
    looser here than on the real take, 5.3 % against 0.4-1.2 %: the biases inflate the measured bones)."""
    rig = walk["rig"]
    res = calibrate_from_keypoints(walk["kp_mediapipe"], rig[0], rig[1], height_m=standing_height(walk["joints"]))
    angle, _ = relative_pose_error(res.group, rig)
    true_baseline = np.linalg.norm(rig[1].center - rig[0].center)
    assert angle < 2.0 and abs(res.baseline_m / true_baseline - 1) < 0.07, (angle, res.baseline_m / true_baseline)


def test_a_field_of_view_prior_is_refined(walk):
    """No lens calibration: both focal lengths from a 60 degree guess (the truth: 60.4 and 55.7 degrees), refined."""
    rig = walk["rig"]
    guess = []
    for c in rig:
        f = focal_from_fov(c.size, 60.0)
        guess.append(Camera(c.name, [[f, 0, 640], [0, f, 360], [0, 0, 1]], np.zeros(5), size=c.size))
    height = standing_height(walk["joints"])
    res = calibrate_from_keypoints(walk["kp"], guess[0], guess[1], height_m=height, refine_focal=True)
    f = [res.group[k].K[0, 0] for k in (0, 1)]
    assert abs(f[0] / 1100 - 1) < 0.05 and abs(f[1] / 1210 - 1) < 0.05, f
    angle, _ = relative_pose_error(res.group, rig)
    assert angle < 2.0 and res.sigma["f_0"] > 0 and res.info["focal_refined"]


def test_bad_inputs_say_what_to_do(walk):
    rig, kp = walk["rig"], walk["kp"]
    with pytest.raises(CalibrationError, match="height .* or the distance"):
        calibrate_from_keypoints(kp, rig[0], rig[1])
    with pytest.raises(CalibrationError, match="not plausible: give it in metres"):
        calibrate_from_keypoints(kp, rig[0], rig[1], height_m=175.0)
    with pytest.raises(CalibrationError, match=r"shape \(2, F, 17, 3\)"):
        calibrate_from_keypoints(kp[0], rig[0], rig[1], height_m=1.7)
    few = kp[:, :10]
    with pytest.raises(CalibrationError, match="only 10 frame"):
        calibrate_from_keypoints(few, rig[0], rig[1], height_m=1.7)
    with pytest.raises(CalibrationError, match="field of view"):
        focal_from_fov((1280, 720), 200.0)


def test_body_measures_and_coaching():
    pts = np.zeros((3, 17, 3))
    pts[:, :, 2] = np.array(
        [0.95, 0.95, 0.5, 0.07, 0.95, 0.5, 0.07, 1.2, 1.45, 1.55, 1.7, 1.45, 1.2, 1.0, 1.45, 1.2, 1.0]
    )
    # leg 0.88 + trunk (0.25 + 0.25 + 0.25) = 1.63, over 0.955
    assert standing_height(pts) == pytest.approx(1.63 / 0.955, rel=1e-3)
    assert bone_spread(pts) == pytest.approx(0.0)
    grid = np.zeros((5, 8), int)
    assert "Camera 1 has not seen" in coverage_hint((grid, grid), 0)
    grid[:, 3:5] = 1
    assert "LEFT edge" in coverage_hint((grid, grid), 0)
    grid[:, 0:2] = 1
    assert "RIGHT edge" in coverage_hint((grid, grid), 0)
    grid[:, :] = 1
    assert "Keep walking" in coverage_hint((grid, grid), 100) and "Enough" in coverage_hint((grid, grid), 900)


def test_calibrate_from_a_person_on_the_real_balancing_take(tmp_path):
    """cam01 + cam04 of the Pose2Sim take (a bystander walks through cam01) with the Qualisys lenses and a 1.67 m
    height: the relative pose within 2 degrees and the baseline within 3 % of Qualisys's."""
    videos = [need(POSE2SIM / "videos" / f"cam0{i}.mp4") for i in (1, 4)]
    calib = POSE2SIM / "Calib_qualisys.toml"
    out = tmp_path / "person.toml"
    cmd = [sys.executable, "main.py", "calibrate", "--from-person", "--cam0", str(videos[0]), "--cam1", str(videos[1])]
    cmd += ["--intrinsics", str(calib), "--names", "cam_01,cam_04", "--height", "1.67", "--out", str(out), "--json"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    figures = json.loads(res.stdout)
    assert figures["frames"] >= 90 and figures["scale_source"] == "height" and figures["verdict"] in ("good", "usable")
    ours = load_calibration(out)
    ref = load_calibration(calib).group.subset(["cam_01", "cam_04"])
    angle, _ = relative_pose_error(ours.group, ref)
    baseline_ref = np.linalg.norm(ref[1].center - ref[0].center)
    assert angle < 2.0 and abs(figures["baseline_m"] / baseline_ref - 1) < 0.03, (angle, figures["baseline_m"])
    md = ours.metadata
    assert md["solver"].startswith("person") and md["world_up"] == "+z" and md["units"] == "m"
    assert md["person_height_m"] == pytest.approx(1.67) and md["sigma_rotation_deg"] > 0
    # no height and no distance: a clear message, exit 2, no file
    bad = tmp_path / "bad.toml"
    cmd = [sys.executable, "main.py", "calibrate", "--from-person", "--cam0", str(videos[0]), "--cam1", str(videos[1])]
    res = subprocess.run(cmd + ["--out", str(bad)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--height" in res.stderr and "Traceback" not in res.stderr and not bad.exists()
    res = subprocess.run(
        cmd + ["--board", "chessboard:9x6:0.03", "--height", "1.7", "--out", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "drop --board" in res.stderr
