"""RPC entrypoints: each operation of the contract to its handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import workflow_executor as ops
from afo_common.service import Service
from afo_workflow_executor.domain.providers import ProviderError
from afo_workflow_executor.handlers.calendars import Calendars
from afo_workflow_executor.handlers.errors import Invalid, NotFound
from afo_workflow_executor.handlers.meetings import Meetings

Route = tuple[RpcOperation[Any, Any], Callable[[Any], Awaitable[Any]]]


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


def routes(calendars: Calendars, meetings: Meetings) -> list[Route]:
    """Every operation with its handler; raises at start-up when the contract has one this service lacks."""
    table: list[Route] = [
        (ops.GET_CALENDAR, calendars.get),
        (ops.PUT_CALENDAR, calendars.put),
        (ops.LIST_MEETINGS, meetings.list),
        (ops.GET_MEETING, meetings.get),
        (ops.CANCEL_MEETING, meetings.cancel),
        (ops.MEETING_INVITE, meetings.invite),
    ]
    missing = {op.name for op in ops.OPERATIONS} - {op.name for op, _ in table}
    if missing:
        raise RuntimeError(f"workflow-executor serves no handler for {sorted(missing)}")
    return table


def register_rpc(service: Service, table: list[Route]) -> None:
    for op, handler in table:
        service.serve_rpc(op, _mapped(handler))
