"""Small pieces shared by the tabs: non-blocking message boxes, status-bar messages, window registration."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class MessageBoxSlot:
    """At most one non-blocking message box per widget: a new one replaces the one on screen."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        self._parent = parent
        self._box: QtWidgets.QMessageBox | None = None

    @property
    def current(self) -> QtWidgets.QMessageBox | None:
        """The box on screen, if any."""
        return self._box

    def show(
        self, icon: QtWidgets.QMessageBox.Icon, title: str, text: str, object_name: str = ""
    ) -> QtWidgets.QMessageBox:
        """Open a box titled "CrossView — ``title``" without blocking (the window stays live behind it)."""
        if self._box is not None:
            self._box.close()
        box = QtWidgets.QMessageBox(
            icon, f"CrossView — {title}", text, QtWidgets.QMessageBox.StandardButton.Ok, self._parent
        )
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
        if object_name:
            box.setObjectName(object_name)
        box.destroyed.connect(self._forget)
        self._box = box
        box.open()
        return box

    def _forget(self, *_: object) -> None:
        self._box = None


def status_message(widget: QtWidgets.QWidget, text: str, timeout_ms: int = 5000) -> None:
    """Show ``text`` in the main window's status bar, when the widget sits in one."""
    win = widget.window()
    show = getattr(win, "show_message", None)
    if callable(show) and win is not widget:
        show(text, timeout_ms)


def register_with_window(widget: QtWidgets.QWidget) -> None:
    """Register ``widget`` (which has ``stop()``) with its main window once, so closing the window stops it."""
    win = widget.window()
    register = getattr(win, "register_closeable", None)
    closeables = getattr(win, "closeables", None)
    if win is widget or not callable(register):
        return
    if callable(closeables) and widget in closeables():
        return
    register(widget)
