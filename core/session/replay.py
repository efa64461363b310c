"""What a replay shows, read off the GUI thread: :func:`load_replay_data`; random access to a video's frames
(:class:`VideoReader`); the :class:`PairDecoder` that decodes both videos for the replay in its own thread; and
which pair's 3D to show where the live pipeline skipped pairs (:func:`held_pairs`). No Qt.

Units: seconds (``time_s``), nanoseconds (capture times), pixels (frames), metres (3D).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.capture import Frame
from core.errors import CrossViewError, SessionError
from core.session.journal import Poses
from core.session.layout import STATUS_RECORDING
from core.session.lock import is_recording_live
from core.session.session import Session

log = logging.getLogger(__name__)


@dataclass
class ReplayData:
    """What the replay view shows, loaded off the GUI thread.

    ``frame_a``/``frame_b`` ``(P,)``: each pair's frame index in each video; ``t_a``/``t_b`` ``(P,)`` ns capture
    times; ``time_s`` ``(P,)`` seconds from the session's start; ``keypoints`` ``{camera: (P, 17, 3)}`` px or
    None; ``poses``: the 3D results or None; ``group``: the calibrated cameras (world frame, metres).
    """

    session: Session
    names: list[str]
    frame_a: np.ndarray
    frame_b: np.ndarray
    t_a: np.ndarray
    t_b: np.ndarray
    time_s: np.ndarray
    keypoints: dict[str, np.ndarray] | None
    poses: Poses | None
    group: Any
    world_up: str
    world_up_reason: str
    sizes: list[tuple[int, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_pairs(self) -> int:
        return len(self.time_s)

    @property
    def has_refined(self) -> bool:
        return self.poses is not None and self.poses.refined is not None


def load_replay_data(path: str | os.PathLike, allowed_up: Sequence[str] = ("+z", "-y", "+y")) -> ReplayData:
    """Open and check a session and read everything the replay view needs. SessionError when it cannot be shown."""
    from core.calibration_io import infer_world_up

    s = Session.open(path)
    if s.meta.status == STATUS_RECORDING:
        if is_recording_live(s.path):
            raise SessionError(f"session '{s.path.name}' is still being recorded; stop the recording to replay it.")
        raise SessionError(
            f"session '{s.path.name}' was not finished (the app stopped while recording). Recover it first "
            "(Sessions tab ▸ the recovery offer, or Refresh)."
        )
    ts = s.check(count_frames=False)
    pairs = s.pairs()
    a, b = s.names
    t_a = ts[a][pairs.index_a]
    t_b = ts[b][pairs.index_b]
    t0 = s.time_origin_ns(ts)
    time_s = ((t_a + t_b) // 2 - t0) / 1e9
    kps = s.keypoints()
    poses = s.poses()
    warnings: list[str] = []
    P = len(pairs)
    if poses is not None and len(poses.time_s) != P:
        warnings.append(f"poses3d.npz holds {len(poses.time_s)} pairs, the session {P}: process the session again.")
        poses = None
    if kps is not None and any(len(v) != P for v in kps.values()):
        warnings.append("keypoints2d.npz does not match the session's pairs: process the session again.")
        kps = None
    group = None
    up, why = "+z", "assumed (no calibration)"
    try:
        cal = s.calibration()
        group = cal.group
        up, why = infer_world_up(cal, cal.group, allowed=tuple(allowed_up))
    except CrossViewError as exc:
        warnings.append(str(exc))
    return ReplayData(
        session=s,
        names=[a, b],
        frame_a=pairs.index_a,
        frame_b=pairs.index_b,
        t_a=t_a,
        t_b=t_b,
        time_s=np.asarray(time_s, np.float64),
        keypoints=kps,
        poses=poses,
        group=group,
        world_up=up,
        world_up_reason=why,
        sizes=s.frame_sizes(),
        warnings=warnings,
    )


#: Forward jumps up to this many frames are decoded through (grab) rather than seeked: cheaper for videos
#: with few keyframes (H.264), and exact.
FORWARD_GRAB_MAX = 30


class VideoReader:
    """Random access to the frames of one video (cv2): sequential reads are cheap, short forward jumps grab
    through, other jumps seek. Not thread-safe: one thread at a time."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SessionError(f"the video '{self.path}' cannot be opened; is the file still there?")
        self._next = 0
        self.seeks = 0

    def read(self, k: int) -> np.ndarray | None:
        """Frame ``k`` (BGR ``(H, W, 3)`` uint8) or None when it cannot be decoded."""
        if k < self._next or k - self._next > FORWARD_GRAB_MAX:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, float(k))
            self.seeks += 1
            self._next = k
        while self._next < k:
            if not self._cap.grab():
                self._next = -(10**9)  # force a seek next time
                return None
            self._next += 1
        ok, img = self._cap.read()
        if not ok or img is None:
            self._next = -(10**9)
            return None
        self._next = k + 1
        return img

    def close(self) -> None:
        self._cap.release()


# ================================================================================================ decoding


@dataclass(frozen=True)
class DecodedPair:
    """Pair ``pair_index``'s two frames, downscaled by ``scales`` (shown px per video px) from ``sizes`` (w, h).
    A frame is None when its video could not be decoded there."""

    pair_index: int
    frames: tuple[Frame | None, Frame | None]
    scales: tuple[float, float]
    sizes: tuple[tuple[int, int], tuple[int, int]]
    #: which decoder made it (:attr:`PairDecoder.token`): pairs of a previous session are ignored
    token: int = 0


_TOKENS = itertools.count(1)


class PairDecoder:
    """Decodes session frame pairs in a background thread for the replay view.

    :meth:`request` never blocks: it returns the pair at once when cached, else queues it (replacing any
    request not yet started: the newest wins) and ``on_ready(pair)`` follows, called FROM THE DECODER THREAD
    (the GUI relays it to its own thread). With ``ahead=True`` (playback) the next ``prefetch`` pairs are decoded
    into the cache while no new request waits. Both videos decode in parallel. Frames are downscaled so their
    longer side is at most ``max_side`` px (memory: the cache holds ``cache_pairs`` pairs). Call :meth:`stop`
    before dropping it.
    """

    def __init__(
        self,
        videos: Sequence[str | os.PathLike],
        names: Sequence[str],
        frame_a: np.ndarray,
        frame_b: np.ndarray,
        t_a: np.ndarray,
        t_b: np.ndarray,
        *,
        on_ready: Callable[[DecodedPair], None] | None = None,
        max_side: int = 960,
        cache_pairs: int = 24,
        prefetch: int = 6,
    ) -> None:
        self.on_ready = on_ready
        self.videos = [Path(v) for v in videos]
        self.names = list(names)
        self._index = (np.asarray(frame_a, np.int64), np.asarray(frame_b, np.int64))
        self._t = (np.asarray(t_a, np.int64), np.asarray(t_b, np.int64))
        self.n_pairs = len(self._index[0])
        self.token = next(_TOKENS)
        self.max_side = int(max_side)
        self.cache_pairs = max(2, int(cache_pairs))
        self.prefetch = max(0, int(prefetch))
        self._cache: OrderedDict[int, DecodedPair] = OrderedDict()
        self._cond = threading.Condition()
        self._target: int | None = None
        self._ahead = False
        self._stopped = False
        self._busy = False
        self._last_requested: int | None = None
        self.decoded_pairs = 0
        self.cache_hits = 0
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="replay-decode")
        self._readers: list[VideoReader | None] = [None, None]
        self._thread = threading.Thread(target=self._run, name="replay-decoder", daemon=True)
        self._thread.start()

    # --- the caller's thread ---------------------------------------------------------------------------------
    def request(self, p: int, ahead: bool = False) -> DecodedPair | None:
        """Ask for pair ``p``: the cached pair now, or None and ``on_ready`` later."""
        p = int(np.clip(p, 0, max(self.n_pairs - 1, 0)))
        with self._cond:
            hit = self._cache.get(p)
            if hit is not None:
                self._cache.move_to_end(p)
                self.cache_hits += 1
            self._target = None if hit is not None else p
            self._ahead = ahead
            self._last_requested = p
            self._cond.notify()
        return hit

    def cached(self, p: int) -> DecodedPair | None:
        with self._cond:
            return self._cache.get(int(p))

    def idle(self) -> bool:
        """Nothing requested and nothing being decoded (for tests)."""
        with self._cond:
            return self._target is None and not self._busy

    def stop(self) -> None:
        """Stop the decoder thread and release the videos (waits for the frame being decoded)."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(10.0)
        self._pool.shutdown(wait=True)
        for r in self._readers:
            if r is not None:
                r.close()
        self._readers = [None, None]

    # --- decoder thread -------------------------------------------------------------------------------------
    def _ready(self, d: DecodedPair) -> None:
        if self.on_ready is not None:
            self.on_ready(d)

    def _read(self, cam: int, p: int) -> tuple[Frame | None, float, tuple[int, int]]:
        reader = self._readers[cam]
        if reader is None:
            reader = self._readers[cam] = VideoReader(self.videos[cam])
        k = int(self._index[cam][p])
        img = reader.read(k)
        if img is None:
            return None, 1.0, (0, 0)
        h, w = img.shape[:2]
        s = min(1.0, self.max_side / max(w, h))
        if s < 1.0:
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        return Frame(self.names[cam], k, int(self._t[cam][p]), img), s, (w, h)

    def _decode(self, p: int) -> DecodedPair:
        futures = [self._pool.submit(self._read, cam, p) for cam in (0, 1)]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except Exception as exc:  # a vanished or damaged file: show the other camera, say nothing twice
                log.warning("replay: decoding pair %d failed: %s", p, exc)
                out.append((None, 1.0, (0, 0)))
        self.decoded_pairs += 1
        return DecodedPair(p, (out[0][0], out[1][0]), (out[0][1], out[1][1]), (out[0][2], out[1][2]), token=self.token)

    def _store(self, d: DecodedPair) -> None:
        self._cache[d.pair_index] = d
        self._cache.move_to_end(d.pair_index)
        while len(self._cache) > self.cache_pairs:
            self._cache.popitem(last=False)

    def _next_prefetch(self) -> int | None:
        if not self._ahead or self.prefetch == 0 or self._last_requested is None:
            return None
        base = self._last_requested
        for q in range(base + 1, min(base + 1 + self.prefetch, self.n_pairs)):
            if q not in self._cache:
                return q
        return None

    def _run(self) -> None:
        while True:
            hit: DecodedPair | None = None
            with self._cond:
                while not self._stopped and self._target is None and self._next_prefetch() is None:
                    self._cond.wait()
                if self._stopped:
                    return
                if self._target is not None:
                    p, emit = self._target, True
                    self._target = None
                    hit = self._cache.get(p)
                else:
                    p, emit = self._next_prefetch(), False
                    assert p is not None
                self._busy = hit is None
            if hit is not None:
                self._ready(hit)
                continue
            try:
                d = self._decode(p)
            except BaseException:
                with self._cond:
                    self._busy = False
                raise
            with self._cond:
                self._busy = False
                if self._stopped:
                    return
                self._store(d)
                if self._target == p:  # asked for while it was being prefetched
                    self._target = None
                    emit = True
            if emit:
                self._ready(d)


# ================================================================================================ live results

#: A pair the live pipeline skipped shows the last live result up to this old, seconds.
HOLD_S = 0.3


def held_pairs(coarse: np.ndarray, status: np.ndarray, time_s: np.ndarray, hold_s: float = HOLD_S) -> np.ndarray:
    """``(P,)`` the pair whose 3D to show for each pair: itself when it has 3D; for pairs the live pipeline
    skipped, the latest earlier pair with 3D at most ``hold_s`` seconds before; else -1.
    ``coarse (P, 17, 3)`` m, ``status (P,)``, ``time_s (P,)`` s."""
    P = len(coarse)
    idx = np.arange(P)
    has = np.isfinite(coarse).all(axis=-1).any(axis=-1)
    last = np.maximum.accumulate(np.where(has, idx, -1)) if P else idx
    recent = (last >= 0) & (time_s - time_s[np.maximum(last, 0)] <= hold_s)
    return np.where(has, idx, np.where((np.asarray(status) == "skipped") & recent, last, -1))
