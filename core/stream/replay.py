"""A processed session replayed as a live stream (``python main.py stream SESSION ...``): every frame is pushed at
its own time (the session's ``time_s``), looping if asked, through a :class:`~core.stream.streamer.Streamer`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.errors import InputError, SessionError
from core.export.retarget import rig_from_motion
from core.session.session import Session
from core.stream.frame import StreamFrame
from core.stream.live import open_outputs
from core.stream.streamer import Streamer, StreamOutput, StreamStats, check_fps
from core.stream.target import DEFAULT_JSON_PORT, DEFAULT_VMC_PORT, parse_target
from core.stream.vmc import ZUP_TO_YUP
from core.up_axis import rotation_to_z_up

#: Frames a replay lets wait for the sender (about 0.25 s at 30 fps): a replay is not live, a stall drops nothing.
REPLAY_MAX_WAITING = 8


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay sent: ``frames`` in the take, ``loops`` played, ``seconds`` of wall time, the stream's stats."""

    session: str
    which: str
    frames: int
    loops: int
    seconds: float
    fps: float
    stats: StreamStats

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stats"] = asdict(self.stats)
        return d


@dataclass(frozen=True)
class Take:
    """A session's 3D as stream frames: ``time_s`` ``(P,)`` s from 0, ``joints`` ``(P, 17, 3)`` m Z up,
    ``confidence`` ``(P, 17)``, ``refined`` whether the refined 3D is used, ``which`` its name."""

    time_s: np.ndarray
    joints: np.ndarray
    confidence: np.ndarray
    refined: bool
    which: str
    person: int | None

    def frame(self, i: int, t_offset: float = 0.0) -> StreamFrame:
        return StreamFrame(
            t_s=float(self.time_s[i] + t_offset),
            joints=self.joints[i],
            confidence=self.confidence[i],
            person=self.person,
            refined=self.refined,
        )


def load_take(session: str | os.PathLike | Session, which: str | None = None, person: int | None = None) -> Take:
    """The 3D of a processed session (``which`` "raw" | "refined", default refined when there), world Z up."""
    s = Session.open(session)
    poses = s.poses(person)
    if poses is None:
        raise SessionError(
            f"session '{s.path}' has no 3D results yet; run `python main.py process {s.path}` first, then stream it."
        )
    if which not in (None, "raw", "refined"):
        raise InputError(f"--which must be 'raw' or 'refined', got {which!r}.")
    refined = poses.refined is not None and which != "raw"
    if which == "refined" and poses.refined is None:
        raise SessionError(f"session '{s.path}' has no refined 3D; stream --which raw, or process it with a model.")
    pts = np.asarray(poses.refined if refined else poses.coarse, dtype=np.float64)
    if not np.isfinite(pts).all(axis=-1).any():
        raise SessionError(f"session '{s.path}' has no frame with 3D to stream.")
    up, _why = s.world_up()
    kp = s.keypoints()
    conf = np.ones(pts.shape[:2])
    if kp is not None and person is None and all(k.shape[:2] == pts.shape[:2] for k in kp.values()):
        conf = np.clip(np.min(np.stack([k[..., 2] for k in kp.values()]), axis=0), 0.0, 1.0)
    t = np.asarray(poses.time_s, dtype=np.float64)
    return Take(
        time_s=t - t[0],
        joints=pts @ rotation_to_z_up(up).T,
        confidence=conf,
        refined=refined,
        which="refined" if refined else "raw",
        person=person,
    )


def make_outputs(
    vmc: str | None = None, json_udp: str | None = None, rest: np.ndarray | None = None
) -> list[StreamOutput]:
    """The outputs for ``HOST:PORT`` targets (either may be None; at least one must be given)."""
    if not vmc and not json_udp:
        raise InputError("nothing to stream to: give --vmc HOST:PORT and/or --json-udp HOST:PORT.")
    targets = []
    if vmc:
        targets.append(("vmc", *parse_target(vmc, DEFAULT_VMC_PORT, "VMC")))
    if json_udp:
        targets.append(("json", *parse_target(json_udp, DEFAULT_JSON_PORT, "JSON")))
    return open_outputs(targets, rest)


def stream_take(
    take: Take,
    streamer: Streamer,
    *,
    loop: bool = False,
    cancel: threading.Event | None = None,
    on_loop: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Push every frame of ``take`` at its own time (looping until ``cancel`` if asked); returns the loops
    played. Frames without 3D are skipped; times keep increasing across loops."""
    cancel = cancel or threading.Event()
    period = float(np.median(np.diff(take.time_s))) if len(take.time_s) > 1 else 1.0 / streamer.fps
    span = float(take.time_s[-1]) + period
    has_3d = np.isfinite(take.joints[:, 0]).all(axis=-1)
    loops = 0
    start = clock()
    while not cancel.is_set():
        for i in range(len(take.time_s)):
            due = start + loops * span + float(take.time_s[i])
            wait = due - clock()
            if wait > 0 and cancel.wait(wait):
                return loops
            if has_3d[i]:
                streamer.push(take.frame(i, loops * span))
        loops += 1
        if on_loop is not None:
            on_loop(loops)
        if not loop:
            break
    return loops


def stream_session(
    session: str | os.PathLike | Session,
    *,
    vmc: str | None = None,
    json_udp: str | None = None,
    fps: float = 30.0,
    loop: bool = False,
    which: str | None = None,
    person: int | None = None,
    cancel: threading.Event | None = None,
    on_loop: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Replay a processed session to VMC and/or JSON receivers (``HOST:PORT``) at ``fps`` at most.

    The VMC rig's bone lengths are the whole take's medians. Returns when the take ends (``loop`` False) or when
    ``cancel`` is set.
    """
    fps = check_fps(fps)
    take = load_take(session, which, person)
    rest = rig_from_motion(take.joints @ ZUP_TO_YUP.T) if vmc else None
    outputs = make_outputs(vmc, json_udp, rest)
    t0 = time.monotonic()
    streamer = Streamer(outputs, fps, max_waiting=REPLAY_MAX_WAITING)
    with streamer:
        loops = stream_take(take, streamer, loop=loop, cancel=cancel, on_loop=on_loop)
        streamer.wait_idle()
    return ReplaySummary(
        session=str(Session.open(session).path),
        which=take.which,
        frames=len(take.time_s),
        loops=loops,
        seconds=time.monotonic() - t0,
        fps=streamer.fps,
        stats=streamer.stats(),
    )
