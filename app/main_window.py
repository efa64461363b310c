"""The CrossView main window: named, replaceable tabs, menus, status bar, persisted layout. Qt only.

Tabs are addressed by name (``"Live"``, ``"Calibration"``, ``"Sessions"``, ``"Training"``); later code
swaps the placeholders for real tabs with :meth:`MainWindow.set_tab`. Objects that run work off the GUI
thread register with :meth:`MainWindow.register_closeable`; closing the window stops them all.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Protocol

from PySide6 import QtCore, QtGui, QtWidgets

import core
from core.errors import CrossViewError

log = logging.getLogger(__name__)

ORGANISATION = "CrossView"
APPLICATION = "CrossView"
TAB_NAMES: tuple[str, ...] = ("Live", "Calibration", "Sessions", "Training")
#: How long closing waits for each registered QThread to finish, milliseconds.
THREAD_STOP_TIMEOUT_MS = 5000


class Closeable(Protocol):
    """Anything with a ``stop()`` method (a worker, a capture source, a QThread wrapper...)."""

    def stop(self) -> object: ...


def default_settings() -> QtCore.QSettings:
    """The user's CrossView settings (organisation "CrossView", application "CrossView")."""
    return QtCore.QSettings(ORGANISATION, APPLICATION)


def _default_tab(name: str) -> QtWidgets.QWidget:
    from app import placeholders

    factories: dict[str, Callable[[], QtWidgets.QWidget]] = {
        "Live": placeholders.LivePlaceholder,
        "Calibration": placeholders.calibration_placeholder,
        "Sessions": placeholders.sessions_placeholder,
        "Training": placeholders.training_placeholder,
    }
    return factories[name]()


class MainWindow(QtWidgets.QMainWindow):
    """CrossView's main window.

    ``settings`` is where geometry, window state and the last tab are kept; by default the user's
    QSettings. Tests pass a ``QSettings(path, QSettings.IniFormat)`` in a temporary folder.
    """

    #: Emitted with the path of a calibration TOML chosen in File > Open calibration…
    calibrationFileChosen = QtCore.Signal(str)
    #: Emitted with the ``core.calibration_io.CalibrationFile`` after one was loaded successfully.
    calibrationLoaded = QtCore.Signal(object)
    #: Emitted with the new tab's name whenever the current tab changes.
    currentTabChanged = QtCore.Signal(str)

    def __init__(
        self,
        settings: QtCore.QSettings | None = None,
        tabs: dict[str, QtWidgets.QWidget] | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("CrossView")
        self._settings = settings if settings is not None else default_settings()
        self._closeables: list[Closeable] = []
        self._closed = False
        self.calibration = None  # the loaded core.calibration_io.CalibrationFile, if any

        self._tabs = QtWidgets.QTabWidget()
        self._tabs.setObjectName("mainTabs")
        self._tabs.setDocumentMode(True)
        self._tabs.currentChanged.connect(self._on_current_changed)
        self.setCentralWidget(self._tabs)
        given = dict(tabs or {})
        for name in TAB_NAMES:
            widget = given.pop(name, None)
            self.set_tab(name, widget if widget is not None else _default_tab(name))
        for name, widget in given.items():
            self.set_tab(name, widget)

        self._build_menus()
        self._build_status_bar()
        self.calibrationFileChosen.connect(self.load_calibration_file)
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

        Returns the replaced widget, detached from the window (the caller may keep or drop it), or None.
        If the replaced widget is the current tab, the new one becomes current.
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

    def open_calibration(self, path: str | None = None) -> str | None:
        """Choose a calibration TOML (a file dialog when ``path`` is None) and emit :attr:`calibrationFileChosen`.

        Returns the chosen path, or None when cancelled. By default :meth:`load_calibration_file` loads it.
        """
        if path is None:
            last_dir = str(self._settings.value("paths/calibration_dir", ""))
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open calibration", last_dir, "Calibration (*.toml);;All files (*)"
            )
            if not path:
                return None
        self._settings.setValue("paths/calibration_dir", str(QtCore.QFileInfo(path).absolutePath()))
        self.show_message(f"Calibration file chosen: {path}")
        self.calibrationFileChosen.emit(path)
        return path

    def load_calibration_file(self, path: str) -> object | None:
        """Load a calibration TOML with ``core.calibration_io``; on success keep it in :attr:`calibration`,
        show it in the status bar, hand it to every tab that has a ``set_calibration(calib)`` method and
        emit :attr:`calibrationLoaded`. A bad file is reported in a dialog (its message says what to do).
        """
        from core.calibration_io import load_calibration

        try:
            calib = load_calibration(path)
        except CrossViewError as exc:
            self.show_error(exc)
            return None
        self.calibration = calib
        names = ", ".join(calib.group.names)
        self.set_status_field("calibration", f"Calibration: {QtCore.QFileInfo(path).fileName()} ({names})")
        self.show_message(f"Loaded calibration {path}: {len(calib.group)} cameras; {calib.units_note}", 10000)
        for i in range(self._tabs.count()):
            setter = getattr(self._tabs.widget(i), "set_calibration", None)
            if callable(setter):
                setter(calib)
        self.calibrationLoaded.emit(calib)
        return calib

    def show_error(self, exc: BaseException) -> None:
        """Show an error to the user: a CrossViewError's own message, or a short 'unexpected error' report."""
        if isinstance(exc, CrossViewError):
            QtWidgets.QMessageBox.warning(self, "CrossView", str(exc))
        else:
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            log.error("unexpected error:\n%s", detail)
            box = QtWidgets.QMessageBox(self)
            box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
            box.setWindowTitle("CrossView")
            box.setText(f"Unexpected error: {type(exc).__name__}: {exc}")
            box.setDetailedText(detail)
            box.exec()

    # --- closeables -------------------------------------------------------------------------------------------

    def register_closeable(self, obj: Closeable) -> Closeable:
        """Stop ``obj`` (call its ``stop()``; then ``wait()`` if it is a QThread) when the window closes.

        Objects are stopped in reverse order of registration. Returns ``obj``.
        """
        if not callable(getattr(obj, "stop", None)):
            raise TypeError(f"register_closeable needs an object with a stop() method, got {type(obj).__name__}")
        if obj not in self._closeables:
            self._closeables.append(obj)
        return obj

    def unregister_closeable(self, obj: Closeable) -> None:
        if obj in self._closeables:
            self._closeables.remove(obj)

    def closeables(self) -> list[Closeable]:
        return list(self._closeables)

    def stop_closeables(self) -> None:
        """Stop every registered object, newest first; one failing does not keep the others running."""
        while self._closeables:
            obj = self._closeables.pop()
            try:
                obj.stop()
                if isinstance(obj, QtCore.QThread) and not obj.wait(THREAD_STOP_TIMEOUT_MS):
                    log.warning("thread %r did not stop within %d ms", obj, THREAD_STOP_TIMEOUT_MS)
            except Exception:  # closing must go on
                log.exception("failed to stop %r", obj)

    # --- settings ---------------------------------------------------------------------------------------------

    def settings(self) -> QtCore.QSettings:
        return self._settings

    def save_settings(self) -> None:
        s = self._settings
        s.setValue("mainwindow/geometry", self.saveGeometry())
        s.setValue("mainwindow/state", self.saveState())
        s.setValue("mainwindow/tab", self.current_tab_name())
        s.sync()

    def restore_settings(self) -> None:
        s = self._settings
        geometry = s.value("mainwindow/geometry")
        if isinstance(geometry, QtCore.QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = s.value("mainwindow/state")
        if isinstance(state, QtCore.QByteArray) and not state.isEmpty():
            self.restoreState(state)
        tab = s.value("mainwindow/tab")
        if isinstance(tab, str) and self._index_of(tab) >= 0:
            self.set_current_tab(tab)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self.save_settings()
            self.stop_closeables()
        super().closeEvent(event)
