"""Helpers shared by the screenshot tools: their options, waiting on a condition while Qt runs, grabbing a
window's screen pixels."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

REPO = Path(__file__).resolve().parent.parent


def wait(app: QtWidgets.QApplication, until: Callable[[], bool], timeout_s: float) -> bool:
    """Process Qt events until ``until()`` is true or ``timeout_s`` passes; returns ``until()``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if until():
            return True
    return until()


def grab(win: QtWidgets.QWidget, path: Path) -> None:
    """Save the window's screen pixels (``QWidget.grab`` misses what is painted over GL views)."""
    win.screen().grabWindow(win.winId()).save(str(path))
    print(path)


def screenshot_parser(description: str, size: str = "1440x900") -> argparse.ArgumentParser:
    """The screenshot tools' common options: ``--out`` (default ``docs/screenshots``) and ``--size WxH``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"), help="output folder")
    parser.add_argument("--size", default=size, help="window size WxH in pixels")
    return parser


def output_and_size(args: argparse.Namespace) -> tuple[Path, tuple[int, int]]:
    """The output folder (created) and the window size ``(w, h)`` px of parsed :func:`screenshot_parser` options."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in args.size.lower().split("x"))
    return out, (w, h)


def fresh_window(folder: str | Path, size: tuple[int, int]):
    """The app's main window on a first run: settings and an empty sessions folder in ``folder``, resized to
    ``size`` (w, h) px and shown."""
    from app.settings import Settings
    from app.state import AppState
    from app.tabs import build_main_window

    state = AppState(Settings.in_folder(folder))
    state.set_sessions_root(Path(folder) / "sessions")
    win = build_main_window(state)
    win.resize(*size)
    win.show()
    return win


def isolated_app(prefix: str):
    """A QApplication with the app's theme and an ``AppState`` whose settings (and every QSettings path) live in a
    new temporary folder, never the user's: ``(app, state, folder)``."""
    import tempfile

    from app.gui import create_application
    from app.settings import Settings
    from app.state import AppState

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    for fmt in (QtCore.QSettings.Format.NativeFormat, QtCore.QSettings.Format.IniFormat):
        for scope in (QtCore.QSettings.Scope.UserScope, QtCore.QSettings.Scope.SystemScope):
            QtCore.QSettings.setPath(fmt, scope, str(tmp))
    app = create_application([])
    return app, AppState(Settings.in_folder(tmp)), tmp
