"""CrossView's one theme: a :class:`Palette` of named colours and ``.qss`` templates, applied once. Qt only.

Every colour the app shows is named here; widgets never hold hex codes. Stylesheets are the ``*.qss`` files
of this folder (``base.qss`` first, then one per feature, in name order), with placeholders filled from the
palette:

- ``{{ accent }}``: the colour ``#3ea6f5``;
- ``{{ accent:0.12 }}``: the same colour with alpha 0.12, as ``rgba(62, 166, 245, 0.12)``.

:func:`apply_theme` sets the Fusion style, the matching ``QPalette`` and the whole stylesheet on the
application, once (``app.gui.create_application`` does it). A widget whose look depends on a state sets a
dynamic property (``widget.setProperty("level", "good")``) that the stylesheet selects on
(``QLabel#verdict[level="good"]``), then calls :func:`repolish`. Code that paints (QPainter, pyqtgraph, GL)
takes its colours from :data:`PALETTE` (:meth:`Palette.qcolor`, :meth:`Palette.rgba_f`).
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path

from PySide6 import QtGui, QtWidgets

QSS_DIR = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_0-9]+)\s*(?::\s*([0-9.]+)\s*)?\}\}")


@dataclasses.dataclass(frozen=True)
class Palette:
    """The dark theme's colours, ``#rrggbb``. Grouped by use; a new colour gets a name here first."""

    # surfaces and text
    window: str = "#1b1d23"
    base: str = "#16181d"
    panel: str = "#22252d"
    border: str = "#30343e"
    text: str = "#e3e6ec"
    muted: str = "#9aa1ae"
    white: str = "#ffffff"
    alt_row: str = "#1a1c22"
    preview: str = "#2a2d35"
    overlay: str = "#101216"
    shadow: str = "#0f1115"
    problem_fill: str = "#3c1212"
    problem_text: str = "#ffe1dc"
    legend_fill: str = "#14161c"
    legend_text: str = "#e1e4eb"
    legend_muted: str = "#a0a6b2"
    # accent (primary buttons, selection, focus)
    accent: str = "#3ea6f5"
    accent_hover: str = "#5cb5f7"
    accent_disabled: str = "#2a4a63"
    accent_disabled_text: str = "#b8c4d0"
    # disabled controls
    disabled: str = "#5d6470"
    disabled_border: str = "#3a3f4a"
    disabled_fill: str = "#3a4656"
    disabled_checked: str = "#34495c"
    step_todo: str = "#6b7280"
    # verdicts and levels (good / usable / poor; success / warning / error)
    good: str = "#46cd78"
    warn: str = "#f5be32"
    bad: str = "#eb483c"
    on_verdict: str = "#111111"
    # text on the dark background that carries a meaning
    ok_text: str = "#8fe3a9"
    caution: str = "#f5a53e"
    caution_text: str = "#ffe2a8"
    error_text: str = "#ff9b91"
    error_banner_text: str = "#ffd6d1"
    ok_banner_text: str = "#d8f5e2"
    mixed: str = "#f5c66b"
    bright: str = "#ff6b6b"
    # recording
    record: str = "#c8463c"
    record_hover: str = "#e0564b"
    record_icon: str = "#ff5a4e"
    record_icon_off: str = "#6b4a4a"
    record_time: str = "#ff8a80"
    # "use this model"
    confirm: str = "#2f8f58"
    confirm_hover: str = "#38a868"
    # plot series
    second_series: str = "#f08c3c"
    paired_series: str = "#7f8aa3"
    batch_series: str = "#6d7587"
    term_reproj: str = "#f5a53e"
    term_cross_reproj: str = "#ef6f5e"
    term_bone_dir: str = "#8fe3a9"
    term_bone_length: str = "#c792ea"
    term_symmetry: str = "#4dd0c4"
    term_temporal: str = "#f2d16b"
    # calibration (wizard and tab): picture overlays and the board corners in 3D
    frame_chip: str = "#0f1116"
    corner_outline: str = "#0a0a0a"
    board_corners: str = "#73cc8c"
    board_corners_shown: str = "#f266f2"
    # sessions (list, replay, export): the replay's plot series
    median_series: str = "#828896"
    bone_1: str = "#3ea6f5"
    bone_2: str = "#f0785a"
    bone_3: str = "#78d28c"
    bone_4: str = "#c88cf0"

    def __getitem__(self, name: str) -> str:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(f"the palette has no colour {name!r}") from None

    def qcolor(self, name: str, alpha: float = 1.0) -> QtGui.QColor:
        c = QtGui.QColor(self[name])
        c.setAlphaF(float(alpha))
        return c

    def rgb(self, name: str) -> tuple[int, int, int]:
        """``(r, g, b)`` 0-255."""
        h = self[name].lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    def rgba_f(self, name: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
        """``(r, g, b, a)`` 0-1 (OpenGL)."""
        r, g, b = self.rgb(name)
        return r / 255.0, g / 255.0, b / 255.0, float(alpha)

    def css(self, name: str, alpha: float | None = None) -> str:
        """The colour as a stylesheet value (``#rrggbb`` or ``rgba(r, g, b, a)``)."""
        if alpha is None:
            return self[name]
        r, g, b = self.rgb(name)
        return f"rgba({r}, {g}, {b}, {alpha:g})"


#: The app's palette.
PALETTE = Palette()


def fill_template(template: str, palette: Palette = PALETTE) -> str:
    """Replace ``{{ name }}`` and ``{{ name:alpha }}`` with the palette's colours (KeyError for unknown names)."""

    def sub(m: re.Match[str]) -> str:
        return palette.css(m.group(1), float(m.group(2)) if m.group(2) else None)

    return _PLACEHOLDER.sub(sub, template)


def qss_files() -> list[Path]:
    """The stylesheet templates in the order they apply: ``base.qss``, then the others by name."""
    files = sorted(QSS_DIR.glob("*.qss"))
    return sorted(files, key=lambda p: (p.name != "base.qss", p.name))


@cache
def stylesheet(palette: Palette = PALETTE) -> str:
    """The whole application stylesheet, filled from ``palette``."""
    parts = [f"/* {p.name} */\n" + fill_template(p.read_text(encoding="utf-8"), palette) for p in qss_files()]
    return "\n".join(parts)


def qpalette(palette: Palette = PALETTE) -> QtGui.QPalette:
    """A ``QPalette`` that matches the stylesheet (for what the stylesheet does not paint)."""
    p = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for r, name in (
        (role.Window, "window"),
        (role.WindowText, "text"),
        (role.Base, "base"),
        (role.AlternateBase, "panel"),
        (role.ToolTipBase, "panel"),
        (role.ToolTipText, "text"),
        (role.Text, "text"),
        (role.Button, "panel"),
        (role.ButtonText, "text"),
        (role.BrightText, "bright"),
        (role.Highlight, "accent"),
        (role.HighlightedText, "white"),
        (role.Link, "accent"),
        (role.PlaceholderText, "muted"),
    ):
        p.setColor(r, palette.qcolor(name))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, palette.qcolor("disabled"))
    return p


def apply_theme(app: QtWidgets.QApplication, palette: Palette = PALETTE) -> None:
    """Fusion + the palette + the whole stylesheet on the application (call once, at start)."""
    app.setStyle("Fusion")
    app.setPalette(qpalette(palette))
    app.setStyleSheet(stylesheet(palette))


def repolish(widget: QtWidgets.QWidget) -> None:
    """Re-apply the stylesheet to ``widget`` after one of its dynamic properties changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def set_style_property(widget: QtWidgets.QWidget, name: str, value: object) -> None:
    """Set a dynamic property the stylesheet selects on and repolish when it changed."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        repolish(widget)
