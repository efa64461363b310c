"""3D people over time: one track per person, and the one the user follows.

Each frame's associated pairs (``core.association``) give people in 3D. :class:`PersonTracker` matches them to
its tracks by pelvis position (predicted with the track's velocity), within ``gate_m`` plus what the person can
move since last seen; a track unseen for ``memory_s`` is forgotten. The *followed* track is the user's choice
(:meth:`PersonTracker.follow`) or, by default, the person nearest the middle of both images. While the followed
person is briefly out of one view, their track waits (no 3D, with the reason) instead of jumping to a bystander.
Units: metres, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Track:
    """One person followed in 3D."""

    id: int
    root: np.ndarray
    """``(3,)`` m, pelvis at the last sighting."""
    t_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    bones: np.ndarray | None = None
    """``(B,)`` m, running bone lengths (NaN where never seen)."""
    hits: int = 1

    def predict(self, t_s: float) -> np.ndarray:
        return self.root + self.velocity * min(max(t_s - self.t_s, 0.0), 0.5)


@dataclass
class PersonTracker:
    """Track ids for the people of each frame (see the module docstring)."""

    gate_m: float = 0.5
    max_speed_m_s: float = 3.0
    memory_s: float = 1.0
    tracks: dict[int, Track] = field(default_factory=dict)
    followed: int | None = None
    chosen: bool = False
    """True when the user chose the followed track (it is kept while remembered)."""
    _next: int = 1

    def update(self, roots: np.ndarray, t_s: float, bones: np.ndarray | None = None) -> list[int]:
        """Assign track ids to this frame's people: ``roots`` ``(N, 3)`` m -> N ids (new tracks as needed)."""
        roots = np.asarray(roots, dtype=np.float64).reshape(-1, 3)
        self._forget(t_s)
        ids = [-1] * len(roots)
        live = list(self.tracks.values())
        if live and len(roots):
            pred = np.stack([tr.predict(t_s) for tr in live])
            d = np.linalg.norm(roots[:, None] - pred[None], axis=-1)  # (N, T)
            reach = np.array([self.gate_m + self.max_speed_m_s * max(t_s - tr.t_s, 0.0) for tr in live])
            d = np.where(np.isfinite(d) & (d <= reach[None]), d, np.inf)
            taken: set[int] = set()
            for flat in np.argsort(d, axis=None):
                i, k = np.unravel_index(flat, d.shape)
                if not np.isfinite(d[i, k]):
                    break
                if ids[i] != -1 or k in taken:
                    continue
                ids[i] = live[k].id
                taken.add(int(k))
        for i, root in enumerate(roots):
            b = None if bones is None else bones[i]
            if ids[i] == -1:
                if not np.isfinite(root).all():
                    continue
                ids[i] = self._next
                self.tracks[self._next] = Track(self._next, root.copy(), t_s, bones=b)
                self._next += 1
            else:
                self._refresh(self.tracks[ids[i]], root, t_s, b)
        return ids

    @staticmethod
    def _refresh(tr: Track, root: np.ndarray, t_s: float, bones: np.ndarray | None) -> None:
        dt = t_s - tr.t_s
        if dt > 1e-6 and np.isfinite(root).all():
            v = (root - tr.root) / dt
            tr.velocity = 0.5 * tr.velocity + 0.5 * v if tr.hits > 1 else v * 0.5
        if np.isfinite(root).all():
            tr.root = root.copy()
        tr.t_s = t_s
        tr.hits += 1
        if bones is not None:
            tr.bones = (
                bones.copy()
                if tr.bones is None
                else np.where(
                    np.isfinite(tr.bones), np.where(np.isfinite(bones), 0.9 * tr.bones + 0.1 * bones, tr.bones), bones
                )
            )

    def _forget(self, t_s: float) -> None:
        for k in [k for k, tr in self.tracks.items() if t_s - tr.t_s > self.memory_s]:
            del self.tracks[k]
        if self.followed is not None and self.followed not in self.tracks:
            self.followed = None
            self.chosen = False

    def follow(self, track_id: int | None) -> None:
        """Follow this track (a user's click), or go back to the default with None."""
        self.followed = track_id if track_id in self.tracks else None
        self.chosen = self.followed is not None

    def choose_default(self, ids: list[int], centrality: np.ndarray) -> int | None:
        """Unless the user chose one, follow the person of ``ids`` with the smallest ``centrality`` ``(N,)``.

        Once followed by default, a person stays followed while their track lives (no switching back and forth).
        """
        if self.followed is not None and self.followed in self.tracks:
            return self.followed
        valid = [(c, i) for c, i in zip(np.asarray(centrality, float), ids, strict=True) if i >= 0 and np.isfinite(c)]
        self.followed = min(valid)[1] if valid else None
        self.chosen = False
        return self.followed

    def reset(self) -> None:
        self.tracks.clear()
        self.followed = None
        self.chosen = False


def person_centres(keypoints: np.ndarray, min_confidence: float = 0.3) -> np.ndarray:
    """Centre of each person's confident joints: ``(N, J, 3)`` px+conf -> ``(N, 2)`` px (NaN where none is)."""
    ok = (keypoints[..., 2] > min_confidence) & np.isfinite(keypoints[..., :2]).all(-1)  # (N, J)
    n = ok.sum(-1, keepdims=True)
    centre = np.where(ok[..., None], keypoints[..., :2], 0).sum(-2) / np.maximum(n, 1)
    return np.where(n > 0, centre, np.nan)


def centrality(cand_a: np.ndarray, cand_b: np.ndarray, sizes: list[tuple[int, int]]) -> np.ndarray:
    """How far people are from the middle of both images: ``(N, J, 3)`` px+conf per view -> ``(N,)`` (0 = centre).

    The mean over the two views of the distance of the confident joints' centre from the image centre, divided by
    the image's half diagonal.
    """
    out = []
    for kp, (w, h) in zip((cand_a, cand_b), sizes, strict=True):
        c = np.nan_to_num(person_centres(kp))  # a person with no confident joint counts as at the corner
        out.append(np.linalg.norm(c - np.array([w / 2, h / 2]), axis=-1) / max(np.hypot(w, h) / 2, 1.0))
    return 0.5 * (out[0] + out[1])
