"""How numbers read in the views: :func:`number`. No widgets."""

from __future__ import annotations

import math


def number(v: float | None, digits: int = 0, unit: str = "", missing: str = "–") -> str:
    """``v`` with ``digits`` decimals and ``unit`` (``"3.2 ms"``); ``missing`` for None or a non-finite value."""
    if v is None or not math.isfinite(v):
        return missing
    return f"{v:.{digits}f}{unit}"
