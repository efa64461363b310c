"""A harder real-video case: a second real person composited walking across both views of the demo pair.

The subject of the Pose2Sim balancing take's ``cam03`` (a real person, real motion; another clip than the demo's
cam01 and cam04) is cut out around their box, scaled to ``scale`` and pasted walking across both demo views, left to
right in one and right to left in the other. The pasted person is a flat picture, so the two views' copies never
triangulate into one person: a pipeline that pairs people by geometry ignores them, one that follows "its own"
person per view can be pulled onto them.

``python -m tools.composite_bystander --out DIR`` writes ``DIR/cam01.mp4`` and ``DIR/cam04.mp4`` (60 fps, the demo's
size); :func:`make_composite` is what the tests and the screenshot call.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bench.shared import POSE2SIM
from core.demo import demo_files


def _walker_frames(n: int, scale: float) -> list[np.ndarray]:
    """``n`` crops ``(h, w, 3)`` BGR of cam03's subject, one per frame (looping), scaled by ``scale``."""
    from core.detection import MultiPoseDetector

    cap = cv2.VideoCapture(str(POSE2SIM / "videos" / "cam03.mp4"))
    ok, first = cap.read()
    if not ok:
        raise FileNotFoundError(f"cannot read {POSE2SIM / 'videos' / 'cam03.mp4'}")
    with MultiPoseDetector(video=False) as det:
        people = det.detect_all(first)
    x0, y0, x1, y1 = people[0].box  # the subject (most confident)
    pad = 0.12 * (y1 - y0)
    h, w = first.shape[:2]
    X0, Y0, X1, Y1 = int(max(0, x0 - pad)), int(max(0, y0 - pad)), int(min(w, x1 + pad)), int(min(h, y1 + pad))
    crops, img = [], first
    for _ in range(n):
        crops.append(cv2.resize(img[Y0:Y1, X0:X1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
        ok, img = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, img = cap.read()
    cap.release()
    return crops


def _paste(frame: np.ndarray, crop: np.ndarray, cx: float, bottom: float) -> None:
    """Paste ``crop`` with its bottom centre at (cx, bottom) px, feathered at the edges, clipped to the frame."""
    h, w = crop.shape[:2]
    H, W = frame.shape[:2]
    x0, y0 = int(cx - w / 2), int(bottom - h)
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    c = crop[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(np.float32)
    ramp = np.minimum(np.arange(w) + 1, np.arange(w)[::-1] + 1)[fx0 - x0 : fx1 - x0] / max(0.06 * w, 1)
    ramp_y = np.minimum(np.arange(h) + 1, np.arange(h)[::-1] + 1)[fy0 - y0 : fy1 - y0] / max(0.06 * h, 1)
    alpha = np.clip(np.minimum(ramp[None, :], ramp_y[:, None]), 0, 1)[..., None]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (alpha * c + (1 - alpha) * region).astype(np.uint8)


def make_composite(out: Path, scale: float = 0.8) -> tuple[Path, Path]:
    """Write the demo pair with the walker pasted in (see the module docstring); returns the two video paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = demo_files()
    caps = [cv2.VideoCapture(str(p)) for p in files.videos]
    n = int(caps[0].get(cv2.CAP_PROP_FRAME_COUNT))
    crops = _walker_frames(n, scale)
    paths = (out / "cam01.mp4", out / "cam04.mp4")
    writers = []
    for k in range(n):
        for v, cap in enumerate(caps):
            ok, frame = cap.read()
            if not ok:
                break
            H, W = frame.shape[:2]
            if len(writers) < 2:
                writers.append(cv2.VideoWriter(str(paths[v]), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (W, H)))
            s = k / max(n - 1, 1)
            cx = (0.1 + 0.8 * s) * W if v == 0 else (0.9 - 0.8 * s) * W  # opposite directions in the two views
            _paste(frame, crops[k], cx, 0.99 * H)  # in front of the subject, crossing below them
            writers[v].write(frame)
    for c in caps:
        c.release()
    for w in writers:
        w.release()
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    print(*make_composite(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
