"""Tests of core/export/ and core/bvh.py: every export is read back by an independent reader and checked value by value.

Real motion: ``mocap/bvh/test_mocapbank.bvh`` (455 frames, 30 fps, cm, Y-up) parsed with the module's BVH
reader and mapped to H36M-17 as follows (BVH joint -> H36M joint):

    Hips -> pelvis              RightHip/Knee/Ankle -> right_hip/knee/ankle
    Chest2 -> spine             LeftHip/Knee/Ankle -> left_hip/knee/ankle
    Neck -> thorax              LeftShoulder/Elbow/Wrist -> left_shoulder/elbow/wrist
    Head -> nose                RightShoulder/Elbow/Wrist -> right_shoulder/elbow/wrist
    Head's End Site -> head_top

The motion is then given constant bone lengths (each bone rescaled to its median length along its own
direction, root outwards) and turned into a Z-up "lab" world frame, so the exporters' "+z" path is used.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from core.bvh import bvh_forward_kinematics, bvh_joint_positions, read_bvh
from core.camera import project_points, rodrigues_to_matrix
from core.export import (
    FORMATS,
    ExportError,
    export,
    format_from_path,
    read_trc,
    skeleton_to_bvh,
    to_yup,
    up_axis_rotation,
    write_bvh,
)
from core.skeleton import BONES, JOINT_NAMES, MARKER_NAMES, PARENTS
from tests.paths import SHARED_DATA, need

DATA = SHARED_DATA
MOCAPBANK = DATA / "mocap" / "bvh" / "test_mocapbank.bvh"
FREEBVH = DATA / "mocap" / "bvh" / "test_freebvh.bvh"
P2S = DATA / "sessions" / "pose2sim_balancing"
REFERENCE_TRC = P2S / "reference_pose2sim_4cam.trc"

BVH_TO_H36M = {
    "pelvis": "Hips",
    "right_hip": "RightHip",
    "right_knee": "RightKnee",
    "right_ankle": "RightAnkle",
    "left_hip": "LeftHip",
    "left_knee": "LeftKnee",
    "left_ankle": "LeftAnkle",
    "spine": "Chest2",
    "thorax": "Neck",
    "nose": "Head",
    "head_top": "Head_end",
    "left_shoulder": "LeftShoulder",
    "left_elbow": "LeftElbow",
    "left_wrist": "LeftWrist",
    "right_shoulder": "RightShoulder",
    "right_elbow": "RightElbow",
    "right_wrist": "RightWrist",
}
FPS = 30.0


def _need(path: Path) -> None:
    need(path)


def _constant_lengths(points: np.ndarray) -> np.ndarray:
    """Rescale every bone to its median length along its own direction, root outwards (PARENTS order)."""
    out = points.copy()
    med = np.median(np.linalg.norm(points[:, BONES[:, 1]] - points[:, BONES[:, 0]], axis=-1), axis=0)
    for b, (a, c) in enumerate(BONES.tolist()):
        v = points[:, c] - points[:, a]
        out[:, c] = out[:, a] + v / np.linalg.norm(v, axis=-1, keepdims=True) * med[b]
    return out


@pytest.fixture(scope="module")
def mocap_yup() -> np.ndarray:
    """(455, 17, 3) metres, Y-up, constant bone lengths, from real motion capture."""
    _need(MOCAPBANK)
    motion = read_bvh(MOCAPBANK, scale=0.01)
    h36m = bvh_forward_kinematics(motion)[:, [motion.index(BVH_TO_H36M[n]) for n in JOINT_NAMES]]
    return _constant_lengths(h36m)


@pytest.fixture(scope="module")
def mocap_world(mocap_yup: np.ndarray) -> np.ndarray:
    """The same motion in a Z-up world frame (the inverse of the '+z' export rotation)."""
    return mocap_yup @ up_axis_rotation("+z")  # p_world = R^T p_yup, as row vectors


@pytest.fixture(scope="module")
def times(mocap_yup: np.ndarray) -> np.ndarray:
    return 2.0 + np.arange(len(mocap_yup)) / FPS


@pytest.fixture()
def gappy(mocap_world: np.ndarray) -> np.ndarray:
    """Real motion with holes: a whole frame, a wrist for 20 frames, the last marker in one frame."""
    pts = mocap_world.copy()
    pts[10] = np.nan
    pts[50:70, JOINT_NAMES.index("left_wrist")] = np.nan
    pts[100, -1] = np.nan
    pts[101, 3, 1] = np.nan  # one coordinate missing -> the joint is missing
    return pts


def _errors(points: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    err = rng.uniform(0.2, 6.0, points.shape[:2])
    err[~np.isfinite(points).all(axis=-1)] = np.nan
    return err


# ----------------------------------------------------------------------------- frames


def test_up_axis_rotation_conventions() -> None:
    v = np.array([1.0, 2.0, 3.0])
    assert np.allclose(up_axis_rotation("+z") @ v, [2.0, 3.0, 1.0])  # (x, y, z) -> (y, z, x)
    assert np.allclose(up_axis_rotation("z") @ v, [2.0, 3.0, 1.0])
    assert np.allclose(up_axis_rotation("+y"), np.eye(3))
    assert np.allclose(up_axis_rotation("-y") @ v, [1.0, -2.0, -3.0])  # camera frame: y down -> OpenGL flip
    for spec in ("+x", "-x", "+y", "-y", "+z", "-z", "-Z"):
        R = up_axis_rotation(spec)
        assert np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0), spec
        up = np.zeros(3)
        up["xyz".index(spec[1].lower())] = 1.0 if spec[0] == "+" else -1.0
        assert np.allclose(R @ up, [0.0, 1.0, 0.0]), spec
    for bad in ("up", "+w", "", "++z"):
        with pytest.raises(ExportError, match=r"\+z"):
            up_axis_rotation(bad)


def test_up_axis_matches_pose2sim_reference() -> None:
    """Undo '+z' on Pose2Sim's Y-up TRC and reproject through the Z-up calibration onto OpenPose's 2D joints."""
    _need(REFERENCE_TRC)
    trc = read_trc(REFERENCE_TRC)
    calib = tomllib.loads((P2S / "Calib_qualisys.toml").read_text())
    body25b = {"Nose": 0, "LShoulder": 5, "RShoulder": 6, "LElbow": 7, "RElbow": 8, "LWrist": 9, "RWrist": 10}
    body25b |= {"LHip": 11, "RHip": 12, "LKnee": 13, "RKnee": 14, "LAnkle": 15, "RAnkle": 16}
    cols = [trc.marker_names.index(n) for n in body25b]
    kp_idx = np.array(list(body25b.values()))

    def median_error(R: np.ndarray) -> float:
        world = trc.points[:, cols] @ R  # p_world = R^T p_yup
        errs = []
        for c in range(1, 5):
            cam = calib[f"cam_0{c}"]
            uv = project_points(
                world,
                np.array(cam["matrix"]),
                np.r_[cam["distortions"], 0.0],
                rodrigues_to_matrix(np.array(cam["rotation"])),
                np.array(cam["translation"]),
            )
            for f in range(0, len(world), 5):
                js = json.loads((P2S / "openpose_body25b" / f"cam{c}" / f"cam0{c}.{f:04d}.json").read_text())
                people = [np.array(p["pose_keypoints_2d"]).reshape(-1, 3)[kp_idx] for p in js["people"]]
                if not people:
                    continue
                d = [np.where(k[:, 2] > 0.5, np.linalg.norm(k[:, :2] - uv[f], axis=1), np.inf) for k in people]
                best = d[int(np.argmin([np.median(x) for x in d]))]  # the bystander is further away
                errs.append(best[np.isfinite(best)])
        return float(np.median(np.concatenate(errs)))

    good = median_error(up_axis_rotation("+z"))
    assert good < 20.0, good  # pixels on 1088x1920 images (Pose2Sim's filtered output vs raw OpenPose)
    turned = np.diag([-1.0, 1.0, -1.0]) @ up_axis_rotation("+z")  # also Y-up, but facing the other way
    for wrong in [up_axis_rotation(s) for s in ("-z", "+y", "-y", "+x", "-x")] + [turned]:
        assert median_error(wrong) > 10 * good  # any other frame is far off


# ----------------------------------------------------------------------------- TRC


def _plain_trc(path: Path) -> tuple[list[list[str]], np.ndarray]:
    """Independent TRC parse: the 5 header lines as tab fields, and the data rows as floats (empty/NaN -> nan)."""
    lines = path.read_text().split("\n")
    assert lines[-1] == ""  # ends with a newline
    header = [line.split("\t") for line in lines[:5]]
    rows = [[float(x) if x not in ("", "NaN", "nan") else math.nan for x in line.split("\t")] for line in lines[5:-1]]
    return header, np.array(rows)


def test_trc_header_layout_matches_reference(tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray) -> None:
    _need(REFERENCE_TRC)
    out = export(mocap_world, times, tmp_path / "walk.trc", up_axis="+z", fps=FPS)
    mine, _ = _plain_trc(out)
    ref, ref_rows = _plain_trc(REFERENCE_TRC)
    assert mine[0][:3] == ref[0][:3] == ["PathFileType", "4", "(X/Y/Z)"] and mine[0][3] == "walk.trc"
    assert len(mine[0]) == len(ref[0]) == 4
    assert mine[1] == ref[1]
    assert len(mine[2]) == len(ref[2]) == 8
    assert mine[2][:6] == ["30", "30", str(len(times)), "17", "m", "30"] and ref[2][4] == "m"

    def names_line(names: list[str]) -> list[str]:
        return ["Frame#", "Time"] + [x for n in names for x in (n, "", "")]

    def xyz_line(n: int) -> list[str]:
        return ["", ""] + [f"{a}{i}" for i in range(1, n + 1) for a in "XYZ"]

    ref_names = [x for x in ref[3][2:] if x]
    assert ref[3] == names_line(ref_names) and ref[4] == xyz_line(len(ref_names))  # the layout we copy
    assert mine[3] == names_line(list(MARKER_NAMES))
    assert mine[4] == xyz_line(17)
    raw = out.read_text().split("\n")
    assert all(len(r.split("\t")) == 2 + 3 * 17 for r in raw[5:-1])  # no trailing tab, like the reference
    assert ref_rows.shape[1] == 2 + 3 * len(ref_names)


def test_trc_roundtrip_with_gaps(tmp_path: Path, gappy: np.ndarray, times: np.ndarray) -> None:
    out = export(gappy, times, tmp_path / "gaps.trc", up_axis="+z", fps=FPS)
    header, rows = _plain_trc(out)
    assert dict(zip(header[1], header[2]))["NumFrames"] == str(len(gappy))
    assert dict(zip(header[1], header[2]))["Units"] == "m"
    assert np.array_equal(rows[:, 0], np.arange(1, len(gappy) + 1))  # Frame# from 1
    assert np.allclose(rows[:, 1], times, atol=1e-6)
    expected = to_yup(gappy, "+z").reshape(len(gappy), -1)
    assert np.array_equal(np.isnan(rows[:, 2:]), np.isnan(expected))
    assert np.nanmax(np.abs(rows[:, 2:] - expected)) < 1e-6
    # OpenSim reads NaN (strtod) and needs every row 2 + 3M fields wide, the last marker included
    row101 = out.read_text().split("\n")[5 + 100].split("\t")
    assert len(row101) == 2 + 3 * 17 and row101[-3:] == ["NaN", "NaN", "NaN"]
    back = read_trc(out)  # the module's own reader agrees with the independent one
    assert back.marker_names == MARKER_NAMES and back.units == "m" and back.data_rate == FPS
    assert np.allclose(back.points.reshape(len(gappy), -1), rows[:, 2:], equal_nan=True)


def test_read_trc_reads_pose2sim_reference() -> None:
    _need(REFERENCE_TRC)
    trc = read_trc(REFERENCE_TRC)
    _, rows = _plain_trc(REFERENCE_TRC)
    assert trc.points.shape == (100, 21, 3) and trc.units == "m" and trc.data_rate == 60.0
    assert trc.marker_names[:3] == ("RHip", "RKnee", "RAnkle")
    assert np.allclose(trc.points.reshape(100, -1), rows[:, 2:]) and np.allclose(trc.time_s, rows[:, 1])
    head_y = trc.points[:, trc.marker_names.index("Head"), 1]
    ankle_y = trc.points[:, [trc.marker_names.index("RAnkle"), trc.marker_names.index("LAnkle")], 1].min(axis=1)
    assert np.all(head_y - ankle_y > 1.2)  # Y is up in the reference: the head is well above the lower ankle


# ----------------------------------------------------------------------------- C3D


@pytest.mark.filterwarnings("ignore:No analog data found")
def test_c3d_roundtrip_ezc3d_and_c3d(tmp_path: Path, gappy: np.ndarray, times: np.ndarray) -> None:
    ezc3d = pytest.importorskip("ezc3d")
    import c3d

    out = export(gappy, times, tmp_path / "gaps.c3d", up_axis="+z", fps=FPS)
    f = ezc3d.c3d(str(out))
    params = f["parameters"]["POINT"]
    assert params["UNITS"]["value"] == ["mm"]
    assert list(params["LABELS"]["value"]) == list(MARKER_NAMES)
    assert params["RATE"]["value"][0] == FPS and f["header"]["points"]["frame_rate"] == FPS
    pts = f["data"]["points"]  # (4, 17, P) mm, NaN where the residual is -1
    assert pts.shape == (4, 17, len(gappy))
    expected = to_yup(gappy, "+z") * 1000.0
    got = np.moveaxis(pts[:3], [0, 1, 2], [2, 1, 0])
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.nanmax(np.abs(got - expected)) < 2e-3  # float32 mm
    residuals = f["data"]["meta_points"]["residuals"][0].T  # (P, 17)
    missing = np.isnan(expected).any(axis=-1)
    assert np.all(residuals[missing] == -1) and np.all(residuals[~missing] == 0)

    with open(out, "rb") as handle:
        reader = c3d.Reader(handle)
        assert reader.point_labels[0].strip() == MARKER_NAMES[0] and reader.point_rate == FPS
        frames = [p for _, p, _ in reader.read_frames()]
    raw = np.stack(frames)  # (P, 17, 5): x, y, z, residual, cameras
    assert np.all(raw[missing][:, 3] == -1) and np.all(raw[missing][:, :3] == 0)  # missing: -1, zeros
    assert np.allclose(raw[~missing][:, :3], expected[~missing], atol=2e-3)


# ----------------------------------------------------------------------------- CSV and JSON


def test_csv_roundtrip(tmp_path: Path, gappy: np.ndarray, times: np.ndarray) -> None:
    err = _errors(gappy)
    out = export(gappy, times, tmp_path / "gaps.csv", up_axis="+z", fps=FPS, reprojection_error_px=err)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("#") and "metres (m)" in lines[0] and "pixels (px)" in lines[0]
    assert "up axis +z" in lines[0]
    rows = list(csv.reader(lines[1:]))
    expected_cols = ["frame", "time_s"]
    expected_cols += [f"{j}_{a}" for j in JOINT_NAMES for a in "xyz"] + [f"{j}_err" for j in JOINT_NAMES]
    assert rows[0] == expected_cols
    data = np.array([[float(x) if x else math.nan for x in r] for r in rows[1:]])
    assert np.array_equal(data[:, 0], np.arange(len(gappy)))
    assert np.allclose(data[:, 1], times, atol=1e-6)
    xyz = data[:, 2 : 2 + 51].reshape(len(gappy), 17, 3)
    assert np.array_equal(np.isnan(xyz), np.isnan(gappy).any(axis=-1, keepdims=True).repeat(3, -1))
    assert np.nanmax(np.abs(xyz - gappy)) < 1e-6  # world frame, metres
    assert np.allclose(data[:, 53:], err, atol=1e-3, equal_nan=True)
    assert rows[11][2] == ""  # missing values are empty fields
    assert np.allclose(np.genfromtxt(out, delimiter=",", skip_header=2), data, equal_nan=True)


def test_json_roundtrip(tmp_path: Path, gappy: np.ndarray, times: np.ndarray) -> None:
    err = _errors(gappy)
    out = export(gappy, times, tmp_path / "gaps.json", up_axis="+z", fps=FPS, reprojection_error_px=err)
    doc = json.loads(out.read_text())
    assert doc["units"] == {"position": "m", "time": "s", "reprojection_error": "px"}
    assert doc["up_axis"] == "+z" and doc["fps"] == FPS and doc["num_frames"] == len(gappy)
    assert np.allclose(doc["to_yup_rotation"], up_axis_rotation("+z"))
    assert doc["joint_names"] == list(JOINT_NAMES)
    assert doc["bones"][0] == ["pelvis", "right_hip"] and len(doc["bones"]) == 16
    assert doc["parents"] == PARENTS.tolist()
    frames = doc["frames"]
    assert [fr["frame"] for fr in frames] == list(range(len(gappy)))
    assert np.allclose([fr["time_s"] for fr in frames], times, atol=1e-6)
    assert frames[10]["joints"] == [None] * 17 and frames[10]["reprojection_error_px"] == [None] * 17
    assert frames[101]["joints"][3] is None
    xyz = np.array([[j if j is not None else [math.nan] * 3 for j in fr["joints"]] for fr in frames])
    assert np.array_equal(np.isnan(xyz).any(axis=-1), np.isnan(gappy).any(axis=-1))
    assert np.nanmax(np.abs(xyz - gappy)) < 1e-6
    e = np.array([[math.nan if v is None else v for v in fr["reprojection_error_px"]] for fr in frames])
    assert np.allclose(e, err, atol=1e-3, equal_nan=True)


# ----------------------------------------------------------------------------- BVH


def test_bvh_reproduces_real_motion(tmp_path: Path, mocap_world: np.ndarray, mocap_yup: np.ndarray, times) -> None:
    out = export(mocap_world, times, tmp_path / "walk.bvh", up_axis="+z", fps=FPS)
    text = out.read_text()
    assert text.startswith("HIERARCHY\nROOT pelvis\n{\n\tOFFSET 0.000000 0.000000 0.000000\n")
    assert "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n" in text
    assert text.count("End Site") == 5 and "MOTION\nFrames: 455\nFrame Time: 0.03333333\n" in text
    motion = read_bvh(out)
    assert motion.joint_names == JOINT_NAMES  # one JOINT per H36M joint, PARENTS order
    joint_nodes = [motion.index(n) for n in JOINT_NAMES]
    assert [motion.parents[n] for n in joint_nodes[1:]] == [joint_nodes[p] for p in PARENTS[1:]]
    fk = bvh_joint_positions(motion)
    err = np.linalg.norm(fk - mocap_yup, axis=-1)
    assert err.max() < 0.01, err.max(axis=0)  # metres
    assert err.max() < 1e-4  # in fact exact up to the 6-decimal text
    lengths = np.linalg.norm(fk[:, BONES[:, 1]] - fk[:, BONES[:, 0]], axis=-1)
    assert np.all(lengths.std(axis=0) < 1e-6)  # fixed bone lengths
    median = np.median(np.linalg.norm(mocap_yup[:, BONES[:, 1]] - mocap_yup[:, BONES[:, 0]], axis=-1), axis=0)
    assert np.allclose(lengths[0], median, atol=1e-6)  # the session's per-bone median

    cm = read_bvh(write_bvh(tmp_path / "walk_cm.bvh", mocap_world, times, up_axis="+z", fps=FPS, units="cm"), 0.01)
    assert np.abs(bvh_joint_positions(cm) - mocap_yup).max() < 1e-4


def test_bvh_rigid_branches_option(mocap_yup: np.ndarray) -> None:
    """Without branch translations only the root has position channels; the rigid fit is then off by cm."""
    motion = skeleton_to_bvh(mocap_yup, 1 / FPS, branch_translations=False)
    assert [len(c) for c in motion.channels if c] == [6] + [3] * 16
    err = np.linalg.norm(bvh_joint_positions(motion) - mocap_yup, axis=-1)
    assert err[:, 0].max() < 1e-9  # the root is exact
    assert 0.005 < err.max() < 0.05  # a rigid pelvis/thorax cannot follow the real body within 1 cm


def test_bvh_error_stays_within_bone_length_noise(mocap_yup: np.ndarray) -> None:
    """Per-frame bone-length noise (3 mm): each joint's error is bounded by the length changes on its path."""
    rng = np.random.default_rng(1)
    delta = rng.normal(0.0, 0.003, (len(mocap_yup), len(BONES)))
    noisy = mocap_yup.copy()
    for b, (a, c) in enumerate(BONES.tolist()):
        v = mocap_yup[:, c] - mocap_yup[:, a]
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        noisy[:, c] = noisy[:, a] + v / n * (n + delta[:, b : b + 1])
    motion = skeleton_to_bvh(noisy, 1 / FPS)
    err = np.linalg.norm(bvh_joint_positions(motion) - noisy, axis=-1)
    med = np.median(np.linalg.norm(noisy[:, BONES[:, 1]] - noisy[:, BONES[:, 0]], axis=-1), axis=0)
    dev = np.abs(np.linalg.norm(noisy[:, BONES[:, 1]] - noisy[:, BONES[:, 0]], axis=-1) - med)  # (P, 16)
    bound = np.zeros_like(err)
    for c in range(1, 17):  # sum of |length change| of the bones from the root to each joint
        bound[:, c] = bound[:, PARENTS[c]] + dev[:, c - 1]
    assert np.all(err <= bound + 1e-6)
    assert np.sqrt(np.mean(err**2)) < 3 * 0.003  # RMS within a few noise sigmas


def test_bvh_gaps_are_interpolated(tmp_path: Path, gappy: np.ndarray, mocap_yup: np.ndarray, times) -> None:
    motion = read_bvh(export(gappy, times, tmp_path / "gaps.bvh", up_axis="+z", fps=FPS))
    fk = bvh_joint_positions(motion)
    assert np.isfinite(fk).all()
    known = np.isfinite(gappy).all(axis=-1)
    assert np.linalg.norm(fk - mocap_yup, axis=-1)[known].max() < 0.01
    # the missing frame 10 lies halfway between its neighbours (linear interpolation of the joints)
    assert np.abs(fk[10, 0] - (mocap_yup[9, 0] + mocap_yup[11, 0]) / 2).max() < 1e-5
    # the hidden wrist follows its linear interpolation, at the forearm's fixed length from the elbow
    wrist, elbow = JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("left_elbow")
    w = np.arange(1, 21)[:, None] / 21
    lerp = mocap_yup[49, wrist] + w * (mocap_yup[70, wrist] - mocap_yup[49, wrist])
    a, b = fk[50:70, wrist] - fk[50:70, elbow], lerp - mocap_yup[50:70, elbow]
    cos = np.sum(a * b, axis=-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    assert np.all(cos > 1 - 1e-8)


def test_bvh_reader_on_general_files() -> None:
    _need(MOCAPBANK)
    scipy_rot = pytest.importorskip("scipy.spatial.transform").Rotation
    for path, n_joints, n_frames, order in ((MOCAPBANK, 19, 455, "ZXY"), (FREEBVH, None, 69, "ZYX")):
        if not path.exists():
            continue
        motion = read_bvh(path)
        assert motion.num_frames == n_frames and motion.frame_time == pytest.approx(1 / 30, rel=1e-4)
        if n_joints:
            assert len(motion.joint_names) == n_joints and motion.is_end_site.sum() == 5
        p = bvh_forward_kinematics(motion)
        assert p.shape == (n_frames, len(motion.names), 3) and np.isfinite(p).all()
        # independent FK: plain recursion per frame with scipy's intrinsic Euler angles
        starts = np.cumsum([0] + [len(c) for c in motion.channels])
        for f in (0, n_frames // 2, n_frames - 1):
            G: dict[int, np.ndarray] = {}
            pos: dict[int, np.ndarray] = {}
            for n, chans in enumerate(motion.channels):
                vals = motion.values[f, starts[n] : starts[n + 1]]
                t = motion.offsets[n].copy()
                rot = [(c[0], v) for c, v in zip(chans, vals) if c.endswith("rotation")]
                for c, v in zip(chans, vals):
                    if c.endswith("position"):
                        t["XYZ".index(c[0])] = v
                if rot:
                    assert "".join(a for a, _ in rot) == order
                R = scipy_rot.from_euler(order, [v for _, v in rot], degrees=True).as_matrix() if rot else np.eye(3)
                par = motion.parents[n]
                G[n] = R if par < 0 else G[par] @ R
                pos[n] = t if par < 0 else pos[par] + G[par] @ t
            assert np.allclose(np.array([pos[n] for n in range(len(motion.names))]), p[f], atol=1e-6)


# ----------------------------------------------------------------------------- errors


def test_every_format_writes_real_motion(tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray) -> None:
    for fmt in FORMATS:
        out = export(mocap_world, times, tmp_path / f"m.{fmt}", up_axis="+z")  # fps from time_s
        assert out.stat().st_size > 1000 and format_from_path(out) == fmt
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"m.{f}" for f in FORMATS)  # no leftovers
    assert "DataRate\t" in (tmp_path / "m.trc").read_text() and "\n30\t30\t455\t" in (tmp_path / "m.trc").read_text()


def test_zero_frames_is_a_clear_error(tmp_path: Path) -> None:
    for fmt in FORMATS:
        with pytest.raises(ExportError, match="nothing to export"):
            export(np.zeros((0, 17, 3)), np.zeros(0), tmp_path / f"e.{fmt}", up_axis="+z", fps=30)
    assert not list(tmp_path.iterdir())


def test_single_frame_exports(tmp_path: Path, mocap_world: np.ndarray) -> None:
    for fmt in FORMATS:
        export(mocap_world[:1], [0.0], tmp_path / f"one.{fmt}", up_axis="+z", fps=FPS)
    assert np.abs(read_trc(tmp_path / "one.trc").points[0] - to_yup(mocap_world[0], "+z")).max() < 1e-6
    fk = bvh_joint_positions(read_bvh(tmp_path / "one.bvh"))
    assert fk.shape == (1, 17, 3) and np.abs(fk[0] - to_yup(mocap_world[0], "+z")).max() < 1e-5


def test_unknown_format_lists_the_formats(tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray) -> None:
    with pytest.raises(ExportError) as info:
        export(mocap_world, times, tmp_path / "m.fbx", "fbx", up_axis="+z", fps=FPS)
    assert all(f in str(info.value) for f in FORMATS)
    with pytest.raises(ExportError) as info:
        export(mocap_world, times, tmp_path / "m.fbx", up_axis="+z", fps=FPS)  # from the suffix
    assert all(f in str(info.value) for f in FORMATS)
    assert export(mocap_world, times, tmp_path / "m.txt", "CSV", up_axis="+z", fps=FPS).exists()


def test_unwritable_paths_are_clear_errors(tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray) -> None:
    (tmp_path / "a_file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    cases = {
        tmp_path / "no_such_folder" / "m.trc": "does not exist",
        tmp_path / "a_file" / "m.trc": "does not exist",
        tmp_path: "is a folder",
    }
    for fmt in FORMATS:
        for path, message in cases.items():
            with pytest.raises(ExportError, match=message):
                export(mocap_world[:5], times[:5], path, fmt, up_axis="+z", fps=FPS)
    assert sorted(os.listdir(tmp_path)) == before


def test_failed_writes_leave_old_file_intact(
    tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.export.files as ex

    target = tmp_path / "m.trc"
    target.write_text("previous export")

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(ExportError, match="No space left"):
        export(mocap_world, times, target, up_axis="+z", fps=FPS)
    assert target.read_text() == "previous export" and sorted(os.listdir(tmp_path)) == ["m.trc"]

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ex, "open", denied, raising=False)  # a read-only folder (tests run as root here)
    with pytest.raises(ExportError, match="Permission denied.*allowed to write"):
        export(mocap_world, times, tmp_path / "m.c3d", up_axis="+z", fps=FPS)


def test_bad_inputs_are_clear_errors(tmp_path: Path, mocap_world: np.ndarray, times: np.ndarray) -> None:
    path = tmp_path / "m.trc"
    with pytest.raises(ExportError, match=r"\(P, 17, 3\)"):
        export(mocap_world[:, :12], times, path, up_axis="+z", fps=FPS)
    with pytest.raises(ExportError, match="one time per frame"):
        export(mocap_world, times[:-1], path, up_axis="+z", fps=FPS)
    with pytest.raises(ExportError, match="increase strictly"):
        export(mocap_world, times[::-1], path, up_axis="+z", fps=FPS)
    with pytest.raises(ExportError, match="fps"):
        export(mocap_world, times, path, up_axis="+z", fps=0)
    with pytest.raises(ExportError, match="pass fps"):
        export(mocap_world[:1], times[:1], path, up_axis="+z")
    with pytest.raises(ExportError, match="up axis"):
        export(mocap_world, times, path, up_axis="north", fps=FPS)
    with pytest.raises(ExportError, match="reprojection_error_px"):
        export(mocap_world, times, tmp_path / "m.csv", up_axis="+z", fps=FPS, reprojection_error_px=np.zeros(3))
    no_pelvis = mocap_world.copy()
    no_pelvis[:, 0] = np.nan
    with pytest.raises(ExportError, match="pelvis"):
        export(no_pelvis, times, tmp_path / "m.bvh", up_axis="+z", fps=FPS)
    with pytest.raises(ExportError, match="BVH units"):
        write_bvh(tmp_path / "m.bvh", mocap_world, times, up_axis="+z", fps=FPS, units="inch")
    assert not list(tmp_path.iterdir())  # nothing half-written
