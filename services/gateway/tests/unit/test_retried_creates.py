"""A create whose answer is lost to a timeout may still have happened: the gateway asks again with the same
request id, and the owner answers with what the first attempt made (one agent, not two). The owner here
is a stand-in on a real nats-server that answers the first attempt too late."""

from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_result
from afo_common.rpcs import agent_runtime as ar
from afo_gateway.domain.access import SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.errors import UpstreamTimeout
from afo_gateway.domain.idempotency import Scope, request_id
from afo_gateway.handlers.owners import Owners

TIMEOUT_S = 0.3
PRINCIPAL = Principal("ten_a", "secret_key", "key_1", SECRET_KEY_PERMISSIONS)



class SlowOwner:
    """Creates the agent on every request it has not seen, but answers its first ``late`` requests after
    the caller gave up."""

    def __init__(self, late: int) -> None:
        self.late = late
        self.request_ids: list[str | None] = []
        self.made: dict[str, ar.AgentView] = {}

    async def handle(self, msg: Msg) -> None:
        request = ar.CreateAgent.model_validate_json(msg.data)
        self.request_ids.append(request.request_id)
        key = request.request_id or f"anonymous-{len(self.request_ids)}"
        now = datetime.now(UTC)
        view = self.made.setdefault(key, ar.AgentView(id=f"agt_{len(self.made) + 1}", spec=request.spec,
                                                      published_version=None, created_at=now, updated_at=now))
        if len(self.request_ids) <= self.late:
            return  # the reply never comes in time
        await msg.respond(encode_result(view))


async def test_a_create_that_timed_out_is_asked_again_with_the_same_request_id(connection: NatsConnection) -> None:
    owner = SlowOwner(late=1)
    await connection.client.subscribe(ar.CREATE_AGENT.subject, cb=owner.handle)
    owners = Owners(RpcClient(connection, timeout_s=TIMEOUT_S))

    view = await owners.create(ar.CREATE_AGENT, ar.CreateAgent(tenant_id="ten_a", spec={"name": "Ava"},
                                                               request_id="req_first_attempt"))

    assert owner.request_ids == ["req_first_attempt", "req_first_attempt"]
    assert len(owner.made) == 1 and view.id == "agt_1"


async def test_a_create_that_times_out_twice_is_a_504_and_a_retry_with_the_same_key_finds_the_agent(
    connection: NatsConnection
) -> None:
    owner = SlowOwner(late=2)
    await connection.client.subscribe(ar.CREATE_AGENT.subject, cb=owner.handle)
    owners = Owners(RpcClient(connection, timeout_s=TIMEOUT_S))
    scope = Scope.of(PRINCIPAL, "POST", "/v1/agents")
    create = ar.CreateAgent(tenant_id="ten_a", spec={"name": "Ava"}, request_id=request_id(scope, "client-key-1"))

    with pytest.raises(UpstreamTimeout):
        await owners.create(ar.CREATE_AGENT, create)
    # The client retries with its Idempotency-Key: the same scope and key give the same request id.
    retried = ar.CreateAgent(tenant_id="ten_a", spec={"name": "Ava"}, request_id=request_id(scope, "client-key-1"))
    view = await owners.create(ar.CREATE_AGENT, retried)

    assert len(owner.made) == 1 and view.id == "agt_1"
    assert len(set(owner.request_ids)) == 1


def test_request_ids_differ_by_key_caller_and_route() -> None:
    scope = Scope.of(PRINCIPAL, "POST", "/v1/agents")
    another_key = Principal("ten_a", "secret_key", "key_2", SECRET_KEY_PERMISSIONS)

    assert request_id(scope, "k1") == request_id(scope, "k1")
    assert len({
        request_id(scope, "k1"),
        request_id(scope, "k2"),
        request_id(Scope.of(another_key, "POST", "/v1/agents"), "k1"),
        request_id(Scope.of(PRINCIPAL, "POST", "/v1/conversations"), "k1"),
    }) == 4
    assert len(request_id(scope, "k1")) <= 64
