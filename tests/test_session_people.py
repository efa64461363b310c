"""Everyone a session saw: ``process`` keeps every person's 2D (people2d.npz), ``--person ID|all`` gives each track
its own 3D, and ``export --person`` writes it; on a synthetic two-person scene with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from cli import main as cli_main
from core import skeleton as sk
from core.detection import Detection
from core.errors import InputError, SessionError
from core.session.exporting import export_session
from core.session.importing import import_videos
from core.session.people import PeopleTable
from core.session.processing import process_session
from core.session.session import Session
from tests.test_pipeline import BYSTANDER_OFFSET, _truth
from tests.test_session import synthetic  # noqa: F401  (fixture)


class _TwoBandDetector:
    """Reads k from the grey-band frames; sees the subject and, in frames 5-14, a bystander (listed first in view 2,
    and with left and right swapped in view 2 for frames 8-11)."""

    def __init__(self, cam, view: int) -> None:
        self.cam, self.view = cam, view

    def detect_all(self, image, t_s=None) -> list[Detection]:
        lo = int(round((float(image[:, :32].mean()) - 8) / 16))
        hi = int(round((float(image[:, 32:].mean()) - 8) / 16))
        k = lo + 16 * hi
        people = []
        for offset in [np.zeros(3)] + ([BYSTANDER_OFFSET] if 5 <= k < 15 else []):
            uv = self.cam.project(_truth(k) + offset)
            kp = np.concatenate([uv, np.full((17, 1), 0.9)], axis=1)
            if offset.any() and self.view == 1 and 8 <= k < 12:
                kp = kp[sk.MIRROR]
            people.append(Detection(kp, found=True, box=(*uv.min(0), *uv.max(0))))
        return people[::-1] if self.view == 1 else people

    def close(self) -> None:
        pass


def _process(synthetic, tmp_path, person):  # noqa: F811
    group, calib, (va, vb, _) = synthetic
    out = tmp_path / "two"
    import_videos(va, vb, calib, out)
    made = iter([_TwoBandDetector(group[0], 0), _TwoBandDetector(group[1], 1)])
    summary = process_session(out, refine=False, detector_factory=lambda: next(made), person=person)
    return out, summary


def test_everyone_is_kept_and_each_person_gets_their_own_3d(synthetic, tmp_path):  # noqa: F811
    out, summary = _process(synthetic, tmp_path, "all")
    s = Session.open(out)
    table = PeopleTable.read(out)
    assert table is not None
    per_pair = np.bincount(table.pair[table.view == 0], minlength=20)
    assert per_pair.tolist() == [1] * 5 + [2] * 10 + [1] * 5  # the bystander's 2D is recorded where seen
    tracks = table.tracks()
    assert len(tracks) == 2
    subject, bystander = sorted(tracks, key=lambda t: -tracks[t])
    assert tracks == {subject: 20, bystander: 10} and (table.followed == subject).all()
    assert s.people_tracks() == sorted(tracks)
    assert {str(out / f"poses3d_person{t}.npz") for t in tracks} <= set(summary.outputs)
    truth = np.stack([_truth(k) for k in range(20)])
    np.testing.assert_allclose(s.poses().coarse, truth, atol=1e-6)  # poses3d.npz: the followed person
    np.testing.assert_allclose(s.poses(subject).coarse, truth, atol=1e-6)
    own = s.poses(bystander)
    seen = own.status == "ok"
    assert seen.tolist() == [False] * 5 + [True] * 10 + [False] * 5
    # the bystander's 3D, with the mirrored frames of view 2 relabelled over the whole take
    np.testing.assert_allclose(own.coarse[seen], truth[seen] + BYSTANDER_OFFSET, atol=1e-6)
    assert np.isnan(own.coarse[~seen]).all()

    written = export_session(out, "csv", tmp_path / "b.csv", person=bystander)
    assert written.frames == 20 and written.frames_with_3d == 10
    assert cli_main(["export", str(out), "--format", "trc", "--person", "all", "--out", str(tmp_path / "x.trc")]) == 0
    assert sorted(p.name for p in tmp_path.glob("x_person*.trc")) == sorted(f"x_person{t}.trc" for t in tracks)


def test_one_person_by_id_and_bad_choices(synthetic, tmp_path, capsys):  # noqa: F811
    out, summary = _process(synthetic, tmp_path, "followed")
    s = Session.open(out)
    assert s.people_tracks() == [] and PeopleTable.read(out) is not None  # everyone's 2D is always kept
    with pytest.raises(SessionError, match="process .* --person"):
        export_session(out, "csv", tmp_path / "p.csv", person=3)
    subject = int(PeopleTable.read(out).followed[0])
    out2, summary = _process(synthetic, tmp_path / "again", str(subject))
    assert Session.open(out2).people_tracks() == [subject]
    _, summary = _process(synthetic, tmp_path / "missing", 99)
    assert any("--person 99" in w and "tracks seen" in w for w in summary.warnings)
    with pytest.raises(InputError, match="--person must be"):
        _process(synthetic, tmp_path / "bad", "everyone")
    assert cli_main(["export", str(out), "--format", "csv", "--person", "x", "--out", str(tmp_path / "q.csv")]) == 2
    assert "--person must be" in capsys.readouterr().err
