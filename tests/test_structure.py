"""The house rules of the code, checked on every run (issue 9): small files, short functions, and the layers.

- No ``.py`` file of ``app/``, ``core/``, ``calibration/`` or ``models/`` is over :data:`MAX_FILE_LINES` lines;
  no function anywhere in the product is over :data:`MAX_FUNCTION_LINES` lines (ruff keeps complexity and
  statement counts down: ``C901``, ``PLR0915`` in ``pyproject.toml``).
- ``core``, ``calibration`` and ``models`` import with Qt unavailable (a subprocess that blocks PySide6,
  pyqtgraph and OpenGL imports every one of their modules).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO

MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 100
PACKAGES = ("app", "core", "calibration", "models")
PRODUCT = (*PACKAGES, "cli.py", "main.py", "bench", "tools")


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
    assert over == set(), f"files over {MAX_FILE_LINES} lines: split them by what they do"


def test_no_function_is_over_the_line_limit():
    over = set()
    for p in _python_files(*PRODUCT):
        for node in ast.walk(ast.parse(p.read_text())):
            long = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
            )
            if long:
                over.add(f"{_rel(p)}::{node.name}")
    assert over == set(), f"functions over {MAX_FUNCTION_LINES} lines: split them into steps"


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


def test_import_contracts_hold():
    """``pyproject.toml`` ``[tool.importlinter]``: app > models | calibration > core, no Qt below app, nothing
    in the product imports the command line, tests, benchmarks or tools."""
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"]
    )
    res = subprocess.run([*cmd, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "3 kept, 0 broken" in res.stdout


def _lines_matching(pattern: str, *roots: str, skip: tuple[str, ...] = ()) -> list[str]:
    rx = re.compile(pattern)
    hits = []
    for p in _python_files(*roots):
        rel = _rel(p)
        if rel in skip:
            continue
        hits += [
            f"{rel}:{i}: {line.strip()}" for i, line in enumerate(p.read_text().splitlines(), 1) if rx.search(line)
        ]
    return hits


def test_one_theme_no_colour_codes_or_stylesheets_in_widgets():
    """Colours are named in ``app/theme`` (the palette) and styles live in its ``.qss`` templates."""
    assert _lines_matching(r"#[0-9a-fA-F]{6}\b|[\"']#[0-9a-fA-F]{3}[\"']", "app", skip=("app/theme/__init__.py",)) == []
    assert _lines_matching(r"\.setStyleSheet\(", "app", skip=("app/theme/__init__.py",)) == []


def test_one_task_contract_in_the_app():
    """Long work runs in ``app.tasks.Task``; no other QThread, no raw threads in ``app/``."""
    assert _lines_matching(r"class \w+\((QtCore\.)?QThread\)", "app", skip=("app/tasks.py",)) == []
    assert _lines_matching(r"threading\.Thread\(|ThreadPoolExecutor\(", "app") == []


def test_settings_keys_are_written_once():
    """Every persisted setting is an attribute of ``app.settings.Settings``; nothing else names a QSettings key."""
    pattern = r"QSettings\b|qsettings\b|settings\.(value|setValue)\("
    assert _lines_matching(pattern, "app", skip=("app/settings.py",)) == []


def test_tools_and_benchmarks_do_not_import_the_tests():
    assert _lines_matching(r"^\s*(from|import)\s+tests\b", "tools", "bench") == []
