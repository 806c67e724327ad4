"""RPC entrypoints: each operation of the contract to its handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_agent_runtime.domain.errors import Conflict, Invalid, NotFound, TestsBlockPublish
from afo_agent_runtime.handlers.agent_tests import AgentTestHandlers
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.analytics import AnalyticsHandlers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.endings import ConversationEndings
from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import agent_runtime as ops
from afo_common.rpcs import agent_runtime_channels as channel_ops
from afo_common.rpcs import agent_tests as test_ops
from afo_common.rpcs import analytics as analytics_ops
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
        except TestsBlockPublish as exc:
            raise RpcError("conflict", str(exc), blocking_details(exc)) from exc

    return call


def blocking_details(exc: TestsBlockPublish) -> list[dict[str, Any]]:
    """The tests that block publishing, one detail each: ``loc`` ["tests", id], ``msg`` its name, ``type``
    ``test_failed`` or ``test_not_run``."""
    return [{"loc": ["tests", b.test_id], "msg": b.name, "type": f"test_{b.reason}"} for b in exc.blocking]


def register_rpc(service: Service, agents: AgentHandlers, conversations: ConversationHandlers,
                 endings: ConversationEndings, channels: ChannelHandlers, analytics: AnalyticsHandlers,
                 tests: AgentTestHandlers) -> None:
    routes: list[RpcRoute] = [
        (ops.CREATE_AGENT, agents.create),
        (ops.GET_AGENT, agents.get),
        (ops.LIST_AGENTS, agents.list),
        (ops.COUNT_AGENTS, agents.count),
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
    service.serve_rpcs(analytics_ops.AGENT_RUNTIME_OPERATIONS, [
        (analytics_ops.CONVERSATION_SUMMARY, analytics.summary),
    ], _mapped)
    service.serve_rpcs(test_ops.OPERATIONS, [
        (test_ops.CREATE_TEST, tests.create),
        (test_ops.LIST_TESTS, tests.list),
        (test_ops.DELETE_TEST, tests.delete),
        (test_ops.RUN_TESTS, tests.run),
        (test_ops.LIST_RUNS, tests.runs),
        (test_ops.GET_RUN, tests.get_run),
    ], _mapped)
