"""What the soak reads about a process and how it sums a series up: resident memory and open descriptors from
/proc, the processes of a service's process group, a least-squares slope, percentiles, and the Prometheus text
format reduced to the sums the soak needs. Pure functions over /proc paths and strings, so they are tested
without a platform (tests/bench/test_soak_gauges.py)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")
_SAMPLE = re.compile(r'^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def rss_kib(pid: int, proc: Path = PROC) -> int:
    """Resident memory (``VmRSS``) of ``pid`` in KiB; 0 for a process that has none (a zombie)."""
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int, proc: Path = PROC) -> int:
    return sum(1 for _ in (proc / str(pid) / "fd").iterdir())


def cpu_s(pid: int, proc: Path = PROC) -> float:
    """User + system CPU seconds of ``pid`` and its reaped children (fields 14-17 of /proc/<pid>/stat)."""
    fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / _TICKS


def group_members(pgid: int, proc: Path = PROC) -> list[int]:
    """Every process whose process group is ``pgid``: a service is started in a session of its own, so its group
    holds it and whatever it spawned (worker processes). Field 5 of /proc/<pid>/stat, after the command name."""
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # a process that ended meanwhile
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def group_usage(pids: Iterable[int], proc: Path = PROC) -> tuple[float, int, float]:
    """(RSS in MiB, open descriptors, CPU seconds) summed over ``pids``; a process gone meanwhile counts nothing."""
    rss = fds = 0
    cpu = 0.0
    for pid in pids:
        try:
            rss += rss_kib(pid, proc)
            fds += open_fds(pid, proc)
            cpu += cpu_s(pid, proc)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss / 1024, fds, cpu


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares slope of ``ys`` against ``xs`` (0 when there are fewer than two distinct xs)."""
    if len(xs) != len(ys):
        raise ValueError("as many xs as ys")
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def per_hour(times_s: Sequence[float], values: Sequence[float]) -> float:
    """The fitted change of ``values`` per hour, the times in seconds."""
    return slope([t / 3600 for t in times_s], values)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest rank: a value that was observed, never one between two."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus text exposition: (name, labels, value); comments skipped."""
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if match := _SAMPLE.match(line):
            name, labels, value = match.groups()
            found.append((name, dict(_LABEL.findall(labels or "")), float(value)))
    return found


def total(found: Iterable[tuple[str, dict[str, str], float]], name: str,
          skip: Mapping[str, Iterable[str]] | None = None) -> float:
    """The sum of ``name``'s samples, leaving out those whose label is one of ``skip[label]``."""
    excluded = {label: set(values) for label, values in (skip or {}).items()}
    return sum(value for sample, labels, value in found if sample == name
               and not any(labels.get(label) in values for label, values in excluded.items()))


def highest(found: Iterable[tuple[str, dict[str, str], float]], name: str) -> float:
    """The largest of ``name``'s samples (0 when there is none): a gauge reported per service or worker."""
    return max((value for sample, _labels, value in found if sample == name), default=0.0)
