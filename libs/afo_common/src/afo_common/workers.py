"""Several worker processes behind one listening port: for a service whose work is bound by one event loop's
CPU (voice-media: each process runs its own media hub, so one instance uses every core it is given).

The parent migrates the database once, binds the port and starts ``workers`` processes; each builds the service
afresh (spawned, not forked: nothing made before them is shared by accident) and serves on the inherited socket,
where the kernel hands each new connection to one of them — a busy worker accepts later, so new calls lean
towards the idler one. The workers are replicas inside one instance: they share the service's database, take
requests and events from the same queue groups and durable consumers, and each serves what it accepted. The
database must be PostgreSQL: SQLite takes one writer at a time, and the statements on a message's path run on
the event loop (``afo_common.hot_sql``), so a worker waiting for another's write lock would stall its loop —
for voice-media, its callers' audio.

SIGTERM or SIGINT to the parent reaches every worker, each drains as a single process does, and the parent
exits when they have. A worker that dies is replaced (the calls it carried end; Twilio hangs them up); one that
dies within ``STARTUP_GRACE_S`` of starting stops the instance with an error, since a broken configuration
would fail every replacement the same way. A worker whose parent died (SIGKILL) stops by itself.

Metrics: the parent points ``PROMETHEUS_MULTIPROC_DIR`` at a directory of its own before starting the workers,
so ``/metrics``, whichever worker answers it, reports all of them (``afo_common.service``)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

import uvicorn
from prometheus_client import multiprocess
from sqlalchemy.engine import make_url

from afo_common.db import Database, migrate
from afo_common.logs import setup_logging
from afo_common.service import Service
from afo_common.settings import ServiceSettings

log = logging.getLogger(__name__)
STARTUP_GRACE_S = 10.0
SUPERVISE_INTERVAL_S = 0.5
PARENT_CHECK_INTERVAL_S = 1.0
_spawn = multiprocessing.get_context("spawn")
multiprocessing.allow_connection_pickling()  # the listening socket travels to each worker


def serve(build: Callable[[], Service], settings: ServiceSettings, migrations_package: str, workers: int) -> None:
    """Run the service ``build`` makes in ``workers`` processes (one: in this process, as ``Service.run``); exits
    with a message when the configuration cannot run several."""
    if workers <= 1:
        build().run()
        return
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        raise SystemExit(
            f"{settings.service}: {workers} worker processes share one database and SQLite stalls each of them "
            "while another writes; give the service a PostgreSQL database (AFO_"
            f"{settings.service.upper().replace('-', '_')}_DATABASE_URL) or run one worker")
    setup_logging(settings.log_level, settings.service, settings.log_format)
    asyncio.run(_migrate(settings.database_url, migrations_package))
    metrics_dir = tempfile.mkdtemp(prefix=f"afo-{settings.service}-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    listening = uvicorn.Config(app=build, host=settings.http_host, port=settings.http_port).bind_socket()
    try:
        code = _Supervisor(build, listening, workers, settings.service).run()
    finally:
        listening.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    if code:
        raise SystemExit(code)


async def _migrate(url: str, migrations_package: str) -> None:
    db = Database(url)
    try:
        await migrate(db, migrations_package)
    finally:
        await db.dispose()


def _worker(build: Callable[[], Service], listening: socket.socket, parent: int) -> None:
    threading.Thread(target=_stop_when_orphaned, args=(parent,), name="parent-watch", daemon=True).start()
    service = build()
    service.migrates = False
    service.run(sockets=[listening])


def _stop_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_INTERVAL_S)
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class _Slot:
    process: BaseProcess
    started: float


class _Supervisor:
    def __init__(self, build: Callable[[], Service], listening: socket.socket, workers: int, service: str) -> None:
        self._build = build
        self._listening = listening
        self._workers = workers
        self._service = service
        self._stop = threading.Event()

    def run(self) -> int:
        """Start the workers, replace those that die, pass a stop on; the exit code (1: a worker failed to start)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _sig, _frame: self._stop.set())
        slots = [self._start(index) for index in range(self._workers)]
        failed = False
        while not self._stop.wait(SUPERVISE_INTERVAL_S):
            for index, slot in enumerate(slots):
                if slot.process.is_alive():
                    continue
                _forget(slot.process)
                if time.monotonic() - slot.started < STARTUP_GRACE_S:
                    log.error("%s worker %d exited with %s while starting: stopping the instance", self._service,
                              index, slot.process.exitcode)
                    failed = True
                    self._stop.set()
                    break
                log.error("%s worker %d (pid %s) exited with %s; starting another", self._service, index,
                          slot.process.pid, slot.process.exitcode)
                slots[index] = self._start(index)
        for slot in slots:
            if slot.process.is_alive() and slot.process.pid is not None:
                os.kill(slot.process.pid, signal.SIGTERM)
        for slot in slots:
            slot.process.join()
            _forget(slot.process)
        return 1 if failed else 0

    def _start(self, index: int) -> _Slot:
        process = _spawn.Process(target=_worker, args=(self._build, self._listening, os.getpid()),
                                 name=f"{self._service}-worker-{index}")
        process.start()
        log.info("%s worker %d started (pid %s)", self._service, index, process.pid)
        return _Slot(process, time.monotonic())


def _forget(process: BaseProcess) -> None:
    """Drop a dead worker's live gauges from the shared metrics (its counters stay counted)."""
    if process.pid is not None:
        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
