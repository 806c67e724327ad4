"""A service's RPCs answered in a test as their owner answers them: each operation's requests handed to a
function of the test's stand-in, the answer (or the typed error it raises) encoded as the real owner's is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation, serve_request

Handler = Callable[[Any], Awaitable[Any]]


async def answer_rpcs(connection: NatsConnection, handlers: Mapping[RpcOperation[Any, Any], Handler],
                      asked: list[tuple[str, BaseModel]] | None = None) -> dict[RpcOperation[Any, Any], Subscription]:
    """Subscribes ``handlers`` on ``connection``, noting each request as ``(operation name, request)`` in
    ``asked``; answers once the server knows every subscription. Each operation's subscription, to end one (an
    owner that goes away)."""
    subscriptions: dict[RpcOperation[Any, Any], Subscription] = {}
    for op, handler in handlers.items():
        async def respond(msg: Msg, op: RpcOperation[Any, Any] = op, handler: Handler = handler) -> None:
            if asked is not None:
                asked.append((op.name, op.request.model_validate_json(msg.data)))
            if (reply := await serve_request(op, handler, msg.data, msg.headers or {}, op.service)) is not None:
                await msg.respond(reply)

        subscriptions[op] = await connection.client.subscribe(op.subject, cb=respond)
    await connection.client.flush()
    return subscriptions
