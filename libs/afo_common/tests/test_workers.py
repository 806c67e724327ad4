"""Several worker processes behind one port (``afo_common.workers``), as real processes on a real NATS and
PostgreSQL: connections reach every worker, metrics count all of them, a worker that dies is replaced, a stop
reaches them all, and what cannot work is refused."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from afo_cli.ports import free_port
from afo_common.workers import STARTUP_GRACE_S
from afo_testkit.nats import NatsServer
from afo_testkit.postgres import PostgresDatabases

SCRIPT = Path(__file__).parent / "processes" / "workers_service.py"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def postgres_url(postgres_server: PostgresDatabases | str) -> str:
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    return await postgres_server.create()


@asynccontextmanager
async def instance(tmp_path: Path, nats: NatsServer, database_url: str, workers: int,
                   **env: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), str(workers), stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "AFO_HOME": str(tmp_path / "home"), "AFO_NATS_URL": nats.url,
             "AFO_TEST_SVC_DATABASE_URL": database_url, "AFO_TEST_SVC_HTTP_PORT": str(port), **env})
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def until_ready(url: str) -> None:
    for _ in range(300):
        try:
            async with httpx.AsyncClient() as client:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


async def pids_answering(url: str, attempts: int = 200) -> set[int]:
    """The processes that answered ``attempts`` requests, each on a connection of its own (and on uvloop, the
    loop ``Service.run`` names)."""
    seen: set[int] = set()
    for _ in range(attempts):
        async with httpx.AsyncClient() as client:
            answer = (await client.get(f"{url}/pid")).json()
        assert answer["loop"].startswith("uvloop")
        seen.add(answer["pid"])
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def gone(pids: set[int], within_s: float) -> bool:
    for _ in range(int(within_s * 10)):
        if not any(alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.long  # three processes and a drain: about 20 s on the 2-core machine
async def test_two_workers_share_the_port_and_the_metrics_and_both_stop_on_sigterm(
        tmp_path: Path, nats: NatsServer, postgres_url: str) -> None:
    async with instance(tmp_path, nats, postgres_url, 2) as (process, url):
        await until_ready(url)
        await asyncio.sleep(2.0)  # the second worker's start is not in the first's readiness
        workers = await pids_answering(url)
        assert len(workers) == 2 and process.pid not in workers

        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{url}/metrics")).text
        assert "afo_test_pid_answered_total 200.0" in metrics  # both workers' requests, whichever answered

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert await gone(workers, within_s=5)


@pytest.mark.long
async def test_a_worker_that_dies_after_starting_is_replaced(tmp_path: Path, nats: NatsServer,
                                                             postgres_url: str) -> None:
    async with instance(tmp_path, nats, postgres_url, 2) as (process, url):
        await until_ready(url)  # the workers were started before this, after the parent's migration
        # One that died while starting would have stopped the instance (the next test).
        await asyncio.sleep(STARTUP_GRACE_S)
        workers = await pids_answering(url, attempts=100)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced: set[int] = set()
        for _ in range(100):
            await asyncio.sleep(0.2)
            try:
                replaced = await pids_answering(url, attempts=40)
            except httpx.TransportError:
                continue
            if len(replaced) == 2 and victim not in replaced:
                break
        assert len(replaced) == 2 and victim not in replaced and process.returncode is None
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


@pytest.mark.long
async def test_workers_stop_when_their_parent_is_killed(tmp_path: Path, nats: NatsServer,
                                                        postgres_url: str) -> None:
    async with instance(tmp_path, nats, postgres_url, 2) as (process, url):
        await until_ready(url)
        await asyncio.sleep(2.0)
        workers = await pids_answering(url)
        process.kill()
        await process.wait()
        assert await gone(workers, within_s=15)


async def test_a_worker_that_fails_to_start_stops_the_instance(tmp_path: Path, nats: NatsServer,
                                                               postgres_url: str) -> None:
    async with instance(tmp_path, nats, postgres_url, 2, AFO_TEST_SVC_FAIL_ON_BUILD="1") as (process, _url):
        assert await asyncio.wait_for(process.wait(), 60) == 1
        assert process.stderr is not None
        assert b"while starting: stopping the instance" in await process.stderr.read()


async def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path, nats: NatsServer) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}"
    async with instance(tmp_path, nats, sqlite, 2) as (process, _url):
        assert await asyncio.wait_for(process.wait(), 30) == 1
        assert process.stderr is not None
        assert b"give the service a PostgreSQL database (AFO_TEST_SVC_DATABASE_URL)" in await process.stderr.read()
