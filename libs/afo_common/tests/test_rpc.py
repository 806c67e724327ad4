"""Request/reply on a real nats-server: the owner's side is ``serve_request`` behind a plain subscription."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from pydantic import BaseModel, Field

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import (
    CLOCK_SKEW_S,
    DEADLINE_HEADER,
    Reply,
    RpcClient,
    RpcError,
    RpcOperation,
    TenantRequest,
    serve_request,
)
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
                if (reply := await serve_request(GREET, handler, msg.data, dict(msg.headers or {}), "test-svc")):
                    await msg.respond(reply)

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


class Counting:
    """GREET's owner, counting the requests it started and finished; each takes ``takes_s``."""

    def __init__(self, takes_s: float = 0.0) -> None:
        self.takes_s = takes_s
        self.started = 0
        self.finished = 0

    async def __call__(self, request: Greet) -> Greeting:
        self.started += 1
        await asyncio.sleep(self.takes_s)
        self.finished += 1
        return await greet(request)


async def asked_with_deadline(connection: NatsConnection, deadline: str, within_s: float) -> list[Msg]:
    """GREET asked by hand with ``deadline`` in its header, on a reply subject of our own: the answers that came
    back within ``within_s``."""
    answers: list[Msg] = []

    async def on_answer(msg: Msg) -> None:
        answers.append(msg)

    inbox = connection.client.new_inbox()
    await connection.client.subscribe(inbox, cb=on_answer)
    await connection.client.publish(GREET.subject, Greet(tenant_id="ten_a", name="Ada").model_dump_json().encode(),
                                    reply=inbox, headers={DEADLINE_HEADER: deadline})
    await asyncio.sleep(within_s)
    return answers


def expired() -> float:
    labels = {"service": "test-svc", "operation": GREET.name, "outcome": "expired"}
    return REGISTRY.get_sample_value("afo_rpc_requests_total", labels) or 0.0


async def test_the_caller_says_until_when_it_waits(connection: NatsConnection, client: RpcClient) -> None:
    headers: list[dict[str, str]] = []

    async def on_request(msg: Msg) -> None:
        headers.append(dict(msg.headers or {}))
        await msg.respond(Reply(ok=True, result={"text": "hi", "tenant_id": "ten_a"}).model_dump_json().encode())

    await connection.client.subscribe(GREET.subject, cb=on_request)
    await connection.client.flush()
    before = time.time()
    await client.call(GREET, Greet(tenant_id="ten_a", name="Ada"), timeout_s=2.5)

    [sent] = headers
    assert before + 2.5 - 0.001 <= float(sent[DEADLINE_HEADER]) <= time.time() + 2.5  # to the millisecond


async def test_a_request_whose_caller_has_given_up_is_not_handled_nor_answered(
        serve: Serve, connection: NatsConnection) -> None:
    owner = Counting()
    await serve(owner)
    dropped = expired()

    answers = await asked_with_deadline(connection, f"{time.time() - CLOCK_SKEW_S - 1:.3f}", within_s=0.3)

    assert answers == [] and owner.started == 0
    assert expired() == dropped + 1


async def test_an_answer_ready_after_the_caller_gave_up_is_not_sent(serve: Serve, connection: NatsConnection) -> None:
    owner = Counting(takes_s=CLOCK_SKEW_S + 0.4)
    await serve(owner)
    dropped = expired()

    answers = await asked_with_deadline(connection, f"{time.time() + 0.1:.3f}", within_s=CLOCK_SKEW_S + 0.8)

    assert owner.finished == 1 and answers == []  # the work was done; nobody was told
    assert expired() == dropped + 1


async def test_a_request_a_little_past_its_deadline_is_still_answered(serve: Serve,
                                                                      connection: NatsConnection) -> None:
    """Within ``CLOCK_SKEW_S`` of its deadline: the owner's clock may be a little ahead of the caller's."""
    await serve(Counting())

    answers = await asked_with_deadline(connection, f"{time.time() - CLOCK_SKEW_S / 2:.3f}", within_s=0.3)

    assert [Reply.model_validate_json(a.data).ok for a in answers] == [True]


@pytest.mark.parametrize("deadline", ["soon", "", "nan"])
async def test_a_deadline_that_cannot_be_read_is_no_deadline(serve: Serve, connection: NatsConnection,
                                                             deadline: str) -> None:
    await serve(Counting())

    answers = await asked_with_deadline(connection, deadline, within_s=0.3)

    assert [Reply.model_validate_json(a.data).ok for a in answers] == [True]
