"""Use cases on knowledge bases: create (once per request id), read, list, check, change, delete.

A new embedding model does not touch search at once: the knowledge base is ``reembedding`` with the new
space pending, the ingest worker writes every document's vectors again into it (chunks are kept), and only
when all are there does the knowledge base switch (``handlers/ingest.py``). A second model change while one
is in progress is refused (``Conflict``): the vectors half-written for the abandoned model would otherwise
have to be tracked and removed chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from afo_common.clock import Clock
from afo_common.events.knowledge import KnowledgeBaseCreated, KnowledgeBaseDeleted, KnowledgeBaseUpdated
from afo_common.ids import new_id
from afo_common.rpcs.knowledge_ingest import (
    CheckedKnowledgeBases,
    CheckKnowledgeBases,
    CreateKnowledgeBase,
    Deleted,
    KnowledgeBaseRef,
    KnowledgeBaseView,
    ListKnowledgeBases,
    UpdateKnowledgeBase,
)
from afo_common.rpcs.pages import Page
from afo_knowledge_ingest.domain.errors import AlreadyCreated, Conflict, Invalid, NotFound, ProviderNotConfigured
from afo_knowledge_ingest.domain.records import KnowledgeBaseRow
from afo_knowledge_ingest.domain.vectors import VectorIndex
from afo_knowledge_ingest.handlers.ports import Blobs, Embedders
from afo_knowledge_ingest.handlers.unit_of_work import Store
from afo_knowledge_ingest.handlers.views import knowledge_base_view


class KnowledgeBaseHandlers:
    def __init__(self, store: Store, clock: Clock, embedders: Embedders, index: VectorIndex, blobs: Blobs,
                 wake: Callable[[], None] = lambda: None) -> None:
        self._store = store
        self._clock = clock
        self._embedders = embedders
        self._index = index
        self._blobs = blobs
        self._wake = wake

    def _space(self, provider: str, model: str) -> str:
        try:
            return self._embedders.space(provider, model)
        except ProviderNotConfigured as exc:
            raise Invalid(str(exc), [{"loc": ["embedding", "provider"], "msg": str(exc),
                                      "type": "provider_not_configured"}]) from exc

    async def create(self, request: CreateKnowledgeBase) -> KnowledgeBaseView:
        space = self._space(request.embedding.provider, request.embedding.model)
        now = self._clock.now()
        row = KnowledgeBaseRow(new_id("kb"), request.tenant_id, request.name, request.description,
                               request.embedding.provider, request.embedding.model, space, None, "ready", now, now,
                               request.request_id)
        try:
            async with self._store() as uow:
                if request.request_id and (made := await uow.knowledge_bases.by_request(request.tenant_id,
                                                                                         request.request_id)):
                    return await self._view(made)
                await uow.knowledge_bases.add(row)
                await uow.emit(KnowledgeBaseCreated(knowledge_base_id=row.id, name=row.name, embedding_space=space),
                               tenant_id=request.tenant_id)
        except AlreadyCreated:
            # Two attempts with one request id raced past the lookup; the constraint let one in.
            assert request.request_id is not None
            async with self._store.reading() as repos:
                made = await repos.knowledge_bases.by_request(request.tenant_id, request.request_id)
            if made is None:
                raise
            return await self._view(made)
        return knowledge_base_view(row, 0)

    async def _view(self, row: KnowledgeBaseRow) -> KnowledgeBaseView:
        async with self._store.reading() as repos:
            counts = await repos.documents.counts(row.tenant_id, [row.id])
        return knowledge_base_view(row, counts[row.id])

    async def get(self, request: KnowledgeBaseRef) -> KnowledgeBaseView:
        async with self._store.reading() as repos:
            row = await repos.knowledge_bases.get(request.tenant_id, request.knowledge_base_id)
            if row is None:
                raise NotFound("knowledge base", request.knowledge_base_id)
            counts = await repos.documents.counts(row.tenant_id, [row.id])
        return knowledge_base_view(row, counts[row.id])

    async def list(self, request: ListKnowledgeBases) -> Page[KnowledgeBaseView]:
        async with self._store.reading() as repos:
            rows = await repos.knowledge_bases.page(request.tenant_id, request.limit, request.cursor)
            counts = await repos.documents.counts(request.tenant_id, [r.id for r in rows])
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[KnowledgeBaseView](data=[knowledge_base_view(r, counts[r.id]) for r in rows],
                                       next_cursor=next_cursor)

    async def check(self, request: CheckKnowledgeBases) -> CheckedKnowledgeBases:
        async with self._store.reading() as repos:
            found = {r.id for r in await repos.knowledge_bases.existing(request.tenant_id, request.knowledge_base_ids)}
        return CheckedKnowledgeBases(missing=[i for i in dict.fromkeys(request.knowledge_base_ids) if i not in found])

    async def update(self, request: UpdateKnowledgeBase) -> KnowledgeBaseView:
        space = self._space(request.embedding.provider, request.embedding.model) if request.embedding else None
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.knowledge_bases.get(request.tenant_id, request.knowledge_base_id)
            if row is None:
                raise NotFound("knowledge base", request.knowledge_base_id)
            changed = replace(row, name=request.name or row.name, updated_at=now,
                              description=row.description if request.description is None else request.description)
            reembedding, dropped = False, None
            if request.embedding is not None and space not in (row.embedding_space, row.pending_space):
                if row.pending_space is not None:
                    raise Conflict(f"knowledge base {row.id} is still re-embedding for its last model change")
                changed = replace(changed, embedding_provider=request.embedding.provider,
                                  embedding_model=request.embedding.model, pending_space=space, status="reembedding")
                reembedding = True
                if not await uow.documents.outside_space(row.tenant_id, row.id, str(space)):
                    # Nothing to embed again (no document, or only failed ones): the new model takes over now.
                    changed = replace(changed, embedding_space=str(space), pending_space=None, status="ready")
                    reembedding = False
                    dropped = row.embedding_space
            elif request.embedding is not None:
                # The same space under another spelling of the model (the embedded provider has one model).
                changed = replace(changed, embedding_provider=request.embedding.provider,
                                  embedding_model=request.embedding.model)
            await uow.knowledge_bases.save(changed)
            await uow.emit(KnowledgeBaseUpdated(knowledge_base_id=row.id, name=changed.name,
                                                embedding_space=changed.pending_space or changed.embedding_space,
                                                reembedding=reembedding), tenant_id=request.tenant_id)
            counts = await uow.documents.counts(row.tenant_id, [row.id])
        if reembedding:
            self._wake()
        if dropped is not None:
            await self._index.delete_knowledge_base(dropped, row.tenant_id, row.id)
        return knowledge_base_view(changed, counts[row.id])

    async def delete(self, request: KnowledgeBaseRef) -> Deleted:
        """Vectors and blobs go first, rows last: a failure half-way leaves the rows, so a retry finds the
        knowledge base and finishes (every step is idempotent); a worker still embedding one of its documents
        finds the row gone and removes what it wrote (``handlers/ingest.py``)."""
        async with self._store.reading() as repos:
            row = await repos.knowledge_bases.get(request.tenant_id, request.knowledge_base_id)
            if row is None:
                raise NotFound("knowledge base", request.knowledge_base_id)
            documents = await repos.documents.of_knowledge_base(row.tenant_id, row.id)
        for space in {row.embedding_space, row.pending_space} - {None}:
            await self._index.delete_knowledge_base(str(space), row.tenant_id, row.id)
        for document in documents:
            await self._blobs.delete(document.blob)
        async with self._store() as uow:
            await uow.chunks.delete_of_knowledge_base(row.tenant_id, row.id)
            await uow.documents.delete_of_knowledge_base(row.tenant_id, row.id)
            await uow.knowledge_bases.delete(row.tenant_id, row.id)
            await uow.emit(KnowledgeBaseDeleted(knowledge_base_id=row.id), tenant_id=row.tenant_id)
        return Deleted(id=row.id)
