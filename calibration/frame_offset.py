"""The frame synchronisation check of two recorded videos: :func:`best_frame_offset`. No Qt.

Software timestamps of unsynchronised webcams are often a whole frame off (one camera buffers a frame more
than the other). With a moving board that shows as pairs that disagree with ONE rigid camera pose, so the
kept pairs are scored again with camera 2's frames shifted by up to :data:`MAX_FRAME_OFFSET` frames; a shift
is adopted only when it lowers the pair consistency RMS below :data:`OFFSET_GAIN` times the unshifted one.

Used by the headless ``calibrate`` command (:mod:`calibration.headless`) and by the wizard's capture of
recorded videos (:meth:`calibration.run.CalibrationRun.resync`).

Example::

    >>> search = best_frame_offset(kept, dets0, detect1, cam0, cam1, n_frames1)  # doctest: +SKIP
    >>> search.offset, search.scores  # doctest: +SKIP
    (1, {-2: 3.1, -1: 2.2, 0: 1.4, 1: 0.6, 2: 1.5})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from calibration.detect import Detection
from calibration.stereo import pair_consistency_rms
from core.camera import Camera

#: Largest camera-2 frame shift tried (frames).
MAX_FRAME_OFFSET = 2
#: A frame shift is adopted only when it lowers the pair consistency RMS below this fraction of the unshifted one.
OFFSET_GAIN = 0.85
#: Fewest kept pairs (with known frame indices) for the check to run.
MIN_KEPT_PAIRS = 5


@dataclass(frozen=True)
class FrameOffset:
    """The adopted camera-2 shift (frames; 0: none) and the pair consistency RMS (px) of every shift tried."""

    offset: int = 0
    scores: dict[int, float] = field(default_factory=dict)

    def rms(self, offset: int) -> float:
        """The RMS (px) of ``offset`` (NaN when it was not scored)."""
        return float(self.scores.get(offset, float("nan")))


def best_frame_offset(
    kept: Sequence[tuple[int, int]],
    detections0: Mapping[int, Detection],
    detect1: Callable[[list[int]], Mapping[int, Detection]],
    camera0: Camera,
    camera1: Camera,
    n_frames1: int,
    *,
    max_offset: int = MAX_FRAME_OFFSET,
    gain: float = OFFSET_GAIN,
) -> FrameOffset:
    """The camera-2 frame shift that makes the kept pairs most consistent.

    ``kept``: ``(frame0, frame1)`` indices of the kept pairs; ``detections0``: camera 1's detections by frame
    index (pairs whose frame is missing are skipped); ``detect1(frames)``: camera 2's detections of ``frames``
    (sorted indices in ``[0, n_frames1)``), by frame index; ``camera0``/``camera1``: the intrinsics to score
    with. Every shift in ``[-max_offset, max_offset]`` is scored with
    :func:`calibration.stereo.pair_consistency_rms` (px). The shift is 0 with fewer than
    :data:`MIN_KEPT_PAIRS` kept pairs (no scores), when the unshifted pairs cannot be scored, or when no
    shift lowers the RMS below ``gain`` times the unshifted one.
    """
    if len(kept) < MIN_KEPT_PAIRS:
        return FrameOffset()
    offsets = range(-max_offset, max_offset + 1)
    need = sorted({b + o for _, b in kept for o in offsets if 0 <= b + o < n_frames1})
    detections1 = detect1(need)
    scores: dict[int, float] = {}
    for o in offsets:
        pairs = [(detections0[a], detections1[b + o]) for a, b in kept if a in detections0 and b + o in detections1]
        scores[o] = pair_consistency_rms(pairs, camera0, camera1)
    finite = {o: v for o, v in scores.items() if np.isfinite(v)}
    if 0 not in finite:
        return FrameOffset(0, scores)
    best = min(finite, key=finite.__getitem__)
    if best != 0 and finite[best] < gain * finite[0]:
        return FrameOffset(best, scores)
    return FrameOffset(0, scores)
