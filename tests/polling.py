"""Waiting on a condition in tests, with a bound instead of a fixed sleep (one definition for every test)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.01) -> bool:
    """Poll ``condition`` every ``step_s`` until it holds (True) or ``timeout_s`` passes (False)."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        threading.Event().wait(step_s)
    return True
