"""RPC entrypoints: each operation of the contract to its handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_agent_runtime.domain.errors import Conflict, Invalid, NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.endings import ConversationEndings
from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import agent_runtime as ops
from afo_common.rpcs import agent_runtime_channels as channel_ops
from afo_common.service import Service


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except NotFound as exc:
            raise RpcError("not_found", str(exc)) from exc
        except Invalid as exc:
            raise RpcError("invalid", str(exc), exc.details) from exc
        except Conflict as exc:
            raise RpcError("conflict", str(exc)) from exc

    return call


def register_rpc(service: Service, agents: AgentHandlers, conversations: ConversationHandlers,
                 endings: ConversationEndings, channels: ChannelHandlers) -> None:
    routes: list[RpcRoute] = [
        (ops.CREATE_AGENT, agents.create),
        (ops.GET_AGENT, agents.get),
        (ops.LIST_AGENTS, agents.list),
        (ops.UPDATE_AGENT, agents.update),
        (ops.DELETE_AGENT, agents.delete),
        (ops.PUBLISH_AGENT, agents.publish),
        (ops.LIST_VERSIONS, agents.versions),
        (ops.CREATE_CONVERSATION, conversations.create),
        (ops.GET_CONVERSATION, conversations.get),
        (ops.CHECK_CONVERSATION, conversations.check),
        (ops.LIST_CONVERSATIONS, conversations.list),
        (ops.CLOSE_CONVERSATION, endings.close),
        (ops.GET_LEAD, conversations.lead),
        (ops.LIST_LEADS, conversations.leads),
    ]
    service.serve_rpcs(ops.OPERATIONS, routes, _mapped)
    service.serve_rpcs(channel_ops.OPERATIONS, [
        (channel_ops.PUT_PHONE_NUMBERS, channels.put_numbers),
        (channel_ops.GET_PHONE_NUMBERS, channels.get_numbers),
        (channel_ops.RESOLVE_NUMBER, channels.resolve),
        (channel_ops.SMS_CONVERSATION, channels.for_sms),
        (channel_ops.INBOUND_LEAD, channels.inbound),
        (channel_ops.CALL_CONVERSATION, channels.for_call),
    ], _mapped)
