"""Streaming costs and the retargeting's round trip on a real take: ``python -m bench.stream`` prints one JSON object.

The shipped demo pair (Pose2Sim balancing, cam01 + cam04, 100 frames at 60 fps) is imported and processed
(MediaPipe, coarse 3D) into a temporary session, then:

1. ``encode_us``: CPU µs per frame of the VMC encoder (live rig: bone lengths learnt from the first frames,
   retargeting, one OSC bundle) and of the JSON encoder, batch 1, on an idle machine (median of 5 passes);
2. ``push_us``: what the pipeline's thread pays per result for :meth:`Streamer.push` (the encoding runs on the
   streamer's own thread);
3. ``round_trip_mm``: the take replayed at 60 fps to a real python-osc VMC server on 127.0.0.1; forward
   kinematics of the received local rotations and bone positions against the streamed joints, and with the rig's
   fixed rest offsets instead (an avatar's own bone lengths: the take's bone-length noise shows);
4. ``timing``: the replay at 30 fps: median and p95 gap between received bundles (ms), bundles lost.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from core.demo import demo_files
from core.export.retarget import forward_kinematics, rig_from_motion
from core.export.rotations import matrix_from_quat
from core.session.importing import import_videos
from core.session.processing import process_session
from core.stream import JsonEncoder, Streamer, StreamOutput
from core.stream.receivers import VmcReceiver, replay_into
from core.stream.replay import load_take
from core.stream.vmc import ZUP_TO_YUP, VmcEncoder, to_unity


def _cpu_us(fn, frames: list, passes: int = 5) -> float:
    runs = []
    for _ in range(passes):
        t0 = time.thread_time()
        for f in frames:
            fn(f)
        runs.append((time.thread_time() - t0) / len(frames) * 1e6)
    return float(np.median(runs))


class _Null:
    errors = 0
    last_error = ""

    def send(self, data: bytes) -> bool:
        return True

    def close(self) -> None:
        pass


def _replay(session: Path, fps: float) -> tuple[object, list]:
    """Replay ``session`` at ``fps`` to a real python-osc server; (the replay's summary, the bundles received)."""
    rx = VmcReceiver()
    return replay_into(rx, session, fps), rx.bundles


def _round_trip(session: Path) -> dict:
    take = load_take(session)
    summary, bundles = _replay(session, 60)
    root, pos, quat = (np.stack(x) for x in zip(*(b.arrays() for b in bundles), strict=True))
    idx = np.abs(take.time_s[None] - np.array([[b.t] for b in bundles])).argmin(axis=1)
    truth = take.joints[idx] @ ZUP_TO_YUP.T
    seen = np.isfinite(truth).all(-1)
    R = matrix_from_quat(quat)
    fk = to_unity(forward_kinematics(root + pos[:, 0], R, pos))[0]
    rest = to_unity(rig_from_motion(take.joints @ ZUP_TO_YUP.T))[0]
    fixed = to_unity(forward_kinematics(root + pos[:, 0], R, rest))[0]
    e = np.linalg.norm(fk - truth, axis=-1)[seen] * 1000
    f = np.linalg.norm(fixed - truth, axis=-1)[seen] * 1000
    return {
        "bundles": len(bundles),
        "sent": summary.stats.sent,
        "received_offsets": {"mean": float(e.mean()), "max": float(e.max())},
        "fixed_rest_offsets": {
            "mean": float(f.mean()),
            "median": float(np.median(f)),
            "p95": float(np.percentile(f, 95)),
        },
    }


def _timing(session: Path) -> dict:
    summary, bundles = _replay(session, 30)
    gaps = np.diff([b.received for b in bundles]) * 1000
    return {
        "fps": 30,
        "gap_ms": {"median": float(np.median(gaps)), "p95": float(np.percentile(gaps, 95))},
        "sent": summary.stats.sent,
        "lost": summary.stats.sent - len(bundles),
    }


def main() -> dict:
    files = demo_files()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "demo"
        import_videos(*files.videos, files.calibration, session, cameras=list(files.cameras))
        process_session(session, refine=False)
        take = load_take(session)
        frames = [take.frame(i) for i in range(len(take.time_s)) if np.isfinite(take.joints[i, 0]).all()]
        live = VmcEncoder()
        vmc = _cpu_us(live.encode, frames)
        js = _cpu_us(JsonEncoder().encode, frames)
        ticks = iter(np.arange(10_000) / 30.0)  # every push is due: the accepting path
        streamer = Streamer([StreamOutput(JsonEncoder(), _Null())], fps=30, clock=lambda: float(next(ticks)))
        with streamer:
            push = _cpu_us(streamer.push, frames)
        out = {
            "data": "demo pair: Pose2Sim balancing cam01 + cam04, 100 frames at 60 fps, coarse 3D",
            "encode_us": {"vmc": vmc, "json": js},
            "push_us": push,
            "round_trip_mm": _round_trip(session),
            "timing": _timing(session),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
