"""Queries on documents and their chunks. Every method is scoped to one tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.events.knowledge import DocumentStatus
from afo_knowledge_ingest.adapters.tables import chunks, documents
from afo_knowledge_ingest.domain.errors import DuplicateDocument
from afo_knowledge_ingest.domain.records import ChunkRow, DocumentRow
from afo_knowledge_ingest.domain.sentence_vectors import SentenceVectors

# Columns a document changes over its life (the rest is fixed at upload).
_CHANGING = ("name", "blob", "source_url", "title", "pages", "status", "chunks_total", "chunks_done", "error_code",
             "error_reason", "embedding_space", "lease_owner", "lease_until", "attempts", "updated_at")


def document(row: Any) -> DocumentRow:
    return DocumentRow(
        row.id, row.tenant_id, row.knowledge_base_id, row.name, row.media_type, row.size_bytes, row.sha256,
        row.blob, row.source_url, row.status, row.created_at, row.updated_at, row.title, row.pages,
        row.chunks_total, row.chunks_done, row.error_code, row.error_reason, row.embedding_space,
        row.lease_owner, row.lease_until, row.attempts,
    )


# A chunk's row without its sentences, which only search reads.
_CHUNK_COLUMNS = (chunks.c.id, chunks.c.tenant_id, chunks.c.document_id, chunks.c.knowledge_base_id, chunks.c.ordinal,
                  chunks.c.text, chunks.c.heading, chunks.c.page, chunks.c.char_count, chunks.c.embedded_space)


def _chunk(row: Any) -> ChunkRow:
    return ChunkRow(row.id, row.tenant_id, row.document_id, row.knowledge_base_id, row.ordinal, row.text,
                    row.heading, row.page, row.char_count, row.embedded_space)


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: DocumentRow) -> None:
        values = {name: getattr(row, name) for name in (*_CHANGING, "id", "tenant_id", "knowledge_base_id",
                                                        "media_type", "size_bytes", "sha256", "created_at")}
        try:
            # A savepoint: the unique constraint's failure must not abort the caller's transaction.
            async with self._session.begin_nested():
                await self._session.execute(insert(documents).values(**values))
        except IntegrityError as exc:
            raise DuplicateDocument(row.knowledge_base_id, row.sha256) from exc

    async def get(self, tenant_id: str, document_id: str) -> DocumentRow | None:
        result = await self._session.execute(
            select(documents).where(documents.c.tenant_id == tenant_id, documents.c.id == document_id))
        row = result.first()
        return document(row) if row else None

    async def by_sha256(self, tenant_id: str, knowledge_base_id: str, sha256: str) -> DocumentRow | None:
        result = await self._session.execute(select(documents).where(
            documents.c.tenant_id == tenant_id, documents.c.knowledge_base_id == knowledge_base_id,
            documents.c.sha256 == sha256))
        row = result.first()
        return document(row) if row else None

    async def page(self, tenant_id: str, knowledge_base_id: str, limit: int, before: str | None,
                   status: DocumentStatus | None) -> list[DocumentRow]:
        query = select(documents).where(documents.c.tenant_id == tenant_id,
                                        documents.c.knowledge_base_id == knowledge_base_id)
        if before:
            query = query.where(documents.c.id < before)
        if status:
            query = query.where(documents.c.status == status)
        result = await self._session.execute(query.order_by(documents.c.id.desc()).limit(limit))
        return [document(r) for r in result]

    async def of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> list[DocumentRow]:
        result = await self._session.execute(select(documents).where(
            documents.c.tenant_id == tenant_id, documents.c.knowledge_base_id == knowledge_base_id
        ).order_by(documents.c.id))
        return [document(r) for r in result]

    async def counts(self, tenant_id: str, knowledge_base_ids: Sequence[str]) -> dict[str, int]:
        result = await self._session.execute(
            select(documents.c.knowledge_base_id, func.count()).where(
                documents.c.tenant_id == tenant_id, documents.c.knowledge_base_id.in_(list(knowledge_base_ids))
            ).group_by(documents.c.knowledge_base_id))
        found: dict[str, int] = {kb: n for kb, n in result.all()}
        return {kb: found.get(kb, 0) for kb in knowledge_base_ids}

    async def size(self, tenant_id: str) -> tuple[int, int]:
        query = select(func.count(), func.coalesce(func.sum(documents.c.size_bytes), 0)).where(
            documents.c.tenant_id == tenant_id)
        count, size = (await self._session.execute(query)).one()
        return int(count), int(size)

    async def save(self, row: DocumentRow, holder: str | None = None) -> bool:
        query = update(documents).where(documents.c.tenant_id == row.tenant_id, documents.c.id == row.id)
        if holder is not None:
            query = query.where(documents.c.lease_owner == holder)
        result = await self._session.execute(query.values({name: getattr(row, name) for name in _CHANGING}))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete(self, tenant_id: str, document_id: str) -> None:
        await self._session.execute(
            delete(documents).where(documents.c.tenant_id == tenant_id, documents.c.id == document_id))

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None:
        await self._session.execute(delete(documents).where(
            documents.c.tenant_id == tenant_id, documents.c.knowledge_base_id == knowledge_base_id))

    async def outside_space(self, tenant_id: str, knowledge_base_id: str, space: str) -> int:
        result = await self._session.execute(select(func.count()).select_from(documents).where(
            documents.c.tenant_id == tenant_id, documents.c.knowledge_base_id == knowledge_base_id,
            documents.c.status != "failed",
            or_(documents.c.embedding_space.is_(None), documents.c.embedding_space != space)))
        return int(result.scalar_one())


class ChunkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(self, tenant_id: str, document_id: str, rows: Sequence[ChunkRow]) -> None:
        await self.delete_of_document(tenant_id, document_id)
        if rows:
            await self._session.execute(insert(chunks), [
                {"id": r.id, "tenant_id": r.tenant_id, "document_id": r.document_id,
                 "knowledge_base_id": r.knowledge_base_id, "ordinal": r.ordinal, "text": r.text,
                 "heading": r.heading, "page": r.page, "char_count": r.char_count,
                 "embedded_space": r.embedded_space} for r in rows])

    async def unembedded(self, tenant_id: str, document_id: str, space: str, limit: int) -> list[ChunkRow]:
        result = await self._session.execute(select(*_CHUNK_COLUMNS).where(
            chunks.c.tenant_id == tenant_id, chunks.c.document_id == document_id,
            or_(chunks.c.embedded_space.is_(None), chunks.c.embedded_space != space),
        ).order_by(chunks.c.ordinal).limit(limit))
        return [_chunk(r) for r in result]

    async def mark_embedded(self, tenant_id: str, chunk_ids: Sequence[str], space: str) -> None:
        await self._session.execute(update(chunks).where(
            chunks.c.tenant_id == tenant_id, chunks.c.id.in_(list(chunk_ids))).values(embedded_space=space))

    async def write_sentences(self, tenant_id: str, sentences: Mapping[str, SentenceVectors]) -> None:
        if not sentences:
            return
        await self._session.execute(
            update(chunks).where(chunks.c.tenant_id == tenant_id, chunks.c.id == bindparam("chunk_id"))
            .values(sentence_space=bindparam("space"), sentence_texts=bindparam("texts"),
                    sentence_vectors=bindparam("vectors")),
            [{"chunk_id": chunk_id, "space": s.space, "texts": s.texts_json(), "vectors": s.vectors}
             for chunk_id, s in sentences.items()],
            execution_options={"synchronize_session": False})

    async def sentences(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, SentenceVectors]:
        if not chunk_ids:
            return {}
        result = await self._session.execute(
            select(chunks.c.id, chunks.c.sentence_space, chunks.c.sentence_texts, chunks.c.sentence_vectors).where(
                chunks.c.tenant_id == tenant_id, chunks.c.id.in_(list(chunk_ids)),
                chunks.c.sentence_space.is_not(None)))
        return {r.id: SentenceVectors.stored(r.sentence_space, r.sentence_texts, r.sentence_vectors) for r in result}

    async def embedded(self, tenant_id: str, document_id: str, space: str) -> int:
        result = await self._session.execute(select(func.count()).select_from(chunks).where(
            chunks.c.tenant_id == tenant_id, chunks.c.document_id == document_id, chunks.c.embedded_space == space))
        return int(result.scalar_one())

    async def delete_of_document(self, tenant_id: str, document_id: str) -> None:
        await self._session.execute(
            delete(chunks).where(chunks.c.tenant_id == tenant_id, chunks.c.document_id == document_id))

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None:
        await self._session.execute(delete(chunks).where(
            chunks.c.tenant_id == tenant_id, chunks.c.knowledge_base_id == knowledge_base_id))
