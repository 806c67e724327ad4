"""The knowledge-ingest database: knowledge bases, documents and their chunks, beside the outbox and inbox."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from afo_common.db import UtcDateTime, new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)

knowledge_bases = Table(
    "knowledge_bases",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("name", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("embedding_provider", String(16), nullable=False),
    Column("embedding_model", String(100), nullable=False),
    # What search uses; ``pending_space`` is filled while re-embedding and replaces it when complete.
    Column("embedding_space", String(400), nullable=False),
    Column("pending_space", String(400), nullable=True),
    Column("status", String(16), nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_knowledge_bases_tenant_id_id", "tenant_id", "id"),
    # A retried create (same request id) finds the knowledge base the first attempt made.
    UniqueConstraint("tenant_id", "request_id", name="uq_knowledge_bases_tenant_id_request_id"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("knowledge_base_id", String(40), nullable=False),
    Column("name", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob", String(400), nullable=False),
    Column("source_url", String(2048), nullable=True),
    Column("title", String(500), nullable=True),
    Column("pages", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("chunks_total", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_reason", Text, nullable=True),
    Column("embedding_space", String(400), nullable=True),
    # The ingest worker's lease: who holds the document and until when; an expired lease is taken over.
    # A transient failure leaves the owner empty and the time in the future: the retry's backoff.
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The same bytes twice in one knowledge base are one document, decided by the database under races.
    UniqueConstraint("tenant_id", "knowledge_base_id", "sha256", name="uq_documents_tenant_id_kb_sha256"),
    Index("ix_documents_tenant_id_knowledge_base_id_id", "tenant_id", "knowledge_base_id", "id"),
    Index("ix_documents_status_lease_until", "status", "lease_until"),
)

chunks = Table(
    "chunks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("document_id", String(40), nullable=False),
    Column("knowledge_base_id", String(40), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("heading", Text, nullable=True),
    Column("page", Integer, nullable=True),
    Column("char_count", Integer, nullable=False),
    # Null until its vector is written; then the space it was written in.
    Column("embedded_space", String(400), nullable=True),
    # Its sentences worth scoring (a JSON list of texts, in order) and their vectors, int8 of the unit
    # vector, one after another (``domain/sentence_vectors.py``), in ``sentence_space``; written with the
    # chunk's vector, null before.
    Column("sentence_space", String(400), nullable=True),
    Column("sentence_texts", Text, nullable=True),
    Column("sentence_vectors", LargeBinary, nullable=True),
    Index("ix_chunks_document_id_ordinal", "document_id", "ordinal"),
    Index("ix_chunks_tenant_id_knowledge_base_id", "tenant_id", "knowledge_base_id"),
)
