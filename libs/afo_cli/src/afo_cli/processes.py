"""Child processes the platform owns: each in its own process group, its output appended to a log file.

Own process group (a new session) so that Ctrl-C in the terminal reaches only the supervisor: it then
stops the services in order (SIGTERM, drain, NATS last) instead of every process dying at once with
messages still in the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

POLL_S = 0.05


def rotate_log(path: Path) -> None:
    """Keep the previous run's log as ``<name>.log.1``; one generation is enough to read a crash."""
    if path.exists():
        path.replace(path.with_name(path.name + ".1"))


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def read_log_tail(path: Path, lines: int = 30, offset: int = 0) -> str:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class ManagedProcess:
    """A started child. ``log_offset`` marks where this run's output begins in a log shared by restarts."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path, log_offset: int) -> None:
        self.name = name
        self.log_path = log_path
        self.log_offset = log_offset
        self.started_at = time.time()
        self._popen = popen

    @classmethod
    def spawn(cls, name: str, command: Sequence[str], log_path: Path, env: Mapping[str, str]) -> ManagedProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            offset = log.tell()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"--- afo: starting {name} at {stamp}: {' '.join(command)}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
            )
        return cls(name, popen, log_path, offset)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """None while running. Polling also reaps the child, so no zombie is left behind."""
        return self._popen.poll()

    @property
    def is_running(self) -> bool:
        return self.returncode is None

    def send_signal(self, sig: int) -> None:
        if not self.is_running:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    async def wait(self, timeout_s: float) -> bool:
        """True once the process has exited, False if it is still running after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.is_running:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_S)
        return True

    async def terminate(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL whatever has not drained within ``timeout_s``."""
        self.send_signal(signal.SIGTERM)
        if not await self.wait(timeout_s):
            self.send_signal(signal.SIGKILL)
            await self.wait(5.0)

    def log_tail(self, lines: int = 30) -> str:
        return read_log_tail(self.log_path, lines, self.log_offset)

    def exit_description(self) -> str:
        code = self.returncode
        return "is running" if code is None else describe_exit(code)
