"""The CrossView main window: named tabs, menus, status bar, persisted layout. Qt only.

The window owns the :class:`app.state.AppState` it is given (settings, the task registry, the active
calibration and model). Tabs are addressed by name (:data:`TAB_NAMES`); each one has a ``stop()`` that ends
what it runs. Closing the window saves its layout, stops every tab and then every task of the registry.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from PySide6 import QtCore, QtGui, QtWidgets

import core
from app.state import AppState
from core.calibration_io import CalibrationFile
from core.errors import CrossViewError

log = logging.getLogger(__name__)

TAB_NAMES: tuple[str, ...] = ("Live", "Calibration", "Sessions", "Training")


@runtime_checkable
class Tab(Protocol):
    """What the window needs of a tab: ``stop()`` ends everything it runs (the window is closing)."""

    def stop(self) -> None: ...


class MainWindow(QtWidgets.QMainWindow):
    """CrossView's main window, showing ``tabs`` (name -> widget) in :data:`TAB_NAMES` order, others after."""

    #: Emitted with the new tab's name whenever the current tab changes.
    currentTabChanged = QtCore.Signal(str)

    def __init__(
        self,
        state: AppState,
        tabs: Mapping[str, QtWidgets.QWidget] | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("CrossView")
        self.state = state
        self._closed = False

        self._tabs = QtWidgets.QTabWidget()
        self._tabs.setObjectName("mainTabs")
        self._tabs.setDocumentMode(True)
        self._tabs.currentChanged.connect(self._on_current_changed)
        self.setCentralWidget(self._tabs)
        given = dict(tabs or {})
        for name in [n for n in TAB_NAMES if n in given] + [n for n in given if n not in TAB_NAMES]:
            self.set_tab(name, given[name])

        self._build_menus()
        self._build_status_bar()
        state.calibrationChanged.connect(self._on_calibration)
        state.message.connect(self.show_message)
        state.statusField.connect(self.set_status_field)
        state.model.failed.connect(lambda text: self.show_message(text, 10000))
        self.resize(1280, 800)
        self.restore_settings()

    # --- tabs -------------------------------------------------------------------------------------------------

    def tab_names(self) -> list[str]:
        """The tabs' names, in display order."""
        return [self._tabs.tabText(i) for i in range(self._tabs.count())]

    def tab(self, name: str) -> QtWidgets.QWidget:
        """The widget of tab ``name``."""
        idx = self._index_of(name)
        if idx < 0:
            raise KeyError(f"no tab named {name!r}; tabs are {self.tab_names()}")
        return self._tabs.widget(idx)

    def set_tab(self, name: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget | None:
        """Put ``widget`` in tab ``name`` (replacing the widget there, keeping its position), or add a new tab.

        Returns the replaced widget, detached from the window, or None. If the replaced widget is the current
        tab, the new one becomes current.
        """
        idx = self._index_of(name)
        if idx < 0:
            self._tabs.addTab(widget, name)
            return None
        old = self._tabs.widget(idx)
        if old is widget:
            return None
        was_current = self._tabs.currentIndex() == idx
        self._tabs.blockSignals(True)
        try:
            self._tabs.removeTab(idx)
            self._tabs.insertTab(idx, widget, name)
            if was_current:
                self._tabs.setCurrentIndex(idx)
        finally:
            self._tabs.blockSignals(False)
        old.setParent(None)
        return old

    def current_tab_name(self) -> str:
        return self._tabs.tabText(self._tabs.currentIndex())

    def set_current_tab(self, name: str) -> None:
        idx = self._index_of(name)
        if idx < 0:
            raise KeyError(f"no tab named {name!r}; tabs are {self.tab_names()}")
        self._tabs.setCurrentIndex(idx)

    def tab_widget(self) -> QtWidgets.QTabWidget:
        return self._tabs

    def _index_of(self, name: str) -> int:
        for i in range(self._tabs.count()):
            if self._tabs.tabText(i) == name:
                return i
        return -1

    def _on_current_changed(self, idx: int) -> None:
        if idx >= 0:
            self.currentTabChanged.emit(self._tabs.tabText(idx))

    # --- menus and status bar ---------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.action_open_calibration = QtGui.QAction("&Open calibration…", self)
        self.action_open_calibration.setObjectName("actionOpenCalibration")
        self.action_open_calibration.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        self.action_open_calibration.setStatusTip("Load a stereo calibration (anipose/Pose2Sim TOML, metres)")
        self.action_open_calibration.triggered.connect(lambda: self.open_calibration())
        file_menu.addAction(self.action_open_calibration)
        file_menu.addSeparator()
        self.action_quit = QtGui.QAction("&Quit", self)
        self.action_quit.setObjectName("actionQuit")
        self.action_quit.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        self.action_quit.setMenuRole(QtGui.QAction.MenuRole.QuitRole)
        self.action_quit.triggered.connect(self.close)
        file_menu.addAction(self.action_quit)

        help_menu = bar.addMenu("&Help")
        self.action_about = QtGui.QAction("&About CrossView", self)
        self.action_about.setObjectName("actionAbout")
        self.action_about.setMenuRole(QtGui.QAction.MenuRole.AboutRole)
        self.action_about.triggered.connect(self.show_about)
        help_menu.addAction(self.action_about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self._status_fields: dict[str, QtWidgets.QLabel] = {}
        self.set_status_field("calibration", "No calibration loaded")
        self.set_status_field("version", f"CrossView {core.__version__}")
        bar.showMessage("Ready", 3000)

    def set_status_field(self, key: str, text: str) -> QtWidgets.QLabel:
        """Show ``text`` in a permanent status bar field ``key`` (created on first use, left to right)."""
        label = self._status_fields.get(key)
        if label is None:
            label = QtWidgets.QLabel()
            label.setObjectName(f"status_{key}")
            self._status_fields[key] = label
            self.statusBar().addPermanentWidget(label)
        label.setText(text)
        label.setVisible(bool(text))
        return label

    def status_field(self, key: str) -> str:
        return self._status_fields[key].text()

    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        """A transient status bar message."""
        self.statusBar().showMessage(text, timeout_ms)

    def about_text(self) -> str:
        return (
            f"<h3>CrossView {core.__version__}</h3>"
            "<p>Live 3D human motion capture from two webcams: MediaPipe Pose in each view, stereo "
            "triangulation and CV-UGCN learned refinement.</p>"
            "<p>Units: metres and seconds.</p>"
        )

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About CrossView", self.about_text())

    # --- calibration ------------------------------------------------------------------------------------------

    def open_calibration(self, path: str | None = None) -> CalibrationFile | None:
        """Choose a calibration TOML (a file dialog when ``path`` is None) and make it the app's calibration.

        Returns the calibration, or None when cancelled or when the file is bad (the error is shown).
        """
        if path is None:
            folder = self.state.settings.calibration_dir
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open calibration", str(folder or ""), "Calibration (*.toml);;All files (*)"
            )
            if not path:
                return None
        try:
            return self.state.load_calibration(path)
        except CrossViewError as exc:
            self.show_error(exc)
            return None

    def _on_calibration(self, calib: CalibrationFile | None) -> None:
        if calib is None:
            self.set_status_field("calibration", "No calibration loaded")
            return
        path = self.state.calibration_path
        name = Path(path).name if path is not None else "calibration"
        self.set_status_field("calibration", f"Calibration: {name} ({', '.join(calib.group.names)})")
        self.show_message(f"Loaded calibration {path}: {len(calib.group)} cameras; {calib.units_note}", 10000)

    def show_error(self, exc: BaseException) -> None:
        """Show an error to the user: a CrossViewError's own message, or a short 'unexpected error' report."""
        if isinstance(exc, CrossViewError):
            QtWidgets.QMessageBox.warning(self, "CrossView", str(exc))
            return
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("unexpected error:\n%s", detail)
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
        box.setWindowTitle("CrossView")
        box.setText(f"Unexpected error: {type(exc).__name__}: {exc}")
        box.setDetailedText(detail)
        box.exec()

    # --- settings and closing ---------------------------------------------------------------------------------

    def save_settings(self) -> None:
        s = self.state.settings
        s.window_geometry = self.saveGeometry()
        s.window_state = self.saveState()
        s.window_tab = self.current_tab_name()
        s.sync()

    def restore_settings(self) -> None:
        s = self.state.settings
        if s.window_geometry is not None:
            self.restoreGeometry(s.window_geometry)
        if s.window_state is not None:
            self.restoreState(s.window_state)
        if self._index_of(s.window_tab) >= 0:
            self.set_current_tab(s.window_tab)

    def stop_all(self) -> None:
        """Stop every tab, then every task still running; one failing does not keep the others running."""
        for i in reversed(range(self._tabs.count())):
            widget = self._tabs.widget(i)
            if not isinstance(widget, Tab):
                continue
            try:
                widget.stop()
            except Exception:  # closing must go on
                log.exception("stopping tab %s failed", self._tabs.tabText(i))
        self.state.tasks.stop_all()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self.save_settings()
            self.stop_all()
        super().closeEvent(event)
