"""Queries on knowledge bases. Every method is scoped to one tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_knowledge_ingest.adapters.tables import knowledge_bases as kbs
from afo_knowledge_ingest.domain.errors import AlreadyCreated
from afo_knowledge_ingest.domain.records import KnowledgeBaseRow


def knowledge_base(row: Any) -> KnowledgeBaseRow:
    return KnowledgeBaseRow(row.id, row.tenant_id, row.name, row.description, row.embedding_provider,
                            row.embedding_model, row.embedding_space, row.pending_space, row.status,
                            row.created_at, row.updated_at, row.request_id)


class KnowledgeBaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: KnowledgeBaseRow) -> None:
        try:
            await self._session.execute(insert(kbs).values(
                id=row.id, tenant_id=row.tenant_id, name=row.name, description=row.description,
                embedding_provider=row.embedding_provider, embedding_model=row.embedding_model,
                embedding_space=row.embedding_space, pending_space=row.pending_space, status=row.status,
                request_id=row.request_id, created_at=row.created_at, updated_at=row.updated_at,
            ))
        except IntegrityError as exc:
            if row.request_id is None:
                raise
            raise AlreadyCreated("knowledge base", row.request_id) from exc

    async def by_request(self, tenant_id: str, request_id: str) -> KnowledgeBaseRow | None:
        result = await self._session.execute(
            select(kbs).where(kbs.c.tenant_id == tenant_id, kbs.c.request_id == request_id))
        row = result.first()
        return knowledge_base(row) if row else None

    async def get(self, tenant_id: str, knowledge_base_id: str) -> KnowledgeBaseRow | None:
        result = await self._session.execute(
            select(kbs).where(kbs.c.tenant_id == tenant_id, kbs.c.id == knowledge_base_id))
        row = result.first()
        return knowledge_base(row) if row else None

    async def existing(self, tenant_id: str, ids: Sequence[str]) -> list[KnowledgeBaseRow]:
        if not ids:
            return []
        result = await self._session.execute(
            select(kbs).where(kbs.c.tenant_id == tenant_id, kbs.c.id.in_(list(ids))).order_by(kbs.c.id))
        return [knowledge_base(r) for r in result]

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[KnowledgeBaseRow]:
        query = select(kbs).where(kbs.c.tenant_id == tenant_id)
        if before:
            query = query.where(kbs.c.id < before)
        result = await self._session.execute(query.order_by(kbs.c.id.desc()).limit(limit))
        return [knowledge_base(r) for r in result]

    async def save(self, row: KnowledgeBaseRow) -> None:
        await self._session.execute(
            update(kbs).where(kbs.c.tenant_id == row.tenant_id, kbs.c.id == row.id).values(
                name=row.name, description=row.description, embedding_provider=row.embedding_provider,
                embedding_model=row.embedding_model, embedding_space=row.embedding_space,
                pending_space=row.pending_space, status=row.status, updated_at=row.updated_at,
            ))

    async def delete(self, tenant_id: str, knowledge_base_id: str) -> None:
        await self._session.execute(delete(kbs).where(kbs.c.tenant_id == tenant_id, kbs.c.id == knowledge_base_id))
