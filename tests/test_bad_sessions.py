"""Bad session folders, board files and timestamp files get a clear message (issue 14): a generated matrix of
damaged copies of a real imported session (the demo pair) through ``process``, ``export`` and ``stream`` (exit code 2,
one ``error:`` line naming the session or the file, nothing created, changed or deleted), damaged 3D results rebuilt
by ``process`` (whose plain summary line is checked too), and damaged board TOMLs and timestamp CSVs."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cli import main
from tests.test_bad_inputs import _assert_refused, _snapshot


def _half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _meta(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        meta = json.loads((folder / "session.json").read_text())
        change(meta)
        (folder / "session.json").write_text(json.dumps(meta))

    return mutate


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        p = folder / name
        text = p.read_text()
        assert old in text, (name, old)
        p.write_text(text.replace(old, new, 1))

    return mutate


#: damages a processed session refuses (name -> (mutate, words the message must hold))
SESSION_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "meta-missing": (lambda d: (d / "session.json").unlink(), "session.json"),
    "meta-empty": (lambda d: (d / "session.json").write_text(""), "session.json"),
    "meta-truncated": (lambda d: _half(d / "session.json"), "session.json"),
    "meta-cameras-text": (_meta(lambda m: m.update(cameras="x")), "session.json"),
    "meta-no-cameras": (_meta(lambda m: m.pop("cameras")), "session.json"),
    "meta-future-version": (_meta(lambda m: m.update(format_version=99)), "session.json"),
    "meta-fps-text": (_replace("session.json", '"fps": 60.0', '"fps": "abc"'), "session.json"),
    "meta-frames-negative": (_replace("session.json", '"frames": 100', '"frames": -5'), "session.json"),
    "meta-width-fraction": (_replace("session.json", '"width": 1080', '"width": 10.5'), "session.json"),
    "timestamps-missing": (lambda d: (d / "timestamps.csv").unlink(), "timestamps.csv"),
    "timestamps-empty": (lambda d: (d / "timestamps.csv").write_text(""), "empty"),
    "timestamps-header-only": (lambda d: (d / "timestamps.csv").write_text("camera,frame_index,t_ns\n"), "empty"),
    "timestamps-text": (_replace("timestamps.csv", "16666667", "abc"), "timestamps.csv"),
    "timestamps-truncated": (lambda d: _half(d / "timestamps.csv"), "timestamps.csv lists"),
    "pairs-missing": (lambda d: (d / "pairs.csv").unlink(), "pairs.csv"),
    "pairs-text": (_replace("pairs.csv", "\n0,0,0,", "\na,b,c,"), "pairs.csv"),
    "pairs-beyond-video": (lambda d: (d / "pairs.csv").open("a").write("100,500,500,0.0\n"), "pairs.csv"),
    "video-missing": (lambda d: (d / "cam_01.mp4").unlink(), "cam_01.mp4"),
    "video-empty": (lambda d: (d / "cam_01.mp4").write_bytes(b""), "cam_01.mp4"),
    "video-truncated": (lambda d: _half(d / "cam_01.mp4"), "cam_01.mp4"),
    "video-junk": (lambda d: (d / "cam_01.mp4").write_bytes(b"junk" * 1000), "cam_01.mp4"),
    "calibration-missing": (lambda d: (d / "calibration.toml").unlink(), "calibration"),
    "calibration-junk": (lambda d: (d / "calibration.toml").write_text("[["), "calibration.toml"),
}
#: damaged outputs of ``process``: export and stream refuse them, process rebuilds them
OUTPUT_CASES: dict[str, Callable[[Path], None]] = {
    "poses-truncated": lambda d: _half(d / "poses3d.npz"),
    "poses-empty": lambda d: (d / "poses3d.npz").write_bytes(b""),
    "poses-not-npz": lambda d: (d / "poses3d.npz").write_text("x"),
}


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    from core.demo import demo_files
    from core.session.importing import import_videos
    from core.session.processing import process_session

    files = demo_files()
    out = tmp_path_factory.mktemp("sessions") / "demo"
    import_videos(*files.videos, files.calibration, out, cameras=list(files.cameras))
    process_session(out, refine=False)
    return out


def _copy(processed: Path, tmp_path: Path, mutate: Callable[[Path], None]) -> Path:
    folder = tmp_path / "session"
    shutil.copytree(processed, folder)
    mutate(folder)
    return folder


@pytest.mark.parametrize("case", sorted(SESSION_CASES))
def test_process_refuses_a_damaged_session_and_changes_nothing(case, processed, tmp_path):
    mutate, words = SESSION_CASES[case]
    folder = _copy(processed, tmp_path, mutate)
    err = _assert_refused(["process", str(folder), "--no-refine"], tmp_path, words)
    assert str(folder) in err


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_damaged_3d_results_are_refused_by_export_and_stream_and_rebuilt_by_process(case, processed, tmp_path):
    folder = _copy(processed, tmp_path, OUTPUT_CASES[case])
    poses = str(folder / "poses3d.npz")
    _assert_refused(["export", str(folder), "--format", "trc", "--out", str(tmp_path / "x.trc")], tmp_path, poses)
    _assert_refused(["stream", str(folder), "--json-udp", "127.0.0.1:9"], tmp_path, poses)
    if case != "poses-truncated":
        return
    out = io.StringIO()  # process rebuilds it, and its plain (not --json) summary line is printed
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["process", str(folder), "--no-refine"]) == 0
    assert "frames" in out.getvalue() and "2D: multi" in out.getvalue()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(folder), "--format", "trc", "--out", str(tmp_path / "x.trc")]) == 0


# --- board TOML (calibrate --board, print-board) ------------------------------------------------------------------

_BOARD = """# CrossView calibration board. Units: metres (square_size, marker_size).
type = "charuco"
columns = 5
rows = 7
square_size = 0.03
marker_size = 0.02
dictionary = "DICT_6X6_250"
units = "m"
"""
BOARD_CASES: dict[str, str] = {
    "empty": "",
    "not-toml": "type = ",
    "unknown-type": _BOARD.replace('"charuco"', '"circles"'),
    "columns-text": _BOARD.replace("columns = 5", 'columns = "5"'),
    "columns-zero": _BOARD.replace("columns = 5", "columns = 0"),
    "columns-huge": _BOARD.replace("columns = 5", "columns = 100000"),
    "rows-missing": _BOARD.replace("rows = 7\n", ""),
    "square-negative": _BOARD.replace("square_size = 0.03", "square_size = -0.03"),
    "square-nan": _BOARD.replace("square_size = 0.03", "square_size = nan"),
    "marker-bigger-than-square": _BOARD.replace("marker_size = 0.02", "marker_size = 0.05"),
    "unknown-dictionary": _BOARD.replace("DICT_6X6_250", "DICT_NOPE"),
    "unknown-unit": _BOARD.replace('units = "m"', 'units = "furlong"'),
}


def test_the_good_board_prints(tmp_path):
    (tmp_path / "board.toml").write_text(_BOARD)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["print-board", "--board", str(tmp_path / "board.toml"), "--out", str(tmp_path / "b.png")]) == 0


@pytest.mark.parametrize("case", sorted(BOARD_CASES))
def test_a_damaged_board_file_is_refused_naming_it(case, tmp_path):
    bad = tmp_path / f"{case}.toml"
    bad.write_text(BOARD_CASES[case])
    _assert_refused(["print-board", "--board", str(bad), "--out", str(tmp_path / "b.png")], tmp_path, str(bad))


# --- timestamps CSV (import --timestamps) -------------------------------------------------------------------------

TIMESTAMP_CASES: dict[str, str] = {
    "empty": "",
    "header-only": "camera,frame_index,t_ns\n",
    "unknown-columns": "a,b,c\n1,2,3\n",
    "text-time": "camera,frame_index,t_ns\ncam_01,0,abc\ncam_04,0,0\n",
    "negative-index": "camera,frame_index,t_ns\ncam_01,-1,0\ncam_04,0,0\n",
    "unknown-camera": "camera,frame_index,t_ns\ncam_99,0,0\ncam_04,0,0\n",
    "binary": "\x00\x01\x02",
}


@pytest.mark.parametrize("case", sorted(TIMESTAMP_CASES))
def test_a_damaged_timestamps_file_is_refused_naming_it(case, tmp_path):
    from core.demo import demo_files

    files = demo_files()
    bad = tmp_path / f"{case}.csv"
    bad.write_text(TIMESTAMP_CASES[case])
    argv = ["import", *map(str, files.videos), "--calib", str(files.calibration), "--cameras", "cam_01,cam_04",
            "--timestamps", str(bad), "--out", str(tmp_path / "s")]  # fmt: skip
    _assert_refused(argv, tmp_path, str(bad))
    assert not (tmp_path / "s").exists() and _snapshot(tmp_path)
