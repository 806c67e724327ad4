"""Response bodies of the operators' API (``/v1/admin``), as OpenAPI documents them."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_gateway.adapters.accounts_repository import TenantSummary
from afo_gateway.domain.dead_letters import ActionTaken, DeadLetter
from afo_gateway.domain.live_feed import ServiceHealth
from afo_gateway.domain.platform_state import ConsumerLag, StreamState
from afo_gateway.handlers.dead_letters import Inspected, Listed
from afo_gateway.handlers.platform_admin import HealthReport


class AdminTenantOut(BaseModel):
    id: str
    name: str
    timezone: str
    created_at: datetime
    users: int


class ServiceHealthOut(BaseModel):
    service: str
    ready: bool
    version: str | None = None
    error: str | None = Field(default=None, description="why it did not answer its health RPC")


class StreamOut(BaseModel):
    name: str
    messages: int
    bytes: int
    last_seq: int
    consumers: int
    last_minute: int = Field(description="messages the stream took in the last minute")
    last_hour: int = Field(description="messages the stream took in the last hour")


class HealthOut(BaseModel):
    at: datetime
    ready: bool = Field(description="every service answered ready")
    services: list[ServiceHealthOut]
    streams: list[StreamOut]


class ConsumerLagOut(BaseModel):
    stream: str
    name: str
    pending: int = Field(description="messages of the stream not delivered to it yet")
    ack_pending: int = Field(description="delivered, not acknowledged yet")
    redelivered: int = Field(description="delivered more than once and not acknowledged yet")
    max_deliver: int
    delivered_seq: int
    last_active: datetime | None


class DeadLetterActionOut(BaseModel):
    id: str
    action: Literal["replayed", "discarded"]
    actor: str = Field(description="the operator's user id")
    at: datetime


class DeadLetterSummary(BaseModel):
    id: str = Field(description="dlq_<its sequence in the DEADLETTER stream>")
    service: str
    stream: str
    consumer: str
    subject: str
    tenant_id: str | None
    event_id: str | None
    event_type: str | None
    reason: str
    num_delivered: int
    failed_at: datetime
    status: Literal["dead", "replayed", "discarded"]


class DeadLetterOut(DeadLetterSummary):
    stream_seq: int | None = Field(description="the event's sequence in its own stream")
    payload: str | None = Field(description="the message as it was (UTF-8 text); null once replayed or discarded")
    payload_base64: str | None = Field(default=None, description="the message, when it is not UTF-8 text")
    headers: dict[str, str]
    action: DeadLetterActionOut | None


def tenant_out(row: TenantSummary) -> AdminTenantOut:
    t = row.tenant
    return AdminTenantOut(id=t.id, name=t.name, timezone=t.timezone, created_at=t.created_at, users=row.users)


def health_out(report: HealthReport) -> HealthOut:
    return HealthOut(at=report.at, ready=report.ready, services=[service_out(s) for s in report.services],
                     streams=[stream_out(s) for s in report.streams])


def service_out(health: ServiceHealth) -> ServiceHealthOut:
    return ServiceHealthOut(service=health.service, ready=health.ready, version=health.version, error=health.error)


def stream_out(state: StreamState) -> StreamOut:
    return StreamOut(name=state.name, messages=state.messages, bytes=state.bytes, last_seq=state.last_seq,
                     consumers=state.consumers, last_minute=state.last_minute, last_hour=state.last_hour)


def lag_out(lag: ConsumerLag) -> ConsumerLagOut:
    return ConsumerLagOut(stream=lag.stream, name=lag.name, pending=lag.pending, ack_pending=lag.ack_pending,
                          redelivered=lag.redelivered, max_deliver=lag.max_deliver, delivered_seq=lag.delivered_seq,
                          last_active=lag.last_active)


def action_out(action: ActionTaken) -> DeadLetterActionOut:
    return DeadLetterActionOut(id=action.id, action=action.action, actor=action.actor, at=action.at)


def _letter_fields(letter: DeadLetter) -> dict[str, Any]:
    event_id, event_type = letter.event
    return {"id": letter.id, "service": letter.service, "stream": letter.stream, "consumer": letter.consumer,
            "subject": letter.subject, "tenant_id": letter.tenant_id, "event_id": event_id, "event_type": event_type,
            "reason": letter.reason, "num_delivered": letter.num_delivered, "failed_at": letter.failed_at}


def summary_out(listed: Listed) -> DeadLetterSummary:
    return DeadLetterSummary(**_letter_fields(listed.letter),
                             status=listed.action.action if listed.action else "dead")


def dead_letter_out(found: Inspected) -> DeadLetterOut:
    action = action_out(found.action) if found.action else None
    if found.letter is None:
        assert found.action is not None
        done = found.action
        return DeadLetterOut(id=done.id, service=done.service, stream=done.stream, consumer=done.consumer,
                             subject=done.subject, tenant_id=done.tenant_id, event_id=done.event_id,
                             event_type=done.event_type, reason=done.reason, num_delivered=done.num_delivered,
                             failed_at=done.failed_at, status=done.action,
                             stream_seq=None, payload=None, headers={}, action=action)
    letter = found.letter
    text = letter.text
    return DeadLetterOut(**_letter_fields(letter), status=found.action.action if found.action else "dead",
                         stream_seq=letter.stream_seq, payload=text,
                         payload_base64=None if text is not None else base64.b64encode(letter.payload).decode(),
                         headers=letter.headers, action=action)
