"""The CMU ASF/AMC reader: every shared take becomes a plausible H36M-17 motion; the forward kinematics follows the
Acclaim convention; bad files get clear messages."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.skeleton import BONES
from models.asf_amc import amc_forward_kinematics, euler_xyz, load_amc, read_amc, read_asf
from models.mocap import load_motion, load_motion_folder
from tests.paths import SHARED_DATA

CMU = SHARED_DATA / "mocap" / "cmu"
needs_cmu = pytest.mark.skipif(not CMU.is_dir(), reason=f"shared CMU mocap not found at {CMU}")


def test_euler_order_is_z_after_y_after_x():
    a = np.array([30.0, -20.0, 50.0])
    r = np.radians(a)
    Rx = np.array([[1, 0, 0], [0, np.cos(r[0]), -np.sin(r[0])], [0, np.sin(r[0]), np.cos(r[0])]])
    Ry = np.array([[np.cos(r[1]), 0, np.sin(r[1])], [0, 1, 0], [-np.sin(r[1]), 0, np.cos(r[1])]])
    Rz = np.array([[np.cos(r[2]), -np.sin(r[2]), 0], [np.sin(r[2]), np.cos(r[2]), 0], [0, 0, 1]])
    np.testing.assert_allclose(euler_xyz(a), Rz @ Ry @ Rx, atol=1e-12)


@needs_cmu
def test_the_rest_pose_is_the_skeletons_bone_vectors():
    skel = read_asf(CMU / "02" / "02.asf")
    assert skel.metres_per_unit == pytest.approx(0.0254 / 0.45)
    root, angles = np.zeros((1, 6)), np.zeros((1, len(skel.names), 3))
    pos, _ = amc_forward_kinematics(skel, root, angles)
    for b in range(1, len(skel.names)):  # zero angles: each end = parent end + length * direction
        p = skel.parents[b]
        np.testing.assert_allclose(pos[0, b], pos[0, p] + skel.length[b] * skel.direction[b], atol=1e-12)
    tib = skel.index("ltibia")
    assert skel.dof[tib] == (0,)  # the knee bends about x only


@needs_cmu
def test_every_cmu_take_is_a_plausible_upright_person():
    takes = sorted(CMU.glob("*/*.amc"))
    assert len(takes) >= 28
    motions = load_motion_folder(CMU)
    assert [m.name for m in motions] == [p.stem for p in takes]
    for m in motions:
        X = m.joints
        assert m.fps == 120.0 and np.isfinite(X).all() and X.shape[1:] == (17, 3)
        L = np.linalg.norm(X[:, BONES[:, 1]] - X[:, BONES[:, 0]], axis=-1)
        assert L[:, [1, 2, 4, 5, 11, 12, 14, 15]].std(0).max() < 1e-9  # limbs rigid
        height = np.median(X[:, 10, 2] - np.minimum(X[:, 3, 2], X[:, 6, 2]))
        assert 1.3 < height < 1.8, (m.name, height)  # climbing and crouching takes included
        assert -0.03 < np.percentile(X[..., 2].min(axis=1), 5) < 0.2  # on the floor
        right, up, fwd = X[:, 1] - X[:, 4], X[:, 8] - X[:, 0], X[:, 9] - X[:, 8]
        assert np.mean((right * np.cross(fwd, up)).sum(-1) > 0) > 0.9  # left is the subject's left
    walk = next(m for m in motions if m.name == "02_01")
    assert np.linalg.norm(np.ptp(walk.joints[:, 0, :2], axis=0)) > 2.0  # a walk goes somewhere


def test_bad_files_get_clear_messages(tmp_path):
    with pytest.raises(InputError, match="No AMC take"):
        load_amc(tmp_path / "none.amc")
    (tmp_path / "07_01.amc").write_text("1\nroot 0 0 0 0 0 0\n")
    with pytest.raises(InputError, match="no ASF skeleton for 07_01.amc"):
        load_motion(tmp_path / "07_01.amc")
    (tmp_path / "07.asf").write_text(":version 1.10\n:name junk\n")
    with pytest.raises(InputError, match="no :bonedata"):
        load_motion(tmp_path / "07_01.amc")
    if CMU.is_dir():
        skel = read_asf(CMU / "02" / "02.asf")
        (tmp_path / "bad.amc").write_text(":FULLY-SPECIFIED\n1\nroot 0 0 x 0 0 0\n")
        with pytest.raises(InputError, match="not a number"):
            read_amc(tmp_path / "bad.amc", skel)
        (tmp_path / "empty.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n")
        with pytest.raises(InputError, match="no frames"):
            read_amc(tmp_path / "empty.amc", skel)
