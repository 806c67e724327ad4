"""What knowledge-ingest's handlers need of storage: one Protocol per repository, the repositories together
(``Repositories``, for reads), the unit of work (the same plus ``emit``/``after_commit``) and the store that
opens both. ``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the
handler tests run on both.

Every method of ``KnowledgeBases``, ``Documents`` and ``Chunks`` takes the tenant and filters by it.
``IngestQueue`` is the one exception, on purpose: it is the ingest worker's queue over every tenant, and
what it hands out carries its tenant, which every later call then uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from afo_common.events.knowledge import DocumentStatus
from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_knowledge_ingest.domain.records import ChunkRow, Claimed, DocumentRow, KnowledgeBaseRow
from afo_knowledge_ingest.domain.sentence_vectors import SentenceVectors


class KnowledgeBases(Protocol):
    async def add(self, row: KnowledgeBaseRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has a knowledge base with the row's request id."""
        ...

    async def by_request(self, tenant_id: str, request_id: str) -> KnowledgeBaseRow | None: ...

    async def get(self, tenant_id: str, knowledge_base_id: str) -> KnowledgeBaseRow | None: ...

    async def existing(self, tenant_id: str, ids: Sequence[str]) -> list[KnowledgeBaseRow]: ...

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[KnowledgeBaseRow]: ...

    async def save(self, row: KnowledgeBaseRow) -> None:
        """Writes name, description, embedding, spaces, status and updated_at of the tenant's row."""
        ...

    async def delete(self, tenant_id: str, knowledge_base_id: str) -> None: ...


class Documents(Protocol):
    async def add(self, row: DocumentRow) -> None:
        """Raises ``DuplicateDocument`` when the knowledge base holds a document with the same sha256."""
        ...

    async def get(self, tenant_id: str, document_id: str) -> DocumentRow | None: ...

    async def by_sha256(self, tenant_id: str, knowledge_base_id: str, sha256: str) -> DocumentRow | None: ...

    async def page(self, tenant_id: str, knowledge_base_id: str, limit: int, before: str | None,
                   status: DocumentStatus | None) -> list[DocumentRow]: ...

    async def of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> list[DocumentRow]: ...

    async def counts(self, tenant_id: str, knowledge_base_ids: Sequence[str]) -> dict[str, int]: ...

    async def size(self, tenant_id: str) -> tuple[int, int]:
        """The tenant's documents: how many, and their bytes."""
        ...

    async def save(self, row: DocumentRow, holder: str | None = None) -> bool:
        """Writes every changing column of the tenant's row; with ``holder``, only while that worker still
        holds its lease. False when nothing was written (deleted, or the lease was taken over)."""
        ...

    async def delete(self, tenant_id: str, document_id: str) -> None: ...

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None: ...

    async def outside_space(self, tenant_id: str, knowledge_base_id: str, space: str) -> int:
        """How many documents (failed ones aside) are not yet complete in ``space``."""
        ...


class Chunks(Protocol):
    async def replace(self, tenant_id: str, document_id: str, rows: Sequence[ChunkRow]) -> None: ...

    async def unembedded(self, tenant_id: str, document_id: str, space: str, limit: int) -> list[ChunkRow]:
        """The next chunks, in order, whose vector is not written in ``space``."""
        ...

    async def mark_embedded(self, tenant_id: str, chunk_ids: Sequence[str], space: str) -> None: ...

    async def write_sentences(self, tenant_id: str, sentences: Mapping[str, SentenceVectors]) -> None:
        """Each chunk's (by id) sentences and their vectors, replacing any of another space."""
        ...

    async def sentences(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, SentenceVectors]:
        """The sentences of those of the tenant's chunks that have them written, by chunk id."""
        ...

    async def embedded(self, tenant_id: str, document_id: str, space: str) -> int: ...

    async def delete_of_document(self, tenant_id: str, document_id: str) -> None: ...

    async def delete_of_knowledge_base(self, tenant_id: str, knowledge_base_id: str) -> None: ...


class IngestQueue(Protocol):
    async def claim(self, owner: str, now: datetime, until: datetime) -> Claimed | None:
        """The oldest document with work left whose lease is free or expired, now leased to ``owner`` until
        ``until`` with one more attempt counted; None when there is none. Work left: queued, parsing or
        embedding, or ready but not complete in its knowledge base's pending space."""
        ...

    async def switchable(self) -> list[KnowledgeBaseRow]:
        """Knowledge bases re-embedding whose documents are all complete in the pending space."""
        ...

    async def release_leases(self) -> int:
        """Free every held lease (a retry's backoff, held by no one, stays): how many were freed."""
        ...


class Repositories(Protocol):
    @property
    def knowledge_bases(self) -> KnowledgeBases: ...

    @property
    def documents(self) -> Documents: ...

    @property
    def chunks(self) -> Chunks: ...

    @property
    def queue(self) -> IngestQueue: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it) and after-commit
    callbacks."""


Store = GenericStore[UnitOfWork, Repositories]
