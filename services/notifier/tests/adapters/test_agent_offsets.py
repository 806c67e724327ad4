"""Each agent's reminder offsets, read from a stand-in for agent-runtime answering ``agents.get`` on a real
nats-server: the agent's own minutes, the default when it sets none or is gone, none when it set ``[]``, and an
error (not the default) when agent-runtime fails — so the booking's delivery is retried."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcError, encode_error, encode_result
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef, AgentView
from afo_notifier.adapters.agent_offsets import AgentReminderOffsets
from afo_testkit.nats import nats_server

DEFAULT = (timedelta(hours=24), timedelta(hours=1))
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[NatsConnection]:
    async with nats_server(tmp_path) as server:
        conn = NatsConnection(server.url, "notifier-test")
        await conn.connect()
        yield conn
        await conn.close()


class Agents:
    def __init__(self, specs: dict[str, dict[str, Any]]) -> None:
        self.specs = specs

    async def handle(self, msg: Msg) -> None:
        request = AgentRef.model_validate_json(msg.data)
        if request.agent_id == "agt_broken":
            await msg.respond(encode_error("internal", "database unavailable"))
            return
        spec = self.specs.get(request.agent_id)
        if spec is None:
            await msg.respond(encode_error("not_found", "no such agent"))
            return
        await msg.respond(encode_result(AgentView(id=request.agent_id, spec=spec, published_version=1,
                                                  created_at=NOW, updated_at=NOW)))


async def test_an_agents_own_offsets_else_the_default(connection: NatsConnection) -> None:
    agents = Agents({"agt_own": {"name": "Ava", "reminder_offsets_minutes": [120, 15]},
                     "agt_none": {"name": "Bo", "reminder_offsets_minutes": []},
                     "agt_default": {"name": "Cy"}})
    await connection.client.subscribe(GET_AGENT.subject, cb=agents.handle)
    await connection.client.flush()
    offsets = AgentReminderOffsets(RpcClient(connection, timeout_s=5.0), DEFAULT)

    assert await offsets.of("ten_a", "agt_own") == (timedelta(hours=2), timedelta(minutes=15))
    assert await offsets.of("ten_a", "agt_none") == ()
    assert await offsets.of("ten_a", "agt_default") == DEFAULT
    assert await offsets.of("ten_a", "agt_deleted") == DEFAULT
    with pytest.raises(RpcError) as failed:
        await offsets.of("ten_a", "agt_broken")
    assert failed.value.code == "internal"
