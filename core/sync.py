"""Pair the frames of two cameras by nearest timestamp (live and offline, with the same semantics).

Pairing rule (the one definition): frame ``a`` of camera A and frame ``b`` of camera B form a pair iff
``b`` is the frame of B nearest to ``a``, ``a`` is the frame of A nearest to ``b`` (mutual nearest
neighbours) and ``|t_b - t_a| <= tolerance``. Ties go to the EARLIER frame. Each frame is paired at most
once, and a frame is never paired with a neighbour when the other camera has a closer one. The default
tolerance is half the shorter nominal frame period.

- :func:`pair_timestamps`: vectorised offline pairing of two whole timestamp arrays (recorded files).
- :class:`FrameSynchronizer`: the pure, deterministic streaming core (push frames, get pairs). It gives
  exactly the pairs of :func:`pair_timestamps` on the same frames, whatever the interleaving of the two
  streams, as long as no frame arrives after its watermark (see ``advance``) and ``max_pending`` is not hit.
  It needs at most one frame of look-ahead on the earlier camera.
- :class:`LiveSynchronizer`: a thread-safe wrapper for live capture; it keeps only the newest pair for a
  slower consumer (``get_latest``), advances watermarks with the clock so that a camera that disappears
  never stalls the other one, and drops frames older than ``max_latency_s`` so latency stays bounded.

Units: timestamps and tolerances are integer nanoseconds; skews are reported in milliseconds
(``skew = t_B - t_A``, signed); frame rates in frames per second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.capture import CameraSource, Clock, Frame, MonotonicClock
from core.errors import InputError

__all__ = [
    "FramePair",
    "FrameSynchronizer",
    "LiveSynchronizer",
    "SyncStats",
    "default_tolerance_ns",
    "pair_timestamps",
    "synchronize",
]

_FOREVER = 2**62  # a watermark meaning "this camera will deliver nothing more"


@dataclass(frozen=True, eq=False)
class FramePair:
    """Two frames taken at (nearly) the same time.

    ``index``: pair number (0, 1, ...); ``frames``: ``(frame of camera A, frame of camera B)``;
    ``skew_ms``: ``(t_B - t_A) / 1e6`` (signed, ms); ``t_ns``: midpoint of the two timestamps (ns).
    """

    index: int
    frames: tuple[Frame, Frame]
    skew_ms: float
    t_ns: int


@dataclass(frozen=True)
class SyncStats:
    """Counters of a synchroniser; every per-camera tuple is ``(camera A, camera B)``.

    - ``frames_in``: frames pushed.
    - ``pairs``: pairs made.
    - ``unpaired``: frames the synchroniser discarded for lack of a partner within tolerance.
    - ``late``: frames rejected on arrival because they were older than the camera's watermark (arrived more
      than ``max_latency`` after capture, or not after the previous frame of that camera).
    - ``camera_dropped``: frames the CAMERA never delivered: index gaps, and for devices (whose frames are numbered
      as they arrive, ``Frame.exact_index`` False) timestamp gaps
      (a gap over 1.5 nominal periods counts ``round(gap / period) - 1`` frames).
    - ``pending``: frames waiting for look-ahead.
    - ``skew_last_ms`` (signed), ``skew_mean_ms`` and ``skew_max_ms`` (of ``|skew|``) over the last
      ``skew_window`` pairs; NaN before the first pair.
    - ``superseded``/``consumed``: live only: pairs replaced by a newer one before ``get_latest`` took them,
      and pairs taken.
    """

    cameras: tuple[str, str]
    tolerance_ms: float
    frames_in: tuple[int, int]
    pairs: int
    unpaired: tuple[int, int]
    late: tuple[int, int]
    camera_dropped: tuple[int, int]
    pending: tuple[int, int]
    skew_last_ms: float
    skew_mean_ms: float
    skew_max_ms: float
    superseded: int = 0
    consumed: int = 0


def frame_rate(time_s: np.ndarray | None) -> float | None:
    """The frame rate (Hz) of frames taken at ``time_s (F,)`` s (from the median interval), or None when unknown."""
    if time_s is None or len(time_s) < 2:
        return None
    dt = np.diff(np.asarray(time_s, dtype=np.float64))
    dt = dt[np.isfinite(dt) & (dt > 0)]
    return float(1.0 / np.median(dt)) if dt.size else None


def default_tolerance_ns(fps_a: float, fps_b: float) -> int:
    """Half of the shorter nominal frame period, in ns (e.g. 30 and 15 fps -> 16.67 ms)."""
    if not (fps_a > 0 and fps_b > 0 and math.isfinite(fps_a) and math.isfinite(fps_b)):
        raise InputError(f"Nominal frame rates must be positive numbers of fps, got {fps_a} and {fps_b}.")
    return int(round(0.5e9 / max(fps_a, fps_b)))


# --------------------------------------------------------------------------------------------------
# Offline
# --------------------------------------------------------------------------------------------------


def _as_ns_array(t: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(t)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of timestamps, got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"{name} must hold integer nanoseconds, got dtype {arr.dtype}. Convert seconds with"
            " np.round(t_s * 1e9).astype(np.int64)."
        )
    return arr.astype(np.int64, copy=False)


def _nearest(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """For sorted ``src (N,)`` and sorted ``ref (M,)``, M >= 1: index of the nearest ref value (ties: lowest index)."""
    m = len(ref)
    j = np.searchsorted(ref, src, side="left")  # first ref >= src (first of equal values)
    right = np.minimum(j, m - 1)
    left_pos = np.maximum(j - 1, 0)
    left = np.searchsorted(ref, ref[left_pos], side="left")  # first of the equal values on the left
    d_right = np.where(j < m, ref[right] - src, np.iinfo(np.int64).max)
    d_left = np.where(j > 0, src - ref[left], np.iinfo(np.int64).max)
    return np.where(d_left <= d_right, left, right)


def pair_timestamps(
    t_a_ns: np.ndarray, t_b_ns: np.ndarray, tolerance_ns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair two whole timestamp arrays: mutual nearest neighbours within ``tolerance_ns`` (ties: earlier frame).

    ``t_a_ns (Na,)``, ``t_b_ns (Nb,)`` integer ns, in any order. Returns ``(idx_a (P,), idx_b (P,), skew_ns (P,))``
    int64, indices into the inputs, sorted by the time of A; ``skew_ns = t_b - t_a``. Vectorised: O((Na + Nb) log).
    """
    ta = _as_ns_array(t_a_ns, "t_a_ns")
    tb = _as_ns_array(t_b_ns, "t_b_ns")
    tol = int(tolerance_ns)
    if tol < 0:
        raise InputError(f"tolerance_ns must be >= 0, got {tolerance_ns}.")
    empty = np.zeros(0, np.int64)
    if ta.size == 0 or tb.size == 0:
        return empty, empty.copy(), empty.copy()
    oa = np.argsort(ta, kind="stable")
    ob = np.argsort(tb, kind="stable")
    sa, sb = ta[oa], tb[ob]
    nb = _nearest(sa, sb)  # (Na,) nearest B (sorted position) of each A
    na = _nearest(sb, sa)  # (Nb,)
    ia = np.arange(len(sa))
    skew = sb[nb] - sa
    keep = (na[nb] == ia) & (np.abs(skew) <= tol)
    return oa[ia[keep]], ob[nb[keep]], skew[keep]


# --------------------------------------------------------------------------------------------------
# Streaming core
# --------------------------------------------------------------------------------------------------


class FrameSynchronizer:
    """The pure streaming synchroniser: ``push`` frames of two cameras (each camera in time order, the two
    interleaved in any order), get :class:`FramePair` lists back. Deterministic, not thread-safe.

    ``cameras``: the two camera names (frames are routed by ``Frame.camera``; pairs are ordered like this).
    ``nominal_fps``: ``(fps_a, fps_b)``; sets the default tolerance and enables timestamp-gap drop counting.
    ``tolerance_ns``: overrides the default (half the shorter period); one of the two is required.
    ``max_pending``: bound on frames waiting per camera (None: unbounded, for offline use); when a camera runs
    that far ahead of the other, the other's watermark is forced forward (its frames older than that become late).
    ``on_unpaired(frame)``: called for each frame discarded without a partner.
    """

    def __init__(
        self,
        cameras: Sequence[str] = ("cam0", "cam1"),
        *,
        nominal_fps: tuple[float, float] | None = None,
        tolerance_ns: int | None = None,
        skew_window: int = 100,
        max_pending: int | None = 64,
        on_unpaired: Callable[[Frame], None] | None = None,
    ) -> None:
        if len(cameras) != 2 or cameras[0] == cameras[1]:
            raise InputError(f"The synchroniser pairs exactly two distinct cameras, got {list(cameras)}.")
        if tolerance_ns is None:
            if nominal_fps is None:
                raise InputError("Give the synchroniser nominal_fps=(fps_a, fps_b) or an explicit tolerance_ns.")
            tolerance_ns = default_tolerance_ns(*nominal_fps)
        if tolerance_ns < 0:
            raise InputError(f"tolerance_ns must be >= 0, got {tolerance_ns}.")
        self.cameras: tuple[str, str] = (cameras[0], cameras[1])
        self.tolerance_ns = int(tolerance_ns)
        self.nominal_fps = nominal_fps
        self._period_ns = None if nominal_fps is None else (1e9 / nominal_fps[0], 1e9 / nominal_fps[1])
        self.max_pending = max_pending
        self.on_unpaired = on_unpaired
        self._skews: deque[float] = deque(maxlen=max(1, int(skew_window)))
        self.reset()

    def reset(self) -> None:
        """Forget every frame and counter."""
        self._pending: tuple[deque[Frame], deque[Frame]] = (deque(), deque())
        self._water = [-_FOREVER, -_FOREVER]  # no future frame of cam c has t_ns <= _water[c]
        self._prev_t: list[int | None] = [None, None]  # last resolved frame of each camera
        self._last_idx: list[int | None] = [None, None]  # drop detector
        self._last_t: list[int | None] = [None, None]
        self._n_in = [0, 0]
        self._n_unpaired = [0, 0]
        self._n_late = [0, 0]
        self._n_dropped = [0, 0]
        self._n_pairs = 0
        self._skews.clear()

    # ----- input ----------------------------------------------------------------------------------

    def _cam(self, name: str) -> int:
        if name == self.cameras[0]:
            return 0
        if name == self.cameras[1]:
            return 1
        raise InputError(f"Frame from camera '{name}', but this synchroniser pairs {list(self.cameras)}.")

    def _count_drops(self, c: int, frame: Frame) -> None:
        li, lt = self._last_idx[c], self._last_t[c]
        if li is not None and lt is not None:
            gap_idx = frame.index - li - 1 if frame.index > li else 0
            gap_t = 0
            # timestamps only tell of drops when the index cannot (devices number frames as they come)
            if self._period_ns is not None and frame.t_ns > lt and not frame.exact_index:
                dt = frame.t_ns - lt
                if dt > 1.5 * self._period_ns[c]:
                    gap_t = int(round(dt / self._period_ns[c])) - 1
            self._n_dropped[c] += max(gap_idx, gap_t)
        if li is None or frame.index > li:
            self._last_idx[c] = frame.index
        if lt is None or frame.t_ns > lt:
            self._last_t[c] = frame.t_ns

    def push(self, frame: Frame) -> list[FramePair]:
        """Add one frame; returns the pairs that became certain (possibly none)."""
        c = self._cam(frame.camera)
        self._n_in[c] += 1
        self._count_drops(c, frame)
        if frame.t_ns <= self._water[c]:
            self._n_late[c] += 1
            if self.on_unpaired is not None:
                self.on_unpaired(frame)
            return []
        self._pending[c].append(frame)
        self._water[c] = frame.t_ns
        out = self._resolve()
        if self.max_pending is not None:
            for c2 in (0, 1):
                while len(self._pending[c2]) > self.max_pending:
                    other = 1 - c2
                    self._water[other] = max(self._water[other], self._pending[c2][0].t_ns + self.tolerance_ns)
                    out += self._resolve()
        return out

    def advance(self, camera: str, t_ns: int) -> list[FramePair]:
        """Promise that ``camera`` will deliver no frame with ``t_ns <= t_ns`` (later ones are counted late).

        Used for disconnects and latency bounds; returns the pairs this made certain.
        """
        c = self._cam(camera)
        if t_ns > self._water[c]:
            self._water[c] = int(t_ns)
            return self._resolve()
        return []

    def flush(self) -> list[FramePair]:
        """End of both streams: resolve every pending frame. Later frames are counted late (``reset()`` to reuse)."""
        self._water = [_FOREVER, _FOREVER]
        return self._resolve()

    # ----- core -----------------------------------------------------------------------------------

    def _unpair(self, c: int) -> None:
        f = self._pending[c].popleft()
        self._prev_t[c] = f.t_ns
        self._n_unpaired[c] += 1
        if self.on_unpaired is not None:
            self.on_unpaired(f)

    def _pair(self, cx: int) -> FramePair:
        x = self._pending[cx].popleft()
        y = self._pending[1 - cx].popleft()
        a, b = (x, y) if cx == 0 else (y, x)
        self._prev_t[0], self._prev_t[1] = a.t_ns, b.t_ns
        skew_ms = (b.t_ns - a.t_ns) / 1e6
        pair = FramePair(self._n_pairs, (a, b), skew_ms, (a.t_ns + b.t_ns) // 2)
        self._n_pairs += 1
        self._skews.append(skew_ms)
        return pair

    def _resolve(self) -> list[FramePair]:
        """Resolve pending frames in time order while each decision is certain (see module doc)."""
        out: list[FramePair] = []
        tol = self.tolerance_ns
        pend = self._pending
        while True:
            pa, pb = pend
            if pa and pb:
                cx = 0 if pa[0].t_ns <= pb[0].t_ns else 1  # earliest pending frame (ties: camera A first)
            elif pa:
                cx = 0
            elif pb:
                cx = 1
            else:
                return out
            cy = 1 - cx
            X, Y = pend[cx], pend[cy]
            x = X[0]
            prev_y = self._prev_t[cy]
            dl = x.t_ns - prev_y if prev_y is not None else _FOREVER  # distance to the previous Y frame
            if not Y:
                # every future Y frame has t > water[cy]
                if self._water[cy] >= x.t_ns + tol or dl <= self._water[cy] + 1 - x.t_ns:
                    self._unpair(cx)
                    continue
                return out
            y = Y[0]
            d = y.t_ns - x.t_ns  # >= 0
            if d > tol or dl <= d:  # too far, or x's nearest Y is the previous one (already resolved)
                self._unpair(cx)
                continue
            # x's nearest Y is y; is x y's nearest X? The competitor is the next X frame.
            if len(X) > 1:
                if X[1].t_ns - y.t_ns < d:
                    self._unpair(cx)
                else:
                    out.append(self._pair(cx))
                continue
            if self._water[cx] >= y.t_ns + d - 1:  # any next X is at least d after y: x wins (ties: earlier)
                out.append(self._pair(cx))
                continue
            return out

    # ----- output ---------------------------------------------------------------------------------

    def stats(self, superseded: int = 0, consumed: int = 0) -> SyncStats:
        """Counters snapshot (see :class:`SyncStats`)."""
        if self._skews:
            s = np.abs(np.fromiter(self._skews, float))
            last, mean, mx = self._skews[-1], float(s.mean()), float(s.max())
        else:
            last = mean = mx = math.nan
        return SyncStats(
            cameras=self.cameras,
            tolerance_ms=self.tolerance_ns / 1e6,
            frames_in=(self._n_in[0], self._n_in[1]),
            pairs=self._n_pairs,
            unpaired=(self._n_unpaired[0], self._n_unpaired[1]),
            late=(self._n_late[0], self._n_late[1]),
            camera_dropped=(self._n_dropped[0], self._n_dropped[1]),
            pending=(len(self._pending[0]), len(self._pending[1])),
            skew_last_ms=last,
            skew_mean_ms=mean,
            skew_max_ms=mx,
            superseded=superseded,
            consumed=consumed,
        )


def synchronize(frames: Sequence[Frame], cameras: Sequence[str], **kwargs: object) -> tuple[list[FramePair], SyncStats]:
    """Run the streaming core over frames in the given arrival order, then flush. Returns (pairs, stats)."""
    sync = FrameSynchronizer(cameras, max_pending=None, **kwargs)  # type: ignore[arg-type]
    pairs: list[FramePair] = []
    for f in frames:
        pairs += sync.push(f)
    pairs += sync.flush()
    return pairs, sync.stats()


# --------------------------------------------------------------------------------------------------
# Live wrapper
# --------------------------------------------------------------------------------------------------

PairCallback = Callable[[FramePair], None]


class LiveSynchronizer:
    """Thread-safe live synchroniser: camera threads ``push`` frames; a slower consumer calls ``get_latest``.

    Only the newest pair is kept: a pair not taken before the next one arrives is counted ``superseded``.
    At every push (and while ``get_latest`` waits) both watermarks advance to ``clock - max_latency_s``, so
    a camera that disconnects never stalls the other (its partner frames are discarded as unpaired, no
    pair is made while it is gone, pairing resumes when it is back) and frames delivered more than
    ``max_latency_s`` after their capture are dropped as late. ``subscribe(cb)`` gets EVERY pair, in
    order, in the pushing thread, under the lock (keep it quick; it may call ``stats()``).
    """

    def __init__(
        self,
        cameras: Sequence[str] = ("cam0", "cam1"),
        *,
        nominal_fps: tuple[float, float] | None = None,
        tolerance_ns: int | None = None,
        max_latency_s: float = 0.3,
        clock: Clock | None = None,
        skew_window: int = 100,
        max_pending: int | None = 64,
    ) -> None:
        self._core = FrameSynchronizer(
            cameras,
            nominal_fps=nominal_fps,
            tolerance_ns=tolerance_ns,
            skew_window=skew_window,
            max_pending=max_pending,
        )
        self.cameras = self._core.cameras
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._latency_ns = int(max_latency_s * 1e9)
        self._cond = threading.Condition(threading.RLock())
        self._latest: FramePair | None = None
        self._superseded = 0
        self._consumed = 0
        self._closed = False
        self._subscribers: list[PairCallback] = []
        self._detach: list[Callable[[], None]] = []

    @classmethod
    def for_sources(cls, source_a: CameraSource, source_b: CameraSource, **kwargs: object) -> LiveSynchronizer:
        """A synchroniser for two sources (names, nominal fps and clock taken from them), subscribed to both."""
        kwargs.setdefault("nominal_fps", (source_a.nominal_fps, source_b.nominal_fps))
        kwargs.setdefault("clock", source_a.clock)
        sync = cls((source_a.name, source_b.name), **kwargs)  # type: ignore[arg-type]
        sync._detach = [source_a.subscribe(sync.push), source_b.subscribe(sync.push)]
        return sync

    @property
    def tolerance_ns(self) -> int:
        return self._core.tolerance_ns

    def _advance_to_now(self) -> list[FramePair]:
        horizon = self.clock.now_ns() - self._latency_ns
        return self._core.advance(self.cameras[0], horizon) + self._core.advance(self.cameras[1], horizon)

    def _publish(self, pairs: list[FramePair]) -> None:
        if not pairs:
            return
        for p in pairs:
            if self._latest is not None:
                self._superseded += 1
            self._latest = p
            for cb in self._subscribers:
                cb(p)
        self._cond.notify_all()

    def push(self, frame: Frame) -> None:
        """Add a frame (thread-safe; usable directly as a ``CameraSource.subscribe`` callback)."""
        with self._cond:
            if self._closed:
                return
            pairs = self._advance_to_now()
            pairs += self._core.push(frame)
            self._publish(pairs)

    def poll(self) -> None:
        """Advance the watermarks to the clock (done automatically by ``push`` and ``get_latest``)."""
        with self._cond:
            if not self._closed:
                self._publish(self._advance_to_now())

    def get_latest(self, timeout: float | None = None) -> FramePair | None:
        """The newest pair not yet taken, waiting up to ``timeout`` s (None: forever); None on timeout/close."""
        with self._cond:
            deadline = None if timeout is None else self._now_s() + timeout
            while self._latest is None and not self._closed:
                remaining = 0.05 if deadline is None else min(0.05, deadline - self._now_s())
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
                if self._latest is None and not self._closed:
                    self._publish(self._advance_to_now())
            pair, self._latest = self._latest, None
            if pair is not None:
                self._consumed += 1
            return pair

    @staticmethod
    def _now_s() -> float:
        return time.monotonic()

    def flush(self) -> None:
        """End of both streams (e.g. two files ended): resolve and publish every pending frame."""
        with self._cond:
            self._publish(self._core.flush())

    def subscribe(self, callback: PairCallback) -> Callable[[], None]:
        """Receive every pair (see class doc); returns an unsubscribe function."""
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def stats(self) -> SyncStats:
        with self._cond:
            return self._core.stats(superseded=self._superseded, consumed=self._consumed)

    def close(self) -> None:
        """Detach from the sources and wake any ``get_latest`` waiter (which then returns None)."""
        for detach in self._detach:
            detach()
        self._detach = []
        with self._cond:
            self._closed = True
            self._cond.notify_all()
