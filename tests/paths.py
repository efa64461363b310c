"""Where the shared real data lives, for tests and benchmarks.

The data sits beside the checkout in ``../shared/data`` (override with CROSSVIEW_SHARED_DATA).
Tests that need a file skip with a clear reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSVIEW_SHARED_DATA", str(REPO.parent / "shared" / "data"))).expanduser()
POSE2SIM = SHARED_DATA / "sessions" / "pose2sim_balancing"
CALISCOPE = SHARED_DATA / "sessions" / "caliscope_2cam_charuco"


def need(path: Path) -> Path:
    """Return ``path`` or skip the test, saying which shared file is missing."""
    if not path.exists():
        pytest.skip(
            f"real data '{path}' is absent: set CROSSVIEW_SHARED_DATA to the shared data folder "
            "(see the data README for the pip download commands that fetch it)"
        )
    return path
