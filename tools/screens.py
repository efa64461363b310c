"""Helpers shared by the screenshot tools: wait on a condition while Qt runs, grab a window's screen pixels."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets


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
