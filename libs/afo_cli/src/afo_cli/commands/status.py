"""``afo status``: what the state file says runs, checked against the processes and their /readyz."""

from __future__ import annotations

import argparse

import httpx

from afo_cli.platform_config import home_from_env
from afo_cli.run_state import RunState, pid_alive, read_state, state_path

HEADERS = ("service", "pid", "alive", "port", "ready", "log")


def run(_args: argparse.Namespace) -> int:
    home = home_from_env()
    state = read_state(home)
    if state is None:
        print(f"AFO is not running ({state_path(home)} does not exist)")
        return 1
    supervisor_alive = pid_alive(state.supervisor_pid)
    if supervisor_alive:
        print(f"AFO is running from {state.home} since {state.started_at} (supervisor pid {state.supervisor_pid})")
    else:
        print(
            f"AFO is not running: supervisor pid {state.supervisor_pid} is gone but left "
            f"{state_path(home)}; `afo down` cleans up what is left"
        )
    pids = state.nats_pids
    nats = f"ours, pid{'s' if len(pids) > 1 else ''} {', '.join(map(str, pids))}" if pids else "external"
    down = [pid for pid in pids if not pid_alive(pid)]
    nats_alive = "" if not pids else ("alive" if not down else f"NOT RUNNING: {', '.join(map(str, down))}")
    print(f"NATS {state.nats_url} ({nats}) {nats_alive}".rstrip())
    if state.gateway_url:
        print(f"API  {state.gateway_url}/v1")
    print()
    print(format_table(rows(state)))
    return 0 if supervisor_alive else 1


def rows(state: RunState) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    with httpx.Client(timeout=2.0) as client:
        for name, svc in state.services.items():
            alive = pid_alive(svc.pid)
            table.append(
                (name, str(svc.pid or "-"), "yes" if alive else "no", str(svc.port), _ready(client, svc.url), svc.log)
            )
    return table


def _ready(client: httpx.Client, url: str) -> str:
    try:
        response = client.get(f"{url}/readyz")
    except httpx.HTTPError:
        return "no (unreachable)"
    return "yes" if response.status_code == 200 else f"no ({response.status_code})"


def format_table(body: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [HEADERS, *body]) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [HEADERS, *body]]
    return "\n".join(line.rstrip() for line in lines)
