"""Streaming live 3D motion to other apps: VMC over OSC/UDP (avatars: VSeeFace, Unity EVMC4U, Blender VMC4B) and
plain JSON lines over UDP (custom receivers). No Qt.

- :mod:`.frame`: :class:`StreamFrame`, what every sender gets (world metres, Z up), and how a live
  :class:`core.pipeline.PoseResult` becomes one (raw, refined or smoothed 3D);
- :mod:`.target`: ``HOST:PORT`` parsing and the UDP socket (a receiver that is not there is not an error);
- :mod:`.vmc`: the VMC encoder (one OSC bundle per frame; bones retargeted by :mod:`core.export.retarget`, the
  BVH export's retargeting, converted to Unity's left-handed Y-up frame);
- :mod:`.json_udp`: the JSON encoder (one line per frame, schema ``crossview.pose/1``);
- :mod:`.streamer`: :class:`Streamer`, the rate limit and the sending thread (never blocks the pipeline: a frame
  it cannot send in time is dropped and counted);
- :mod:`.replay`: :func:`stream_session`, a processed session replayed as a live stream (``main.py stream``).
"""

from core.stream.frame import SOURCES, StreamFrame, frame_from_result
from core.stream.json_udp import JSON_SCHEMA, JsonEncoder
from core.stream.streamer import Streamer, StreamOutput, StreamStats
from core.stream.target import UdpTarget, parse_target
from core.stream.vmc import VMC_BONES, VmcEncoder

__all__ = [
    "JSON_SCHEMA",
    "SOURCES",
    "VMC_BONES",
    "JsonEncoder",
    "StreamFrame",
    "StreamOutput",
    "StreamStats",
    "Streamer",
    "UdpTarget",
    "VmcEncoder",
    "frame_from_result",
    "parse_target",
]
