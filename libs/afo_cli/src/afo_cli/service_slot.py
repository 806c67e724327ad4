"""One service of a platform run: its fixed port and log, the process currently filling the slot, and
what the supervisor knows about it. The port stays the same across restarts, so URLs stay valid."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from afo_cli.crash_policy import CrashHistory
from afo_cli.errors import PlatformError
from afo_cli.ports import LOCALHOST
from afo_cli.processes import ManagedProcess, read_log_tail
from afo_cli.services import command_of

READY_POLL_S = 0.2


class ServiceSlot:
    def __init__(self, name: str, port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.process: ManagedProcess | None = None
        self.wanted = False  # the supervisor brings it back when it exits
        self.gave_up = False
        self.crashes = CrashHistory()
        self.lock = asyncio.Lock()  # one start/stop/restart of this service at a time

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.is_running else None

    @property
    def crashed(self) -> bool:
        """Exited while it should be running."""
        return self.wanted and self.process is not None and not self.process.is_running

    def spawn(self, env: Mapping[str, str]) -> None:
        if not self.is_running:
            self.process = ManagedProcess.spawn(self.name, command_of(self.name), self.log_path, env)

    async def terminate(self, timeout_s: float) -> None:
        if self.process is not None:
            await self.process.terminate(timeout_s)

    def log_tail(self, lines: int = 30) -> str:
        if self.process is not None:
            return self.process.log_tail(lines)
        return read_log_tail(self.log_path, lines)

    def tail_text(self) -> str:
        return f"last lines of {self.log_path}:\n{self.log_tail()}"

    async def wait_ready(self, timeout_s: float) -> None:
        """Until ``GET /readyz`` answers 200; PlatformError with the log tail if the process exits first
        or the timeout passes."""
        url = f"{self.url}/readyz"
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                process = self.process
                if process is None or not process.is_running:
                    how = process.exit_description() if process is not None else "is not running"
                    raise PlatformError(f"{self.name} {how} before it was ready; {self.tail_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                if time.monotonic() >= deadline:
                    raise PlatformError(
                        f"{self.name} is not ready after {timeout_s:.0f} s (GET {url} is not 200); "
                        f"{self.tail_text()}"
                    )
                await asyncio.sleep(READY_POLL_S)
