"""knowledge-ingest's handlers wired on the fakes of ``adapters/fakes.py`` over a given store: what the
handler tests drive (on the in-memory store, SQLite and PostgreSQL alike), and a composition root for fakes."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.events import Envelope
from afo_common.messaging.blobs import document_blob_name
from afo_common.rpcs.knowledge_ingest import AddDocument, AddedDocument, CreateKnowledgeBase, Embedding
from afo_knowledge_ingest.adapters.fakes import FakeBlobs, FakeEmbedder, FakeSparseEncoder, FakeVectorIndex, read_text
from afo_knowledge_ingest.domain.spaces import space_name
from afo_knowledge_ingest.handlers.documents import DocumentHandlers
from afo_knowledge_ingest.handlers.embedders import EmbedderRegistry
from afo_knowledge_ingest.handlers.ingest import IngestConfig, IngestWorker
from afo_knowledge_ingest.handlers.knowledge_bases import KnowledgeBaseHandlers
from afo_knowledge_ingest.handlers.ports import DocumentReader
from afo_knowledge_ingest.handlers.search import SearchHandler
from afo_knowledge_ingest.handlers.unit_of_work import Store

TENANT = "ten_kb_a"
OTHER = "ten_kb_b"
OPENAI_MODEL = "text-embedding-3-small"


class Kit:
    """A store with every handler on it and the fakes they were given."""

    def __init__(self, store: Store, committed: Callable[[], Awaitable[list[Envelope]]], clock: Any) -> None:
        self.store = store
        self.committed = committed
        self.clock = clock  # afo_testkit's FixedClock in tests: ``advance`` moves it
        self.index = FakeVectorIndex()
        self.blobs = FakeBlobs()
        self.embedded = FakeEmbedder()
        self.openai = FakeEmbedder(space=space_name("openai", OPENAI_MODEL), dimension=24)
        self.embedders = EmbedderRegistry(lambda: self.embedded, lambda model: self.openai, FakeSparseEncoder())
        self.wakes = 0
        self.knowledge_bases = KnowledgeBaseHandlers(store, self.clock, self.embedders, self.index, self.blobs,
                                                     self._wake)
        self.documents = DocumentHandlers(store, self.clock, self.blobs, self.index, self._wake)
        self.search = SearchHandler(store, self.embedders, self.index)

    def _wake(self) -> None:
        self.wakes += 1

    def worker(self, owner: str = "worker-1", reader: DocumentReader = read_text, **config: Any) -> IngestWorker:
        """A worker on the kit's fakes; ``reader`` parses and chunks (plain paragraphs by default, or the
        service's own ``read_document``)."""
        settings = IngestConfig(**{"batch_size": 2, "backoff_s": (5.0, 10.0), **config})
        return IngestWorker(self.store, self.clock, self.blobs, reader, self.embedders, self.index, owner,
                            settings)

    async def kb(self, name: str = "Docs", tenant_id: str = TENANT, provider: str = "embedded") -> str:
        model = OPENAI_MODEL if provider == "openai" else "all-MiniLM-L6-v2"
        embedding = Embedding.model_validate({"provider": provider, "model": model})
        made = await self.knowledge_bases.create(CreateKnowledgeBase(tenant_id=tenant_id, name=name,
                                                                     embedding=embedding))
        return made.id

    async def upload(self, kb_id: str, data: bytes, name: str = "notes.txt", tenant_id: str = TENANT,
                     media_type: str = "text/plain") -> AddedDocument:
        sha = hashlib.sha256(data).hexdigest()
        blob = document_blob_name(tenant_id, kb_id, sha)
        self.blobs.objects[blob] = data
        return await self.documents.add(AddDocument(tenant_id=tenant_id, knowledge_base_id=kb_id, name=name,
                                                    media_type=media_type, size_bytes=len(data), sha256=sha,
                                                    blob=blob))

    async def drain(self, worker: IngestWorker | None = None, limit: int = 50) -> int:
        """Run a worker until it finds nothing to do; returns how many documents it took."""
        worker = worker or self.worker()
        for taken in range(limit):
            if not await worker.run_once():
                return taken
        raise AssertionError("the worker never ran out of work")

    async def events(self, kind: str | None = None) -> list[Envelope]:
        return [e for e in await self.committed() if kind is None or e.type == f"afo.knowledge.{kind}.v1"]
