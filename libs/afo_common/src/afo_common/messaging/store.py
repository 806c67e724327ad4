"""A service's repositories in a unit of work, or for reads: the generic part.

A service writes one class, a ``Repositories`` subclass whose ``__init__`` builds its repositories as
attributes on a database session. ``SqlStore`` opens it, and handlers take everything from what it gives:

    async with store() as uow:                  # a transaction: uow.<repository>, uow.emit, uow.after_commit
    async with store.reading() as repos:        # reads outside any transaction: repos.<repository>
    async with store.handling(delivery) as uow: # a delivery's transaction, its inbox row written first
    async with store.handling_batch(batch) as (uow, fresh):  # a batch's, with its deliveries not seen before

The unit of work underneath is ``afo_common.messaging.unit_of_work``'s, unchanged: events go to the outbox
in the transaction, after-commit callbacks run once it committed, the relay is woken.

``MemoryStore`` keeps the same contract on plain Python tables, so a handler test runs on fakes in
milliseconds: one transaction at a time (as SQLite's single writer), its writes undone when it raises, its
events in ``outbox`` at commit and only then its after-commit callbacks, a delivery seen twice refused."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.events import Envelope, Event
from afo_common.messaging.batches import Batch
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import AfterCommit, Events, UnitOfWorkFactory, WorkEvents

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

W_co = TypeVar("W_co", covariant=True)
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")


class Store(Protocol[W_co, R_co]):
    """What a handler is given: units of work (``W``: repositories and events) and reads (``R``)."""

    def __call__(self) -> AbstractAsyncContextManager[W_co]: ...

    def reading(self) -> AbstractAsyncContextManager[R_co]: ...

    def handling(self, delivery: Delivery) -> AbstractAsyncContextManager[W_co]: ...

    def handling_batch(self, batch: Batch) -> AbstractAsyncContextManager[tuple[W_co, list[Delivery]]]: ...


class Repositories:
    """Base of a service's repositories. In a unit of work they carry its ``emit`` and ``after_commit``;
    opened for reading (``events`` None) there is no transaction to emit in."""

    def __init__(self, events: Events | None) -> None:
        self._events = events

    def _work(self) -> Events:
        if self._events is None:
            raise RuntimeError("repositories opened for reading emit nothing: open a unit of work")
        return self._events

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
        return await self._work().emit(payload, tenant_id=tenant_id, causation=causation,
                                       correlation_id=correlation_id, subject=subject, event_id=event_id)

    def after_commit(self, callback: AfterCommit) -> None:
        self._work().after_commit(callback)


R = TypeVar("R", bound=Repositories)


class SqlStore(Generic[R]):
    """A service's repositories on its database, built by ``repositories(session, events)``."""

    def __init__(self, units: UnitOfWorkFactory,
                 repositories: Callable[[AsyncSession, Events | None], R]) -> None:
        self.units = units
        self._repositories = repositories

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[R]:
        async with self.units() as uow:
            yield self._repositories(uow.session, uow)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[R]:
        async with self.units.db.session() as session:
            yield self._repositories(session, None)

    @asynccontextmanager
    async def handling(self, delivery: Delivery) -> AsyncIterator[R]:
        async with delivery.transaction() as uow:
            yield self._repositories(uow.session, uow)

    @asynccontextmanager
    async def handling_batch(self, batch: Batch) -> AsyncIterator[tuple[R, list[Delivery]]]:
        async with batch.transaction() as (uow, fresh):
            yield self._repositories(uow.session, uow), fresh


class MemoryStore(Generic[T, R]):
    """The same contract in memory: ``tables`` (any object whose attributes hold the rows) read and written by
    ``repositories(tables, events)``. A transaction runs alone, and an exception restores the tables as they
    were before it; ``outbox`` holds the committed events in order, ``processed`` the inbox."""

    def __init__(self, tables: T, repositories: Callable[[T, Events | None], R], source: str) -> None:
        self.tables = tables
        self.outbox: list[Envelope] = []
        self.processed: set[tuple[str, str]] = set()
        self._repositories = repositories
        self._source = source
        self._writer = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[R]:
        async with self._writer:
            events = WorkEvents(self._source)
            before, processed = copy.deepcopy(vars(self.tables)), set(self.processed)
            try:
                yield self._repositories(self.tables, events)
            except BaseException:
                vars(self.tables).clear()
                vars(self.tables).update(before)
                self.processed = processed
                raise
            self.outbox.extend(events.emitted)
        await events.committed(lambda: None)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[R]:
        yield self._repositories(self.tables, None)

    @asynccontextmanager
    async def handling(self, delivery: Delivery) -> AsyncIterator[R]:
        async with self() as uow:
            key = (delivery.consumer, delivery.envelope.id)
            if key in self.processed:
                raise DuplicateDelivery(delivery.envelope.id)
            self.processed.add(key)
            yield uow

    @asynccontextmanager
    async def handling_batch(self, batch: Batch) -> AsyncIterator[tuple[R, list[Delivery]]]:
        async with self() as uow:
            fresh: list[Delivery] = []
            batch.duplicates = []
            for delivery in batch.deliveries:
                key = (delivery.consumer, delivery.envelope.id)
                (batch.duplicates if key in self.processed else fresh).append(delivery)
                self.processed.add(key)
            yield uow, fresh


D = TypeVar("D", bound="DataclassInstance")


def as_stored(row: D) -> D:
    """A row as a database gives it back, for in-memory repositories: a copy with its own dicts and lists (a
    caller never changes what is stored), times in UTC (``afo_common.db.UtcDateTime``)."""
    times: dict[str, Any] = {f.name: getattr(row, f.name).astimezone(UTC) for f in dataclasses.fields(row)
                             if isinstance(getattr(row, f.name), datetime)}
    return dataclasses.replace(copy.deepcopy(row), **times)
