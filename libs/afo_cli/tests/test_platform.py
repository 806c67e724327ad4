"""The platform with real processes: nats-server and the notifier service, on free ports."""

import asyncio
import json
import signal
from pathlib import Path

import httpx
import pytest

from afo_cli.errors import PlatformError
from afo_cli.platform import Platform, PlatformConfig
from afo_cli.ports import free_port
from afo_cli.run_state import pid_alive, state_path
from afo_testkit.platform import running_platform

pytestmark = pytest.mark.e2e


async def wait_for_new_pid(platform: Platform, service: str, old: int, timeout_s: float = 30.0) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        pid = platform.pids[service]
        if pid is not None and pid != old:
            return pid
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service} was not restarted within {timeout_s} s")


async def test_supervises_a_service_and_stops_without_leftovers(tmp_path: Path) -> None:
    async with running_platform(tmp_path, services=("notifier",)) as platform:
        home = platform.home
        url = platform.urls["notifier"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/readyz")).status_code == 200
        first = platform.pids["notifier"]
        nats_pid = platform.nats_pid
        assert first is not None and nats_pid is not None
        state = json.loads(state_path(home).read_text())
        assert state["nats_url"] == platform.nats_url
        assert state["services"]["notifier"]["pid"] == first

        platform.kill("notifier", signal.SIGKILL)
        second = await wait_for_new_pid(platform, "notifier", first)
        await platform.wait_ready("notifier")
        assert platform.urls["notifier"] == url  # same port after a restart
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/readyz")).status_code == 200
        assert (platform.logs_dir / "notifier.log").read_text().count("--- afo: starting notifier") == 2

    assert not pid_alive(first) and not pid_alive(second) and not pid_alive(nats_pid)
    assert not state_path(home).exists()
    assert platform.pids == {"notifier": None}


async def test_restart_on_request_keeps_the_port(tmp_path: Path) -> None:
    async with running_platform(tmp_path, services=("notifier",), supervise=False) as platform:
        first = platform.pids["notifier"]
        await platform.restart("notifier")
        assert platform.pids["notifier"] not in (None, first)
        log = platform.log_path("notifier").read_text()
        assert "notifier draining" in log  # it was SIGTERMed, not killed


async def test_a_service_that_cannot_start_fails_the_start_with_its_log(tmp_path: Path) -> None:
    config = PlatformConfig(
        home=tmp_path / "afo",
        nats_port=free_port(),
        services=("notifier",),
        env={"AFO_NOTIFIER_DATABASE_URL": "nosuchdriver://nowhere"},
    )
    platform = Platform(config)
    with pytest.raises(PlatformError) as raised:
        await platform.start()
    message = str(raised.value)
    assert "notifier exited with code" in message and "before it was ready" in message
    assert "nosuchdriver" in message  # the log tail says why
    assert platform.nats_pid is None  # what it had started is stopped again
    assert platform.pids == {"notifier": None}


async def test_a_second_run_in_the_same_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "afo"
    state = home / "run" / "afo.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({
        "supervisor_pid": 1, "home": str(home), "nats_url": "nats://127.0.0.1:1", "nats_pids": [],
        "gateway_url": "", "started_at": "2025-01-01T00:00:00+00:00", "services": {},
    }))
    platform = Platform(PlatformConfig(home=home, services=("notifier",)))
    with pytest.raises(PlatformError, match="already running"):
        await platform.start()


@pytest.mark.long
async def test_gives_up_on_a_service_that_keeps_crashing_and_says_so(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    reports: list[str] = []
    gave_up = asyncio.Event()

    def report(message: str) -> None:
        reports.append(message)
        if "giving up" in message:
            gave_up.set()

    config = PlatformConfig(home=tmp_path / "afo", nats_port=free_port(), services=("notifier",), env=env)
    async with Platform(config, report=report) as platform:
        # From now on every start of notifier fails at once: it crashes on each restart.
        env["AFO_NOTIFIER_DATABASE_URL"] = "nosuchdriver://nowhere"
        platform.kill("notifier", signal.SIGKILL)
        await asyncio.wait_for(gave_up.wait(), timeout=90)
        assert platform.given_up == ("notifier",)
        assert platform.pids == {"notifier": None}
        assert json.loads(state_path(platform.home).read_text())["services"]["notifier"]["pid"] is None
    assert "restarting it in 0.5 s" in reports[0]
    assert "crashed 5 times within 60 s, giving up on it" in reports[-1]
    assert "nosuchdriver" in reports[-1]
