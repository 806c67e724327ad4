"""RPC contract of notifier for a provider's delivery reports: Twilio's status callback for a message notifier
sent (``MessageSid``, ``MessageStatus``, ``ErrorCode``), validated and forwarded by the gateway, recorded on
the notification whose ``provider_id`` is that SID. ``recorded`` is False when no notification of the tenant
has that SID (a message sent by something else with the same account)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from afo_common.messaging.rpc import RpcOperation, TenantRequest

SERVICE = "notifier"


class DeliveryStatus(TenantRequest):
    provider_id: str = Field(min_length=1, max_length=120)
    # Twilio's words as sent: queued, sending, sent, delivered, undelivered, failed, read…
    status: str = Field(min_length=1, max_length=32)
    error_code: str | None = Field(default=None, max_length=16)


class DeliveryRecorded(BaseModel):
    recorded: bool
    notification_id: str | None = None


RECORD_DELIVERY_STATUS: RpcOperation[DeliveryStatus, DeliveryRecorded] = RpcOperation(
    SERVICE, "notifications.delivery_status", DeliveryStatus, DeliveryRecorded)

OPERATIONS: list[RpcOperation[Any, Any]] = [RECORD_DELIVERY_STATUS]
