"""The platform's operators, asked of the gateway over its RPC (``afo_common.rpcs.gateway_operators``) as the NATS
admin user: only that credential may publish there, so only whoever runs the platform adds or removes one."""

from __future__ import annotations

from typing import TypeVar

import nats.errors
from nats.aio.client import Client
from pydantic import BaseModel, ValidationError

from afo_cli.errors import PlatformError
from afo_cli.nats_admin import connected
from afo_common.messaging.rpc import Reply, RpcOperation
from afo_common.nats_security.client import NatsAuth
from afo_common.rpcs.gateway_operators import (
    ADD_OPERATOR,
    LIST_OPERATORS,
    REMOVE_OPERATOR,
    AddOperator,
    ListOperators,
    OperatorAdded,
    OperatorView,
    RemoveOperator,
)

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)
TIMEOUT_S = 10.0  # the gateway hashes the new password (argon2id: tens of milliseconds, a queue at worst)


class OperatorRefused(Exception):
    """The gateway answered with an error: ``code`` is the RPC's (``conflict``, ``not_found``, ``invalid``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def _call(client: Client, op: RpcOperation[Req, Res], request: Req) -> Res:
    try:
        msg = await client.request(op.subject, request.model_dump_json().encode(), timeout=TIMEOUT_S)
    except nats.errors.NoRespondersError as exc:
        raise PlatformError("no gateway is answering on NATS: is the platform running?") from exc
    except nats.errors.TimeoutError as exc:
        raise PlatformError(f"the gateway did not answer {op.name} within {TIMEOUT_S:.0f} s") from exc
    try:
        reply = Reply.model_validate_json(msg.data)
        if reply.ok:
            return op.response.model_validate(reply.result or {})
    except ValidationError as exc:
        raise PlatformError(f"the gateway's answer to {op.name} is not what this CLI expects") from exc
    error = reply.error
    raise OperatorRefused(error.code if error else "internal", error.message if error else "no reason given")


async def add_operator(url: str, auth: NatsAuth | None, email: str) -> OperatorAdded:
    async with connected(url, auth) as client:
        return await _call(client, ADD_OPERATOR, AddOperator(email=email))


async def list_operators(url: str, auth: NatsAuth | None) -> list[OperatorView]:
    """Every operator, newest first (each page asked in turn)."""
    operators: list[OperatorView] = []
    cursor = None
    async with connected(url, auth) as client:
        while True:
            page = await _call(client, LIST_OPERATORS, ListOperators(cursor=cursor))
            operators += page.data
            if page.next_cursor is None:
                return operators
            cursor = page.next_cursor


async def remove_operator(url: str, auth: NatsAuth | None, email: str) -> OperatorView:
    async with connected(url, auth) as client:
        return await _call(client, REMOVE_OPERATOR, RemoveOperator(email=email))
