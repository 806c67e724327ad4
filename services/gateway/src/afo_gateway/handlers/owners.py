"""Calls to the services that own agents, conversations and leads, with their typed errors turned
into the gateway's problems (an owner's refusal for the tenant's plan, ``afo_common.rpcs.plan_limits``, into a
429 naming the limit). Conversation ownership is cached: it never changes once created."""

from __future__ import annotations

from typing import Any, TypeVar

from cachetools import LRUCache
from pydantic import BaseModel

from afo_common.messaging.rpc import RpcClient, RpcError, RpcOperation
from afo_common.rpcs.agent_runtime import CHECK_CONVERSATION, ConversationRef, ConversationView
from afo_common.rpcs.plan_limits import reached_in
from afo_gateway.domain.access import Principal
from afo_gateway.domain.errors import (
    ApiProblem,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    Unavailable,
    UpstreamFailure,
    UpstreamTimeout,
)

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)
CONVERSATION_CACHE_SIZE = 20_000

_PROBLEMS: dict[str, type[ApiProblem]] = {
    "not_found": NotFound,
    "invalid": Invalid,
    "conflict": Conflict,
    "forbidden": Forbidden,
    "unavailable": Unavailable,
    "timeout": UpstreamTimeout,
    "internal": UpstreamFailure,
}


def _errors(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"loc": ["body", *d.get("loc", [])], "msg": d.get("msg", ""), "type": d.get("type", "")}
            for d in details]


def _problem(exc: RpcError) -> ApiProblem:
    if (reached := reached_in(exc)) is not None:
        return QuotaExceeded(limit=reached.limit, allowed=reached.allowed, used=reached.used, plan=reached.plan,
                             retry_after_s=reached.retry_after_s, resets_at=reached.resets_at)
    return _PROBLEMS.get(exc.code, UpstreamFailure)(exc.message, _errors(exc.details))


class Owners:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._conversations: LRUCache[tuple[str, str], ConversationView] = LRUCache(CONVERSATION_CACHE_SIZE)

    async def call(self, op: RpcOperation[Req, Res], request: Req, timeout_s: float | None = None) -> Res:
        """``timeout_s``: longer than the RPC client's default, for an operation that takes long on purpose."""
        try:
            return await self._rpc.call(op, request, timeout_s)
        except RpcError as exc:
            raise _problem(exc) from exc

    async def create(self, op: RpcOperation[Req, Res], request: Req) -> Res:
        """A create that carries a request id: a timeout may hide a create that did happen, and asking
        again with the same id answers with it instead of making a second one — so it is asked once more."""
        try:
            return await self._rpc.call(op, request)
        except RpcError as exc:
            if exc.code != "timeout":
                raise _problem(exc) from exc
        return await self.call(op, request)

    async def conversation(self, principal: Principal, conversation_id: str) -> ConversationView:
        """The conversation if this principal may use it; 404 otherwise (never reveal other tenants')."""
        key = (principal.tenant_id, conversation_id)
        view = self._conversations.get(key)
        if view is None:
            view = await self.call(CHECK_CONVERSATION, ConversationRef(tenant_id=principal.tenant_id,
                                                                        conversation_id=conversation_id))
            self._conversations[key] = view
        if principal.is_publishable and (view.agent_id != principal.agent_id or view.channel != "web"):
            raise NotFound(f"conversation {conversation_id} not found")
        return view
