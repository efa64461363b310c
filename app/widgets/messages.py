"""Non-blocking message boxes for the tabs: :class:`MessageBoxSlot` (status-bar messages go through
:meth:`app.state.AppState.say`)."""

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
