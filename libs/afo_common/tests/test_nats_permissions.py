"""The generated configuration on a real nats-server: each service's user can do what it needs and nothing
it does not, and a connection without credentials is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from afo_common.messaging.streams import ensure_streams
from afo_common.nats_security.credentials import NatsCredentials
from afo_testkit.nats import NatsServer, nats_server


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with nats_server(tmp_path, credentials=NatsCredentials.generate()) as server:
        yield server


class Watched:
    """A connection as one user, with the errors the server sent it (permission violations arrive async)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.client: Client | None = None

    async def connect(self, server: NatsServer, user: str) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        self.client = await nats.connect(server.url, error_cb=on_error, allow_reconnect=False,
                                         **server.connect_options(user))
        return self.client

    async def violations(self, expected: int = 1) -> list[str]:
        for _ in range(100):
            if len([e for e in self.errors if "permissions violation" in e]) >= expected:
                break
            await asyncio.sleep(0.02)
        return [e for e in self.errors if "permissions violation" in e]


async def logged(server: NatsServer, text: str) -> bool:
    """Whether the server's log says ``text`` within five seconds (its lines are written as they come)."""
    for _ in range(250):
        if text in server.log_path.read_text():
            return True
        await asyncio.sleep(0.02)
    return False


async def connect_as(server: NatsServer, user: str) -> tuple[Client, Watched]:
    watched = Watched()
    return await watched.connect(server, user), watched


async def test_a_connection_without_credentials_is_refused(secured: NatsServer) -> None:
    """The server refuses and says so in its log. nats-py raises the server's -ERR, except that its connect returns,
    unconnected, when the line after its PING is neither PONG nor -ERR (the socket closed first): seen once on a
    loaded machine as "DID NOT RAISE"."""
    try:
        client = await nats.connect(secured.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=10)
    except nats.errors.Error as refused:
        assert "authorization violation" in str(refused).lower()
    else:
        assert not client.is_connected
        await client.close()
    assert await logged(secured, "authentication error")


async def test_a_wrong_key_is_refused(secured: NatsServer) -> None:
    stranger = NatsCredentials.generate()  # a well-formed seed the server does not know
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await nats.connect(secured.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=10,
                           nkeys_seed_str=stranger.seed("gateway"))


async def test_the_notifier_cannot_call_knowledge_ingest_nor_read_live_replies(secured: NatsServer) -> None:
    """notifier calls agent-runtime (an agent's reminder offsets) and nothing else."""
    notifier, watched = await connect_as(secured, "notifier")
    try:
        with pytest.raises(nats.errors.TimeoutError):
            # The publish is refused, so nothing answers; the server says why on the error callback.
            await notifier.request("afo.rpc.knowledge-ingest.search", b"{}", timeout=0.5)
        await notifier.subscribe("afo.rt.>")
        await notifier.flush()
        violations = await watched.violations(2)
    finally:
        await notifier.close()
    assert any('publish to "afo.rpc.knowledge-ingest.search"' in v for v in violations), violations
    assert any('subscription to "afo.rt.>"' in v for v in violations), violations


async def test_a_service_cannot_read_another_services_replies_or_all_events(secured: NatsServer) -> None:
    notifier, watched = await connect_as(secured, "notifier")
    try:
        await notifier.subscribe("_INBOX_gateway.>")
        await notifier.subscribe("_INBOX.>")
        await notifier.subscribe("afo.*.lead.qualified")
        await notifier.flush()
        violations = await watched.violations(3)
    finally:
        await notifier.close()
    assert len(violations) == 3, violations


async def test_agent_runtime_cannot_forge_the_gateways_message_received(secured: NatsServer) -> None:
    runtime, watched = await connect_as(secured, "agent-runtime")
    try:
        await runtime.publish("afo.ten_a.conversation.message_received", b"{}")
        await runtime.publish("afo.ten_a.tenant.created", b"{}")
        await runtime.flush()
        violations = await watched.violations(2)
    finally:
        await runtime.close()
    assert any("conversation.message_received" in v for v in violations), violations
    assert any("tenant.created" in v for v in violations), violations


async def test_agent_runtime_and_workflows_both_ask_for_a_handoff(secured: NatsServer) -> None:
    for user in ("agent-runtime", "workflow-executor"):
        client, watched = await connect_as(secured, user)
        try:
            await client.publish("afo.ten_a.handoff.requested", b"{}")
            await client.publish("afo.ten_a.conversation.message_received", b"{}")  # still the gateway's alone
            await client.flush()
            violations = await watched.violations(1)
        finally:
            await client.close()
        assert len(violations) == 1 and "conversation.message_received" in violations[0], (user, violations)


async def test_the_gateway_calls_agent_runtime_and_reads_its_live_replies(secured: NatsServer) -> None:
    runtime, runtime_errors = await connect_as(secured, "agent-runtime")
    gateway, gateway_errors = await connect_as(secured, "gateway")
    received: list[Msg] = []

    async def answer(msg: Msg) -> None:
        await msg.respond(b"pong")

    async def on_delta(msg: Msg) -> None:
        received.append(msg)

    try:
        await runtime.subscribe("afo.rpc.agent-runtime.health", queue="agent-runtime", cb=answer)
        await gateway.subscribe("afo.rt.ten_a.conv_a.>", cb=on_delta)
        await runtime.flush()
        await gateway.flush()
        reply = await gateway.request("afo.rpc.agent-runtime.health", b"{}", timeout=2)
        await runtime.publish("afo.rt.ten_a.conv_a.reply_delta", b"hi")
        await runtime.flush()
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
    finally:
        await runtime.close()
        await gateway.close()
    assert reply.data == b"pong"
    assert [m.subject for m in received] == ["afo.rt.ten_a.conv_a.reply_delta"]
    assert runtime_errors.errors == gateway_errors.errors == []


async def test_the_gateway_reads_streams_and_dead_letters_and_replays_but_changes_no_stream(
        secured: NatsServer) -> None:
    """The operators' admin area: stream and consumer state, dead letters read and removed, an event published
    again on its subject; an event stream's messages are not deleted, nor a stream purged or a consumer made."""
    admin = await nats.connect(secured.url, **secured.connect_options("admin"))
    await ensure_streams(admin.jetstream())
    await admin.jetstream().publish("dlq.afo.agent-runtime.CONVERSATION", b"{}")
    await admin.jetstream().publish("afo.ten_a.lead.created", b"{}")
    gateway, watched = await connect_as(secured, "gateway")
    js = gateway.jetstream(timeout=1)
    try:
        assert (await js.stream_info("CONVERSATION")).state.messages == 1
        assert await js.consumers_info("WORKFLOW") == []
        assert (await js.get_msg("DEADLETTER", 1)).subject == "dlq.afo.agent-runtime.CONVERSATION"
        assert (await js.publish("afo.ten_a.meeting.booked", b"{}")).stream == "WORKFLOW"  # a replay
        assert await js.delete_msg("DEADLETTER", 1)
        for refused in (js.delete_msg("CONVERSATION", 1), js.purge_stream("DEADLETTER"),
                        js.add_consumer("CONVERSATION", durable_name="sneaky"), js.delete_stream("DEADLETTER")):
            with pytest.raises(nats.errors.TimeoutError):
                await refused  # the request is refused, so nothing answers
        violations = await watched.violations(4)
    finally:
        await gateway.close()
        await admin.close()
    assert len(violations) == 4, violations
    assert any('"$js.api.stream.msg.delete.conversation"' in v for v in violations), violations
