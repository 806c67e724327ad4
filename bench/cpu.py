"""CPU time per process from /proc, so a benchmark can say where the time per message goes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its reaped children (fields 14-17 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / _TICKS


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends do the stores' work)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres)"):
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids


def _total(pids: list[int]) -> float:
    seconds = 0.0
    for pid in pids:
        try:
            seconds += cpu_seconds(pid)
        except OSError:  # a backend that ended meanwhile
            continue
    return seconds


@dataclass
class CpuMeter:
    """CPU used by named processes (or groups of processes) between ``start`` and ``stop``."""

    pids: dict[str, int]
    groups: dict[str, list[int]] = field(default_factory=dict)
    _started: dict[str, float] | None = None
    used: dict[str, float] | None = None

    def start(self) -> None:
        self._started = self._now()

    def stop(self) -> None:
        assert self._started is not None
        now = self._now()
        self.used = {name: now[name] - self._started[name] for name in now}

    def _now(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return now | {name: _total(pids) for name, pids in self.groups.items()}

    def per_message_ms(self, messages: int) -> dict[str, float]:
        assert self.used is not None
        return {name: seconds * 1000 / max(messages, 1) for name, seconds in self.used.items()}
