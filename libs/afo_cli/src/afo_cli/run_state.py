"""``<home>/run/afo.json``: what a running ``afo up`` started, for ``afo status`` and ``afo down``."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ValidationError


class ServiceState(BaseModel):
    pid: int | None
    port: int
    url: str
    log: str


class RunState(BaseModel):
    supervisor_pid: int
    home: str
    nats_url: str
    nats_pids: list[int] = []  # the nats-server(s) the run started: none with a given NATS, three as a cluster
    gateway_url: str
    started_at: str
    services: dict[str, ServiceState]

    def process_ids(self) -> list[int]:
        """Every process the run started: its services, then its nats-server."""
        pids = [svc.pid for svc in self.services.values() if svc.pid is not None]
        return pids + self.nats_pids


def state_path(home: Path) -> Path:
    return home / "run" / "afo.json"


def write_state(home: Path, state: RunState) -> None:
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then renamed, so a reader never sees half a file.
    partial = path.with_suffix(".json.tmp")
    partial.write_text(state.model_dump_json(indent=2) + "\n")
    partial.replace(path)


def read_state(home: Path) -> RunState | None:
    try:
        return RunState.model_validate_json(state_path(home).read_text())
    except (OSError, ValidationError):
        return None


def remove_state(home: Path) -> None:
    state_path(home).unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A child that exited but was not reaped yet still answers kill(0); /proc tells it apart.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"
