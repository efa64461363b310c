"""A deterministic synthetic camera for tests: jitter, drift, drops and disconnects (exact with a VirtualClock)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from core.capture.base import CameraSource
from core.capture.frame import DeviceLostError, EndOfStream, Frame, ReconnectPolicy
from core.errors import CameraError, InputError

_CHUNK = 1024


class SimulatedCamera(CameraSource):
    """A deterministic synthetic camera for tests (seeded; exact with a :class:`VirtualClock`).

    Frame k is nominally due at ``t0 + offset + k * period * (1 + drift_ppm * 1e-6)`` ns, plus Gaussian
    timestamp jitter (``jitter_ms`` standard deviation, clipped to +-0.45 period so timestamps still
    increase). Frames are not delivered when dropped by the camera (``drop_prob`` per frame, or
    ``drop_indices``) or when their nominal time falls in a ``disconnects`` window ``(start_s, end_s)``
    (seconds after t0), during which the camera reports DISCONNECTED and cannot be reopened. Indices are
    the nominal k, so gaps show what the camera dropped. ``n_frames`` or ``duration_s`` makes it finite
    (then it ENDS). ``t0`` is the clock time at start (threaded) or the ``t0_ns`` argument (``generate``).

    Images are ``(h, w, 3)`` uint8 with ``image[..., 0] == k % 256``, ``image[..., 1] == (k // 256) % 256``
    and ``image[..., 2] == camera_id``.
    """

    def __init__(
        self,
        name: str = "sim",
        *,
        fps: float = 30.0,
        n_frames: int | None = None,
        duration_s: float | None = None,
        size: tuple[int, int] = (32, 24),
        jitter_ms: float = 0.0,
        drift_ppm: float = 0.0,
        offset_ms: float = 0.0,
        drop_prob: float = 0.0,
        drop_indices: Iterable[int] = (),
        disconnects: Sequence[tuple[float, float]] = (),
        seed: int = 0,
        camera_id: int = 0,
        **kwargs: object,
    ) -> None:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial_s=0.005, factor=1.0, max_s=0.005))
        super().__init__(name, nominal_fps=fps, **kwargs)  # type: ignore[arg-type]
        if not 0.0 <= drop_prob < 1.0:
            raise InputError(f"drop_prob must be in [0, 1), got {drop_prob}.")
        for a, b in disconnects:
            if not b > a:
                raise InputError(f"A disconnect window must be (start_s, end_s) with end > start, got {(a, b)}.")
        self.fps = float(fps)
        self.n_frames = n_frames
        self.duration_s = duration_s
        self.size = size
        self.jitter_ms = jitter_ms
        self.drift_ppm = drift_ppm
        self.offset_ms = offset_ms
        self.drop_prob = drop_prob
        self.drop_indices = frozenset(int(i) for i in drop_indices)
        self.disconnects = [(int(a * 1e9), int(b * 1e9)) for a, b in sorted(disconnects)]
        self.seed = seed
        self.camera_id = camera_id
        self._chunk_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._t0 = 0
        self._k = 0
        self._open_once = False

    # ----- pure schedule ----------------------------------------------------------------------------

    def _chunk(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(jitter_ns (CHUNK,), dropped (CHUNK,) bool) for frames c*CHUNK .. (c+1)*CHUNK-1."""
        if c not in self._chunk_cache:
            rng = np.random.default_rng([self.seed, self.camera_id, c])
            period = 1e9 / self.fps
            jitter = rng.normal(0.0, self.jitter_ms * 1e6, _CHUNK) if self.jitter_ms > 0 else np.zeros(_CHUNK)
            jitter = np.clip(jitter, -0.45 * period, 0.45 * period)
            u = rng.random(_CHUNK)
            if len(self._chunk_cache) > 64:
                self._chunk_cache.clear()
            self._chunk_cache[c] = (np.round(jitter).astype(np.int64), u < self.drop_prob)
        return self._chunk_cache[c]

    def _limit(self) -> int | None:
        """Number of nominal frames (None = infinite)."""
        limits = []
        if self.n_frames is not None:
            limits.append(int(self.n_frames))
        if self.duration_s is not None:  # frames whose nominal time is < duration_s
            d_ns = int(round(self.duration_s * 1e9))
            period = 1e9 / self.fps * (1 + self.drift_ppm * 1e-6)
            k = max(0, math.ceil((d_ns - self.offset_ms * 1e6) / period))
            while k > 0 and int(self.nominal_time_ns(k - 1)) >= d_ns:
                k -= 1
            while int(self.nominal_time_ns(k)) < d_ns:
                k += 1
            limits.append(k)
        return min(limits) if limits else None

    def nominal_time_ns(self, k: np.ndarray | int, t0_ns: int = 0) -> np.ndarray:
        """Nominal times ``(N,)`` ns of frames k (without jitter)."""
        k = np.asarray(k, dtype=np.int64)
        period = 1e9 / self.fps * (1 + self.drift_ppm * 1e-6)
        return t0_ns + np.round(self.offset_ms * 1e6 + k * period).astype(np.int64)

    def schedule(self, t0_ns: int = 0, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Delivered frames of the first ``n`` nominal frames (default: all, needs a finite camera).

        Returns ``(index (M,) int64, t_ns (M,) int64)`` of the frames the camera delivers.
        """
        n = self._limit() if n is None else n
        if n is None:
            raise InputError("This simulated camera is infinite; pass n=... or create it with n_frames/duration_s.")
        k = np.arange(n, dtype=np.int64)
        nominal = self.nominal_time_ns(k, t0_ns)
        n_chunks = (n + _CHUNK - 1) // _CHUNK
        jit = np.concatenate([self._chunk(c)[0] for c in range(n_chunks)])[:n] if n else np.zeros(0, np.int64)
        drop = np.concatenate([self._chunk(c)[1] for c in range(n_chunks)])[:n] if n else np.zeros(0, bool)
        if self.drop_indices:
            drop |= np.isin(k, list(self.drop_indices))
        for a, b in self.disconnects:
            rel = nominal - t0_ns
            drop |= (rel >= a) & (rel < b)
        keep = ~drop
        return k[keep], (nominal + jit)[keep]

    def image(self, k: int) -> np.ndarray:
        """The synthetic image of frame k, ``(h, w, 3)`` uint8."""
        w, h = self.size
        img = np.empty((h, w, 3), np.uint8)
        img[..., 0] = k % 256
        img[..., 1] = (k // 256) % 256
        img[..., 2] = self.camera_id % 256
        return img

    def generate(self, t0_ns: int = 0, n: int | None = None) -> list[Frame]:
        """All delivered frames as a list, without any thread or clock (for unit tests / offline use)."""
        idx, t = self.schedule(t0_ns, n)
        return [Frame(self.name, int(i), int(ti), self.image(int(i))) for i, ti in zip(idx, t)]

    # ----- threaded hooks -----------------------------------------------------------------------------

    def _in_disconnect(self, t_ns: int) -> tuple[int, int] | None:
        rel = t_ns - self._t0
        for a, b in self.disconnects:
            if a <= rel < b:
                return a, b
        return None

    def start(self) -> None:
        self._open_once = False
        super().start()

    def _open(self) -> None:
        now = self.clock.now_ns()
        if not self._open_once:
            self._t0, self._k, self._open_once = now, 0, True
        window = self._in_disconnect(now)
        if window is not None:
            raise CameraError(
                f"Simulated camera '{self.name}' is unplugged (disconnect window {window[0] / 1e9:.3f}-"
                f"{window[1] / 1e9:.3f} s)."
            )
        # frames whose time passed while the camera was away are gone
        limit = self._limit()
        k = self._k
        while True:
            if limit is not None and k >= limit:
                break
            if int(self.nominal_time_ns(k, self._t0)) >= now or k == 0:
                break
            k += 1
        self._k = k

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        limit = self._limit()
        while True:
            k = self._k
            if limit is not None and k >= limit:
                raise EndOfStream
            nominal = int(self.nominal_time_ns(k, self._t0))
            jitter_c, drop_c = self._chunk(k // _CHUNK)
            t_ns = nominal + int(jitter_c[k % _CHUNK])
            window = self._in_disconnect(nominal)
            if window is not None:
                if not self.clock.sleep_until(nominal, self._stop):
                    return None
                raise DeviceLostError(
                    f"Simulated camera '{self.name}' was unplugged at {(nominal - self._t0) / 1e9:.3f} s."
                )
            self._k = k + 1
            if drop_c[k % _CHUNK] or k in self.drop_indices:
                continue
            if not self.clock.sleep_until(t_ns, self._stop):
                return None
            return t_ns, self.image(k), k
