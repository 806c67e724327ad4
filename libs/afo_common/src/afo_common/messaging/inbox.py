"""Inbox: the ids of events a consumer has processed, written in the handler's own transaction, so a
redelivered event is recognised and acknowledged without being handled twice."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, tuple_

from afo_common.db import Database, insert_with_conflicts
from afo_common.hot_sql import Sql
from afo_common.messaging.tables import MessagingTables
from afo_common.messaging.unit_of_work import HotUnitOfWork, UnitOfWork

RECORD = Sql("INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")


async def record_processed(uow: UnitOfWork | HotUnitOfWork, consumer: str, event_id: str) -> bool:
    """Record the event as processed; False when it already was (a duplicate delivery)."""
    if isinstance(uow, HotUnitOfWork):
        return await uow.tx.execute(RECORD, consumer, event_id, uow.tx.time(datetime.now(UTC))) == 1
    statement = insert_with_conflicts(uow.session, uow.tables.inbox).values(
        consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC)
    ).on_conflict_do_nothing()
    result = await uow.session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_all_processed(uow: UnitOfWork, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record many (consumer, event id) at once; returns those that were not recorded before. Rows go in
    sorted, so two transactions recording overlapping sets on PostgreSQL wait on each other in one order."""
    if not keys:
        return set()
    inbox, now = uow.tables.inbox, datetime.now(UTC)
    statement = (insert_with_conflicts(uow.session, inbox)
                 .values([{"consumer": c, "event_id": e, "processed_at": now} for c, e in sorted(keys)])
                 .on_conflict_do_nothing()
                 .returning(inbox.c.consumer, inbox.c.event_id))
    result = await uow.session.execute(statement)
    return {(row.consumer, row.event_id) for row in result}


PRUNE_BATCH = 5000


async def prune_inbox(db: Database, tables: MessagingTables, older_than: datetime) -> int:
    """Forget processed event ids recorded before ``older_than``, in batches so no statement holds the
    writer for long; returns how many were removed. A redelivery comes within minutes of the first
    delivery, so ids need only outlive that (and any consumer replay an operator might start)."""
    inbox = tables.inbox
    removed = 0
    while True:
        batch = (select(inbox.c.consumer, inbox.c.event_id)
                 .where(inbox.c.processed_at < older_than)
                 .limit(PRUNE_BATCH))
        async with db.write_lock(), db.session() as session, session.begin():
            result = await session.execute(
                delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(batch))
            )
        count = int(result.rowcount)  # type: ignore[attr-defined]
        removed += count
        if count < PRUNE_BATCH:
            return removed
