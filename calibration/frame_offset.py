"""The frame synchronisation check of two recorded videos: :func:`best_frame_offset`, to a quarter of a frame.
No Qt.

Software timestamps of unsynchronised webcams are often a frame or a fraction of one off (one camera buffers a
frame more than the other, or exposes later). With a moving board that shows as pairs that disagree with ONE rigid
rig, so the kept pairs are scored again with camera 2 shifted by every multiple of :data:`OFFSET_STEP` frames up to
:data:`MAX_FRAME_OFFSET`. A fractional shift interpolates camera 2's corners linearly between its two neighbouring
frames (:func:`detection_at`); the whole shifts are scored first, then the fractional ones within a frame of the
best whole one. Each shift is scored by the held-out epipolar error of a bundle adjustment fitted on
the other pairs (:func:`calibration.bundle.heldout_bundle_error`), not by the stereo RMS of the same pairs (which
a rig bent to fit them lowers too); a shift is adopted only when it lowers that score below :data:`OFFSET_GAIN`
times the unshifted one.

On the real Caliscope two-webcam session the timestamps pair frames 0.75 frame (about 125 ms) apart: the pairs'
consistency RMS is 1.1 px as paired and 0.36 px with camera 2 moved 0.75 frame later.

Used by the headless ``calibrate`` command (:mod:`calibration.headless`) and by the wizard's capture of
recorded videos (:meth:`calibration.run.CalibrationRun.resync`).

Example::

    >>> search = best_frame_offset(kept, dets0, detect1, cam0, cam1, n_frames1)  # doctest: +SKIP
    >>> search.offset, search.rms(0.0)  # doctest: +SKIP
    (0.75, 1.14)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from calibration.bundle import heldout_bundle_error
from calibration.detect import Detection
from core.camera import Camera

#: Largest camera-2 frame shift tried (frames).
MAX_FRAME_OFFSET = 2
#: The shifts tried are the multiples of this (frames).
OFFSET_STEP = 0.25
#: A frame shift is adopted only when it lowers the score below this fraction of the unshifted one.
OFFSET_GAIN = 0.85
#: Fewest kept pairs (with known frame indices) for the check to run.
MIN_KEPT_PAIRS = 5

Score = Callable[[Sequence[tuple[Detection, Detection]], Camera, Camera], float]


@dataclass(frozen=True)
class FrameOffset:
    """The adopted camera-2 shift (frames, a multiple of :data:`OFFSET_STEP`; 0: none) and the score (held-out
    epipolar error, px) of every shift tried."""

    offset: float = 0.0
    scores: dict[float, float] = field(default_factory=dict)

    def rms(self, offset: float) -> float:
        """The score (px) of ``offset`` (NaN when it was not scored)."""
        return float(self.scores.get(float(offset), float("nan")))

    @property
    def frames(self) -> int:
        """The shift rounded to whole frames (which frame's IMAGE goes with a pair)."""
        return int(round(self.offset))


def offsets(max_offset: float = MAX_FRAME_OFFSET, step: float = OFFSET_STEP) -> list[float]:
    """The shifts tried, ``-max_offset .. max_offset`` in ``step`` (frames)."""
    n = int(round(max_offset / step))
    return [round(k * step, 6) for k in range(-n, n + 1)]


def frames_needed(frame: int, offset: float) -> tuple[int, ...]:
    """The camera-2 frames whose corners make its view at ``frame + offset`` (one, or the two neighbours)."""
    x = frame + offset
    lo = math.floor(x + 1e-9)
    return (lo,) if abs(x - lo) < 1e-9 else (lo, lo + 1)


def detection_at(detections: Mapping[int, Detection], frame: int, offset: float) -> Detection | None:
    """Camera 2's board at (fractional) frame ``frame + offset``: the detection itself on a whole frame, else its
    corners interpolated linearly between the two neighbouring frames (the corner ids both found; at least 4).
    None when a needed frame is missing or shows no board."""
    need = frames_needed(frame, offset)
    dets = [detections.get(f) for f in need]
    if any(d is None or not d.found for d in dets):
        return None
    if len(dets) == 1:
        return dets[0]
    a, b = dets  # type: ignore[misc]
    w = frame + offset - need[0]
    ids, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    if len(ids) < 4:
        return None
    corners = (1.0 - w) * a.corners[ia] + w * b.corners[ib]
    return Detection(True, corners, ids, a.object_points[ia], a.image_size, min(a.sharpness, b.sharpness))


def shifted_pairs(
    frames: Sequence[tuple[int, int]],
    detections0: Mapping[int, Detection],
    detections1: Mapping[int, Detection],
    offset: float,
) -> list[tuple[int, int, Detection, Detection]]:
    """``(frame0, frame1, det0, det1)`` for every ``(frame0, frame1)`` pair with camera 2 moved by ``offset``:
    ``det1`` from :func:`detection_at`, ``frame1`` the nearest whole frame (whose image shows the pair). Pairs whose
    detections are missing are left out."""
    out = []
    for a, b in frames:
        d0 = detections0.get(a)
        d1 = detection_at(detections1, b, offset)
        if d0 is not None and d1 is not None:
            out.append((a, b + int(round(offset)), d0, d1))
    return out


def best_frame_offset(
    kept: Sequence[tuple[int, int]],
    detections0: Mapping[int, Detection],
    detect1: Callable[[list[int]], Mapping[int, Detection]],
    camera0: Camera,
    camera1: Camera,
    n_frames1: int,
    *,
    max_offset: float = MAX_FRAME_OFFSET,
    step: float = OFFSET_STEP,
    gain: float = OFFSET_GAIN,
    score: Score = heldout_bundle_error,
) -> FrameOffset:
    """The camera-2 frame shift that makes the kept pairs most consistent.

    ``kept``: ``(frame0, frame1)`` indices of the kept pairs; ``detections0``: camera 1's detections by frame
    index (pairs whose frame is missing are skipped); ``detect1(frames)``: camera 2's detections of ``frames``
    (sorted indices in ``[0, n_frames1)``), by frame index; ``camera0``/``camera1``: the intrinsics to score
    with. Every shift of :func:`offsets` is scored with ``score(pairs, camera0, camera1)`` (px; default the
    bundle-adjusted held-out epipolar error). The shift is 0 with fewer than :data:`MIN_KEPT_PAIRS` kept pairs
    (no scores), when the unshifted pairs cannot be scored, or when no shift lowers the score below ``gain`` times
    the unshifted one.
    """
    if len(kept) < MIN_KEPT_PAIRS:
        return FrameOffset()
    tried = offsets(max_offset, step)
    need = sorted({f for _, b in kept for o in tried for f in frames_needed(b, o) if 0 <= f < n_frames1})
    detections1 = detect1(need)
    scores: dict[float, float] = {}

    def score_of(o: float) -> float:
        if o not in scores:
            pairs = [(d0, d1) for _, _, d0, d1 in shifted_pairs(kept, detections0, detections1, o)]
            scores[o] = score(pairs, camera0, camera1) if len(pairs) >= MIN_KEPT_PAIRS else float("nan")
        return scores[o]

    # coarse to fine: the whole frames first, then the fractions within a frame of the best of them
    whole = [o for o in tried if float(o).is_integer()]
    for o in whole:
        score_of(o)
    ranked = sorted((o for o in whole if not np.isnan(scores[o])), key=scores.__getitem__)
    if ranked:
        for o in tried:
            if abs(o - ranked[0]) < 1.0:
                score_of(o)
    scores = dict(sorted(scores.items()))
    finite = {o: v for o, v in scores.items() if not np.isnan(v)}  # inf: no rig fits that shift at all
    if 0.0 not in finite or not np.isfinite(min(finite.values())):
        return FrameOffset(0.0, scores)
    best = min(finite, key=finite.__getitem__)
    if best != 0.0 and finite[best] < gain * finite[0.0]:
        return FrameOffset(best, scores)
    return FrameOffset(0.0, scores)
