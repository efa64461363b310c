"""Streaming a live capture: :class:`StreamConfig` (what the Live tab's Stream control sets) and
:class:`LiveStream`, a :class:`~core.stream.streamer.Streamer` fed by a running :class:`core.pipeline.LivePipeline`.

The pipeline's result callback only converts the result and offers it to the streamer (``push`` never blocks), so
streaming adds microseconds to the pipeline's thread; the encoding and sending run on the streamer's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.errors import InputError
from core.stream.frame import SOURCES, check_source, frame_from_result
from core.stream.json_udp import JsonEncoder
from core.stream.streamer import Streamer, StreamOutput, StreamStats, check_fps
from core.stream.target import DEFAULT_JSON_PORT, DEFAULT_VMC_PORT, UdpTarget, check_port
from core.stream.vmc import VmcEncoder

#: The protocols the Live tab offers.
PROTOCOLS: tuple[str, ...] = ("vmc", "json", "both")
PROTOCOL_LABELS: dict[str, str] = {"vmc": "VMC (OSC)", "json": "JSON (UDP)", "both": "VMC + JSON"}
#: How each single protocol is named in messages and labels.
_LABELS = {"vmc": "VMC", "json": "JSON"}


class Subscribable(Protocol):
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...


@dataclass(frozen=True)
class StreamConfig:
    """Where and what to stream: ``protocol`` one of :data:`PROTOCOLS`; ``host``; ``vmc_port`` / ``json_port``;
    ``fps`` at most; ``source`` one of :data:`~core.stream.frame.SOURCES`."""

    protocol: str = "vmc"
    host: str = "127.0.0.1"
    vmc_port: int = DEFAULT_VMC_PORT
    json_port: int = DEFAULT_JSON_PORT
    fps: float = 30.0
    source: str = "smoothed"

    def checked(self) -> StreamConfig:
        """This config, checked (:class:`InputError` with what to change)."""
        if self.protocol not in PROTOCOLS:
            raise InputError(f"unknown stream protocol {self.protocol!r}; choose one of: {', '.join(PROTOCOLS)}.")
        if not str(self.host).strip():
            raise InputError("give the receiver's host, for example 127.0.0.1 for an app on this computer.")
        check_source(self.source)
        check_fps(self.fps)
        if self.protocol != "json":
            check_port(self.vmc_port, "VMC")
        if self.protocol != "vmc":
            check_port(self.json_port, "JSON")
        return self

    def targets(self) -> list[tuple[str, str, int]]:
        """``(protocol, host, port)`` of each receiver: ``("vmc", ...)`` and/or ``("json", ...)``."""
        host = str(self.host).strip()
        out = []
        if self.protocol in ("vmc", "both"):
            out.append(("vmc", host, int(self.vmc_port)))
        if self.protocol in ("json", "both"):
            out.append(("json", host, int(self.json_port)))
        return out

    def outputs(self) -> list[StreamOutput]:
        """Open the UDP targets (:class:`InputError` for a host that cannot be resolved)."""
        return open_outputs(self.checked().targets())

    def describe(self) -> str:
        """e.g. "VMC 127.0.0.1:39539, 30 fps, smoothed"."""
        parts = [f"{_LABELS[kind]} {host}:{port}" for kind, host, port in self.targets()]
        return f"{' + '.join(parts)}, {self.fps:g} fps, {self.source}"


def open_outputs(targets: Sequence[tuple[str, str, int]], rest: np.ndarray | None = None) -> list[StreamOutput]:
    """One output per ``(protocol "vmc" | "json", host, port)``, its socket opened here (all closed again when one
    cannot be: :class:`InputError`). ``rest`` ``(17, 3)`` m: the VMC rig's rest offsets (None: learnt live)."""
    outs: list[StreamOutput] = []
    try:
        for kind, host, port in targets:
            encoder = VmcEncoder(rest) if kind == "vmc" else JsonEncoder()
            label = _LABELS[kind]
            outs.append(StreamOutput(encoder, UdpTarget(host, port, label), f"{label} {host}:{port}"))
    except InputError:
        for o in outs:
            o.target.close()
        raise
    return outs


class LiveStream:
    """Streams every result of ``pipeline`` (anything with ``subscribe``) per ``config``, world up ``world_up``.

    Opening the sockets can raise :class:`InputError`; :meth:`stop` detaches and closes them.
    """

    def __init__(self, config: StreamConfig, pipeline: Subscribable, world_up: str) -> None:
        self.config = config.checked()
        self.world_up = world_up
        self.streamer = Streamer(config.outputs(), config.fps)
        self.streamer.start()
        self._detach = pipeline.subscribe(self._on_result)

    def _on_result(self, result: Any) -> None:
        self.streamer.push(frame_from_result(result, self.config.source, self.world_up))

    def stats(self) -> StreamStats:
        return self.streamer.stats()

    def stop(self) -> StreamStats:
        """Detach from the pipeline, send what is queued, close the sockets; the final statistics."""
        self._detach()
        self.streamer.stop()
        return self.streamer.stats()


__all__ = ["PROTOCOLS", "PROTOCOL_LABELS", "SOURCES", "LiveStream", "StreamConfig", "open_outputs"]
