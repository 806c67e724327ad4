"""RPC entrypoints: each operation of notifier's contract to its handler, a missing row to ``not_found``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import notifier_notifications as ops
from afo_common.service import Service
from afo_notifier.handlers.views import NotFound, NotificationViews


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except NotFound as exc:
            raise RpcError("not_found", str(exc)) from exc

    return call


def routes(views: NotificationViews) -> list[RpcRoute]:
    return [(ops.LIST_NOTIFICATIONS, views.list), (ops.GET_NOTIFICATION, views.get)]


def register_rpc(service: Service, table: list[RpcRoute]) -> None:
    service.serve_rpcs(ops.OPERATIONS, table, _mapped)
