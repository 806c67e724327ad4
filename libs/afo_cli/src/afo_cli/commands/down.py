"""``afo down``: ask the ``afo up`` supervisor to stop (it drains the services, NATS last), wait for it,
then end whatever a killed supervisor may have left behind."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from pathlib import Path

from afo_cli.platform_config import home_from_env
from afo_cli.run_state import pid_alive, read_state, remove_state

# The supervisor gives services 30 s to drain, then NATS 10 s; this leaves it room to finish.
SUPERVISOR_GRACE_S = 60.0
LEFTOVER_GRACE_S = 10.0
OUR_PROGRAMS = ("afo_", "nats-server")


def run(_args: argparse.Namespace) -> int:
    home = home_from_env()
    state = read_state(home)
    if state is None:
        print("AFO is not running")
        return 0
    if pid_alive(state.supervisor_pid):
        print(f"stopping AFO (supervisor pid {state.supervisor_pid}) ...", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.supervisor_pid, signal.SIGTERM)
        if not wait_gone([state.supervisor_pid], SUPERVISOR_GRACE_S):
            print(f"the supervisor did not stop within {SUPERVISOR_GRACE_S:.0f} s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.supervisor_pid, signal.SIGKILL)
    service_pids = [svc.pid for svc in state.services.values() if svc.pid is not None]
    leftovers = [pid for pid in service_pids if is_ours(pid)]
    stop_groups(leftovers)  # services first: they flush their outboxes into NATS while draining
    stop_groups([pid for pid in state.nats_pids if is_ours(pid)])
    if leftovers:
        print(f"stopped {len(leftovers)} service process(es) left behind by the supervisor")
    remove_state(home)
    print("AFO stopped")
    return 0


def is_ours(pid: int) -> bool:
    """Alive and, where /proc tells, still one of our programs: pids get reused."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True
    return any(program in cmdline for program in OUR_PROGRAMS)


def stop_groups(pids: list[int]) -> None:
    """SIGTERM each process group (each child runs in its own), SIGKILL what outlives the grace."""
    _signal_groups(pids, signal.SIGTERM)
    if not wait_gone(pids, LEFTOVER_GRACE_S):
        _signal_groups([pid for pid in pids if pid_alive(pid)], signal.SIGKILL)
        wait_gone(pids, 5.0)


def wait_gone(pids: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(pid_alive(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _signal_groups(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
