"""Project rules checked on every run: ruff-clean and ruff-formatted (the layers: tests/test_structure.py)."""

import shutil
import subprocess
import sys

from tests.paths import REPO


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(REPO / ".venv" / "bin")) or shutil.which("ruff")
    if exe:
        return [exe]
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_is_clean():
    res = subprocess.run([*_ruff(), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format_is_clean():
    res = subprocess.run([*_ruff(), "format", "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
