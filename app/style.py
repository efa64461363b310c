"""TEMPORARY shim while the tabs move to :mod:`app.theme` (issue 9); deleted once nothing imports it."""

from __future__ import annotations

from app.theme import PALETTE

ACCENT = PALETTE.accent
WINDOW = PALETTE.window
BASE = PALETTE.base
PANEL = PALETTE.panel
BORDER = PALETTE.border
TEXT = PALETTE.text
MUTED = PALETTE.muted
