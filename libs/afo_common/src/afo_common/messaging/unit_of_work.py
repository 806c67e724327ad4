"""The unit of work: a handler writes its state and its outgoing events in one transaction.

Events go to the outbox table in that transaction; after the commit the relay is woken to publish them,
and only then do the after-commit callbacks run (real-time notifications that must not announce state
that a rollback could take back).

Two kinds share that contract: ``UnitOfWork`` holds an SQLAlchemy session (every use case), and
``HotUnitOfWork`` holds a driver-level transaction (``afo_common.hot_sql``) for the statements on every
message's path. Handlers see a service's own unit of work (``afo_common.messaging.store``): its repositories
as attributes, and ``Events`` — ``emit`` and ``after_commit`` — as here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import Database
from afo_common.events import Envelope, Event, envelope_for
from afo_common.hot_sql import HotTransaction, Sql
from afo_common.messaging.tables import MessagingTables
from afo_common.telemetry import current_traceparent

AfterCommit = Callable[[], Awaitable[None]]

INSERT_OUTBOX = Sql("INSERT INTO outbox (event_id, subject, payload, created_at) VALUES ($1, $2, $3, $4)")


class Events(Protocol):
    """What a handler does with events in its unit of work, whichever kind (real or in memory) it is."""

    async def emit(
        self,
        payload: Event,
        *,
        tenant_id: str,
        causation: Envelope | None = None,
        correlation_id: str | None = None,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        """``event_id``: the event's id when the caller derives it (from a provider's own id, so the same
        webhook twice is one event: the outbox's and JetStream's duplicate checks drop the second); else a
        new UUIDv7."""
        ...

    def after_commit(self, callback: AfterCommit) -> None: ...


class WorkEvents:
    """What every kind of unit of work does besides writing: collect events and after-commit callbacks."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._after_commit: list[AfterCommit] = []
        self.emitted: list[Envelope] = []

    async def emit(
        self,
        payload: Event,
        *,
        tenant_id: str,
        causation: Envelope | None = None,
        correlation_id: str | None = None,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        envelope = envelope_for(
            payload,
            tenant_id=tenant_id,
            source=self._source,
            causation=causation,
            correlation_id=correlation_id,
            subject=subject,
            traceparent=current_traceparent(),
            event_id=event_id,
        )
        self.emitted.append(envelope)
        return envelope

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def committed(self, on_commit: Callable[[], None]) -> None:
        if self.emitted:
            on_commit()
        for callback in self._after_commit:
            await callback()


class UnitOfWork(WorkEvents):
    def __init__(self, session: AsyncSession, tables: MessagingTables, source: str) -> None:
        super().__init__(source)
        self.session = session
        self.tables = tables

    async def flush_events(self) -> None:
        """Write the emitted events to the outbox in one statement, just before the commit."""
        if not self.emitted:
            return
        now = datetime.now(UTC)
        rows = [
            {"event_id": e.id, "subject": e.nats_subject, "payload": e.to_bytes(), "created_at": now}
            for e in self.emitted
        ]
        await self.session.execute(insert(self.tables.outbox), rows)


class HotUnitOfWork(WorkEvents):
    def __init__(self, tx: HotTransaction, source: str) -> None:
        super().__init__(source)
        self.tx = tx

    async def flush_events(self) -> None:
        if not self.emitted:
            return
        now = self.tx.time(datetime.now(UTC))
        await self.tx.executemany(INSERT_OUTBOX, [(e.id, e.nats_subject, e.to_bytes(), now) for e in self.emitted])


class UnitOfWorkFactory:
    """Opens units of work on one service's database and wakes its outbox relay after each commit."""

    def __init__(
        self, db: Database, tables: MessagingTables, source: str, on_commit: Callable[[], None]
    ) -> None:
        self.db = db
        self.tables = tables
        self.source = source
        self._on_commit = on_commit

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.write_lock(), self.db.session() as session, session.begin():
            uow = UnitOfWork(session, self.tables, self.source)
            yield uow
            await uow.flush_events()
        await uow.committed(self._on_commit)

    @asynccontextmanager
    async def hot(self) -> AsyncIterator[HotUnitOfWork]:
        async with self.db.hot.transaction() as tx:
            uow = HotUnitOfWork(tx, self.source)
            yield uow
            await uow.flush_events()
        await uow.committed(self._on_commit)
