"""RPC entrypoints: each operation of notifier's contracts (notifications, webhook subscriptions) to its
handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import notifier_delivery, notifier_notifications, notifier_webhooks
from afo_common.service import Service
from afo_notifier.domain.endpoints import EndpointNotAllowed
from afo_notifier.domain.webhooks import InvalidSubscription
from afo_notifier.handlers import subscriptions, views
from afo_notifier.handlers.subscriptions import Subscriptions
from afo_notifier.handlers.views import NotificationViews


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except (views.NotFound, subscriptions.NotFound) as exc:
            raise RpcError("not_found", str(exc)) from exc
        except EndpointNotAllowed as exc:
            raise RpcError("invalid", str(exc), [{"loc": ["body", "url"], "msg": str(exc),
                                                  "type": "url_not_allowed"}]) from exc
        except InvalidSubscription as exc:
            raise RpcError("invalid", str(exc), [{"loc": ["body", "events"], "msg": str(exc),
                                                  "type": "unknown_event_type"}]) from exc
        except subscriptions.Conflict as exc:
            raise RpcError("conflict", str(exc)) from exc

    return call


def notification_routes(views: NotificationViews) -> list[RpcRoute]:
    ops = notifier_notifications
    return [(ops.LIST_NOTIFICATIONS, views.list), (ops.GET_NOTIFICATION, views.get)]


def webhook_routes(subscriptions: Subscriptions) -> list[RpcRoute]:
    ops = notifier_webhooks
    return [
        (ops.CREATE_SUBSCRIPTION, subscriptions.create),
        (ops.LIST_SUBSCRIPTIONS, subscriptions.list),
        (ops.GET_SUBSCRIPTION, subscriptions.get),
        (ops.DELETE_SUBSCRIPTION, subscriptions.delete),
        (ops.LIST_DELIVERIES, subscriptions.deliveries),
        (ops.REPLAY_DELIVERY, subscriptions.replay),
        (ops.ENABLE_SUBSCRIPTION, subscriptions.enable),
    ]


def register_rpc(service: Service, notifications: list[RpcRoute], webhooks: list[RpcRoute],
                 delivery: list[RpcRoute]) -> None:
    service.serve_rpcs(notifier_notifications.OPERATIONS, notifications, _mapped)
    service.serve_rpcs(notifier_delivery.OPERATIONS, delivery, _mapped)
    service.serve_rpcs(notifier_webhooks.OPERATIONS, webhooks, _mapped)
