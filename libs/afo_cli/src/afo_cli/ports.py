"""Local TCP ports: pick a free one, tell whether one is taken, wait until one accepts connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now. Another process may still take it before we do; callers
    that cannot tolerate that race check again with ``port_is_free`` just before use."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
