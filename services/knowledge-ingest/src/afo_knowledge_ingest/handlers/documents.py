"""Use cases on documents: register an upload (queued for the ingest worker), read, list, delete.

The same bytes in the same knowledge base are one document: a lookup answers the common case, and the
unique (tenant, knowledge base, sha256) constraint decides two uploads that race past it. A document that
failed and is uploaded again goes back to the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from afo_common.clock import Clock
from afo_common.events.knowledge import DocumentDeleted, DocumentProgress, DocumentUploaded
from afo_common.ids import new_id
from afo_common.rpcs.knowledge_ingest import (
    AddDocument,
    AddedDocument,
    Deleted,
    DocumentRef,
    DocumentView,
    KnowledgeSize,
    ListDocuments,
    MeasureKnowledge,
)
from afo_common.rpcs.pages import Page
from afo_knowledge_ingest.domain.errors import DuplicateDocument, NotFound
from afo_knowledge_ingest.domain.records import DocumentRow
from afo_knowledge_ingest.domain.vectors import VectorIndex
from afo_knowledge_ingest.handlers.ports import Blobs
from afo_knowledge_ingest.handlers.unit_of_work import Store, UnitOfWork
from afo_knowledge_ingest.handlers.views import document_view


class DocumentHandlers:
    def __init__(self, store: Store, clock: Clock, blobs: Blobs, index: VectorIndex,
                 wake: Callable[[], None] = lambda: None) -> None:
        self._store = store
        self._clock = clock
        self._blobs = blobs
        self._index = index
        self._wake = wake  # the ingest worker, told in-process that work was committed

    async def add(self, request: AddDocument) -> AddedDocument:
        now = self._clock.now()
        async with self._store() as uow:
            if await uow.knowledge_bases.get(request.tenant_id, request.knowledge_base_id) is None:
                raise NotFound("knowledge base", request.knowledge_base_id)
            existing = await uow.documents.by_sha256(request.tenant_id, request.knowledge_base_id, request.sha256)
            if existing is None:
                row = DocumentRow(new_id("doc"), request.tenant_id, request.knowledge_base_id, request.name,
                                  request.media_type, request.size_bytes, request.sha256, request.blob,
                                  request.source_url, "queued", now, now)
                try:
                    await uow.documents.add(row)
                except DuplicateDocument:
                    # Another upload of the same bytes committed first (PostgreSQL, past our lookup).
                    existing = await uow.documents.by_sha256(request.tenant_id, request.knowledge_base_id,
                                                             request.sha256)
                    if existing is None:
                        raise
                else:
                    await uow.emit(DocumentUploaded(
                        knowledge_base_id=row.knowledge_base_id, document_id=row.id, name=row.name,
                        media_type=row.media_type, size_bytes=row.size_bytes, sha256=row.sha256, blob=row.blob,
                        source_url=row.source_url), tenant_id=row.tenant_id)
                    uow.after_commit(self._woken)
                    return AddedDocument(document=document_view(row), created=True)
            if existing.status == "failed":
                existing = await self._requeue(uow, existing, request)
                uow.after_commit(self._woken)
        return AddedDocument(document=document_view(existing), created=False)

    async def _requeue(self, uow: UnitOfWork, row: DocumentRow, request: AddDocument) -> DocumentRow:
        queued = replace(row, name=request.name, blob=request.blob, source_url=request.source_url, status="queued",
                         chunks_done=0, chunks_total=0, error_code=None, error_reason=None, lease_owner=None,
                         lease_until=None, attempts=0, updated_at=self._clock.now())
        await uow.documents.save(queued)
        await uow.emit(DocumentProgress(knowledge_base_id=row.knowledge_base_id, document_id=row.id,
                                        status="queued", progress=0.0, chunks_done=0, chunks_total=0),
                       tenant_id=row.tenant_id)
        return queued

    async def _woken(self) -> None:
        self._wake()

    async def get(self, request: DocumentRef) -> DocumentView:
        async with self._store.reading() as repos:
            row = await repos.documents.get(request.tenant_id, request.document_id)
        if row is None or row.knowledge_base_id != request.knowledge_base_id:
            raise NotFound("document", request.document_id)
        return document_view(row)

    async def list(self, request: ListDocuments) -> Page[DocumentView]:
        async with self._store.reading() as repos:
            if await repos.knowledge_bases.get(request.tenant_id, request.knowledge_base_id) is None:
                raise NotFound("knowledge base", request.knowledge_base_id)
            rows = await repos.documents.page(request.tenant_id, request.knowledge_base_id, request.limit,
                                              request.cursor, request.status)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[DocumentView](data=[document_view(r) for r in rows], next_cursor=next_cursor)

    async def measure(self, request: MeasureKnowledge) -> KnowledgeSize:
        async with self._store.reading() as repos:
            documents, size_bytes = await repos.documents.size(request.tenant_id)
        return KnowledgeSize(documents=documents, size_bytes=size_bytes)

    async def delete(self, request: DocumentRef) -> Deleted:
        """Vectors and blob first, rows last: a failure half-way leaves the document, so a retry finds it
        and finishes (each step is idempotent); afterwards it is not found."""
        async with self._store.reading() as repos:
            row = await repos.documents.get(request.tenant_id, request.document_id)
            kb = await repos.knowledge_bases.get(request.tenant_id, request.knowledge_base_id)
        if row is None or kb is None or row.knowledge_base_id != kb.id:
            raise NotFound("document", request.document_id)
        spaces = {kb.embedding_space, kb.pending_space, row.embedding_space}
        for space in sorted(s for s in spaces if s is not None):
            await self._index.delete_document(space, row.tenant_id, row.id)
        await self._blobs.delete(row.blob)
        async with self._store() as uow:
            await uow.chunks.delete_of_document(row.tenant_id, row.id)
            await uow.documents.delete(row.tenant_id, row.id)
            await uow.emit(DocumentDeleted(knowledge_base_id=row.knowledge_base_id, document_id=row.id),
                           tenant_id=row.tenant_id)
        return Deleted(id=row.id)
