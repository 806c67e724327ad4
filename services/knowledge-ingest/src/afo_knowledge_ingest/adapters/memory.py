"""knowledge-ingest's repositories in memory: the same interface and answers as the database's
(``handlers/unit_of_work.py``), so a handler test runs in milliseconds. The handler tests run on both, so
this file drifting from the SQL repositories fails a test. Rows are copied in and out, times kept in UTC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from afo_common.events.knowledge import DocumentStatus
from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_knowledge_ingest.domain.errors import AlreadyCreated, DuplicateDocument
from afo_knowledge_ingest.domain.records import IN_PROGRESS, ChunkRow, Claimed, DocumentRow, KnowledgeBaseRow
from afo_knowledge_ingest.domain.sentence_vectors import SentenceVectors
from afo_knowledge_ingest.handlers.unit_of_work import Store


@dataclass
class MemoryTables:
    knowledge_bases: dict[str, KnowledgeBaseRow] = field(default_factory=dict)
    documents: dict[str, DocumentRow] = field(default_factory=dict)
    chunks: dict[str, ChunkRow] = field(default_factory=dict)
    sentences: dict[str, SentenceVectors] = field(default_factory=dict)  # by chunk id, a column of its row there


def _outside(doc: DocumentRow, space: str) -> bool:
    return doc.status != "failed" and doc.embedding_space != space


class MemoryKnowledgeBases:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: KnowledgeBaseRow) -> None:
        if row.request_id is not None and await self.by_request(row.tenant_id, row.request_id) is not None:
            raise AlreadyCreated("knowledge base", row.request_id)
        self._t.knowledge_bases[row.id] = _stored(row)

    async def by_request(self, tenant_id: str, request_id: str) -> KnowledgeBaseRow | None:
        found = [r for r in self._t.knowledge_bases.values() if (r.tenant_id, r.request_id) == (tenant_id, request_id)]
        return _stored(found[0]) if found else None

    async def get(self, tenant_id: str, knowledge_base_id: str) -> KnowledgeBaseRow | None:
        row = self._t.knowledge_bases.get(knowledge_base_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def existing(self, tenant_id: str, ids: Sequence[str]) -> list[KnowledgeBaseRow]:
        rows = [r for r in self._t.knowledge_bases.values() if r.tenant_id == tenant_id and r.id in ids]
        return [_stored(r) for r in sorted(rows, key=lambda r: r.id)]

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[KnowledgeBaseRow]:
        rows = [r for r in self._t.knowledge_bases.values()
                if r.tenant_id == tenant_id and (not before or r.id < before)]
        return [_stored(r) for r in sorted(rows, key=lambda r: r.id, reverse=True)[:limit]]

    async def save(self, row: KnowledgeBaseRow) -> None:
        found = self._t.knowledge_bases.get(row.id)
        if found is not None and found.tenant_id == row.tenant_id:
            self._t.knowledge_bases[row.id] = _stored(replace(row, created_at=found.created_at,
                                                               request_id=found.request_id))

    async def delete(self, tenant_id: str, knowledge_base_id: str) -> None:
        if await self.get(tenant_id, knowledge_base_id) is not None:
            del self._t.knowledge_bases[knowledge_base_id]


class MemoryDocuments:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    def _of(self, tenant_id: str, knowledge_base_id: str) -> list[DocumentRow]:
        return [d for d in self._t.documents.values()
                if d.tenant_id == tenant_id and d.knowledge_base_id == knowledge_base_id]

    async def add(self, row: DocumentRow) -> None:
        if any(d.sha256 == row.sha256 for d in self._of(row.tenant_id, row.knowledge_base_id)):
            raise DuplicateDocument(row.knowledge_base_id, row.sha256)
        self._t.documents[row.id] = _stored(row)

    async def get(self, tenant_id: str, document_id: str) -> DocumentRow | None:
        row = self._t.documents.get(document_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def by_sha256(self, tenant_id: str, knowledge_base_id: str, sha256: str) -> DocumentRow | None:
        found = [d for d in self._of(tenant_id, knowledge_base_id) if d.sha256 == sha256]
        return _stored(found[0]) if found else None

    async def page(self, tenant_id: str, knowledge_base_id: str, limit: int, before: str | None,
                   status: DocumentStatus | None) -> list[DocumentRow]:
        rows = [d for d in self._of(tenant_id, knowledge_base_id)
                if (not before or d.id < before) and (status is None or d.status == status)]
        return [_stored(d) for d in sorted(rows, key=lambda d: d.id, reverse=True)[:limit]]

    async def of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> list[DocumentRow]:
        return [_stored(d) for d in sorted(self._of(tenant_id, knowledge_base_id), key=lambda d: d.id)]

    async def counts(self, tenant_id: str, knowledge_base_ids: Sequence[str]) -> dict[str, int]:
        return {kb: len(self._of(tenant_id, kb)) for kb in knowledge_base_ids}

    async def size(self, tenant_id: str) -> tuple[int, int]:
        rows = [d for d in self._t.documents.values() if d.tenant_id == tenant_id]
        return len(rows), sum(d.size_bytes for d in rows)

    async def save(self, row: DocumentRow, holder: str | None = None) -> bool:
        found = self._t.documents.get(row.id)
        if found is None or found.tenant_id != row.tenant_id or (holder is not None and found.lease_owner != holder):
            return False
        self._t.documents[row.id] = _stored(replace(row, knowledge_base_id=found.knowledge_base_id,
                                                     sha256=found.sha256, created_at=found.created_at))
        return True

    async def delete(self, tenant_id: str, document_id: str) -> None:
        if await self.get(tenant_id, document_id) is not None:
            del self._t.documents[document_id]

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None:
        for doc in self._of(tenant_id, knowledge_base_id):
            del self._t.documents[doc.id]

    async def outside_space(self, tenant_id: str, knowledge_base_id: str, space: str) -> int:
        return sum(_outside(d, space) for d in self._of(tenant_id, knowledge_base_id))


class MemoryChunks:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    def _of(self, tenant_id: str, document_id: str) -> list[ChunkRow]:
        rows = [c for c in self._t.chunks.values() if c.tenant_id == tenant_id and c.document_id == document_id]
        return sorted(rows, key=lambda c: c.ordinal)

    async def replace(self, tenant_id: str, document_id: str, rows: Sequence[ChunkRow]) -> None:
        await self.delete_of_document(tenant_id, document_id)
        for row in rows:
            if row.id in self._t.chunks:
                raise ValueError(f"chunk {row.id} breaks the primary key")
            self._t.chunks[row.id] = _stored(row)

    async def unembedded(self, tenant_id: str, document_id: str, space: str, limit: int) -> list[ChunkRow]:
        return [_stored(c) for c in self._of(tenant_id, document_id) if c.embedded_space != space][:limit]

    async def mark_embedded(self, tenant_id: str, chunk_ids: Sequence[str], space: str) -> None:
        for chunk_id in chunk_ids:
            row = self._t.chunks.get(chunk_id)
            if row is not None and row.tenant_id == tenant_id:
                self._t.chunks[chunk_id] = replace(row, embedded_space=space)

    async def write_sentences(self, tenant_id: str, sentences: Mapping[str, SentenceVectors]) -> None:
        for chunk_id, written in sentences.items():
            row = self._t.chunks.get(chunk_id)
            if row is not None and row.tenant_id == tenant_id:
                self._t.sentences[chunk_id] = written

    async def sentences(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, SentenceVectors]:
        return {i: self._t.sentences[i] for i in dict.fromkeys(chunk_ids)
                if i in self._t.sentences and (row := self._t.chunks.get(i)) is not None and row.tenant_id == tenant_id}

    async def embedded(self, tenant_id: str, document_id: str, space: str) -> int:
        return sum(c.embedded_space == space for c in self._of(tenant_id, document_id))

    async def delete_of_document(self, tenant_id: str, document_id: str) -> None:
        for row in self._of(tenant_id, document_id):
            del self._t.chunks[row.id]
            self._t.sentences.pop(row.id, None)

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None:
        for row in list(self._t.chunks.values()):
            if row.tenant_id == tenant_id and row.knowledge_base_id == knowledge_base_id:
                del self._t.chunks[row.id]
                self._t.sentences.pop(row.id, None)


class MemoryQueue:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    def _needs_work(self, doc: DocumentRow) -> bool:
        kb = self._t.knowledge_bases.get(doc.knowledge_base_id)
        if kb is None or kb.tenant_id != doc.tenant_id:
            return False
        return doc.status in IN_PROGRESS or (
            doc.status == "ready" and kb.pending_space is not None and doc.embedding_space != kb.pending_space)

    async def claim(self, owner: str, now: datetime, until: datetime) -> Claimed | None:
        free = [d for d in self._t.documents.values()
                if self._needs_work(d) and (d.lease_until is None or d.lease_until <= now)]
        if not free:
            return None
        doc = min(free, key=lambda d: (d.created_at, d.id))
        doc = _stored(replace(doc, lease_owner=owner, lease_until=until, attempts=doc.attempts + 1))
        self._t.documents[doc.id] = doc
        kb = self._t.knowledge_bases[doc.knowledge_base_id]
        return Claimed(_stored(doc), kb.embedding_space, kb.pending_space)

    async def release_leases(self) -> int:
        held = [d for d in self._t.documents.values() if d.lease_owner is not None]
        for doc in held:
            self._t.documents[doc.id] = _stored(replace(doc, lease_owner=None, lease_until=None))
        return len(held)

    async def switchable(self) -> list[KnowledgeBaseRow]:
        return [_stored(kb) for kb in self._t.knowledge_bases.values() if kb.pending_space is not None and not any(
            d.tenant_id == kb.tenant_id and d.knowledge_base_id == kb.id and _outside(d, kb.pending_space)
            for d in self._t.documents.values())]


class MemoryRepositories(Repositories):
    def __init__(self, tables: MemoryTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.knowledge_bases = MemoryKnowledgeBases(tables)
        self.documents = MemoryDocuments(tables)
        self.chunks = MemoryChunks(tables)
        self.queue = MemoryQueue(tables)


def memory_store() -> MemoryStore[MemoryTables, MemoryRepositories]:
    store = MemoryStore(MemoryTables(), MemoryRepositories, "knowledge-ingest")
    _: Store = store  # mypy holds these repositories to the handlers' Protocols, as app.py the database's
    return store
