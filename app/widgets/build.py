"""Two small builders of the views' most common widgets, so that each view reads as what it shows. Qt only.

The look comes from the theme (``app/theme/*.qss``), selected by the object names given here.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtWidgets


def make_label(text: str = "", name: str = "", *, wrap: bool = False) -> QtWidgets.QLabel:
    """A label with object name ``name`` (its style in the theme), word-wrapped when ``wrap``."""
    w = QtWidgets.QLabel(text)
    if name:
        w.setObjectName(name)
    if wrap:
        w.setWordWrap(True)
    return w


def framed(
    name: str,
    direction: str = "h",
    margins: Sequence[int] = (0, 0, 0, 0),
    spacing: int = 0,
    *,
    width: int | None = None,
) -> tuple[QtWidgets.QFrame, QtWidgets.QBoxLayout]:
    """A frame with object name ``name`` and its row (``"h"``) or column (``"v"``) layout with ``margins``
    (left, top, right, bottom px) and ``spacing`` px; a fixed ``width`` px when given."""
    frame = QtWidgets.QFrame()
    frame.setObjectName(name)
    if width is not None:
        frame.setFixedWidth(width)
    lay: QtWidgets.QBoxLayout = QtWidgets.QHBoxLayout(frame) if direction == "h" else QtWidgets.QVBoxLayout(frame)
    lay.setContentsMargins(*margins)
    lay.setSpacing(spacing)
    return frame, lay


def vline(height: int = 22) -> QtWidgets.QFrame:
    """A thin vertical separator (``QFrame#vline``) for toolbars, ``height`` px tall."""
    line = QtWidgets.QFrame()
    line.setObjectName("vline")
    line.setFrameShape(QtWidgets.QFrame.Shape.VLine)
    line.setFixedHeight(height)
    return line
