"""The application's tabs, created and wired in one place for ``run_gui`` (tests build the ones they need)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.active_model import ActiveModel


def create_tabs(settings: QtCore.QSettings | None = None) -> dict[str, QtWidgets.QWidget]:
    """The four tabs by name."""
    from app.calibration_tab import CalibrationTab
    from app.live_tab import LiveTab
    from app.sessions_tab import SessionsTab
    from app.training_tab import TrainingTab

    return {
        "Live": LiveTab(settings=settings),
        "Calibration": CalibrationTab(settings=settings),
        "Sessions": SessionsTab(settings=settings),
        "Training": TrainingTab(settings=settings),
    }


def connect_tabs(window: QtWidgets.QMainWindow, settings: QtCore.QSettings | None = None) -> ActiveModel:
    """Wire the tabs to each other and to the window; returns the app's :class:`ActiveModel` (loading)."""
    for name in window.tab_names():
        tab = window.tab(name)
        # a calibration saved by the wizard or opened in a tab becomes the app's calibration
        for signal_name in ("calibrationSaved", "calibrationOpened"):
            signal = getattr(tab, signal_name, None)
            if signal is not None:
                signal.connect(window.load_calibration_file)
        if callable(getattr(tab, "stop", None)):
            window.register_closeable(tab)
    # a finished recording (Live tab's Record button) appears in the Sessions tab
    record = getattr(window.tab("Live"), "record_controls", None)
    sessions = window.tab("Sessions")
    if record is not None and callable(getattr(sessions, "on_session_recorded", None)):
        record.controller.recordingFinished.connect(sessions.on_session_recorded)
    # the active CV-UGCN model refines live capture and session processing
    model = ActiveModel(settings, parent=window)
    for name in window.tab_names():
        setter = getattr(window.tab(name), "set_refine_hook", None)
        if callable(setter):
            model.changed.connect(setter)
    use_model = getattr(window.tab("Training"), "modelChosen", None)
    if use_model is not None:
        use_model.connect(model.set_path)
    model.failed.connect(lambda text: window.show_message(text, 10000))
    model.load()
    # unfinished recordings (a crash, a kill) are offered for recovery at start
    check = getattr(sessions, "check_unfinished", None)
    if callable(check):
        QtCore.QTimer.singleShot(0, check)
    return model
