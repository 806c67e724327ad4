"""Local TCP ports: pick a free one, tell whether one is taken, wait until one accepts connections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections import deque
from collections.abc import Mapping

LOCALHOST = "127.0.0.1"
# ``LOW-HIGH`` (high excluded): free_port picks only there. Test runs split over several processes give each
# its own range (afo_testkit.xdist_ports), so two of them never pick the same port between choosing it and
# binding it, and a range below the kernel's ephemeral ports is never taken by an outgoing connection.
PORT_RANGE_VARIABLE = "AFO_FREE_PORT_RANGE"
_RECENT = 64
_given: deque[int] = deque(maxlen=_RECENT)  # picked in range but maybe not bound yet: not handed out again


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now. Another process may still take it before we do; callers
    that cannot tolerate that race check again with ``port_is_free`` just before use. With
    ``AFO_FREE_PORT_RANGE`` set, a port of that range not among the last ones this process handed out."""
    if port_range := port_range_from_env(os.environ):
        return _free_port_in(port_range, host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_range_from_env(environ: Mapping[str, str]) -> range | None:
    text = environ.get(PORT_RANGE_VARIABLE, "").strip()
    if not text:
        return None
    low, sep, high = text.partition("-")
    try:
        ports = range(int(low), int(high))
    except ValueError:
        ports = range(0)
    if not sep or not ports or ports.start < 1 or ports.stop > 65536 or len(ports) <= _RECENT:
        raise ValueError(f"{PORT_RANGE_VARIABLE}={text!r} is not LOW-HIGH with more than {_RECENT} ports in 1-65535")
    return ports


def _free_port_in(ports: range, host: str) -> int:
    start = random.randrange(len(ports))  # spreads runs that share a range over it
    for step in range(len(ports)):
        port = ports[(start + step) % len(ports)]
        if port not in _given and port_is_free(port, host):
            _given.append(port)
            return port
    raise OSError(f"no free port in {PORT_RANGE_VARIABLE}={ports.start}-{ports.stop}")


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    # SO_REUSEADDR like the servers we start (Go and uvicorn both set it), so a port held only by
    # TIME_WAIT sockets of a previous run counts as free, as it is for them.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


async def accepts_connections(port: int, host: str = LOCALHOST) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
