"""E2E fixtures: a real nats-server and real service processes, started once per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.twilio_server import FakeTwilio

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    home: Path = tmp_path_factory.mktemp("platform")
    async with running_platform(home, supervise=False) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def twilio() -> AsyncIterator[FakeTwilio]:
    """Twilio's REST API and its signing, as the modules that phone or text leads point the platform at it."""
    async with FakeTwilio() as server:
        yield server
