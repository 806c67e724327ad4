"""Events of the knowledge context (knowledge-ingest owns knowledge bases, documents and their chunks).

A document's life: ``document_uploaded`` (accepted, queued) → ``document_progress`` while it is parsed and
embedded → ``document_ingested`` or ``document_failed``; ``document_deleted`` when it goes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import KNOWLEDGE

DocumentStatus = Literal["queued", "parsing", "embedding", "ready", "failed"]


@event("knowledge.base_created", stream=KNOWLEDGE)
class KnowledgeBaseCreated(Event):
    knowledge_base_id: str
    name: str
    embedding_space: str


@event("knowledge.base_updated", stream=KNOWLEDGE)
class KnowledgeBaseUpdated(Event):
    """Its name, description or embedding model changed; a new model re-embeds every document."""

    knowledge_base_id: str
    name: str
    embedding_space: str
    reembedding: bool


@event("knowledge.base_deleted", stream=KNOWLEDGE)
class KnowledgeBaseDeleted(Event):
    knowledge_base_id: str


@event("knowledge.document_uploaded", stream=KNOWLEDGE)
class DocumentUploaded(Event):
    knowledge_base_id: str
    document_id: str
    name: str
    media_type: str
    size_bytes: int = Field(ge=0)
    sha256: str
    # Where the bytes are: an object of the documents bucket in the JetStream object store.
    blob: str
    source_url: str | None = None


@event("knowledge.document_progress", stream=KNOWLEDGE)
class DocumentProgress(Event):
    knowledge_base_id: str
    document_id: str
    status: DocumentStatus
    progress: float = Field(ge=0.0, le=1.0)
    chunks_done: int = Field(ge=0)
    chunks_total: int = Field(ge=0)


@event("knowledge.document_ingested", stream=KNOWLEDGE)
class DocumentIngested(Event):
    knowledge_base_id: str
    document_id: str
    chunks: int
    pages: int | None
    embedding_space: str


@event("knowledge.document_failed", stream=KNOWLEDGE)
class DocumentFailed(Event):
    knowledge_base_id: str
    document_id: str
    code: str
    reason: str


@event("knowledge.document_deleted", stream=KNOWLEDGE)
class DocumentDeleted(Event):
    knowledge_base_id: str
    document_id: str
