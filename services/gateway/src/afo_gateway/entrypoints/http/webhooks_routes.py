"""Webhook subscriptions for integrators (owned by notifier): create (the signing secret answered once),
list, read, delete, enable again after it was disabled; each subscription's delivery log, and replaying one
delivery. Deliveries are signed per Standard Webhooks (``webhook-id`` is the event id, ``webhook-timestamp``,
``webhook-signature``) and their body is the event's CloudEvents envelope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from afo_common.rpcs.notifier_webhooks import (
    CreatedSubscription,
    Deleted,
    DeliveryView,
    SubscriptionBody,
    SubscriptionView,
)
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import ManageIntegrations, Reply

router = APIRouter(prefix="/v1/webhook-subscriptions", tags=["webhooks"])

SubscriptionId = Annotated[str, Path(max_length=64)]
DeliveryId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=201, response_model=CreatedSubscription)
async def create_subscription(body: SubscriptionBody, write: ManageIntegrations, gw: GatewayDep) -> Response:
    """``events``: names such as ``lead.qualified`` or ``meeting.booked``, or ``*``. The URL must be http(s)
    and public (a private, loopback or link-local address is refused, here and again at every delivery).
    Keep ``secret``: it is answered only now."""

    async def produce() -> Reply:
        shown = await gw.webhooks.create(write.principal, body)
        return Reply(201, shown, kept=shown.model_copy(update={"secret": None, "secret_withheld": True}))

    return await write.run(produce)


@router.get("", response_model=Page[SubscriptionView])
async def list_subscriptions(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                             cursor: Cursor = None) -> Page[SubscriptionView]:
    return await gw.webhooks.list(principal, limit, cursor)


@router.get("/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(subscription_id: SubscriptionId, principal: CurrentPrincipal,
                           gw: GatewayDep) -> SubscriptionView:
    return await gw.webhooks.get(principal, subscription_id)


@router.delete("/{subscription_id}", response_model=Deleted)
async def delete_subscription(subscription_id: SubscriptionId, principal: CurrentPrincipal,
                              gw: GatewayDep) -> Deleted:
    """The subscription, its deliveries and their log."""
    return await gw.webhooks.delete(principal, subscription_id)


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryView])
async def list_deliveries(subscription_id: SubscriptionId, principal: CurrentPrincipal, gw: GatewayDep,
                          limit: Limit = 20, cursor: Cursor = None) -> Page[DeliveryView]:
    """Newest first: each event sent to the subscription with every attempt (HTTP status, response time,
    error) and, while it is retried, when the next attempt is due."""
    return await gw.webhooks.deliveries(principal, subscription_id, limit, cursor)


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay", response_model=DeliveryView)
async def replay_delivery(subscription_id: SubscriptionId, delivery_id: DeliveryId, write: ManageIntegrations,
                          gw: GatewayDep) -> Response:
    """Sends the delivery again now (409 when the subscription is disabled)."""

    async def produce() -> Reply:
        return Reply(200, await gw.webhooks.replay(write.principal, subscription_id, delivery_id))

    return await write.run(produce)


@router.post("/{subscription_id}/enable", response_model=SubscriptionView)
async def enable_subscription(subscription_id: SubscriptionId, write: ManageIntegrations,
                              gw: GatewayDep) -> Response:
    """Makes a subscription disabled after 410 Gone or repeated failures active again, its count of
    failures reset; its deliveries still pending are retried on their schedule (replay the failed ones).
    An active subscription is answered as it is."""

    async def produce() -> Reply:
        return Reply(200, await gw.webhooks.enable(write.principal, subscription_id))

    return await write.run(produce)
