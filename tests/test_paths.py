"""Names and paths from users (issue 14, part 6): session names with spaces and unicode work; names with '..',
separators, a leading dot or too many characters are refused with a clear message and nothing moves; exports and
imports to folders with spaces and unicode write exactly where asked, nowhere else."""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest

from cli import main
from core.errors import SessionError
from core.session.manage import rename_session
from tests.test_bad_inputs import _snapshot
from tests.test_bad_sessions import processed  # noqa: F401  (the module fixture)

GOOD_NAMES = ("take 1", "prise ünïcödé", "日本語のテイク", "a.b-c_d (2)")
BAD_NAMES = ("../escape", "a/b", "..", ".", ".hidden", "x" * 300, "a\\b", "", "nul\x00byte")


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_a_session_renamed_with_spaces_or_unicode_stays_in_its_folder(name, processed, tmp_path):  # noqa: F811
    root = tmp_path / "sessions"
    root.mkdir()
    folder = root / "demo"
    shutil.copytree(processed, folder)
    new = rename_session(folder, name)
    assert new.parent == root and new.name == name and (new / "session.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_a_bad_session_name_is_refused_and_nothing_moves(name, processed, tmp_path):  # noqa: F811
    root = tmp_path / "sessions"
    root.mkdir()
    folder = root / "demo"
    shutil.copytree(processed, folder)
    before = _snapshot(tmp_path)
    with pytest.raises(SessionError) as err:
        rename_session(folder, name)
    assert "Traceback" not in str(err.value) and len(str(err.value)) < 600
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["dossier avec espaces", "Ördner ü", "出力"])
def test_exports_and_imports_to_unusual_folders_write_exactly_there(where, processed, tmp_path):  # noqa: F811
    from core.demo import demo_files

    target = tmp_path / where
    target.mkdir()
    out = target / f"{where} take.trc"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(processed), "--format", "trc", "--out", str(out)]) == 0
    assert [p.name for p in target.iterdir()] == [out.name]
    files = demo_files()
    session = target / f"{where} session"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["import", *map(str, files.videos), "--calib", str(files.calibration), "--cameras", "cam_01,cam_04",
                   "--out", str(session)])  # fmt: skip
    assert rc == 0 and (session / "session.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [where]
