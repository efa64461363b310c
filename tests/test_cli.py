import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli import build_parser, main
from core import skeleton as sk
from core.keypoints_io import load_openpose_folder, save_keypoints_npz
from tests.paths import POSE2SIM, REPO, SHARED_DATA, need


def _run(*args):
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_help_lists_the_subcommands():
    res = _run("--help")
    assert res.returncode == 0
    for name in build_parser()._subparsers._group_actions[0].choices:
        assert name in res.stdout
    assert "triangulate" in res.stdout


@pytest.fixture(scope="module")
def keypoints_npz(tmp_path_factory):
    need(POSE2SIM / "openpose_body25b")
    kps = {
        f"cam_0{i}": sk.from_body25b(load_openpose_folder(POSE2SIM / "openpose_body25b" / f"cam{i}")) for i in (1, 4)
    }
    path = tmp_path_factory.mktemp("kp") / "kp.npz"
    save_keypoints_npz(path, kps, time_s=np.arange(100) / 60.0)
    return path


def _triangulate(keypoints: Path, out: Path, *extra: str):
    """``main.py triangulate`` of ``keypoints`` with the balancing take's calibration into ``out``."""
    calib = str(POSE2SIM / "Calib_qualisys.toml")
    return _run("triangulate", "--calib", calib, "--keypoints", str(keypoints), "--out", str(out), *extra)


def test_triangulate_command_on_real_data(keypoints_npz, tmp_path):
    out = tmp_path / "out.npz"
    res = _triangulate(keypoints_npz, out)
    assert res.returncode == 0, res.stderr
    assert "triangulated 100 frames" in res.stdout
    with np.load(out) as z:
        assert list(z["joint_names"]) == list(sk.JOINT_NAMES)
        assert z["points"].shape == (100, 17, 3)
        assert z["reprojection_error_px"].shape == (100, 17)
        assert z["time_s"].shape == (100,) and z["time_s"][1] == pytest.approx(1 / 60)
        assert str(z["units"]) == "m"
        pts = z["points"]
    # a person about 1.6-1.9 m tall standing in the Z-up lab frame
    height = np.nanmedian(pts[:, 10, 2] - (pts[:, 3, 2] + pts[:, 6, 2]) / 2)
    assert 1.3 < height < 2.0


def test_triangulate_command_errors_are_clear(keypoints_npz, tmp_path, capsys):
    code = main(
        [
            "triangulate",
            "--calib",
            str(POSE2SIM / "Calib_qualisys.toml"),
            "--keypoints",
            str(keypoints_npz),
            "--cameras",
            "cam_01,cam_07",
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no camera named 'cam_07'" in err and "Traceback" not in err
    code = main(
        [
            "triangulate",
            "--calib",
            str(tmp_path / "missing.toml"),
            "--keypoints",
            str(keypoints_npz),
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 2 and "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    np.savez(bad, cam_01=np.zeros((5, 33, 3)), cam_04=np.zeros((5, 33, 3)))
    code = main(
        [
            "triangulate",
            "--calib",
            str(POSE2SIM / "Calib_qualisys.toml"),
            "--keypoints",
            str(bad),
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 2 and "expected an (F, 17, 3) array" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_calibrate_command_on_real_stereo_images(tmp_path):
    folder = need(SHARED_DATA / "calibration" / "opencv_stereo_9x6")
    out = tmp_path / "stereo.toml"
    res = _run(
        "calibrate",
        "--cam0",
        str(folder / "left*.jpg"),
        "--cam1",
        str(folder / "right*.jpg"),
        "--board",
        "chessboard:9x6:1.0",
        "--out",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    figures = json.loads(res.stdout)
    assert figures["stereo_rms_px"] <= 0.46 and abs(figures["baseline_m"] - 3.345) / 3.345 < 0.02
    from core.calibration_io import load_calibration

    cal = load_calibration(out, expected_cameras=2)
    assert cal.units == "m" and not cal.units_assumed
    # the wrong board for the footage: a clear message, no traceback, no file
    bad = tmp_path / "bad.toml"
    res = _run(
        "calibrate",
        "--cam0",
        str(folder / "left*.jpg"),
        "--cam1",
        str(folder / "right*.jpg"),
        "--board",
        "chessboard:7x6:1.0",
        "--out",
        str(bad),
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "9x6" in res.stderr and not bad.exists()


def test_print_board_command(tmp_path):
    out = tmp_path / "board.pdf"
    res = _run("print-board", "--board", "charuco:5x7:0.03:0.022:DICT_6X6_250", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().startswith(b"%PDF") and "print at 100%" in res.stdout


def test_triangulate_refine_adds_refined_points_and_the_model_id(keypoints_npz, tmp_path):
    out = tmp_path / "refined.npz"
    res = _triangulate(keypoints_npz, out, "--refine", "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["refined"] and len(summary["model_id"]) == 16
    with np.load(out) as z:
        refined, coarse = z["refined"], z["points"]
        assert refined.shape == coarse.shape == (100, 17, 3)
        assert str(z["model_id"]) == summary["model_id"]
    both = np.isfinite(refined).all(-1) & np.isfinite(coarse).all(-1)
    assert both.mean() > 0.9
    shift = np.linalg.norm(refined - coarse, axis=-1)[both]
    assert 0 < np.median(shift) < 0.1  # a correction of centimetres, not a different pose
    for bad in ("0", "sixty", "nan"):  # the take's rate for a temporal model's windows
        res = _triangulate(keypoints_npz, tmp_path / "x.npz", "--refine", "--fps", bad)
        assert res.returncode == 2 and "--fps" in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / "x.npz").exists()


def test_train_command_fine_tunes_from_keypoints_without_3d_truth(keypoints_npz, tmp_path):
    folder = tmp_path / "take"
    folder.mkdir()
    (folder / "kp.npz").write_bytes(keypoints_npz.read_bytes())
    (folder / "calibration.toml").write_text((POSE2SIM / "Calib_qualisys.toml").read_text())
    out = tmp_path / "tuned.pt"
    res = _run("train", str(folder / "kp.npz"), "--epochs", "2", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    from models.checkpoint import load_checkpoint

    ckpt = load_checkpoint(out)
    assert ckpt.id and ckpt.meta
    # a run pointed at a folder without keypoints gets a clear message
    res = _run("train", str(tmp_path / "empty_take"), "--epochs", "1", "--out", str(tmp_path / "x.pt"))
    assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.slow
def test_import_process_export_commands_on_real_videos(tmp_path):
    videos = need(POSE2SIM / "videos")
    session = tmp_path / "take"
    res = _run(
        "import",
        str(videos / "cam01.mp4"),
        str(videos / "cam04.mp4"),
        "--calib",
        str(POSE2SIM / "Calib_qualisys.toml"),
        "--cameras",
        "cam_01,cam_04",
        "--out",
        str(session),
    )
    assert res.returncode == 0, res.stderr
    res = _run("process", str(session), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert summary["frames"] == 100 and summary["percent_with_3d"] > 90
    if summary["refined"]:  # the shipped model's guard reports how often it kept the coarse joint
        assert (
            summary["refined_joints"] > 1000
            and 0 <= summary["refine_fallback_joints"] < 0.1 * summary["refined_joints"]
        )
    out = tmp_path / "take.trc"
    res = _run("export", str(session), "--format", "trc", "--out", str(out))
    assert res.returncode == 0, res.stderr
    from tests.trc_reader import read_trc

    names, time_s, pts, header = read_trc(out)
    assert len(time_s) == 100 and header["Units"] == "m"
    res = _run("export", str(tmp_path / "nope"), "--format", "trc", "--out", str(tmp_path / "x.trc"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
