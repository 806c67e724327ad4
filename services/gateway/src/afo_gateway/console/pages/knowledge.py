"""Knowledge bases and their documents. The upload goes straight to the public API from the browser
(``console.js``), which shows its progress; the documents' part of the page is fetched again while any is
still being read, and when the live feed reports a document's progress."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from afo_common.rpcs.knowledge_ingest import Embedding
from afo_gateway.console.forms import posted, text
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer
from afo_gateway.domain.errors import ApiProblem
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
SETTLED = frozenset({"ready", "failed"})


@router.get("/knowledge")
async def knowledge_bases(request: Request, viewer: CurrentViewer) -> Response:
    page = await gateway(request).knowledge.knowledge_bases(viewer.principal, 100, None)
    return render(request, "knowledge/list.html", bases=page.data)


@router.post("/knowledge")
async def create_knowledge_base(request: Request, viewer: CurrentViewer) -> Response:
    gw = gateway(request)
    form = await posted(request)
    try:
        created = await gw.knowledge.create(viewer.principal, text(form, "name", max_length=120),
                                            text(form, "description", max_length=2000), Embedding(),
                                            text(form, "request_id", max_length=64) or str(uuid.uuid4()))
    except ApiProblem as problem:
        page = await gw.knowledge.knowledge_bases(viewer.principal, 100, None)
        return render(request, "knowledge/list.html", problem.status, bases=page.data, error=problem.detail)
    return redirect(request, f"/console/knowledge/{created.id}")


@router.get("/knowledge/{knowledge_base_id}")
async def knowledge_base(request: Request, viewer: CurrentViewer, knowledge_base_id: str) -> Response:
    gw = gateway(request)
    base = await gw.knowledge.get(viewer.principal, knowledge_base_id)
    documents = await gw.knowledge.documents(viewer.principal, knowledge_base_id, 100, None, None)
    return render(request, "knowledge/detail.html", base=base, documents=documents.data,
                  settling=any(d.status not in SETTLED for d in documents.data),
                  max_upload_bytes=gw.max_upload_bytes)


@router.get("/knowledge/{knowledge_base_id}/documents")
async def documents(request: Request, viewer: CurrentViewer, knowledge_base_id: str) -> Response:
    """The documents' table alone: what the page fetches again while documents are being read."""
    page = await gateway(request).knowledge.documents(viewer.principal, knowledge_base_id, 100, None, None)
    return render(request, "knowledge/documents.html", base_id=knowledge_base_id, documents=page.data,
                  settling=any(d.status not in SETTLED for d in page.data))
