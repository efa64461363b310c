"""Frames from any iterable as a camera, keeping their ORIGINAL timestamps (the base of session replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from core.capture.base import CameraSource
from core.capture.frame import EndOfStream, Frame, FrameReadError


class IterableSource(CameraSource):
    """Frames from any iterable, keeping their ORIGINAL timestamps (the base for session replay).

    Items are ``(t_ns, image)`` or :class:`Frame` (its index and ``t_ns`` are kept; the camera name becomes
    this source's name). ``t_ns`` must increase. With ``pace=True`` item k is emitted when
    ``clock >= start + (t_k - t_0)`` (real-time replay); with ``pace=False`` as fast as possible.
    ``frames`` may be a callable returning a fresh iterable (it is called at each open).
    """

    retry_open = False

    def __init__(
        self,
        name: str,
        frames: Iterable[tuple[int, np.ndarray] | Frame] | Callable[[], Iterable[tuple[int, np.ndarray] | Frame]],
        *,
        nominal_fps: float,
        pace: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(name, nominal_fps=nominal_fps, **kwargs)  # type: ignore[arg-type]
        self._frames = frames
        self.pace = pace
        self._it: Iterator[tuple[int, np.ndarray] | Frame] | None = None
        self._t0: int | None = None
        self._start_ns = 0
        self._prev_t: int | None = None

    def _open(self) -> None:
        source = self._frames() if callable(self._frames) else self._frames
        self._it = iter(source)
        self._t0 = None
        self._prev_t = None
        self._start_ns = self.clock.now_ns()

    def _read(self) -> tuple[int, np.ndarray, int | None] | None:
        assert self._it is not None
        try:
            item = next(self._it)
        except StopIteration:
            raise EndOfStream from None
        if isinstance(item, Frame):
            t_ns, image, index = item.t_ns, item.image, item.index
        else:
            t_ns, image = item
            index = None
        t_ns = int(t_ns)
        if self._prev_t is not None and t_ns <= self._prev_t:
            raise FrameReadError(f"replayed frame at t={t_ns} ns is not after the previous one ({self._prev_t} ns)")
        self._prev_t = t_ns
        if self._t0 is None:
            self._t0 = t_ns
        if self.pace and not self.clock.sleep_until(self._start_ns + (t_ns - self._t0), self._stop):
            return None
        return t_ns, image, index
