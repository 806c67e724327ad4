"""``POST /v1/conversations/{id}/close``: the gateway checks the conversation is the caller's, then asks
agent-runtime (here a stand-in on the test's nats-server) to close it; another tenant's is a 404, a
caller without credentials is refused, and closing twice answers the same closed conversation."""

from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import encode_error, encode_result
from afo_common.rpcs import agent_runtime as ar


class StandInRuntime:
    """Answers ``conversations.check`` and ``conversations.close`` for the conversations it holds."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], ar.ConversationView] = {}
        self.closes: list[ar.ConversationRef] = []

    def add(self, tenant_id: str, conversation_id: str) -> None:
        now = datetime.now(UTC)
        self.held[(tenant_id, conversation_id)] = ar.ConversationView(
            id=conversation_id, agent_id="agt_1", agent_version=1, channel="api", contact={}, status="open",
            lead_id=None, created_at=now, updated_at=now)

    async def check(self, msg: Msg) -> None:
        ref = ar.ConversationRef.model_validate_json(msg.data)
        await msg.respond(self._answer(ref))

    async def close(self, msg: Msg) -> None:
        ref = ar.ConversationRef.model_validate_json(msg.data)
        self.closes.append(ref)
        view = self.held.get((ref.tenant_id, ref.conversation_id))
        if view is not None and view.closed_at is None:
            self.held[(ref.tenant_id, ref.conversation_id)] = view.model_copy(
                update={"closed_at": datetime.now(UTC), "close_reason": "closed"})
        await msg.respond(self._answer(ref))

    def _answer(self, ref: ar.ConversationRef) -> bytes:
        view = self.held.get((ref.tenant_id, ref.conversation_id))
        if view is None:
            return encode_error("not_found", f"conversation {ref.conversation_id} not found")
        return encode_result(view)


async def runtime(connection: NatsConnection) -> StandInRuntime:
    stand_in = StandInRuntime()
    await connection.client.subscribe(ar.CHECK_CONVERSATION.subject, cb=stand_in.check)
    await connection.client.subscribe(ar.CLOSE_CONVERSATION.subject, cb=stand_in.close)
    return stand_in


async def test_closing_a_conversation_answers_it_closed_and_closing_again_changes_nothing(
    gateways: Any, connection: NatsConnection
) -> None:
    stand_in = await runtime(connection)
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    stand_in.add(owner.tenant_id, "conv_1")

    first = await client.post("/v1/conversations/conv_1/close", headers=owner.auth)
    again = await client.post("/v1/conversations/conv_1/close", headers=owner.auth)

    assert first.status_code == 200, first.text
    assert first.json()["close_reason"] == "closed" and first.json()["closed_at"]
    assert again.status_code == 200
    assert again.json()["closed_at"] == first.json()["closed_at"]
    assert [r.tenant_id for r in stand_in.closes] == [owner.tenant_id, owner.tenant_id]


async def test_another_tenants_conversation_is_not_found_and_not_closed(gateways: Any,
                                                                          connection: NatsConnection) -> None:
    stand_in = await runtime(connection)
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    stand_in.add("ten_someone_else", "conv_theirs")

    response = await client.post("/v1/conversations/conv_theirs/close", headers=owner.auth)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert stand_in.closes == []


async def test_closing_needs_a_caller(gateways: Any, connection: NatsConnection) -> None:
    stand_in = await runtime(connection)
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    stand_in.add(owner.tenant_id, "conv_1")

    response = await client.post("/v1/conversations/conv_1/close")

    assert response.status_code == 401
    assert stand_in.closes == []


async def test_an_id_longer_than_any_conversation_or_lead_has_is_a_422_on_every_route(
    gateways: Any, connection: NatsConnection
) -> None:
    stand_in = await runtime(connection)
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    long = "c" * 65  # agent-runtime's and workflow-executor's requests take ids of up to 64 characters

    for method, path in (("POST", f"/v1/conversations/{long}/close"), ("GET", f"/v1/conversations/{long}"),
                         ("POST", f"/v1/conversations/{long}/messages"), ("GET", f"/v1/conversations/{long}/stream"),
                         ("POST", f"/v1/conversations/{long}/stream-token"), ("GET", f"/v1/leads/{long}"),
                         ("GET", f"/v1/leads/{long}/crm-syncs")):
        response = await client.request(method, path, headers=owner.auth,
                                        json={"text": "hi"} if path.endswith("/messages") else None)
        assert response.status_code == 422, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert stand_in.closes == []
