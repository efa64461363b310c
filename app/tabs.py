"""The application's tabs, created in one place for ``run_gui`` (tests build the ones they need)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def create_tabs(settings: QtCore.QSettings | None = None) -> dict[str, QtWidgets.QWidget]:
    """The real tabs by name; a tab not built yet keeps MainWindow's placeholder."""
    from app.live_tab import LiveTab

    return {"Live": LiveTab(settings=settings)}


def connect_tabs(window: QtWidgets.QMainWindow) -> None:
    """Wire the tabs to each other and to the window (calibration saved -> loaded everywhere, ...)."""
    for name in window.tab_names():
        tab = window.tab(name)
        saved = getattr(tab, "calibrationSaved", None)
        if saved is not None:
            saved.connect(window.load_calibration_file)
