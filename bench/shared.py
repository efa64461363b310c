"""Where the shared real data lives, for benchmarks, tests and tools: ``../shared/data`` beside the checkout, or
``$CROSSVIEW_SHARED_DATA``. Nothing here needs the data to exist; callers say what is missing."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROSSVIEW_SHARED_DATA", str(REPO.parent / "shared" / "data"))).expanduser()
SESSIONS = SHARED_DATA / "sessions"
POSE2SIM = SESSIONS / "pose2sim_balancing"
CALISCOPE = SESSIONS / "caliscope_2cam_charuco"
