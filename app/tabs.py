"""The application's tabs and window, built in one place: :func:`create_tabs` and :func:`build_main_window`.

Each tab takes the :class:`app.state.AppState` and connects itself to what it needs there (the calibration, the
model, the sessions folder, finished recordings); no tab looks another one up. A new tab is a folder
``app/<feature>/`` with a ``tab.py`` whose widget takes the state and has a ``stop()``; add it here and to
:data:`app.main_window.TAB_NAMES`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow
from app.state import AppState


def create_tabs(state: AppState) -> dict[str, QtWidgets.QWidget]:
    """The four tabs by name, in display order."""
    from app.calibration.tab import CalibrationTab
    from app.live.tab import LiveTab
    from app.sessions.tab import SessionsTab
    from app.training.tab import TrainingTab

    return {
        "Live": LiveTab(state),
        "Calibration": CalibrationTab(state),
        "Sessions": SessionsTab(state),
        "Training": TrainingTab(state),
    }


def build_main_window(state: AppState) -> MainWindow:
    """The main window with the four tabs; starts loading the active model and, once the window runs, looks for
    recordings a crash left unfinished (the Sessions tab offers to recover them)."""
    from app.sessions.tab import SessionsTab

    tabs = create_tabs(state)
    window = MainWindow(state, tabs)
    state.model.load()
    sessions = tabs["Sessions"]
    assert isinstance(sessions, SessionsTab)
    QtCore.QTimer.singleShot(0, sessions.check_unfinished)
    return window
