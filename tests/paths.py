"""Where the shared real data lives, for tests (the one definition is :mod:`bench.shared`).

Tests that need a file skip with a clear reason when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.shared import CALISCOPE, POSE2SIM, REPO, SHARED_DATA

__all__ = ["CALISCOPE", "POSE2SIM", "REPO", "SHARED_DATA", "need"]


def need(path: Path) -> Path:
    """Return ``path`` or skip the test, saying which shared file is missing."""
    if not path.exists():
        pytest.skip(
            f"real data '{path}' is absent: set CROSSVIEW_SHARED_DATA to the shared data folder "
            "(see the data README for the pip download commands that fetch it)"
        )
    return path
