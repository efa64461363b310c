"""The house rules of the code, checked on every run (issue 9): small files, short functions, and the layers.

- No ``.py`` file of ``app/``, ``core/``, ``calibration/`` or ``models/`` is over :data:`MAX_FILE_LINES` lines;
  no function anywhere in the product is over :data:`MAX_FUNCTION_LINES` lines (ruff keeps complexity and
  statement counts down: ``C901``, ``PLR0915`` in ``pyproject.toml``).
- ``core``, ``calibration`` and ``models`` import with Qt unavailable (a subprocess that blocks PySide6,
  pyqtgraph and OpenGL imports every one of their modules).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO

MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 100
PACKAGES = ("app", "core", "calibration", "models")
PRODUCT = (*PACKAGES, "cli.py", "main.py", "bench", "tools")

#: TEMPORARY (issue 9): what is still over the limits; an entry goes when its file is split.
FILES_OVER: set[str] = {
    "app/calibration_wizard.py",
    "app/replay_view.py",
    "app/training_workers.py",
    "app/sessions_tab.py",
    "app/calibration_workers.py",
    "app/live_tab.py",
    "app/training_tab.py",
    "core/export.py",
    "core/session/__init__.py",
    "core/capture.py",
}
FUNCTIONS_OVER: set[str] = {
    "app/training_tab.py::_build_setup",
    "core/session_ops.py::import_videos",
    "calibration/headless.py::calibrate_from_paths",
    "app/calibration_wizard.py::__init__",
    "models/train.py::_fit",
    "app/calibration_workers.py::run",
    "core/session_ops.py::process_session",
    "models/pretrain.py::main",
    "core/export.py::read_bvh",
    "app/calibration_tab.py::__init__",
}


def _python_files(*roots: str) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        p = REPO / root
        out.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return out


def _rel(p: Path) -> str:
    return p.relative_to(REPO).as_posix()


def test_no_file_is_over_the_line_limit():
    over = {_rel(p) for p in _python_files(*PACKAGES) if len(p.read_text().splitlines()) > MAX_FILE_LINES}
    assert over - FILES_OVER == set(), f"files over {MAX_FILE_LINES} lines: split them by what they do"
    assert FILES_OVER - over == set(), "these files are small now: take them off FILES_OVER"


def test_no_function_is_over_the_line_limit():
    over = set()
    for p in _python_files(*PRODUCT):
        for node in ast.walk(ast.parse(p.read_text())):
            long = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
            )
            if long:
                over.add(f"{_rel(p)}::{node.name}")
    assert over - FUNCTIONS_OVER == set(), f"functions over {MAX_FUNCTION_LINES} lines: split them into steps"
    assert FUNCTIONS_OVER - over == set(), "these functions are short now: take them off FUNCTIONS_OVER"


_BLOCK_QT = """
import importlib, importlib.abc, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "OpenGL", "shiboken6"):
            raise ImportError(f"{name} is blocked: the lower layers must not need Qt")
        return None
sys.meta_path.insert(0, Block())
names = []
for pkg in ("core", "calibration", "models"):
    mod = importlib.import_module(pkg)
    names.append(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(len(names))
"""


def test_lower_layers_import_with_qt_blocked():
    res = subprocess.run([sys.executable, "-c", _BLOCK_QT], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert int(res.stdout.strip().splitlines()[-1]) > 40  # every module was imported
