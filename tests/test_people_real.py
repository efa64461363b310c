"""The real bystander: the Pose2Sim balancing take has a bystander in cam01 and cam02. Through the real pipeline
(import, process with the several-people detector), every pair follows the subject, never the bystander."""

from __future__ import annotations

import numpy as np
import pytest

from core import skeleton as sk
from core.session.importing import import_videos
from core.session.processing import process_session
from core.session.session import Session
from tests.paths import POSE2SIM, need
from tests.pose2sim_reference import reference12

HIPS = [sk.SHARED_12.index(1), sk.SHARED_12.index(4)]


@pytest.mark.parametrize("pair", ["01+02", "01+03", "01+04", "02+03", "02+04"])
def test_every_pair_with_the_bystander_follows_the_subject(tmp_path, pair):
    a, b = pair.split("+")
    videos = [need(POSE2SIM / "videos" / f"cam{c}.mp4") for c in (a, b)]
    out = tmp_path / pair
    import_videos(*videos, POSE2SIM / "Calib_qualisys.toml", out, cameras=[f"cam_{a}", f"cam_{b}"])
    summary = process_session(out, refine=False, detector="multi")
    assert summary.percent_with_3d >= 90.0
    poses = Session.open(out).poses()
    ours = poses.coarse[:100, list(sk.SHARED_12)]
    ref = reference12()[: len(ours)]
    has = np.isfinite(ours[:, HIPS]).all(axis=(1, 2))
    pelvis = np.linalg.norm(ours[has][:, HIPS].mean(1) - ref[has][:, HIPS].mean(1), axis=-1)
    assert pelvis.max() < 0.3, f"{pair}: a frame's pelvis is {pelvis.max():.2f} m from the subject's"
    assert np.median(pelvis) < 0.1


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    from tools.composite_bystander import make_composite

    need(POSE2SIM / "videos" / "cam03.mp4")
    return make_composite(tmp_path_factory.mktemp("composite"))


def test_a_composited_bystander_crossing_both_views_never_takes_the_subjects_place(tmp_path, composite):
    from core.demo import demo_files

    files = demo_files()
    out = tmp_path / "composite"
    import_videos(*composite, files.calibration, out, cameras=list(files.cameras))
    summary = process_session(out, refine=False, detector="multi", person="all")
    assert summary.percent_with_3d >= 80.0
    ours = Session.open(out).poses().coarse[:100, list(sk.SHARED_12)]
    ref = reference12()[: len(ours)]
    has = np.isfinite(ours[:, HIPS]).all(axis=(1, 2))
    pelvis = np.linalg.norm(ours[has][:, HIPS].mean(1) - ref[has][:, HIPS].mean(1), axis=-1)
    assert pelvis.max() < 0.3, f"a frame's pelvis is {pelvis.max():.2f} m from the subject's"
    _everyone_gets_their_own_3d(out, ref)


def _everyone_gets_their_own_3d(out, ref) -> None:
    """--person all: people2d.npz also holds the bystander's 2D (composited into each view alone, so never one 3D
    person: not matched), and the followed track's own 3D is the subject."""
    from core.session.people import PeopleTable

    s = Session.open(out)
    table = PeopleTable.read(out)
    assert table is not None and (table.followed >= 0).mean() > 0.8
    for view in (0, 1):
        rows = np.bincount(table.pair[table.view == view])
        assert (rows >= 2).sum() >= 10  # the bystander's 2D is kept where they were seen
    subject = int(np.bincount(table.followed[table.followed >= 0]).argmax())
    assert subject in s.people_tracks()
    pts = s.poses(subject).coarse[: len(ref), list(sk.SHARED_12)]
    has = np.isfinite(pts[:, HIPS]).all(axis=(1, 2))
    pelvis = np.linalg.norm(pts[has][:, HIPS].mean(1) - ref[has][:, HIPS].mean(1), axis=-1)
    assert has.sum() >= 50 and np.median(pelvis) < 0.1
