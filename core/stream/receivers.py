"""Receivers that decode what CrossView streams, to check a stream without an engine (tests, benchmarks): a
python-osc VMC server that groups messages into bundles, and a UDP socket that collects JSON lines. Each listens
on 127.0.0.1 (a free port, ``.port``) in a thread of its own; ``close()`` ends it."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from core.stream.replay import ReplaySummary, stream_session
from core.stream.vmc import VMC_BONES


@dataclass
class VmcBundle:
    """One decoded VMC frame: the addresses seen, the root, and each bone's position (3,) and quaternion (4,)."""

    addresses: set[str] = field(default_factory=set)
    root: np.ndarray | None = None
    bones: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    ok: tuple = ()
    t: float | None = None
    received: float = 0.0

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """root (3,), positions (17, 3), quaternions (17, 4) in :data:`VMC_BONES` order."""
        pos = np.array([self.bones[b][0] for b in VMC_BONES])
        quat = np.array([self.bones[b][1] for b in VMC_BONES])
        return np.asarray(self.root), pos, quat


class VmcReceiver:
    """python-osc's blocking UDP server (datagrams handled one at a time, so bundles never interleave)."""

    #: the ``stream_session`` argument that sends here
    target_argument = "vmc"

    def __init__(self) -> None:
        self.bundles: list[VmcBundle] = []
        self._current = VmcBundle()
        d = Dispatcher()
        d.set_default_handler(self._on_message)
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _on_message(self, address: str, *args: object) -> None:
        b = self._current
        b.addresses.add(address)
        if address == "/VMC/Ext/Root/Pos":
            b.root = np.array(args[1:4], dtype=np.float64)
        elif address == "/VMC/Ext/Bone/Pos":
            b.bones[str(args[0])] = (np.array(args[1:4], dtype=np.float64), np.array(args[4:8], dtype=np.float64))
        elif address == "/VMC/Ext/OK":
            b.ok = tuple(args)
        elif address == "/VMC/Ext/T":  # the last message of a bundle
            b.t = float(args[0])
            b.received = time.monotonic()
            self.bundles.append(b)
            self._current = VmcBundle()

    @property
    def received(self) -> list[VmcBundle]:
        return self.bundles

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonReceiver:
    """A UDP socket collecting one JSON document per datagram."""

    target_argument = "json_udp"

    def __init__(self) -> None:
        self.docs: list[dict] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.docs.append(json.loads(data.decode("utf-8")))

    @property
    def received(self) -> list[dict]:
        return self.docs

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def replay_into(
    receiver: VmcReceiver | JsonReceiver, session: str | os.PathLike, fps: float, timeout_s: float = 5.0
) -> ReplaySummary:
    """Replay a processed ``session`` at ``fps`` to ``receiver``, wait (up to ``timeout_s``) until every frame sent
    has been decoded (``receiver.received``), then close the receiver; the replay's summary."""
    try:
        summary = stream_session(session, fps=fps, **{receiver.target_argument: f"127.0.0.1:{receiver.port}"})
        end = time.monotonic() + timeout_s
        while len(receiver.received) < summary.stats.sent and time.monotonic() < end:
            threading.Event().wait(0.01)  # datagrams still in the socket buffer
    finally:
        receiver.close()
    return summary
