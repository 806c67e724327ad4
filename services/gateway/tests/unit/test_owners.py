"""Conversation ownership asked of agent-runtime once per conversation and tenant, then answered from the
gateway's cache; the cache never lets a publishable key past its own agent's web conversations. The
owner is a stand-in on a real nats-server."""

from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_error, encode_result
from afo_common.rpcs import agent_runtime as ar
from afo_gateway.domain.access import SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.errors import NotFound
from afo_gateway.handlers.owners import Owners

SECRET = Principal("ten_a", "secret_key", "key_1", SECRET_KEY_PERMISSIONS)
WIDGET = Principal("ten_a", "publishable_key", "key_2", frozenset(), "agt_other", ("https://a.example",))
OTHER_TENANT = Principal("ten_b", "secret_key", "key_3", SECRET_KEY_PERMISSIONS)



class Owner:
    """Knows one conversation, of tenant ten_a, and counts how often it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def handle(self, msg: Msg) -> None:
        request = ar.ConversationRef.model_validate_json(msg.data)
        self.asked.append((request.tenant_id, request.conversation_id))
        if (request.tenant_id, request.conversation_id) != ("ten_a", "conv_1"):
            await msg.respond(encode_error("not_found", f"conversation {request.conversation_id} not found"))
            return
        now = datetime.now(UTC)
        await msg.respond(encode_result(ar.ConversationView(
            id="conv_1", agent_id="agt_1", agent_version=1, channel="api", contact={}, status="open",
            lead_id=None, created_at=now, updated_at=now)))


async def test_ownership_is_asked_once_and_per_tenant(connection: NatsConnection) -> None:
    owner = Owner()
    await connection.client.subscribe(ar.CHECK_CONVERSATION.subject, cb=owner.handle)
    owners = Owners(RpcClient(connection, timeout_s=2.0))

    first = await owners.conversation(SECRET, "conv_1")
    again = await owners.conversation(SECRET, "conv_1")
    with pytest.raises(NotFound):
        await owners.conversation(OTHER_TENANT, "conv_1")
    with pytest.raises(NotFound):
        await owners.conversation(WIDGET, "conv_1")  # cached, and still not this widget's

    assert first == again and first.agent_id == "agt_1"
    assert owner.asked == [("ten_a", "conv_1"), ("ten_b", "conv_1")]
