"""Request/reply on a real nats-server: the owner's side is ``serve_request`` behind a plain subscription."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.msg import Msg
from pydantic import BaseModel, Field

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import Reply, RpcClient, RpcError, RpcOperation, TenantRequest, serve_request
from afo_testkit.nats import NatsServer


class Greet(TenantRequest):
    name: str = Field(min_length=1, max_length=20)
    times: int = 1


class Greeting(BaseModel):
    text: str
    tenant_id: str


GREET: RpcOperation[Greet, Greeting] = RpcOperation("test-svc", "greetings.create", Greet, Greeting)


async def greet(request: Greet) -> Greeting:
    if request.name == "nobody":
        raise RpcError("not_found", "no such person", [{"name": request.name}])
    if request.name == "slow":
        await asyncio.sleep(2)
    if request.name == "crash":
        raise KeyError("secret internal detail")
    return Greeting(text=" ".join([f"hello {request.name}"] * request.times), tenant_id=request.tenant_id)


Serve = Callable[[Callable[[Greet], Awaitable[Greeting]]], Awaitable[None]]


@pytest.fixture
async def serve(connection: NatsConnection) -> AsyncIterator[Serve]:
    """Subscribe an owner of GREET on the connection, as ``Service.serve_rpc`` does through FastStream."""
    tasks: set[asyncio.Task[None]] = set()

    async def subscribe(handler: Callable[[Greet], Awaitable[Greeting]]) -> None:
        async def on_request(msg: Msg) -> None:
            async def answer() -> None:
                await msg.respond(await serve_request(GREET, handler, msg.data, dict(msg.headers or {}), "test-svc"))

            task = asyncio.create_task(answer())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        await connection.client.subscribe(GREET.subject, queue="test-svc", cb=on_request)
        await connection.client.flush()

    yield subscribe
    for task in tasks:
        task.cancel()


@pytest.fixture
def client(connection: NatsConnection) -> RpcClient:
    return RpcClient(connection, timeout_s=1.0)


async def test_a_request_gets_a_typed_reply(serve: Serve, client: RpcClient) -> None:
    await serve(greet)

    reply = await client.call(GREET, Greet(tenant_id="ten_a", name="Ada", times=2))

    assert reply == Greeting(text="hello Ada hello Ada", tenant_id="ten_a")
    assert GREET.subject == "afo.rpc.test-svc.greetings.create"


async def test_a_request_that_breaks_the_schema_is_invalid_with_details(serve: Serve,
                                                                        connection: NatsConnection) -> None:
    await serve(greet)

    bad = await connection.client.request(GREET.subject, b'{"tenant_id": "ten_a", "name": "", "extra": 1}', 1.0)
    not_json = await connection.client.request(GREET.subject, b"{", 1.0)

    for raw in (bad, not_json):
        reply = Reply.model_validate_json(raw.data)
        assert not reply.ok and reply.result is None and reply.error is not None
        assert reply.error.code == "invalid"
    error = Reply.model_validate_json(bad.data).error
    assert error is not None
    assert {(tuple(d["loc"]), d["type"]) for d in error.details} == {
        (("name",), "string_too_short"), (("extra",), "extra_forbidden")
    }


async def test_the_caller_sees_invalid_as_an_rpc_error(serve: Serve, client: RpcClient) -> None:
    await serve(greet)

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet.model_construct(tenant_id="ten_a", name="x" * 50, times=1))

    assert raised.value.code == "invalid"
    assert raised.value.message == "request does not match the schema"
    assert [(d["loc"], d["type"]) for d in raised.value.details] == [(["name"], "string_too_long")]


async def test_an_owners_typed_error_reaches_the_caller(serve: Serve, client: RpcClient) -> None:
    await serve(greet)

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet(tenant_id="ten_a", name="nobody"))

    assert (raised.value.code, raised.value.message) == ("not_found", "no such person")
    assert raised.value.details == [{"name": "nobody"}]


async def test_an_unexpected_failure_is_internal_and_hides_the_detail(serve: Serve, client: RpcClient) -> None:
    await serve(greet)

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet(tenant_id="ten_a", name="crash"))

    assert raised.value.code == "internal"
    assert "secret" not in str(raised.value)


async def test_nobody_serving_is_unavailable_at_once(client: RpcClient) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet(tenant_id="ten_a", name="Ada"), timeout_s=5.0)

    assert raised.value.code == "unavailable"
    assert loop.time() - started < 2.0  # no responders is known at once, not after the timeout


async def test_an_owner_that_subscribes_a_moment_after_the_request_is_still_asked(
        serve: Serve, client: RpcClient) -> None:
    """nats-server reports no responders for a few milliseconds after it acknowledged a new subscription; the
    client asks again for a moment before calling the owner unavailable."""
    calling = asyncio.create_task(client.call(GREET, Greet(tenant_id="ten_a", name="Ada")))
    await asyncio.sleep(0.012)  # the first ask (and the second) met no responders
    await serve(greet)
    assert (await calling).text == "hello Ada"


async def test_a_slow_owner_is_a_timeout(serve: Serve, client: RpcClient) -> None:
    await serve(greet)

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet(tenant_id="ten_a", name="slow"), timeout_s=0.3)

    assert raised.value.code == "timeout"
    assert "test-svc did not answer greetings.create in time" in raised.value.message


@pytest.mark.parametrize("answer", [b"not json", b'{"ok": true, "result": {"tex": "no text"}}', b'{"ok": 3}'],
                         ids=["not json", "result off the schema", "not a reply"])
async def test_a_malformed_reply_is_unavailable_not_a_crash(connection: NatsConnection, client: RpcClient,
                                                            answer: bytes) -> None:
    async def on_request(msg: Msg) -> None:
        await msg.respond(answer)

    await connection.client.subscribe(GREET.subject, cb=on_request)
    await connection.client.flush()

    with pytest.raises(RpcError) as raised:
        await client.call(GREET, Greet(tenant_id="ten_a", name="Ada"))

    assert raised.value.code == "unavailable"
    assert "malformed reply" in raised.value.message


async def test_a_closed_connection_is_unavailable(nats: NatsServer) -> None:
    connection = NatsConnection(nats.url, "rpc-closed")
    await connection.connect()
    await connection.close()

    with pytest.raises(RpcError) as raised:
        await RpcClient(connection, timeout_s=1.0).call(GREET, Greet(tenant_id="ten_a", name="Ada"))

    assert raised.value.code == "unavailable"


async def test_a_connection_closed_under_the_client_is_unavailable(nats: NatsServer) -> None:
    connection = NatsConnection(nats.url, "rpc-closed-under")
    await connection.connect()
    await connection.client.close()  # closed by nats-py itself (say, after giving up reconnecting)

    try:
        with pytest.raises(RpcError) as raised:
            await RpcClient(connection, timeout_s=1.0).call(GREET, Greet(tenant_id="ten_a", name="Ada"))
    finally:
        await connection.close()

    assert raised.value.code == "unavailable"
