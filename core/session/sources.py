"""A session's two cameras replayed as live sources with their ORIGINAL timestamps: :func:`session_sources` and
the :class:`ReplayClock` they share. No Qt.

Units: nanoseconds (capture times), seconds (``lead_s``).
"""

from __future__ import annotations

import os
import threading
import time

from core.capture.clock import MonotonicClock
from core.capture.iterable import IterableSource
from core.session.session import Session


class ReplayClock(MonotonicClock):
    """A monotonic clock shifted so that a recording's ORIGINAL timestamps are 'now' during replay:
    ``now_ns() = time.monotonic_ns() + offset_ns``. Frames stamped with their capture times then look fresh
    to a :class:`core.sync.LiveSynchronizer` (which drops frames older than its latency bound)."""

    def __init__(self, offset_ns: int) -> None:
        self.offset_ns = int(offset_ns)

    def now_ns(self) -> int:
        return time.monotonic_ns() + self.offset_ns

    def sleep_until(self, t_ns: int, stop: threading.Event) -> bool:
        return super().sleep_until(t_ns - self.offset_ns, stop)


def session_sources(
    session: str | os.PathLike | Session, pace: bool = True, lead_s: float = 0.2
) -> list[IterableSource]:
    """The session's two cameras as replay sources (:class:`core.capture.IterableSource`) with the ORIGINAL
    timestamps and session frame indices, sharing a :class:`ReplayClock`, ready for a LivePipeline.

    ``pace=True`` replays in real time; ``pace=False`` as fast as decoding goes (for consumers that take every
    frame; a live synchroniser may then see one camera run far ahead of the other).
    """
    s = Session.open(session)
    ts = s.check(count_frames=False)
    firsts = [int(t[0]) for t in ts.values() if len(t)]
    clock = ReplayClock(min(firsts) - time.monotonic_ns() - int(lead_s * 1e9))
    sources = []
    for cam in s.meta.cameras:
        t = ts[cam.name]
        fps = cam.fps if cam.fps > 0 else (s.meta.fps if s.meta.fps > 0 else 30.0)
        sources.append(
            IterableSource(
                cam.name,
                (lambda name=cam.name, t=t: s.iter_frames(name, t)),
                nominal_fps=fps,
                pace=pace,
                clock=clock,
            )
        )
    return sources
