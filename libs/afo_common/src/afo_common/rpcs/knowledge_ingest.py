"""RPC contracts of knowledge-ingest, the owner of knowledge bases, documents, chunks and their vectors.

The gateway stores an upload's bytes in the documents bucket of the JetStream object store
(``messaging.blobs``) and then registers the document here; knowledge-ingest commits it as ``queued`` with
``knowledge.document_uploaded`` and ingests it in the background. The same bytes in the same knowledge base
are one document: registering them again answers with the existing one (``created: false``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.knowledge import DocumentStatus
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "knowledge-ingest"

EMBEDDED_MODEL = "all-MiniLM-L6-v2"
# What an upload may be; the gateway refuses anything else with 415 before storing a byte.
MEDIA_TYPES: tuple[str, ...] = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/html",
    "text/markdown",
    "text/plain",
)
MediaType = Literal[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/html",
    "text/markdown",
    "text/plain",
]
SearchMode = Literal["hybrid", "dense", "sparse"]


class Embedding(BaseModel):
    """Which model makes a knowledge base's dense vectors. ``embedded`` runs all-MiniLM-L6-v2 in the
    service, offline; ``openai`` calls an OpenAI-compatible embeddings endpoint with ``model``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["embedded", "openai"] = "embedded"
    model: str = Field(default=EMBEDDED_MODEL, min_length=1, max_length=100)


class KnowledgeBaseView(BaseModel):
    id: str
    name: str
    description: str
    embedding: Embedding
    # ``reembedding`` while documents are embedded again for a new model; search keeps using the old
    # vectors until every document has its new ones.
    status: Literal["ready", "reembedding"]
    document_count: int
    created_at: datetime
    updated_at: datetime


class DocumentError(BaseModel):
    code: str
    reason: str


class DocumentView(BaseModel):
    id: str
    knowledge_base_id: str
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    source_url: str | None
    status: DocumentStatus
    progress: float
    chunks_done: int
    chunks_total: int
    pages: int | None
    title: str | None
    error: DocumentError | None
    created_at: datetime
    updated_at: datetime


class CreateKnowledgeBase(TenantRequest):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    embedding: Embedding = Embedding()
    request_id: str | None = Field(default=None, min_length=8, max_length=64)


class KnowledgeBaseRef(TenantRequest):
    knowledge_base_id: str = Field(max_length=64)


class UpdateKnowledgeBase(KnowledgeBaseRef):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    embedding: Embedding | None = None


class ListKnowledgeBases(PageRequest):
    pass


class CheckKnowledgeBases(TenantRequest):
    knowledge_base_ids: list[str] = Field(max_length=50)


class CheckedKnowledgeBases(BaseModel):
    missing: list[str]


class AddDocument(TenantRequest):
    knowledge_base_id: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=255)
    media_type: MediaType
    size_bytes: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob: str = Field(min_length=1, max_length=400)
    source_url: str | None = Field(default=None, max_length=2048)


class AddedDocument(BaseModel):
    document: DocumentView
    created: bool


class MeasureKnowledge(TenantRequest):
    """What the tenant's documents take: what its plan's knowledge size is checked against."""


class KnowledgeSize(BaseModel):
    documents: int
    size_bytes: int  # the uploaded bytes of every document of every knowledge base, as stored


class DocumentRef(KnowledgeBaseRef):
    document_id: str = Field(max_length=64)


class ListDocuments(PageRequest):
    knowledge_base_id: str = Field(max_length=64)
    status: DocumentStatus | None = None


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class Search(TenantRequest):
    knowledge_base_ids: list[str] = Field(min_length=1, max_length=20)
    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=50)
    mode: SearchMode = "hybrid"
    # Also score each sentence of every hit against the query (``SearchHit.sentences``): what an extractive
    # answer picks its sentences by. Sentence vectors are made at ingestion, so this costs no model run.
    with_sentences: bool = False


class HitSource(BaseModel):
    title: str
    page: int | None = None
    heading: str | None = None


class SentenceScore(BaseModel):
    text: str
    # Cosine similarity of the query and the sentence, in the knowledge base's dense space.
    relevance: float


class SearchHit(BaseModel):
    chunk_id: str
    document_id: str
    knowledge_base_id: str
    text: str
    # Rank-fused (RRF): orders the hits of one query, means nothing across queries.
    score: float
    # Cosine similarity of the query and the passage in the knowledge base's dense space: comparable
    # across queries, so a caller can decide that nothing found answers the question. None: no dense space.
    relevance: float | None = None
    source: HitSource
    # The hit's sentences in their order, each scored against the query; only when the search asked for
    # them (``with_sentences``) and the passage's sentence vectors are in the query's space.
    sentences: list[SentenceScore] | None = None


class SearchResult(BaseModel):
    hits: list[SearchHit]


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


CREATE_KNOWLEDGE_BASE: RpcOperation[CreateKnowledgeBase, KnowledgeBaseView] = _op(
    "knowledge_bases.create", CreateKnowledgeBase, KnowledgeBaseView
)
GET_KNOWLEDGE_BASE: RpcOperation[KnowledgeBaseRef, KnowledgeBaseView] = _op(
    "knowledge_bases.get", KnowledgeBaseRef, KnowledgeBaseView
)
LIST_KNOWLEDGE_BASES: RpcOperation[ListKnowledgeBases, Page[KnowledgeBaseView]] = _op(
    "knowledge_bases.list", ListKnowledgeBases, Page[KnowledgeBaseView]
)
UPDATE_KNOWLEDGE_BASE: RpcOperation[UpdateKnowledgeBase, KnowledgeBaseView] = _op(
    "knowledge_bases.update", UpdateKnowledgeBase, KnowledgeBaseView
)
DELETE_KNOWLEDGE_BASE: RpcOperation[KnowledgeBaseRef, Deleted] = _op(
    "knowledge_bases.delete", KnowledgeBaseRef, Deleted
)
CHECK_KNOWLEDGE_BASES: RpcOperation[CheckKnowledgeBases, CheckedKnowledgeBases] = _op(
    "knowledge_bases.check", CheckKnowledgeBases, CheckedKnowledgeBases
)
ADD_DOCUMENT: RpcOperation[AddDocument, AddedDocument] = _op("documents.add", AddDocument, AddedDocument)
GET_DOCUMENT: RpcOperation[DocumentRef, DocumentView] = _op("documents.get", DocumentRef, DocumentView)
LIST_DOCUMENTS: RpcOperation[ListDocuments, Page[DocumentView]] = _op(
    "documents.list", ListDocuments, Page[DocumentView]
)
DELETE_DOCUMENT: RpcOperation[DocumentRef, Deleted] = _op("documents.delete", DocumentRef, Deleted)
MEASURE_KNOWLEDGE: RpcOperation[MeasureKnowledge, KnowledgeSize] = _op("documents.measure", MeasureKnowledge,
                                                                       KnowledgeSize)
SEARCH: RpcOperation[Search, SearchResult] = _op("search", Search, SearchResult)

OPERATIONS: list[RpcOperation[Any, Any]] = [
    CREATE_KNOWLEDGE_BASE, GET_KNOWLEDGE_BASE, LIST_KNOWLEDGE_BASES, UPDATE_KNOWLEDGE_BASE, DELETE_KNOWLEDGE_BASE,
    CHECK_KNOWLEDGE_BASES, ADD_DOCUMENT, GET_DOCUMENT, LIST_DOCUMENTS, DELETE_DOCUMENT, MEASURE_KNOWLEDGE, SEARCH,
]
