"""Temporal filters for display smoothing of 3D poses (the raw values are always recorded as they are)."""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter (Casiez et al., CHI 2012) over arrays of any fixed shape, e.g. ``(17, 3)`` metres.

    ``min_cutoff`` (Hz) sets the smoothing at rest (lower = smoother), ``beta`` how fast the
    cut-off rises with speed (higher = less lag on fast moves). NaN samples (missing joints)
    leave that element's state untouched and come out NaN; an element missing for longer than
    ``restart_after_s`` restarts from its new value instead of gliding from a stale one.
    Timestamps are seconds.
    """

    def __init__(
        self, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0, restart_after_s: float = 0.25
    ) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.restart_after_s = float(restart_after_s)
        self.reset()

    def reset(self) -> None:
        """Forget the history."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None
        self._seen: np.ndarray | None = None  # last time each element was valid (s)

    def set_strength(self, strength: float) -> None:
        """Map a 0..1 'smoothing strength' to the cut-off: 0 = almost raw (10 Hz), 1 = heavy (0.2 Hz)."""
        s = min(max(float(strength), 0.0), 1.0)
        self.min_cutoff = float(10.0 ** (1.0 - 1.7 * s))

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter one sample ``x`` taken at ``t_s`` seconds; returns the smoothed sample (same shape)."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape or self._t is None or t_s <= self._t:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = float(t_s)
            self._seen = np.where(np.isfinite(x), float(t_s), -np.inf)
            return x.copy()
        dt = t_s - self._t
        self._t = float(t_s)
        ok = np.isfinite(x)
        # element never seen, or missing for a while: restart it from its new value
        fresh = ok & (~np.isfinite(self._x) | (t_s - self._seen > self.restart_after_s))
        self._seen = np.where(ok, float(t_s), self._seen)
        dx = np.where(ok & ~fresh, (x - self._x) / dt, 0.0)
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = np.where(ok, a_d * dx + (1 - a_d) * self._dx, self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = _alpha(cutoff, dt)
        x_hat = np.where(fresh, x, a * x + (1 - a) * self._x)
        self._x = np.where(ok, x_hat, self._x)
        self._dx = dx_hat
        return np.where(ok, x_hat, np.nan)
