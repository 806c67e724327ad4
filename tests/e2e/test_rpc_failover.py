"""An RPC across a three-node NATS cluster (``afo up --cluster``'s, with the services' users and permissions) whose
owner loses its node mid-request: the owner reconnects to another node and its answer still reaches the caller.

nats-server's ``allow_responses`` remembers a request's reply subject on the node that delivered it only; the other
nodes refuse the reply as a publish violation, and the caller would time out on an answer that was ready. Each
service may publish on its callers' inboxes by name (``afo_common.nats_security.permissions._callers_of``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, serve_request
from afo_common.rpcs.health import HEALTH, HealthReply, HealthRequest
from afo_testkit.platform import Platform, running_platform

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session")
async def cluster(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path, services=(), nats_nodes=3) as platform:
        yield platform


async def test_an_answer_ready_after_the_owners_node_died_reaches_the_caller(cluster: Platform) -> None:
    first, second, third = cluster.nats_servers
    op = HEALTH["knowledge-ingest"]
    asked, answer_now, moved = asyncio.Event(), asyncio.Event(), asyncio.Event()
    errors: list[str] = []

    async def healthy(request: HealthRequest) -> HealthReply:
        asked.set()
        await answer_now.wait()
        return HealthReply(service="knowledge-ingest", version="test", ready=True)

    async def on_request(msg: Msg) -> None:
        if (reply := await serve_request(op, healthy, msg.data, dict(msg.headers or {}), op.service)) is not None:
            await msg.respond(reply)

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    async def on_reconnect() -> None:
        moved.set()

    # The owner on the first node, with the second to fall back on; the caller on the third.
    owner: Client = await nats.connect(servers=[first.url, second.url], dont_randomize=True, error_cb=on_error,
                                       reconnected_cb=on_reconnect, reconnect_time_wait=0.1,
                                       **cluster.nats_auth("knowledge-ingest").connect_options())
    caller = NatsConnection(third.url, "agent-runtime-caller", cluster.nats_auth("agent-runtime"))
    await caller.connect()
    try:
        await owner.subscribe(op.subject, queue="knowledge-ingest", cb=on_request)
        await owner.flush()
        calling = asyncio.create_task(RpcClient(caller, timeout_s=20.0).call(op, HealthRequest()))
        await asyncio.wait_for(asked.wait(), 10)

        await first.kill()  # the node that delivered the request dies before the answer is ready
        await asyncio.wait_for(moved.wait(), 15)
        assert owner.connected_url is not None and owner.connected_url.port == second.port
        answer_now.set()

        assert (await calling).ready
        assert not [e for e in errors if "permissions violation" in e.lower()], errors
    finally:
        await owner.close()
        await caller.close()
