"""RPC entrypoints: each operation of the contract to its handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.provider_errors import ProviderError
from afo_common.rpcs import workflow_executor as ops
from afo_common.service import Service
from afo_workflow_executor.handlers.calendars import Calendars
from afo_workflow_executor.handlers.errors import Invalid, NotFound
from afo_workflow_executor.handlers.meetings import Meetings


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except NotFound as exc:
            raise RpcError("not_found", str(exc)) from exc
        except Invalid as exc:
            raise RpcError("invalid", str(exc), [{"loc": ["settings"], "msg": str(exc), "type": "invalid_settings"}]
                           ) from exc
        except ProviderError as exc:
            raise RpcError("unavailable", f"the outside calendar did not answer: {exc.provider}") from exc

    return call


def routes(calendars: Calendars, meetings: Meetings) -> list[RpcRoute]:
    """Every operation with its handler (the service refuses to start when the contract has one without)."""
    table: list[RpcRoute] = [
        (ops.GET_CALENDAR, calendars.get),
        (ops.PUT_CALENDAR, calendars.put),
        (ops.LIST_MEETINGS, meetings.list),
        (ops.GET_MEETING, meetings.get),
        (ops.CANCEL_MEETING, meetings.cancel),
        (ops.MEETING_INVITE, meetings.invite),
    ]
    return table


def register_rpc(service: Service, table: list[RpcRoute]) -> None:
    service.serve_rpcs(ops.OPERATIONS, table, _mapped)
