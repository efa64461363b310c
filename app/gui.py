"""GUI entry point: ``run_gui(options) -> exit code``. Creates the QApplication and the main window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from app.main_window import TAB_NAMES
from app.settings import APPLICATION, ORGANISATION, Settings
from app.state import AppState
from core.errors import InputError

log = logging.getLogger(__name__)

#: MSAA samples of the default OpenGL surface; ``$CROSSVIEW_GL_SAMPLES`` overrides. Off by default: lines
#: are smoothed anyway, and with software OpenGL (Mesa llvmpipe) 4x MSAA makes a frame 4-10x slower.
GL_SAMPLES = int(os.environ.get("CROSSVIEW_GL_SAMPLES", "0"))


def configure_opengl() -> None:
    """Set up OpenGL before any QApplication exists (no-op afterwards).

    Contexts are shared between windows (pyqtgraph caches its shader programs per class, so every
    GL view must see the same GL objects), and the default surface has a 24-bit depth buffer and MSAA.
    """
    if QtCore.QCoreApplication.instance() is not None:
        return
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts, True)
    fmt = QtGui.QSurfaceFormat.defaultFormat()
    fmt.setDepthBufferSize(24)
    fmt.setStencilBufferSize(8)
    fmt.setSamples(GL_SAMPLES)
    QtGui.QSurfaceFormat.setDefaultFormat(fmt)


def create_application(argv: Sequence[str] | None = None) -> QtWidgets.QApplication:
    """The QApplication (existing one reused), with GL configured and the dark theme applied."""
    import pyqtgraph as pg

    from app.theme import apply_theme

    app = QtWidgets.QApplication.instance()
    if app is None:
        configure_opengl()
        app = QtWidgets.QApplication(["crossview", *(argv or [])])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    import core

    app.setApplicationVersion(core.__version__)
    pg.setConfigOptions(antialias=True)
    apply_theme(app)
    return app


def _settings_for(settings_dir: str | os.PathLike | None) -> Settings:
    """``<dir>/CrossView.ini`` when a folder is given (tests, ``--settings-dir``), else the user's settings."""
    return Settings.in_folder(settings_dir) if settings_dir else Settings()


def run_gui(argv_options: argparse.Namespace | Sequence[str] | None = None) -> int:
    """Run the CrossView window until it closes; returns the process exit code.

    ``argv_options`` is either an ``argparse.Namespace`` (attributes used when present: ``settings_dir``
    to keep settings in ``<dir>/CrossView.ini`` instead of the user's, ``tab`` to open on a tab by name,
    ``demo`` to start the Live tab's demo at once,
    ``calibration`` a TOML path to open at start, ``qt_args`` extra Qt arguments), or a list of extra
    Qt command-line arguments, or None.
    """
    if isinstance(argv_options, argparse.Namespace):
        opts = argv_options
        qt_args = list(getattr(opts, "qt_args", None) or [])
    else:
        opts = argparse.Namespace()
        qt_args = list(argv_options or [])
    tab = getattr(opts, "tab", None)
    if tab and tab not in TAB_NAMES:
        raise InputError(f"there is no tab named {tab!r}; choose one of {', '.join(TAB_NAMES)}.")
    app = create_application(qt_args)
    from app.tabs import build_main_window

    state = AppState(_settings_for(getattr(opts, "settings_dir", None)))
    window = build_main_window(state)
    if tab:
        window.set_current_tab(tab)
    window.show()
    if getattr(opts, "demo", False):
        window.set_current_tab("Live")
        QtCore.QTimer.singleShot(0, window.tab("Live").start_demo)

    previous_hook = sys.excepthook

    def _hook(exc_type, exc, tb):  # errors raised inside Qt slots end here: show them, keep running
        previous_hook(exc_type, exc, tb)
        window.show_error(exc)

    sys.excepthook = _hook
    try:
        calibration = getattr(opts, "calibration", None)
        if calibration:
            QtCore.QTimer.singleShot(0, lambda: window.open_calibration(os.fspath(calibration)))
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
