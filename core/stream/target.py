"""Where a stream goes: ``HOST:PORT`` parsing with clear messages, and :class:`UdpTarget`, a UDP socket that
never blocks and treats a missing receiver as normal (UDP has no connection)."""

from __future__ import annotations

import errno
import socket

from core.errors import InputError

#: The ports receivers listen on by default: VMC (VSeeFace, EVMC4U, VMC4B) and our JSON stream.
DEFAULT_VMC_PORT = 39539
DEFAULT_JSON_PORT = 39540
#: Errors of a send that mean "nobody is listening / the network is down just now": counted, never raised.
_TRANSIENT = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAGAIN, errno.ENOBUFS, errno.EHOSTDOWN}


def check_port(port: object, what: str = "stream") -> int:
    """A port number 1..65535 from an int or a string; :class:`InputError` saying what to give otherwise."""
    text = str(port).strip()
    if not text.isdigit():
        raise InputError(f"the {what} port must be a number from 1 to 65535, got {port!r}.")
    value = int(text)
    if not 1 <= value <= 65535:
        raise InputError(
            f"the {what} port must be from 1 to 65535, got {value}"
            + (" (port 0 means 'any port', which no receiver listens on)" if value == 0 else "")
            + "."
        )
    return value


def parse_target(text: str, default_port: int | None = None, what: str = "stream") -> tuple[str, int]:
    """``"HOST:PORT"`` (or ``"HOST"`` with ``default_port``, or ``"[v6]:PORT"``) as ``(host, port)``."""
    spec = str(text).strip()
    if not spec:
        raise InputError(f"give the {what} target as HOST:PORT, for example 127.0.0.1:{default_port or 39539}.")
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
    else:
        host, port_text = spec, ""
    if not port_text:
        if default_port is None:
            raise InputError(f"the {what} target {text!r} has no port; give HOST:PORT, for example {host}:39539.")
        port_text = str(default_port)
    if not host:
        raise InputError(f"the {what} target {text!r} has no host; give HOST:PORT, for example 127.0.0.1:39539.")
    return host, check_port(port_text, what)


class UdpTarget:
    """A non-blocking UDP socket sending datagrams to ``(host, port)``.

    The host is resolved once, here (:class:`InputError` when it cannot be). A send that fails because nobody
    listens or the network is unreachable is counted in :attr:`errors` (with :attr:`last_error`), never raised.
    """

    def __init__(self, host: str, port: int, what: str = "stream") -> None:
        port = check_port(port, what)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise InputError(
                f"cannot find the {what} host {host!r} ({exc}); give an IP address such as 127.0.0.1 or a name "
                "this computer can resolve."
            ) from None
        family, _type, proto, _name, addr = infos[0]
        self.host, self.port, self.address = host, port, addr
        self._sock = socket.socket(family, socket.SOCK_DGRAM, proto)
        self._sock.setblocking(False)
        if family == socket.AF_INET and host.endswith(".255"):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.errors = 0
        self.last_error = ""

    def __repr__(self) -> str:
        return f"UdpTarget({self.host}:{self.port})"

    def send(self, data: bytes) -> bool:
        """Send one datagram; False (counted) when the network refused it."""
        try:
            self._sock.sendto(data, self.address)
        except OSError as exc:
            if exc.errno not in _TRANSIENT and not isinstance(exc, BlockingIOError):
                self.last_error = f"{self.host}:{self.port}: {exc.strerror or exc}"
            else:
                self.last_error = f"{self.host}:{self.port}: {exc.strerror or exc} (is the receiver running?)"
            self.errors += 1
            return False
        return True

    def close(self) -> None:
        self._sock.close()
