import re
import shutil

import numpy as np
import pytest

from core.calibration_io import load_calibration, save_calibration
from core.errors import CalibrationFileError
from tests.paths import POSE2SIM, need

QUALISYS = POSE2SIM / "Calib_qualisys.toml"

CALISCOPE_ARRAY = """
[cameras.0]
cam_id = 0
size = [1280, 720]
matrix = [[894.5, 0.0, 624.0], [0.0, 896.9, 361.3], [0.0, 0.0, 1.0]]
distortions = [-0.338, 0.0967, -0.00135, 0.00316, -0.00375]
translation = [-0.6425, 0.2629, 1.4515]
rotation = [[0.028454458274723926, -0.8200005191342249, 0.571655046705523],
  [-0.9915778577174362, -0.0954406312087065, -0.0875467760627629],
  [0.12634752031121108, -0.5643493904790591, -0.8158100695487417]]

[cameras.1]
cam_id = 1
size = [1280, 720]
matrix = [[703.9, 0.0, 626.0], [0.0, 706.2, 348.9], [0.0, 0.0, 1.0]]
distortions = [0.192, -0.256, 0.0028, -0.0052, 0.115]
translation = [0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
"""


def test_pose2sim_file_round_trips_exactly(tmp_path):
    cal = load_calibration(need(QUALISYS))
    assert cal.group.names == ["cam_01", "cam_02", "cam_03", "cam_04"]
    assert cal.units == "m" and cal.units_assumed
    assert "metres" in cal.units_note
    assert cal.group["cam_01"].size == (1088, 1920)
    assert cal.group["cam_01"].K[0, 0] == pytest.approx(1681.244873046875)
    out = save_calibration(tmp_path / "calib.toml", cal.group, {"note": "round trip"})
    text = out.read_text()
    assert 'units = "m"' in text
    back = load_calibration(out)
    assert not back.units_assumed and back.units == "m"
    assert back.group.same_as(cal.group, atol=1e-12)
    assert back.metadata["note"] == "round trip"


def test_millimetre_files_are_recognised_and_reported(tmp_path):
    src = need(QUALISYS).read_text()
    # FreeMoCap-style: same layout, translations in mm, no units key
    mm = re.sub(
        r"translation = \[([^\]]*)\]",
        lambda m: "translation = [" + ", ".join(str(float(v) * 1000) for v in m.group(1).split(",")) + "]",
        src,
    )
    p = tmp_path / "freemocap.toml"
    p.write_text(mm)
    cal = load_calibration(p)
    ref = load_calibration(QUALISYS)
    assert cal.units == "mm" and cal.units_assumed
    assert "millimetres" in cal.units_note
    assert cal.group.same_as(ref.group, atol=1e-9)
    # an explicit unit wins over the heuristic
    p.write_text(mm.replace("[metadata]", '[metadata]\nunits = "mm"'))
    cal = load_calibration(p)
    assert cal.units == "mm" and not cal.units_assumed


def test_caliscope_camera_array_is_read(tmp_path):
    p = tmp_path / "camera_array.toml"
    p.write_text(CALISCOPE_ARRAY)
    cal = load_calibration(p, expected_cameras=2)
    assert cal.format == "caliscope"
    assert cal.group.names == ["cam_0", "cam_1"]
    assert cal.group["cam_0"].dist[0] == pytest.approx(-0.338)
    assert np.allclose(cal.group["cam_0"].t, [-0.6425, 0.2629, 1.4515])
    np.testing.assert_allclose(cal.group["cam_1"].R, np.eye(3))


def test_camera_selection_and_count(tmp_path):
    cal = load_calibration(need(QUALISYS), cameras=["cam_04", "cam_01"])
    assert cal.group.names == ["cam_04", "cam_01"]
    with pytest.raises(CalibrationFileError, match=r"holds 4 camera\(s\).*but 2 are needed"):
        load_calibration(QUALISYS, expected_cameras=2)
    with pytest.raises(CalibrationFileError, match="no camera named 'cam_09'"):
        load_calibration(QUALISYS, cameras=["cam_01", "cam_09"])


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda s: s.replace("matrix = [ [ 1681.244873046875, 0.0, 532.97369384375], ", "matrix = [ "),
            r"camera 'cam_01', field 'matrix': has shape 2x3, expected 3x3",
        ),
        (
            lambda s: re.sub(r"distortions = \[[^\]]*\]\n", "", s, count=1),
            r"camera 'cam_01', field 'distortions': is missing",
        ),
        (
            lambda s: s.replace("translation = [ 0.3211048899999996", "translation = [ nan", 1),
            r"camera 'cam_01', field 'translation': contains NaN",
        ),
        (
            lambda s: s.replace(
                "rotation = [ 1.6882754799999993, 1.0483220499999997, -0.41955852000000016]", 'rotation = "abc"'
            ),
            r"camera 'cam_01', field 'rotation'",
        ),
        (lambda s: s.replace("[cam_01]", "[cam_01", 1), r"is not valid TOML"),
        (lambda s: "[metadata]\nerror = 0\n", r"holds no camera tables"),
    ],
)
def test_bad_files_name_file_camera_and_field(tmp_path, edit, pattern):
    p = tmp_path / "bad.toml"
    p.write_text(edit(need(QUALISYS).read_text()))
    with pytest.raises(CalibrationFileError, match=pattern) as info:
        load_calibration(p)
    assert str(p) in str(info.value)


def test_missing_file_gives_clear_error(tmp_path):
    with pytest.raises(CalibrationFileError, match="does not exist"):
        load_calibration(tmp_path / "nope.toml")


def test_save_is_atomic_and_reports_unwritable_path(tmp_path):
    cal = load_calibration(need(QUALISYS))
    target = tmp_path / "ro" / "calib.toml"
    save_calibration(target, cal.group)
    assert not list(target.parent.glob("*.tmp"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CalibrationFileError, match="could not write"):
        save_calibration(blocker / "calib.toml", cal.group)
    shutil.rmtree(target.parent)
