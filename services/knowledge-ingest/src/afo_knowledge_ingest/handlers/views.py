"""Rows to the contract views knowledge-ingest answers with."""

from __future__ import annotations

from afo_common.rpcs.knowledge_ingest import DocumentError, DocumentView, Embedding, KnowledgeBaseView
from afo_knowledge_ingest.domain.records import DocumentRow, KnowledgeBaseRow, progress


def knowledge_base_view(row: KnowledgeBaseRow, document_count: int) -> KnowledgeBaseView:
    embedding = Embedding.model_validate({"provider": row.embedding_provider, "model": row.embedding_model})
    return KnowledgeBaseView(id=row.id, name=row.name, description=row.description, embedding=embedding,
                             status=row.status, document_count=document_count, created_at=row.created_at,
                             updated_at=row.updated_at)


def document_view(row: DocumentRow) -> DocumentView:
    # A retry's last error is kept on the row while it waits; it is the document's error only once it failed.
    error = (DocumentError(code=row.error_code or "failed", reason=row.error_reason or "")
             if row.status == "failed" else None)
    return DocumentView(
        id=row.id, knowledge_base_id=row.knowledge_base_id, name=row.name, media_type=row.media_type,
        size_bytes=row.size_bytes, sha256=row.sha256, source_url=row.source_url, status=row.status,
        progress=progress(row.status, row.chunks_done, row.chunks_total), chunks_done=row.chunks_done,
        chunks_total=row.chunks_total, pages=row.pages, title=row.title, error=error,
        created_at=row.created_at, updated_at=row.updated_at,
    )
