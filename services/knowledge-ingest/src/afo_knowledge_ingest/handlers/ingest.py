"""The ingest worker: takes the next document with work left and brings it to ``ready`` (or ``failed``).

Rules, in one place:
- A document is worked on under a lease (owner = this process's token, until now + ``lease_s``), renewed
  at every batch. A process that dies keeps its lease until it expires; then any worker takes the document
  over and resumes it: parsing again (chunk ids are deterministic, so the same chunks come back) or
  embedding only the chunks not yet written in the target space. Nothing stays in ``embedding``.
- Every write of a leased document is conditional on still holding the lease; a lost lease stops the work
  (the new holder carries on), and a document deleted meanwhile has the vectors just written removed.
- Parse and chunk run in a worker thread, never on the event loop; dense embedders are off-loop already.
- ``UnreadableDocument`` fails that document with its code; a missing blob fails it ``blob_missing``; any
  other error (embedding endpoint or vector store down) is transient: the lease is let go with a backoff
  and the document retried, until ``max_attempts`` claims, then it fails ``embedding_failed``.
- Progress: a ``document_progress`` event at every status change and at most one a second in between, in
  the same transaction as the figures GET reads, so both agree.
- Re-embedding (a knowledge base with a pending space): a ready document's chunks are embedded into the
  pending space, quietly (it stays ``ready``); when no document is behind, the knowledge base switches
  (``Reembedding.finish``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from afo_common.clock import Clock
from afo_common.events import Event
from afo_common.events.knowledge import DocumentFailed, DocumentIngested
from afo_common.messaging.blobs import BlobNotFound
from afo_knowledge_ingest.domain.documents import UnreadableDocument
from afo_knowledge_ingest.domain.records import Claimed, DocumentRow
from afo_knowledge_ingest.domain.vectors import VectorIndex
from afo_knowledge_ingest.handlers.embedding import Batches, LeaseLost, progress_event
from afo_knowledge_ingest.handlers.ports import Blobs, DocumentReader, Embedders
from afo_knowledge_ingest.handlers.reembedding import Reembedding
from afo_knowledge_ingest.handlers.unit_of_work import Store, UnitOfWork
from afo_knowledge_ingest.metrics import CHUNKS_INGESTED, DOCUMENTS_INGESTED, SERVICE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestConfig:
    batch_size: int = 32
    lease_s: float = 60.0
    max_attempts: int = 5
    # Wait before the n-th retry of a transient failure (the last value repeats).
    backoff_s: tuple[float, ...] = (2.0, 10.0, 30.0, 60.0)
    progress_interval_s: float = 1.0


class IngestWorker:
    def __init__(self, store: Store, clock: Clock, blobs: Blobs, reader: DocumentReader, embedders: Embedders,
                 index: VectorIndex, owner: str, config: IngestConfig = IngestConfig()) -> None:
        self._store = store
        self._clock = clock
        self._blobs = blobs
        self._reader = reader
        self._index = index
        self._owner = owner
        self._config = config
        self._lease = timedelta(seconds=config.lease_s)
        self._batches = Batches(store, clock, embedders, index, owner, config.batch_size, self._lease,
                                timedelta(seconds=config.progress_interval_s))
        self.reembedding = Reembedding(store, clock, index)

    async def take_over_leases(self) -> None:
        """At start, in the only process that may run (the embedded vector store admits one): every lease
        still held is a dead process's, so its documents resume now rather than when the lease runs out."""
        async with self._store() as uow:
            freed = await uow.queue.release_leases()
        if freed:
            log.info("resuming %d document(s) a stopped process was ingesting", freed)

    async def run_once(self) -> bool:
        """Work on one document; False when there was none (re-embeddings that are complete switch then)."""
        now = self._clock.now()
        async with self._store() as uow:
            claimed = await uow.queue.claim(self._owner, now, now + self._lease)
        if claimed is None:
            await self.reembedding.finish()
            return False
        document = claimed.document
        target = claimed.pending_space if document.status == "ready" else claimed.embedding_space
        assert target is not None
        if document.attempts > self._config.max_attempts:
            # Claimed that often without an outcome: each attempt failed, or the process died on it.
            await self._fail(document, target, "embedding_failed",
                             document.error_reason or f"gave up after {self._config.max_attempts} attempts")
            return True
        try:
            await self._ingest(claimed, target)
        except UnreadableDocument as exc:
            await self._fail(document, target, exc.code, exc.reason)
        except BlobNotFound:
            await self._fail(document, target, "blob_missing", f"the uploaded bytes are gone ({document.blob})")
        except LeaseLost:
            log.warning("lost the lease on %s: another worker carries on", document.id)
        except Exception as exc:
            log.warning("ingesting %s failed (attempt %d): %s", document.id, document.attempts, type(exc).__name__,
                        exc_info=True)
            await self._retry(document, target, f"{type(exc).__name__}: {exc}"[:1000])
        return True

    async def _ingest(self, claimed: Claimed, target: str) -> None:
        document = claimed.document
        if document.status == "ready":
            await self._batches.embed(document, target, announce=False)
            await self._write(replace(document, embedding_space=target, lease_owner=None, lease_until=None,
                                      attempts=0, updated_at=self._clock.now()))
            return
        if document.status in ("queued", "parsing"):
            document = await self._parse(document)
        document = await self._batches.embed(document, target, announce=True)
        await self._finish(document, target)

    async def _parse(self, document: DocumentRow) -> DocumentRow:
        data = await self._blobs.get(document.blob)
        if document.status == "queued":
            document = await self._status(replace(document, status="parsing", updated_at=self._clock.now()))
        parsed, drafts = await asyncio.to_thread(self._reader, data, document.media_type, document.name)
        if not drafts:
            raise UnreadableDocument("no_text", "the document has no text to index")
        return await self._batches.store_chunks(document, parsed, drafts)

    async def _finish(self, document: DocumentRow, target: str) -> None:
        now = self._clock.now()
        async with self._store() as uow:
            kb = await uow.knowledge_bases.get(document.tenant_id, document.knowledge_base_id)
            if kb is not None and target not in (kb.embedding_space, kb.pending_space):
                # The knowledge base switched spaces while this document was embedded into the old one: let it
                # go, to be taken again and embedded into the space search uses now.
                await self._save(uow, replace(document, lease_owner=None, lease_until=None, updated_at=now))
                return
            ready = replace(document, status="ready", chunks_done=document.chunks_total, embedding_space=target,
                            error_code=None, error_reason=None, lease_owner=None, lease_until=None, attempts=0,
                            updated_at=now)
            await self._save(uow, ready, progress_event(ready), DocumentIngested(
                knowledge_base_id=ready.knowledge_base_id, document_id=ready.id, chunks=ready.chunks_total,
                pages=ready.pages, embedding_space=target))
        DOCUMENTS_INGESTED.labels(SERVICE, "ready").inc()
        CHUNKS_INGESTED.labels(SERVICE).inc(ready.chunks_total)

    async def _fail(self, document: DocumentRow, target: str, code: str, reason: str) -> None:
        async with self._store.reading() as repos:
            current = await repos.documents.get(document.tenant_id, document.id)
        if current is None or current.lease_owner != self._owner:
            return
        failed = replace(current, status="failed", error_code=code, error_reason=reason, lease_owner=None,
                         lease_until=None, updated_at=self._clock.now())
        if current.status != "ready":
            # Half-written vectors of a document that will not be searchable.
            await self._index.delete_document(target, current.tenant_id, current.id)
        try:
            await self._write(failed, progress_event(failed), DocumentFailed(
                knowledge_base_id=failed.knowledge_base_id, document_id=failed.id, code=code, reason=reason))
        except LeaseLost:
            return
        DOCUMENTS_INGESTED.labels(SERVICE, "failed").inc()

    async def _retry(self, document: DocumentRow, target: str, reason: str) -> None:
        async with self._store.reading() as repos:
            current = await repos.documents.get(document.tenant_id, document.id)
        if current is None or current.lease_owner != self._owner:
            return
        if current.attempts >= self._config.max_attempts:
            await self._fail(current, target, "embedding_failed", reason)
            return
        backoff = self._config.backoff_s[min(current.attempts, len(self._config.backoff_s)) - 1]
        try:
            # The status stays; the lease's end becomes the earliest time of the next attempt.
            await self._write(replace(current, lease_owner=None, error_reason=reason, updated_at=self._clock.now(),
                                      lease_until=self._clock.now() + timedelta(seconds=backoff)))
        except LeaseLost:
            return

    async def _status(self, document: DocumentRow) -> DocumentRow:
        await self._write(document, progress_event(document))
        return document

    async def _write(self, document: DocumentRow, *events: Event) -> None:
        async with self._store() as uow:
            await self._save(uow, document, *events)

    async def _save(self, uow: UnitOfWork, document: DocumentRow, *events: Event) -> None:
        if not await uow.documents.save(document, holder=self._owner):
            raise LeaseLost(document.id)
        for event in events:
            await uow.emit(event, tenant_id=document.tenant_id)
