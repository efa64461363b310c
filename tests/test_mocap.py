"""Tests of models.mocap (real mocap -> H36M-17, metres, Z-up) and models.synthetic (virtual rigs, 2D noise)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.bvh import read_bvh
from core.camera import convergence_angle_deg
from core.errors import InputError
from core.skeleton import JOINT_INDEX, LR_PAIRS, MIRROR, bone_lengths
from core.up_axis import rotation_to_z_up
from models import mocap, synthetic
from models.mocap import Motion, load_motion, load_motion_folder
from models.synthetic import NoiseConfig, RigConfig, make_stereo_samples, rig_from_samples, sample_rig

MOCAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mocap"
if not MOCAP.is_dir():
    MOCAP = Path("/work/shared/data/mocap")
needs_mocap = pytest.mark.skipif(not MOCAP.is_dir(), reason=f"shared mocap data not found at {MOCAP}")

DEEPMIMIC = sorted((MOCAP / "deepmimic").glob("humanoid3d_*.txt")) if MOCAP.is_dir() else []
BVH = sorted((MOCAP / "bvh").glob("*.bvh")) if MOCAP.is_dir() else []
#: CMU takes (ASF/AMC, 120 fps): one short take per subject keeps the suite quick; every take in test_asf_amc.py.
CMU = [MOCAP / "cmu" / f"{t}.amc" for t in ("01/01_08", "02/02_01", "03/03_01")] if (MOCAP / "cmu").is_dir() else []
ALL_FILES = DEEPMIMIC + BVH + CMU

J = JOINT_INDEX
#: Bones that are rigid in both sources: pelvis-hips, thighs, shins, upper arms, forearms (indices into BONES).
RIGID_BONES = [0, 1, 2, 3, 4, 5, 11, 12, 14, 15]
#: Motions in which the person stands on their feet most of the time.
STANDING = {"walk", "run", "jump", "kick", "punch", "dance_a", "spin", "backflip", "test_freebvh", "02_01", "03_01"}


@pytest.fixture(scope="module")
def motions() -> list[Motion]:
    if not MOCAP.is_dir():
        pytest.skip(f"shared mocap data not found at {MOCAP}")
    return load_motion_folder(MOCAP / "deepmimic") + load_motion_folder(MOCAP / "bvh") + [load_motion(p) for p in CMU]


# ----------------------------------------------------------------------------- rotations, parsing


def test_quat_and_up_rotations():
    R = mocap.quat_to_matrix(np.array([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)]))  # 90 deg about z
    np.testing.assert_allclose(R @ [1.0, 0, 0], [0, 1, 0], atol=1e-12)
    for up, vec in (("y", [0, 1, 0]), ("x", [1, 0, 0]), ("z", [0, 0, 1]), ("-y", [0, -1, 0])):
        Ru = rotation_to_z_up(up)
        assert np.isclose(np.linalg.det(Ru), 1.0), up
        np.testing.assert_allclose(Ru @ np.array(vec, float), [0, 0, 1], atol=1e-12)


def test_bad_files_raise_input_errors(tmp_path):
    with pytest.raises(InputError, match="No motion file"):
        load_motion(tmp_path / "missing.bvh")
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition\n")
    with pytest.raises(InputError, match="MOTION"):
        load_motion(bad)
    clip = tmp_path / "humanoid3d_x.txt"
    clip.write_text('{"Frames": [[1, 2, 3]]}')
    with pytest.raises(InputError, match="humanoid.urdf"):
        load_motion(clip)
    other = tmp_path / "x.c3d"
    other.write_text("")
    with pytest.raises(InputError, match="Unsupported"):
        load_motion(other)


# ----------------------------------------------------------------------------- real files


@needs_mocap
def test_folder_loads_every_clip(motions):
    assert len(motions) == len(ALL_FILES) >= 13
    names = {m.name for m in motions}
    assert {"walk", "run", "backflip", "test_mocapbank", "test_freebvh"} <= names


@needs_mocap
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_motion_fk_sanity(path, motions):
    m = next(m for m in motions if m.source == str(path))
    X = m.joints
    assert X.ndim == 3 and X.shape[1:] == (17, 3) and X.shape[0] >= 20 and np.isfinite(X).all()
    assert m.up_axis == "z" and m.source_up_axis == "y"
    assert 15.0 <= m.fps <= 121.0 and m.times.shape == (X.shape[0],) and np.all(np.diff(m.times) > 0)
    bl = bone_lengths(X)  # (F, 16) m
    # FK sanity: rigid bones keep their length in every frame
    rigid = bl[:, RIGID_BONES]
    assert np.max(np.ptp(rigid, axis=0)) < 1e-6, "a rigid bone changed length: FK is wrong"
    # plausible adult proportions (metres)
    med = np.median(bl, axis=0)
    thigh, shin = med[[1, 4]], med[[2, 5]]
    upper, fore = med[[11, 14]], med[[12, 15]]
    assert np.all((0.33 < thigh) & (thigh < 0.55)) and np.all((0.32 < shin) & (shin < 0.5))
    assert np.all((0.22 < upper) & (upper < 0.36)) and np.all((0.18 < fore) & (fore < 0.32))  # CMU 02: 0.189
    # left = right (a CMU skeleton is measured on the subject: up to 5 % apart)
    np.testing.assert_allclose(med[[1, 2, 11, 12]], med[[4, 5, 14, 15]], rtol=0.06 if path.suffix == ".amc" else 0.03)
    shoulder_w = np.median(np.linalg.norm(X[:, J["left_shoulder"]] - X[:, J["right_shoulder"]], axis=-1))
    hip_w = np.median(np.linalg.norm(X[:, J["left_hip"]] - X[:, J["right_hip"]], axis=-1))
    assert 0.28 < shoulder_w < 0.5 and 0.14 < hip_w < 0.3
    # midline joints follow the detector mapping: pelvis = mid-hips, thorax = mid-shoulders
    np.testing.assert_allclose(X[:, J["pelvis"]], X[:, [J["left_hip"], J["right_hip"]]].mean(1), atol=1e-9)
    np.testing.assert_allclose(X[:, J["thorax"]], X[:, [11, 14]].mean(1), atol=1e-9)
    # feet near the floor, never through it
    ankle_z = X[:, [J["right_ankle"], J["left_ankle"]], 2].min(axis=1)
    assert ankle_z.min() > -0.06
    if m.name in STANDING:
        assert 0.0 < np.percentile(ankle_z, 5) < 0.15
        upright = X[:, J["head_top"], 2] - X[:, J["pelvis"], 2] > 0.5
        stature = np.max(X[upright, J["head_top"], 2] - ankle_z[upright]) + 0.08
        assert 1.5 < stature < 2.0, stature
        # right-handed frame and correct sides: left joints lie on the subject's left (up x forward)
        fwd = X[:, J["nose"]] - X[:, J["thorax"]]
        fwd[:, 2] = 0
        left = np.cross([0.0, 0.0, 1.0], fwd)
        for r, lft in LR_PAIRS[[0, 3]]:
            assert np.mean(np.sum((X[upright, lft] - X[upright, r]) * left[upright], axis=-1) > 0) > 0.9


@needs_mocap
def test_deepmimic_scale_puts_soles_on_the_floor():
    """The URDF scale (0.25) makes the foot boxes touch the floor (y = 0) while walking; 0.3 would not."""
    frames = mocap._read_deepmimic_frames(MOCAP / "deepmimic" / "humanoid3d_walk.txt")
    for scale, ok in ((mocap.DEEPMIMIC_SCALE, True), (0.3, False)):
        model = mocap.read_urdf(MOCAP / "deepmimic" / "humanoid.urdf", scale=scale)
        soles = mocap.deepmimic_sole_points(mocap.deepmimic_forward_kinematics(frames, model), model)
        lowest = soles[..., 1].min(axis=1)  # per frame, metres above the floor
        assert (abs(np.median(lowest)) < 0.02) == ok


@needs_mocap
def test_bvh_name_mapping_and_units():
    mixamo = read_bvh(MOCAP / "bvh" / "test_freebvh.bvh")
    idx = mocap._find_bvh_joints(mixamo)
    assert mixamo.names[idx["right_shoulder"]] == "mixamorig:RightArm"  # not the clavicle 'RightShoulder'
    assert mixamo.names[idx["left_knee"]] == "mixamorig:LeftLeg"
    assert mixamo.names[idx["head_top"]] == "mixamorig:HeadTop_End"
    bank = read_bvh(MOCAP / "bvh" / "test_mocapbank.bvh")
    idx = mocap._find_bvh_joints(bank)
    assert bank.names[idx["right_shoulder"]] == "RightShoulder"  # the collar there is 'RightCollar'
    assert bank.names[idx["left_wrist"]] == "LeftWrist"
    cm = load_motion(MOCAP / "bvh" / "test_mocapbank.bvh")
    m = mocap.load_bvh(MOCAP / "bvh" / "test_mocapbank.bvh", units="m")
    np.testing.assert_allclose(bone_lengths(m.joints)[0] / 100, bone_lengths(cm.joints)[0], rtol=1e-9)


@needs_mocap
def test_bvh_unit_guess_on_a_millimetre_copy(tmp_path):
    """The same file with every length x10 (mm) is recognised as mm and gives the same joints."""
    head, _, motion = (MOCAP / "bvh" / "test_mocapbank.bvh").read_text().partition("MOTION")
    lines = []
    for ln in head.splitlines():
        if ln.strip().startswith("OFFSET"):
            ln = "OFFSET " + " ".join(str(10 * float(v)) for v in ln.split()[1:])
        lines.append(ln)
    mlines = motion.strip().splitlines()
    rows = [" ".join([str(10 * float(v)) for v in r.split()[:3]] + r.split()[3:]) for r in mlines[2:]]
    p = tmp_path / "mm.bvh"
    p.write_text("\n".join(lines) + "\nMOTION\n" + "\n".join(mlines[:2] + rows) + "\n")
    mm, cm = load_motion(p), load_motion(MOCAP / "bvh" / "test_mocapbank.bvh")
    np.testing.assert_allclose(mm.joints, cm.joints, atol=1e-6)


# ----------------------------------------------------------------------------- synthetic rigs


def test_rigs_respect_the_stated_ranges():
    cfg = RigConfig()
    rng = np.random.default_rng(7)
    sizes = set()
    for _ in range(150):
        g = sample_rig(rng, cfg)
        st = synthetic.rig_stats(g)
        assert cfg.baseline_m[0] <= st["baseline_m"] <= cfg.baseline_m[1]
        assert cfg.convergence_deg[0] <= convergence_angle_deg(g[0], g[1]) <= cfg.convergence_deg[1]
        for v, cam in enumerate(g):
            assert cfg.distance_m[0] <= st[f"distance{v + 1}_m"] <= cfg.distance_m[1]
            assert cfg.fov_deg[0] - 1e-6 <= st[f"fov{v + 1}_deg"] <= cfg.fov_deg[1] + 1e-6
            w, h = cam.size
            assert (w, h) in cfg.sizes or (h, w) in cfg.sizes
            sizes.add((w, h))
            assert abs(cam.K[1, 1] / cam.K[0, 0] - 1) < 0.03
            assert abs(cam.K[0, 2] - w / 2) < 0.1 * w and abs(cam.K[1, 2] - h / 2) < 0.1 * h
            k1, k2 = cam.dist[:2]
            assert cfg.k1[0] <= k1 <= cfg.k1[1] and cfg.k2[0] <= k2 <= cfg.k2[1]
            # the camera looks at the subject: the torso centre projects inside the image
            uv = cam.project(np.array([0.0, 0.0, synthetic.SUBJECT_CENTRE_Z]))
            assert 0 <= uv[0] < w and 0 <= uv[1] < h
            # upright camera, little roll: image 'right' is near horizontal, image 'down' points down
            assert abs(cam.R[0] @ [0, 0, 1]) < 0.25 and cam.R[1] @ [0, 0, 1] < -0.3
    assert any(w < h for w, h in sizes) and any(w > h for w, h in sizes)


@pytest.fixture(scope="module")
def samples(motions) -> dict[str, np.ndarray]:
    return make_stereo_samples(motions, 6, np.random.default_rng(3), frame_stride=2)


@needs_mocap
def test_samples_layout(samples, motions):
    N = len(samples["frame"])
    shapes = {
        "kp2d_noisy": (N, 2, 17, 2),
        "conf": (N, 2, 17),
        "kp2d_clean": (N, 2, 17, 2),
        "joints3d": (N, 17, 3),
        "K": (N, 2, 3, 3),
        "dist": (N, 2, 5),
        "R": (N, 2, 3, 3),
        "t": (N, 2, 3),
        "image_size": (N, 2, 2),
        "clip_id": (N,),
        "rig_id": (N,),
    }
    for k, s in shapes.items():
        assert samples[k].shape == s, k
    for k in ("kp2d_noisy", "conf", "kp2d_clean", "joints3d", "K", "R", "t"):
        assert samples[k].dtype == np.float32 and np.isfinite(samples[k]).all(), k
    assert set(np.unique(samples["rig_id"])) == set(range(6))
    assert set(np.unique(samples["clip_id"])) <= set(range(len(motions)))
    assert 0.02 <= samples["conf"].min() and samples["conf"].max() <= 1.0
    # one rig = one pair of cameras, whatever the clip
    for r in range(6):
        m = samples["rig_id"] == r
        assert np.ptp(samples["R"][m], axis=0).max() == 0 and np.ptp(samples["K"][m], axis=0).max() == 0
    # clean 2D lies inside the images
    size = samples["image_size"][..., None, :]
    assert np.all((samples["kp2d_clean"] >= 0) & (samples["kp2d_clean"] <= size))
    # truth is the clip's pose up to a yaw and a horizontal shift: bone lengths match
    i = 10
    clip = motions[samples["clip_id"][i]]
    np.testing.assert_allclose(
        bone_lengths(samples["joints3d"][i]), bone_lengths(clip.joints[samples["frame"][i]]), atol=1e-5
    )


@needs_mocap
def test_clean_2d_triangulates_back_to_the_truth(samples):
    for r in range(6):
        m = np.flatnonzero(samples["rig_id"] == r)[::7]
        g = rig_from_samples(samples, int(m[0]))
        uv = [g[v].undistort(samples["kp2d_clean"][m, v].reshape(-1, 2).astype(np.float64)) for v in range(2)]
        Xh = cv2.triangulatePoints(g[0].P, g[1].P, uv[0].T, uv[1].T)
        X = (Xh[:3] / Xh[3]).T.reshape(-1, 17, 3)
        assert np.abs(X - samples["joints3d"][m]).max() < 1e-4  # metres


@needs_mocap
def test_seeded_determinism(motions):
    few = motions[:3]
    a = make_stereo_samples(few, 2, np.random.default_rng(11), frame_stride=4)
    b = make_stereo_samples(few, 2, np.random.default_rng(11), frame_stride=4)
    c = make_stereo_samples(few, 2, np.random.default_rng(12), frame_stride=4)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert a["kp2d_noisy"].shape != c["kp2d_noisy"].shape or not np.array_equal(a["kp2d_noisy"], c["kp2d_noisy"])


@needs_mocap
def test_zero_noise_gives_the_clean_projections(motions):
    quiet = dataclasses.replace(NoiseConfig.clean(0.0), conf_noise_std=0.0)
    s = make_stereo_samples(motions[:2], 2, np.random.default_rng(0), noise_config=quiet, frame_stride=3)
    np.testing.assert_allclose(s["kp2d_noisy"], s["kp2d_clean"], atol=1e-3)  # px
    assert np.all(s["conf"] > 0.99)


@needs_mocap
def test_noise_statistics(motions):
    cfg = NoiseConfig(outlier_rate=0.05, swap_limb_rate=0.04, swap_all_rate=0.01)
    s = make_stereo_samples(motions, 4, np.random.default_rng(5), noise_config=cfg)
    base = np.setdiff1d(np.arange(17), [J["pelvis"], J["spine"], J["thorax"]])
    out = s["outlier"][..., base].mean()
    assert abs(out - cfg.outlier_rate) < 0.15 * cfg.outlier_rate
    legs = s["swapped"][..., J["right_knee"]].mean()
    expect = 1 - (1 - cfg.swap_limb_rate) * (1 - cfg.swap_all_rate)
    assert abs(legs - expect) < 0.25 * expect
    whole = s["swapped"][..., J["right_hip"]].mean()
    assert abs(whole - cfg.swap_all_rate) < 0.5 * cfg.swap_all_rate
    # swapped joints hold the mirror joint's detection
    assert np.all(s["swapped"][..., J["right_knee"]] == s["swapped"][..., MIRROR[J["right_knee"]]])
    # the errors in 3D-equivalent metres (px * depth / fx)
    depth = np.einsum("nvij,nj->nvi", s["R"], s["joints3d"][:, 0])[..., 2] + s["t"][..., 2]  # pelvis depth (N, 2)
    err = np.linalg.norm(s["kp2d_noisy"] - s["kp2d_clean"], axis=-1) * (depth / s["K"][..., 0, 0])[..., None]
    clean = ~s["outlier"] & ~s["swapped"]
    med = {j: np.median(err[..., J[j]][clean[..., J[j]]]) for j in ("left_shoulder", "left_wrist", "left_ankle")}
    assert med["left_shoulder"] < med["left_wrist"] and med["left_shoulder"] < med["left_ankle"]
    assert 0.005 < med["left_shoulder"] < 0.03 and med["left_ankle"] < 0.1
    # outliers are far and less confident; confidence falls with the error
    assert np.median(err[s["outlier"]]) > 5 * med["left_shoulder"]
    assert s["conf"][s["outlier"]].mean() < s["conf"][clean].mean() - 0.3
    e, c = err[clean].ravel(), s["conf"][clean].ravel()
    assert np.corrcoef(np.argsort(np.argsort(e)), np.argsort(np.argsort(c)))[0, 1] < -0.3
    # the hips carry a constant bias the shoulders do not: the signed mean error per sequence
    for seq in np.unique(s["seq_id"])[:10]:
        m = (s["seq_id"] == seq)[:, None] & clean[..., J["right_hip"]] & clean[..., J["right_shoulder"]]
        d_hip = (s["kp2d_noisy"] - s["kp2d_clean"])[..., J["right_hip"], :][m].mean(0)
        d_sh = (s["kp2d_noisy"] - s["kp2d_clean"])[..., J["right_shoulder"], :][m].mean(0)
        if m.sum() > 40:
            assert np.linalg.norm(d_hip) > np.linalg.norm(d_sh)
    # the detector mapping: the pelvis carries the mean error of the hips, its confidence the lower of theirs
    hips = [J["right_hip"], J["left_hip"]]
    d = s["kp2d_noisy"] - s["kp2d_clean"]
    ok = ~(s["swapped"] | s["outlier"])[..., hips].any(-1)
    e_pelvis, e_hips = d[..., J["pelvis"], :][ok], d[..., hips, :].mean(-2)[ok]
    assert np.median(np.linalg.norm(e_pelvis - e_hips, axis=-1)) < 0.1 * np.median(np.linalg.norm(e_hips, axis=-1))
    np.testing.assert_allclose(s["conf"][..., J["pelvis"]], s["conf"][..., hips].min(-1))


def test_mediapipe_noise_has_the_measured_stds_tails_and_memory():
    """detector_noise.md as a generator: per-joint stds in its order, std ~ 2x the robust std with its tail
    fractions (Student-t 2.4), lag-1 correlation ~0.78 at 60 fps (less at 30 fps), a constant bias per view."""
    from models.synthetic import MEDIAPIPE_FLUCT_M, mediapipe_offsets

    off, bias = mediapipe_offsets(np.random.default_rng(0), 40_000, 60.0, NoiseConfig.mediapipe())
    assert off.shape == bias.shape == (40_000, 17, 2)
    assert np.ptp(bias, axis=0).max() == 0.0  # constant over the take
    f = off - bias
    robust = 1.4826 * np.median(np.abs(f - np.median(f, axis=0)), axis=0).mean(-1)  # (17,) m
    np.testing.assert_allclose(robust, 0.5 * MEDIAPIPE_FLUCT_M, rtol=0.15)
    x = f[:, J["right_ankle"], 0]
    r = 1.4826 * np.median(np.abs(x))
    assert 1.4 < x.std() / r < 2.4
    assert 0.035 < np.mean(np.abs(x) > 3 * r) < 0.08 and 0.008 < np.mean(np.abs(x) > 5 * r) < 0.03
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    lag20 = np.corrcoef(x[:-20], x[20:])[0, 1]
    assert 0.72 < lag1 < 0.86 and abs(lag20) < 0.12
    off30, bias30 = mediapipe_offsets(np.random.default_rng(1), 20_000, 30.0, NoiseConfig.mediapipe())
    y = (off30 - bias30)[:, J["right_ankle"], 0]
    assert np.corrcoef(y[:-1], y[1:])[0, 1] < lag1 - 0.1  # frames further apart in time
    half, hb = mediapipe_offsets(np.random.default_rng(0), 40_000, 60.0, NoiseConfig.mediapipe(0.5))
    np.testing.assert_allclose(half - hb, 0.5 * f, rtol=1e-9, atol=1e-12)  # the level scales the error


@needs_mocap
def test_mediapipe_and_clean_noise_in_stereo_samples(motions):
    """The realistic style lands on the right joints in metres at the subject; the clean condition is pixel noise."""
    from models.synthetic import MEDIAPIPE_FLUCT_M

    s = make_stereo_samples(motions, 3, np.random.default_rng(2), noise_config=NoiseConfig.mediapipe())
    depth = np.einsum("nvij,nkj->nvki", s["R"], s["joints3d"])[..., 2] + s["t"][..., None, 2]  # (N, 2, 17)
    err = (s["kp2d_noisy"] - s["kp2d_clean"]) * (depth / s["K"][..., 0, 0, None])[..., None]
    ok = ~(s["swapped"] | s["outlier"])
    wrist, shoulder = J["left_wrist"], J["left_shoulder"]
    e = {j: 1.4826 * np.median(np.abs(err[..., j, 0][ok[..., j]])) for j in (wrist, shoulder)}
    assert e[wrist] > 1.3 * e[shoulder]
    assert 0.4 * MEDIAPIPE_FLUCT_M[wrist] < e[wrist] < 1.2 * MEDIAPIPE_FLUCT_M[wrist]
    c = make_stereo_samples(motions[:3], 2, np.random.default_rng(3), noise_config=NoiseConfig.clean(1.5))
    d = c["kp2d_noisy"] - c["kp2d_clean"]
    base = np.setdiff1d(np.arange(17), [J["pelvis"], J["spine"], J["thorax"]])
    assert abs(d[..., base, :].std() - 1.5) < 0.1 and not c["swapped"].any() and not c["outlier"].any()


@needs_mocap
def test_split_by_clip_and_rig(samples):
    train, val = synthetic.split_train_val(samples, np.random.default_rng(0), 0.3, 0.3)
    assert train.any() and val.any() and not (train & val).any()
    assert not set(samples["clip_id"][train]) & set(samples["clip_id"][val])
    assert not set(samples["rig_id"][train]) & set(samples["rig_id"][val])
