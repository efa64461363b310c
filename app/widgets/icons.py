"""Small icons drawn with QPainter in a palette colour, crisp on high-DPI screens. Qt only."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui

from app.theme import PALETTE


def painted_icon(size: int, colour: str, draw: Callable[[QtGui.QPainter, float], None]) -> QtGui.QIcon:
    """An icon ``size`` px square (drawn at 2x) filled with palette colour ``colour`` by ``draw(painter, size)``,
    which draws in logical pixels with no pen and an antialiased brush."""
    pm = QtGui.QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(PALETTE.qcolor(colour))
    draw(p, float(size))
    p.end()
    return QtGui.QIcon(pm)
