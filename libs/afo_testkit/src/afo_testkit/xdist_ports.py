"""Pytest plugin (``-p afo_testkit.xdist_ports`` in the root pyproject's addopts): each pytest-xdist worker
picks the ports of its test servers and platforms from a range of its own.

``free_port`` learns a port is free by binding it and letting it go; the server bound to it starts a moment
later (seconds, for a service process). Two workers starting servers at the same time could otherwise be
handed the same port, and one test would fail to start or, worse, talk to the other worker's server. The
ranges lie below the kernel's ephemeral ports (32768 up), so no outgoing connection takes them either.
A range already set in ``AFO_FREE_PORT_RANGE`` is kept.
"""

from __future__ import annotations

import os

import pytest

from afo_cli.ports import PORT_RANGE_VARIABLE

FIRST_PORT = 20000
END_PORT = 32768  # the default start of net.ipv4.ip_local_port_range


def worker_port_range(worker: str, worker_count: int) -> str:
    """``gw0`` of 2 → ``20000-26384``, ``gw1`` → ``26384-32768``."""
    index = int(worker.removeprefix("gw"))
    span = (END_PORT - FIRST_PORT) // worker_count
    low = FIRST_PORT + index * span
    return f"{low}-{low + span}"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and count and PORT_RANGE_VARIABLE not in os.environ:
        os.environ[PORT_RANGE_VARIABLE] = worker_port_range(worker, int(count))
