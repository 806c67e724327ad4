"""RPC contracts of notifier's integrator webhooks: subscriptions and their delivery log.

A subscription names an endpoint URL and the event types it wants (``lead.qualified``, ``meeting.booked``,
or ``*`` for every event integrators may subscribe to). Its signing secret (``whsec_…``, Standard Webhooks)
is answered once, by ``create``; notifier keeps it to sign, and no other answer, event or log carries it.
The endpoint is refused at once when it is an IP literal that is not public (loopback, private, link-local,
multicast, reserved) unless the platform allows private targets; names are checked on every delivery after
resolution. A delivery is one event to one subscription; each of its attempts is in the log with the HTTP
status, the response time and the error. ``replay`` sends a delivery again now (its subscription must be
active). ``enable`` makes a disabled subscription (after 410 Gone or repeated failures) active again with its
count of failures reset; an active one is answered as it is. Another tenant's subscription or delivery is
``not_found``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "notifier"

SubscriptionStatus = Literal["active", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class SubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, examples=["https://hooks.example.com/afo"])
    events: list[str] = Field(min_length=1, max_length=64, examples=[["lead.qualified", "meeting.booked"]],
                              description='event types such as "lead.qualified", or "*" for all')


class SubscriptionView(BaseModel):
    id: str
    url: str
    events: list[str]
    status: SubscriptionStatus
    disabled_reason: str | None = None
    created_at: datetime


class CreatedSubscription(SubscriptionView):
    secret: str | None = Field(description="the signing secret, answered only now (null in a replay of the "
                                           "create by its Idempotency-Key)")
    secret_withheld: bool = False


class CreateSubscription(TenantRequest):
    subscription: SubscriptionBody


class SubscriptionRef(TenantRequest):
    subscription_id: str = Field(max_length=64)


class ListSubscriptions(PageRequest):
    pass


class ListDeliveries(PageRequest):
    subscription_id: str = Field(max_length=64)


class DeliveryRef(SubscriptionRef):
    delivery_id: str = Field(max_length=64)


class AttemptView(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    response_ms: int | None
    error: str | None


class DeliveryView(BaseModel):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    log: list[AttemptView]
    created_at: datetime


class Deleted(BaseModel):
    id: str
    deleted: bool = True


def _op(name: str, request: type[BaseModel], response: type[BaseModel]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


CREATE_SUBSCRIPTION = _op("webhooks.create", CreateSubscription, CreatedSubscription)
LIST_SUBSCRIPTIONS = _op("webhooks.list", ListSubscriptions, Page[SubscriptionView])
GET_SUBSCRIPTION = _op("webhooks.get", SubscriptionRef, SubscriptionView)
DELETE_SUBSCRIPTION = _op("webhooks.delete", SubscriptionRef, Deleted)
LIST_DELIVERIES = _op("webhooks.deliveries", ListDeliveries, Page[DeliveryView])
REPLAY_DELIVERY = _op("webhooks.replay", DeliveryRef, DeliveryView)
ENABLE_SUBSCRIPTION = _op("webhooks.enable", SubscriptionRef, SubscriptionView)

OPERATIONS: list[RpcOperation[Any, Any]] = [
    CREATE_SUBSCRIPTION, LIST_SUBSCRIPTIONS, GET_SUBSCRIPTION, DELETE_SUBSCRIPTION, LIST_DELIVERIES,
    REPLAY_DELIVERY, ENABLE_SUBSCRIPTION,
]
