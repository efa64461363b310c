"""CrossView's dark theme: Fusion style, a dark palette and a small stylesheet. Qt only."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

ACCENT = "#3ea6f5"
WINDOW = "#1b1d23"
BASE = "#16181d"
PANEL = "#22252d"
BORDER = "#30343e"
TEXT = "#e3e6ec"
MUTED = "#9aa1ae"

STYLESHEET = f"""
QMainWindow, QWidget#page {{ background: {WINDOW}; }}
QTabWidget::pane {{ border: none; border-top: 1px solid {BORDER}; top: -1px; }}
QTabBar {{ qproperty-drawBase: 0; }}
QTabBar::tab {{
    background: transparent; color: {MUTED}; padding: 9px 22px; margin-right: 2px;
    border: none; border-bottom: 2px solid transparent; font-weight: 600;
}}
QTabBar::tab:hover {{ color: {TEXT}; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QStatusBar {{ background: {BASE}; color: {MUTED}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 8px; }}
QMenuBar {{ background: {BASE}; color: {TEXT}; }}
QMenuBar::item:selected {{ background: {PANEL}; }}
QMenu {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; }}
QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 10px; }}
QLabel#cardTitle {{ color: {TEXT}; font-size: 14px; font-weight: 600; }}
QLabel#cardText {{ color: {MUTED}; font-size: 13px; }}
QLabel#pageTitle {{ color: {TEXT}; font-size: 24px; font-weight: 700; }}
QLabel#pageSummary {{ color: {MUTED}; font-size: 14px; }}
QLabel#chip {{
    color: {ACCENT}; background: rgba(62, 166, 245, 0.12); border: 1px solid rgba(62, 166, 245, 0.45);
    border-radius: 10px; padding: 2px 10px; font-size: 12px; font-weight: 600;
}}
QLabel#hint {{ color: {MUTED}; }}
QLabel#note {{ color: {MUTED}; font-size: 13px; padding-left: 2px; }}
QLabel#badge {{
    color: {ACCENT}; background: rgba(62, 166, 245, 0.14); border-radius: 15px; font-weight: 700; font-size: 14px;
}}
QFrame#toolbar {{ background: {BASE}; border-bottom: 1px solid {BORDER}; }}
QPushButton, QComboBox {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 6px; padding: 5px 12px;
}}
QPushButton:hover, QComboBox:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed {{ background: {BORDER}; }}
QCheckBox {{ color: {TEXT}; spacing: 7px; }}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid #5d6470; border-radius: 4px; background: {PANEL};
}}
QCheckBox::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; }}
"""


def dark_palette() -> QtGui.QPalette:
    """A dark QPalette matching :data:`STYLESHEET`."""
    p = QtGui.QPalette()
    c = QtGui.QColor
    role = QtGui.QPalette.ColorRole
    p.setColor(role.Window, c(WINDOW))
    p.setColor(role.WindowText, c(TEXT))
    p.setColor(role.Base, c(BASE))
    p.setColor(role.AlternateBase, c(PANEL))
    p.setColor(role.ToolTipBase, c(PANEL))
    p.setColor(role.ToolTipText, c(TEXT))
    p.setColor(role.Text, c(TEXT))
    p.setColor(role.Button, c(PANEL))
    p.setColor(role.ButtonText, c(TEXT))
    p.setColor(role.BrightText, c("#ff6b6b"))
    p.setColor(role.Highlight, c(ACCENT))
    p.setColor(role.HighlightedText, c("#ffffff"))
    p.setColor(role.Link, c(ACCENT))
    p.setColor(role.PlaceholderText, c(MUTED))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, c("#5d6470"))
    return p


def apply_dark_theme(app: QtWidgets.QApplication) -> None:
    """Fusion + dark palette + the CrossView stylesheet on the whole application."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
