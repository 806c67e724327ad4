"""The ingest worker's queue: the one repository that spans tenants, because a worker takes the next
document whoever owns it. What it hands out carries its tenant; every later call is scoped to it.

A claim is a conditional update (``lease_until`` free or expired), so two workers never hold one document:
on PostgreSQL the second update waits for the first to commit and then finds the lease taken; on SQLite
one process writes at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_knowledge_ingest.adapters.document_repository import document
from afo_knowledge_ingest.adapters.knowledge_base_repository import knowledge_base
from afo_knowledge_ingest.adapters.tables import documents as docs
from afo_knowledge_ingest.adapters.tables import knowledge_bases as kbs
from afo_knowledge_ingest.domain.records import IN_PROGRESS, Claimed, KnowledgeBaseRow

CANDIDATES = 8


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(docs.c.lease_until.is_(None), docs.c.lease_until <= now)


class QueueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, owner: str, now: datetime, until: datetime) -> Claimed | None:
        needs_work = or_(
            docs.c.status.in_(IN_PROGRESS),
            and_(docs.c.status == "ready", kbs.c.pending_space.is_not(None),
                 or_(docs.c.embedding_space.is_(None), docs.c.embedding_space != kbs.c.pending_space)),
        )
        found = await self._session.execute(
            select(docs.c.id).join(kbs, and_(kbs.c.id == docs.c.knowledge_base_id, kbs.c.tenant_id == docs.c.tenant_id))
            .where(needs_work, _lease_free(now)).order_by(docs.c.created_at, docs.c.id).limit(CANDIDATES))
        for document_id in found.scalars():
            taken = await self._session.execute(
                update(docs).where(docs.c.id == document_id, _lease_free(now))
                .values(lease_owner=owner, lease_until=until, attempts=docs.c.attempts + 1))
            if not taken.rowcount:  # type: ignore[attr-defined]
                continue  # another worker took it meanwhile
            row = (await self._session.execute(
                select(docs, kbs.c.embedding_space.label("kb_space"), kbs.c.pending_space.label("kb_pending"))
                .join(kbs, kbs.c.id == docs.c.knowledge_base_id).where(docs.c.id == document_id))).one()
            return Claimed(document(row), row.kb_space, row.kb_pending)
        return None

    async def release_leases(self) -> int:
        freed = await self._session.execute(
            update(docs).where(docs.c.lease_owner.is_not(None)).values(lease_owner=None, lease_until=None))
        return int(freed.rowcount)  # type: ignore[attr-defined]

    async def switchable(self) -> list[KnowledgeBaseRow]:
        behind = exists().where(
            docs.c.tenant_id == kbs.c.tenant_id, docs.c.knowledge_base_id == kbs.c.id, docs.c.status != "failed",
            or_(docs.c.embedding_space.is_(None), docs.c.embedding_space != kbs.c.pending_space))
        result = await self._session.execute(select(kbs).where(kbs.c.pending_space.is_not(None), ~behind))
        return [knowledge_base(r) for r in result]
