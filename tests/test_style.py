"""Project rules checked on every run: ruff-clean, and no Qt below app/."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.paths import REPO

QT = re.compile(r"^\s*(from|import)\s+(PySide6|PyQt5|PyQt6|pyqtgraph|OpenGL)\b", re.M)


@pytest.mark.parametrize("package", ["core", "calibration", "models"])
def test_lower_layers_never_import_qt(package):
    offenders = [str(p.relative_to(REPO)) for p in (REPO / package).rglob("*.py") if QT.search(p.read_text())]
    assert offenders == []


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
