"""SIGTERM of a gateway with open SSE streams: each stream ends at once with a final ``reconnect`` event and
a ``retry:`` hint, and the process exits in seconds instead of waiting out the drain timeout (20 s)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import conversation, exited, published_agent, sign_up
from tests.e2e.sse import SseReader

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"), services=("gateway", "agent-runtime"),
                                supervise=False) as running:
        yield running


async def test_sigterm_ends_open_streams_and_the_gateway_exits_promptly(platform: Platform,
                                                                        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant))
    readers = [SseReader(api, f"/v1/conversations/{conversation_id}/stream", headers=tenant.auth)
               for _ in range(3)]
    for reader in readers:
        await reader.opened()

    platform.kill("gateway", signal.SIGTERM)

    await asyncio.gather(*(reader.ended(5.0) for reader in readers))
    await exited(platform, "gateway", within_s=5.0)
    for reader in readers:
        assert reader.kinds == ["reconnect"]
        assert reader.retry_ms == 1000
