"""Inbox: the ids of events a consumer has processed, written in the handler's own transaction, so a
redelivered event is recognised and acknowledged without being handled twice."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from afo_common.messaging.unit_of_work import UnitOfWork


async def record_processed(uow: UnitOfWork, consumer: str, event_id: str) -> bool:
    """Record the event as processed; False when it already was (a duplicate delivery)."""
    dialect = uow.session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(uow.tables.inbox).values(
        consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC)
    ).on_conflict_do_nothing()
    result = await uow.session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
