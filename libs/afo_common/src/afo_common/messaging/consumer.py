"""The consumer policy, written once: durable pull consumers with explicit ack; NAK with backoff on
transient errors; dead letter with the reason after ``max_deliver`` or at once for a schema-invalid
message or a permanent error; idempotency through the inbox (see ``Delivery.transaction``)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.events import Envelope, Event, SchemaError, parse_envelope
from afo_common.messaging.inbox import record_processed
from afo_common.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory
from afo_common.subjects import tenant_of
from afo_common.telemetry import EVENT_HANDLE_SECONDS, EVENTS_CONSUMED, span_from

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """The event can never be handled (say, it names an agent that does not exist): dead-letter it now."""


class DuplicateDelivery(Exception):
    """The inbox already holds this event: it was handled, so it is acknowledged and skipped."""


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    stream: str
    event: type[Event]
    max_deliver: int = 5
    ack_wait_s: float = 30.0
    backoff_s: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0)
    max_workers: int = 16

    def backoff(self, attempt: int) -> float:
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]


@dataclass
class Delivery:
    """One delivery of one event, handed to a handler with what it needs to stay idempotent."""

    envelope: Envelope
    payload: Event
    attempt: int
    consumer: str
    _uow: UnitOfWorkFactory = field(repr=False)

    def read_session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for what the handler reads before its transaction (slow work stays outside it)."""
        return self._uow.db.session()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """The handler's unit of work, with the inbox row written first in the same transaction."""
        async with self._uow() as uow:
            # On PostgreSQL a concurrent delivery of the same event waits here for the first to commit.
            if not await record_processed(uow, self.consumer, self.envelope.id):
                raise DuplicateDelivery(self.envelope.id)
            yield uow


Handler = Callable[[Delivery], Awaitable[None]]


class RawMessage:
    """What the policy needs of a JetStream message; FastStream's NatsMessage is adapted to it."""

    def __init__(self, msg: Any) -> None:
        self._msg = msg
        raw = msg.raw_message
        self.data: bytes = raw.data
        self.subject: str = raw.subject
        self.headers: dict[str, str] = dict(raw.headers or {})
        self.num_delivered: int = raw.metadata.num_delivered
        self.stream_seq: int = raw.metadata.sequence.stream

    async def ack(self) -> None:
        await self._msg.ack()

    async def nack(self, delay: float) -> None:
        await self._msg.nack(delay=delay)

    async def term(self) -> None:
        await self._msg.reject()


class ConsumerPolicy:
    def __init__(self, spec: ConsumerSpec, handler: Handler, service: str, uow: UnitOfWorkFactory,
                 dead_letter: Callable[..., Awaitable[None]]) -> None:
        self.spec = spec
        self.handler = handler
        self.service = service
        self.uow = uow
        self._dead_letter = dead_letter

    async def process(self, msg: RawMessage) -> str:
        """Handle one message and settle it; returns the outcome (ack, nak, dead_letter, duplicate)."""
        event_type = self.spec.event.type_name()
        started = time.perf_counter()
        try:
            envelope, payload = parse_envelope(msg.data)
            if not isinstance(payload, self.spec.event):
                raise SchemaError(f"{envelope.type} is not {event_type}")
            if tenant_of(msg.subject) != envelope.tenantid:
                raise SchemaError(f"tenantid {envelope.tenantid!r} does not match subject {msg.subject!r}")
        except SchemaError as exc:
            return await self._give_up(msg, f"schema_invalid: {exc}", "schema_invalid", event_type)

        delivery = Delivery(envelope, payload, msg.num_delivered, self.spec.durable, self.uow)
        outcome = "ack"
        with span_from(envelope.traceparent, f"consume {event_type}") as span:
            span.set_attribute("afo.tenant_id", envelope.tenantid)
            span.set_attribute("afo.event_id", envelope.id)
            try:
                await self.handler(delivery)
                await msg.ack()
            except DuplicateDelivery:
                outcome = "duplicate"
                await msg.ack()
            except PermanentError as exc:
                return await self._give_up(msg, f"permanent: {exc}", "permanent", event_type)
            except Exception as exc:
                if msg.num_delivered >= self.spec.max_deliver:
                    reason = f"failed {msg.num_delivered} times, last: {type(exc).__name__}: {exc}"
                    return await self._give_up(msg, reason, "max_deliver", event_type)
                log.warning("transient failure on %s (attempt %d), retrying: %r", envelope.id,
                            msg.num_delivered, exc)
                outcome = "nak"
                await msg.nack(self.spec.backoff(msg.num_delivered))
        EVENTS_CONSUMED.labels(self.service, event_type, outcome).inc()
        EVENT_HANDLE_SECONDS.labels(self.service, event_type).observe(time.perf_counter() - started)
        return outcome

    async def _give_up(self, msg: RawMessage, reason: str, label: str, event_type: str) -> str:
        await self._dead_letter(
            service=self.service,
            stream=self.spec.stream,
            consumer=self.spec.durable,
            subject=msg.subject,
            stream_seq=msg.stream_seq,
            num_delivered=msg.num_delivered,
            reason=reason,
            data=msg.data,
            headers=msg.headers,
            reason_label=label,
        )
        await msg.term()
        EVENTS_CONSUMED.labels(self.service, event_type, "dead_letter").inc()
        return "dead_letter"
