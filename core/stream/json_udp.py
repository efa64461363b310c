"""The plain JSON stream: one UTF-8 JSON object per frame (one UDP datagram, ending in a newline).

Schema ``crossview.pose/1``::

    {"schema": "crossview.pose/1", "t": 12.345, "person": 0, "refined": true, "units": "m", "up": "+z",
     "joints": {"pelvis": [x, y, z], ..., "right_wrist": null},
     "confidence": {"pelvis": 0.98, ...}}

``t`` seconds (capture time, or the session's time on replay); ``person`` the followed 3D track id or null;
``joints``: the 17 H36M joints (names of :data:`core.skeleton.JOINT_NAMES`) in world metres, Z up (the
calibration's world turned so that up is +Z), null where unknown; ``confidence``: per joint, the lower of the two
views' 2D confidences, 0..1; ``refined``: the learned refinement made these joints.
"""

from __future__ import annotations

import json

import numpy as np

from core.skeleton import JOINT_NAMES
from core.stream.frame import StreamFrame

JSON_SCHEMA = "crossview.pose/1"


class JsonEncoder:
    """Encodes :class:`StreamFrame` s as JSON lines (bytes); coordinates rounded to 0.01 mm."""

    name = "json"

    def encode(self, frame: StreamFrame) -> bytes:
        pts = np.round(np.asarray(frame.joints, dtype=np.float64), 5).tolist()
        conf = np.round(np.nan_to_num(np.asarray(frame.confidence, dtype=np.float64)), 3).tolist()
        doc = {
            "schema": JSON_SCHEMA,
            "t": round(float(frame.t_s), 6),
            "person": frame.person,
            "refined": bool(frame.refined),
            "units": "m",
            "up": "+z",
            "joints": {n: (p if all(np.isfinite(p)) else None) for n, p in zip(JOINT_NAMES, pts, strict=True)},
            "confidence": dict(zip(JOINT_NAMES, conf, strict=True)),
        }
        return (json.dumps(doc, separators=(",", ":")) + "\n").encode("utf-8")
