"""The two writing steps of ingestion under a lease: storing a parsed document's chunks, and embedding its
chunks batch by batch into a space (``handlers/ingest.py`` says the rules).

A batch embeds its chunks and their sentences worth scoring (``domain/sentence_vectors.py``) in one call of
the space's embedder; a chunk counts as embedded (progress, ``mark_embedded``) when its vector is in the index
and its sentences' vectors are on its row, both written before the transaction that marks it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from afo_common.clock import Clock
from afo_common.events.knowledge import DocumentProgress
from afo_knowledge_ingest.domain.chunking import indexed_text
from afo_knowledge_ingest.domain.documents import ChunkDraft, ParsedDocument
from afo_knowledge_ingest.domain.records import ChunkRow, DocumentRow, chunk_id, progress
from afo_knowledge_ingest.domain.sentence_vectors import SentenceVectors, quantise, worth_scoring
from afo_knowledge_ingest.domain.vectors import ChunkPoint, VectorIndex
from afo_knowledge_ingest.handlers.ports import Embedders
from afo_knowledge_ingest.handlers.unit_of_work import Store


class LeaseLost(Exception):
    """The document was deleted, or its lease taken over by another worker: this worker stops on it."""


def progress_event(document: DocumentRow) -> DocumentProgress:
    return DocumentProgress(knowledge_base_id=document.knowledge_base_id, document_id=document.id,
                            status=document.status, chunks_done=document.chunks_done,
                            chunks_total=document.chunks_total,
                            progress=progress(document.status, document.chunks_done, document.chunks_total))


class Batches:
    def __init__(self, store: Store, clock: Clock, embedders: Embedders, index: VectorIndex, owner: str,
                 batch_size: int, lease: timedelta, progress_interval: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._embedders = embedders
        self._index = index
        self._owner = owner
        self._batch_size = batch_size
        self._lease = lease
        self._interval = progress_interval
        self._announced: dict[str, datetime] = {}  # when each document's last progress event went out

    async def store_chunks(self, document: DocumentRow, parsed: ParsedDocument, drafts: list[ChunkDraft]
                           ) -> DocumentRow:
        """Chunks replace any an earlier attempt stored; the document moves on to ``embedding``."""
        now = self._clock.now()
        rows = [ChunkRow(chunk_id(document.id, d.ordinal), document.tenant_id, document.id,
                         document.knowledge_base_id, d.ordinal, d.text, d.heading, d.page, d.char_count or len(d.text))
                for d in drafts]
        embedding = replace(document, status="embedding", title=parsed.title, pages=parsed.pages,
                            chunks_total=len(rows), chunks_done=0, lease_until=now + self._lease, updated_at=now)
        async with self._store() as uow:
            await uow.chunks.replace(document.tenant_id, document.id, rows)
            if not await uow.documents.save(embedding, holder=self._owner):
                raise LeaseLost(document.id)
            await uow.emit(progress_event(embedding), tenant_id=document.tenant_id)
        self._announced[document.id] = now
        return embedding

    async def embed(self, document: DocumentRow, space: str, *, announce: bool) -> DocumentRow:
        """Embed, in order and in batches, the chunks not yet written in ``space``; ``announce`` counts them
        in the document's progress (a re-embedding of a ready document does not)."""
        embedder = self._embedders.dense(space)
        title = document.title or document.name
        while True:
            async with self._store.reading() as repos:
                batch = await repos.chunks.unembedded(document.tenant_id, document.id, space, self._batch_size)
            if not batch:
                break
            texts = [indexed_text(c.text, c.heading) for c in batch]
            sentences = [worth_scoring(c.text) for c in batch]
            vectors = await embedder.embed_documents(texts + [s for of_chunk in sentences for s in of_chunk])
            dense, rest = vectors[:len(texts)], iter(vectors[len(texts):])
            sparse = [self._embedders.sparse.encode_document(t) for t in texts]
            await self._index.upsert(space, embedder.dimension, [
                ChunkPoint(c.id, c.tenant_id, c.knowledge_base_id, c.document_id, d, s, c.text, title, c.heading,
                           c.page) for c, d, s in zip(batch, dense, sparse, strict=True)])
            scored = {c.id: quantise(space, of_chunk, [next(rest) for _ in of_chunk])
                      for c, of_chunk in zip(batch, sentences, strict=True)}
            document = await self._written(document, space, scored, announce)
        self._announced.pop(document.id, None)
        return document

    async def _written(self, document: DocumentRow, space: str, sentences: dict[str, SentenceVectors],
                       announce: bool) -> DocumentRow:
        """Write a batch's sentence vectors, mark its chunks embedded and renew the lease in one transaction,
        with a progress event when the last one is a second old. A lost lease undoes the marks; a deleted
        document loses the vectors too."""
        now = self._clock.now()
        try:
            async with self._store() as uow:
                await uow.chunks.write_sentences(document.tenant_id, sentences)
                await uow.chunks.mark_embedded(document.tenant_id, list(sentences), space)
                if announce:
                    done = await uow.chunks.embedded(document.tenant_id, document.id, space)
                    document = replace(document, chunks_done=min(done, document.chunks_total))
                document = replace(document, lease_until=now + self._lease, updated_at=now)
                if not await uow.documents.save(document, holder=self._owner):
                    raise LeaseLost(document.id)
                last = self._announced.get(document.id)
                if announce and (last is None or now - last >= self._interval):
                    await uow.emit(progress_event(document), tenant_id=document.tenant_id)
                    self._announced[document.id] = now
        except LeaseLost:
            async with self._store.reading() as repos:
                if await repos.documents.get(document.tenant_id, document.id) is None:
                    await self._index.delete_document(space, document.tenant_id, document.id)
            raise
        return document
