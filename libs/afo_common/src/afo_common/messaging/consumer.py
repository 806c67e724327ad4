"""The consumer policy, written once: durable consumers with explicit ack; NAK with backoff on transient
errors; dead letter with the reason after ``max_deliver`` or at once for a schema-invalid message or a
permanent error; idempotency through the inbox (see ``Delivery.transaction``); and a heartbeat that
tells JetStream a delivery is still being worked on, so ``ack_wait`` can be short (a crashed process's
messages come back within seconds) without redelivering a slow turn that is still running.

A dead letter's reason names what failed and where, never the message's content: exception messages
and validation inputs can carry a lead's words, and the reason travels into logs and alerts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.events import Envelope, Event, SchemaError, parse_envelope
from afo_common.hot_sql import HotTransaction
from afo_common.logs import tenant_scope
from afo_common.messaging.inbox import record_processed
from afo_common.messaging.unit_of_work import HotUnitOfWork, UnitOfWork, UnitOfWorkFactory
from afo_common.subjects import EVENT_PREFIX, events_of_kind, tenant_of
from afo_common.telemetry import EVENT_HANDLE_SECONDS, EVENTS_CONSUMED, span_from

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """The event can never be handled (say, it names an agent that does not exist): dead-letter it now."""


class DuplicateDelivery(Exception):
    """The inbox already holds this event: it was handled, so it is acknowledged and skipped."""


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable consumer. ``event`` is the one event type it takes; None takes every registered event
    its stream captures (``ConsumerSpec.whole_stream``), for a consumer that relays events it does not
    interpret, such as notifier's webhooks."""

    durable: str
    stream: str
    event: type[Event] | None
    max_deliver: int = 5
    # Short, because a heartbeat keeps a running delivery alive: this is how long a crashed process's
    # messages wait before another replica (or the restarted process) gets them.
    ack_wait_s: float = 5.0
    backoff_s: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0)
    max_workers: int = 16
    # The heartbeat stops after this long: a handler stuck past it is taken for hung, its delivery
    # expires, is redelivered, and after max_deliver ends as a dead letter.
    max_handle_s: float = 120.0

    @classmethod
    def whole_stream(cls, durable: str, stream: str, **options: Any) -> ConsumerSpec:
        return cls(durable, stream, None, **options)

    @property
    def filter_subject(self) -> str:
        """Every tenant's events of the one type, or every tenant's events the stream captures."""
        if self.event is None:
            return f"{EVENT_PREFIX}.*.>"
        return events_of_kind(self.event.event_name)

    @property
    def label(self) -> str:
        """The event type in metrics and spans: the type's name, or ``<STREAM>.*``."""
        return self.event.type_name() if self.event is not None else f"{self.stream}.*"

    def accepts(self, payload: Event) -> bool:
        if self.event is None:
            return payload.event_stream == self.stream
        return isinstance(payload, self.event)

    def backoff(self, attempt: int) -> float:
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]

    @property
    def heartbeat_s(self) -> float:
        return self.ack_wait_s / 3


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

    def hot_read(self) -> AbstractAsyncContextManager[HotTransaction]:
        """The same on the driver itself (``afo_common.hot_sql``)."""
        return self._uow.db.hot.read()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """The handler's unit of work, with the inbox row written first in the same transaction."""
        async with self._uow() as uow:
            # On PostgreSQL a concurrent delivery of the same event waits here for the first to commit.
            if not await record_processed(uow, self.consumer, self.envelope.id):
                raise DuplicateDelivery(self.envelope.id)
            yield uow

    @asynccontextmanager
    async def hot_transaction(self) -> AsyncIterator[HotUnitOfWork]:
        """The same, on the driver itself (``afo_common.hot_sql``), for handlers on every message's path."""
        async with self._uow.hot() as uow:
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

    async def in_progress(self) -> None:
        await self._msg.raw_message.in_progress()


class Heartbeat:
    """Sends JetStream's in-progress signal (``+WPI``, which restarts the delivery's ``ack_wait``) for
    every delivery held longer than one interval, from one task per consumer rather than one per message."""

    def __init__(self, interval_s: float, give_up_after_s: float) -> None:
        self._interval_s = interval_s
        self._give_up_after_s = give_up_after_s
        self._held: dict[int, tuple[float, RawMessage]] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def holding(self, msg: RawMessage) -> Iterator[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._beat(), name="consumer-heartbeat")
        self._held[id(msg)] = (time.monotonic(), msg)
        try:
            yield
        finally:
            self._held.pop(id(msg), None)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            now = time.monotonic()
            due, hung = now - self._interval_s, now - self._give_up_after_s
            for msg in [held for since, held in self._held.values() if hung < since <= due]:
                try:
                    await msg.in_progress()
                except Exception:
                    # Connection trouble: the delivery may be redelivered, which the inbox makes harmless.
                    log.debug("could not send in-progress for %s", msg.subject, exc_info=True)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class ConsumerPolicy:
    def __init__(self, spec: ConsumerSpec, handler: Handler, service: str, uow: UnitOfWorkFactory,
                 dead_letter: Callable[..., Awaitable[None]]) -> None:
        self.spec = spec
        self.handler = handler
        self.service = service
        self.uow = uow
        self._dead_letter = dead_letter
        self.heartbeat = Heartbeat(spec.heartbeat_s, spec.max_handle_s)

    async def process(self, msg: RawMessage) -> str:
        """Handle one message and settle it; returns the outcome (ack, nak, dead_letter, duplicate)."""
        with self.heartbeat.holding(msg):
            return await self._process(msg)

    async def _process(self, msg: RawMessage) -> str:
        event_type = self.spec.label
        started = time.perf_counter()
        try:
            envelope, payload = parse_envelope(msg.data)
            if not self.spec.accepts(payload):
                raise SchemaError(f"{envelope.type} is not {event_type}")
            if tenant_of(msg.subject) != envelope.tenantid:
                raise SchemaError(f"tenantid {envelope.tenantid!r} does not match subject {msg.subject!r}")
        except SchemaError as exc:
            return await self._give_up(msg, f"schema_invalid: {exc}", "schema_invalid", event_type)

        delivery = Delivery(envelope, payload, msg.num_delivered, self.spec.durable, self.uow)
        outcome = "ack"
        with span_from(envelope.traceparent, f"consume {event_type}") as span, tenant_scope(envelope.tenantid):
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
                    reason = f"failed {msg.num_delivered} times, last: {describe_failure(exc)}"
                    return await self._give_up(msg, reason, "max_deliver", event_type)
                log.warning("transient failure on %s (attempt %d), retrying: %s", envelope.id,
                            msg.num_delivered, describe_failure(exc))
                log.debug("transient failure on %s", envelope.id, exc_info=True)
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


def describe_failure(exc: BaseException) -> str:
    """What failed and where (the innermost frame), without the exception's message: that is free text
    which can quote the event's content. Our own PermanentError messages are written with ids only."""
    kind = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        kind = f"{module}.{kind}"
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return kind
    where = frames[-1]
    return f"{kind} at {where.filename.rsplit('/', 1)[-1]}:{where.lineno} in {where.name}"
