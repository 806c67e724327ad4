"""Knowledge bases (owned by knowledge-ingest): CRUD, documents (upload or a page fetched once), search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response

from afo_common.events.knowledge import DocumentStatus
from afo_common.rpcs.knowledge_ingest import DocumentView, KnowledgeBaseView, SearchResult
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write
from afo_gateway.entrypoints.http.openapi import problem_responses
from afo_gateway.entrypoints.http.schemas import DocumentUrlBody, KnowledgeBaseBody, KnowledgeBasePatch, SearchBody
from afo_gateway.entrypoints.http.uploads import receive_document

PREFIX = "/v1/knowledge-bases"
# The upload route reads its own body, within AFO_MAX_UPLOAD_BYTES (see uploads.py).
DOCUMENTS_PATH = r"/v1/knowledge-bases/[^/]+/documents"
router = APIRouter(prefix=PREFIX, tags=["knowledge bases"])

KbId = Annotated[str, Path(max_length=64)]
DocId = Annotated[str, Path(max_length=64)]
CreateBody = Annotated[KnowledgeBaseBody, Body(openapi_examples={"faq": {"value": {
    "name": "Product FAQ", "description": "pricing, plans, onboarding"}}})]

_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "format": "binary",
        "description": "PDF, DOCX, HTML, Markdown or plain text (UTF-8, or UTF-16 with a BOM)"}}}},
    "application/json": {"schema": DocumentUrlBody.model_json_schema()},
}}}
_UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DocumentView, "description": "these bytes were already in the knowledge base: that document"},
    **problem_responses(402),
    413: {"description": "larger than AFO_MAX_UPLOAD_BYTES (problem `document-too-large`, with `max_bytes`)"},
    415: {"description": "not a type we accept (problem `unsupported-media-type`, with `accepted`)"},
    422: {"description": "empty, malformed, or a URL that may not be fetched (`url-not-allowed`) or could "
                         "not be (`url-unreachable`)"},
}


@router.post("", status_code=201, response_model=KnowledgeBaseView)
async def create_knowledge_base(body: CreateBody, write: Write, gw: GatewayDep) -> Response:
    async def produce() -> Reply:
        return Reply(201, await gw.knowledge.create(write.principal, body.name, body.description, body.embedding,
                                                    write.request_id))

    return await write.run(produce)


@router.get("", response_model=Page[KnowledgeBaseView])
async def list_knowledge_bases(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                               cursor: Cursor = None) -> Page[KnowledgeBaseView]:
    return await gw.knowledge.knowledge_bases(principal, limit, cursor)


@router.get("/{knowledge_base_id}", response_model=KnowledgeBaseView)
async def get_knowledge_base(knowledge_base_id: KbId, principal: CurrentPrincipal,
                             gw: GatewayDep) -> KnowledgeBaseView:
    return await gw.knowledge.get(principal, knowledge_base_id)


@router.patch("/{knowledge_base_id}", response_model=KnowledgeBaseView)
async def update_knowledge_base(knowledge_base_id: KbId, body: KnowledgeBasePatch, principal: CurrentPrincipal,
                                gw: GatewayDep) -> KnowledgeBaseView:
    return await gw.knowledge.update(principal, knowledge_base_id, body.name, body.description, body.embedding)


@router.delete("/{knowledge_base_id}", status_code=204)
async def delete_knowledge_base(knowledge_base_id: KbId, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    """Deletes the knowledge base with its documents and their vectors."""
    await gw.knowledge.delete(principal, knowledge_base_id)
    return Response(status_code=204)


@router.post("/{knowledge_base_id}/documents", status_code=202, response_model=DocumentView,
             openapi_extra=_UPLOAD_BODY, responses=_UPLOAD_RESPONSES)
async def add_document(knowledge_base_id: KbId, request: Request, write: Write, gw: GatewayDep) -> Response:
    """A file as ``multipart/form-data`` (part ``file``), or JSON ``{"url": …}`` for a page fetched once.
    The type is decided from the bytes. **202** with the document, ``status: queued``: it is parsed and
    embedded in the background (poll ``GET …/documents/{id}``). **200** with the existing document when
    these same bytes are already in this knowledge base (nothing is stored twice)."""
    received = await receive_document(request, gw.max_upload_bytes)

    async def produce() -> Reply:
        if received.upload is not None:
            added = await gw.documents.upload(write.principal, knowledge_base_id, received.upload)
        else:
            assert received.url is not None
            added = await gw.documents.fetch(write.principal, knowledge_base_id, received.url)
        return Reply(202 if added.created else 200, added.document)

    return await write.run(produce, body=received.fingerprint)


@router.get("/{knowledge_base_id}/documents", response_model=Page[DocumentView])
async def list_documents(knowledge_base_id: KbId, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                         cursor: Cursor = None, status: Annotated[DocumentStatus | None, Query()] = None
                         ) -> Page[DocumentView]:
    return await gw.knowledge.documents(principal, knowledge_base_id, limit, cursor, status)


@router.get("/{knowledge_base_id}/documents/{document_id}", response_model=DocumentView)
async def get_document(knowledge_base_id: KbId, document_id: DocId, principal: CurrentPrincipal,
                       gw: GatewayDep) -> DocumentView:
    """``status`` runs ``queued → parsing → embedding → ready`` (or ``failed``, with ``error{code, reason}``);
    ``progress`` is 0 to 1, with ``chunks_done`` of ``chunks_total``."""
    return await gw.knowledge.document(principal, knowledge_base_id, document_id)


@router.delete("/{knowledge_base_id}/documents/{document_id}", status_code=204)
async def delete_document(knowledge_base_id: KbId, document_id: DocId, principal: CurrentPrincipal,
                          gw: GatewayDep) -> Response:
    await gw.knowledge.delete_document(principal, knowledge_base_id, document_id)
    return Response(status_code=204)


@router.post("/{knowledge_base_id}/search", response_model=SearchResult)
async def search(knowledge_base_id: KbId, body: SearchBody, principal: CurrentPrincipal,
                 gw: GatewayDep) -> SearchResult:
    """``score`` orders the hits of this query (rank fusion); ``relevance`` (cosine similarity, when the
    knowledge base has dense vectors) is comparable across queries."""
    return await gw.knowledge.search(principal, knowledge_base_id, body.query, body.top_k, body.mode)
