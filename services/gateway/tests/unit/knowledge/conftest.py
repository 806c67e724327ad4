"""The knowledge-base API against stand-ins on a real nats-server: knowledge-ingest answering its RPCs from
a dict (``ki``), the documents bucket of the JetStream object store (``bucket``), a gateway replica built by
the composition root (``kb``), and a local web site for page fetches (``site``)."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from afo_common.events.streams import DOCUMENTS_BUCKET
from afo_common.messaging.blobs import ensure_buckets
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import knowledge_ingest as ki
from afo_common.rpcs.pages import Page
from afo_testkit.local_server import serving
from afo_testkit.rpc_stand_ins import answer_rpcs

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class KnowledgeIngest:
    """knowledge-ingest as the gateway sees it: every RPC answered from memory, tenant by tenant."""

    bases: dict[str, tuple[str, ki.KnowledgeBaseView]] = field(default_factory=dict)
    documents: dict[str, tuple[str, ki.DocumentView]] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)
    add_error: RpcError | None = None
    hits: list[ki.SearchHit] = field(default_factory=list)

    def called(self, op: RpcOperation[Any, Any]) -> list[Any]:
        return [request for name, request in self.calls if name == op.name]

    def _base(self, tenant_id: str, kb_id: str) -> ki.KnowledgeBaseView:
        owner, view = self.bases.get(kb_id, ("", None))
        if view is None or owner != tenant_id:
            raise RpcError("not_found", f"knowledge base {kb_id} not found")
        return view

    async def create(self, r: ki.CreateKnowledgeBase) -> ki.KnowledgeBaseView:
        kb_id = f"kb_{hashlib.sha256((r.request_id or str(len(self.bases))).encode()).hexdigest()[:12]}"
        if kb_id not in self.bases:
            self.bases[kb_id] = (r.tenant_id, ki.KnowledgeBaseView(
                id=kb_id, name=r.name, description=r.description, embedding=r.embedding, status="ready",
                document_count=0, created_at=NOW, updated_at=NOW))
        return self.bases[kb_id][1]

    async def get(self, r: ki.KnowledgeBaseRef) -> ki.KnowledgeBaseView:
        return self._base(r.tenant_id, r.knowledge_base_id)

    async def list(self, r: ki.ListKnowledgeBases) -> Page[ki.KnowledgeBaseView]:
        return Page(data=[v for t, v in self.bases.values() if t == r.tenant_id][: r.limit])

    async def update(self, r: ki.UpdateKnowledgeBase) -> ki.KnowledgeBaseView:
        view = self._base(r.tenant_id, r.knowledge_base_id)
        changed = view.model_copy(update={k: v for k, v in
                                          (("name", r.name), ("description", r.description)) if v is not None})
        self.bases[view.id] = (r.tenant_id, changed)
        return changed

    async def delete(self, r: ki.KnowledgeBaseRef) -> ki.Deleted:
        self._base(r.tenant_id, r.knowledge_base_id)
        del self.bases[r.knowledge_base_id]
        return ki.Deleted(id=r.knowledge_base_id)

    async def check(self, r: ki.CheckKnowledgeBases) -> ki.CheckedKnowledgeBases:
        return ki.CheckedKnowledgeBases(missing=[i for i in r.knowledge_base_ids
                                                 if self.bases.get(i, ("",))[0] != r.tenant_id])

    async def add(self, r: ki.AddDocument) -> ki.AddedDocument:
        self._base(r.tenant_id, r.knowledge_base_id)
        if self.add_error is not None:
            raise self.add_error
        for tenant, doc in self.documents.values():
            if tenant == r.tenant_id and doc.knowledge_base_id == r.knowledge_base_id and doc.sha256 == r.sha256:
                return ki.AddedDocument(document=doc, created=False)
        doc = ki.DocumentView(
            id=f"doc_{r.sha256[:12]}", knowledge_base_id=r.knowledge_base_id, name=r.name, media_type=r.media_type,
            size_bytes=r.size_bytes, sha256=r.sha256, source_url=r.source_url, status="queued", progress=0.0,
            chunks_done=0, chunks_total=0, pages=None, title=None, error=None, created_at=NOW, updated_at=NOW)
        self.documents[doc.id] = (r.tenant_id, doc)
        return ki.AddedDocument(document=doc, created=True)

    def _document(self, r: ki.DocumentRef) -> ki.DocumentView:
        self._base(r.tenant_id, r.knowledge_base_id)
        tenant, doc = self.documents.get(r.document_id, ("", None))
        if doc is None or tenant != r.tenant_id or doc.knowledge_base_id != r.knowledge_base_id:
            raise RpcError("not_found", f"document {r.document_id} not found")
        return doc

    async def get_document(self, r: ki.DocumentRef) -> ki.DocumentView:
        return self._document(r)

    async def list_documents(self, r: ki.ListDocuments) -> Page[ki.DocumentView]:
        self._base(r.tenant_id, r.knowledge_base_id)
        return Page(data=[d for t, d in self.documents.values() if t == r.tenant_id
                          and d.knowledge_base_id == r.knowledge_base_id and r.status in (None, d.status)])

    async def measure(self, r: ki.MeasureKnowledge) -> ki.KnowledgeSize:
        sizes = [d.size_bytes for t, d in self.documents.values() if t == r.tenant_id]
        return ki.KnowledgeSize(documents=len(sizes), size_bytes=sum(sizes))

    async def delete_document(self, r: ki.DocumentRef) -> ki.Deleted:
        del self.documents[self._document(r).id]
        return ki.Deleted(id=r.document_id)

    async def search(self, r: ki.Search) -> ki.SearchResult:
        for kb_id in r.knowledge_base_ids:
            self._base(r.tenant_id, kb_id)
        return ki.SearchResult(hits=self.hits[: r.top_k])

    def handlers(self) -> dict[RpcOperation[Any, Any], Callable[[Any], Awaitable[BaseModel]]]:
        return {ki.CREATE_KNOWLEDGE_BASE: self.create, ki.GET_KNOWLEDGE_BASE: self.get,
                ki.LIST_KNOWLEDGE_BASES: self.list, ki.UPDATE_KNOWLEDGE_BASE: self.update,
                ki.DELETE_KNOWLEDGE_BASE: self.delete, ki.CHECK_KNOWLEDGE_BASES: self.check,
                ki.ADD_DOCUMENT: self.add, ki.GET_DOCUMENT: self.get_document,
                ki.LIST_DOCUMENTS: self.list_documents, ki.DELETE_DOCUMENT: self.delete_document,
                ki.MEASURE_KNOWLEDGE: self.measure, ki.SEARCH: self.search}


@pytest.fixture
async def ki_stand_in(connection: NatsConnection) -> KnowledgeIngest:
    stand_in = KnowledgeIngest()
    await answer_rpcs(connection, stand_in.handlers(), stand_in.calls)
    assert {op.name for op in stand_in.handlers()} == {op.name for op in ki.OPERATIONS}
    return stand_in


@pytest.fixture
async def bucket(connection: NatsConnection) -> ObjectStore:
    """The documents bucket, provisioned as ``afo streams ensure`` does."""
    await ensure_buckets(connection.js)
    return await connection.js.object_store(DOCUMENTS_BUCKET)


@dataclass
class LocalSite:
    """A web site on 127.0.0.1 over real HTTP: ``pages[path] = (status, headers, body)``; ``hosts`` records
    each request's path and Host header; ``delay_s`` holds every answer back."""

    pages: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    delay_s: float = 0.0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, request: Request) -> Response:
        self.hosts.append((request.url.path, request.headers.get("host", "")))
        await asyncio.sleep(self.delay_s)
        status, headers, body = self.pages.get(request.url.path, (404, {}, b"not here"))
        return Response(body, status_code=status, headers=headers)


@pytest.fixture
async def site() -> AsyncIterator[LocalSite]:
    local = LocalSite()
    async with serving(Starlette(routes=[Route("/{path:path}", local._serve)])) as port:
        local.port = port
        yield local


@dataclass
class Tenant:
    client: httpx.AsyncClient
    auth: dict[str, str]
    tenant_id: str
    kb_id: str = ""


@dataclass
class KnowledgeApi:
    """A running gateway with knowledge-ingest's stand-in and the bucket, and a tenant with a knowledge base."""

    gateways: Any
    ki: KnowledgeIngest
    bucket: ObjectStore
    service: Any = None

    async def start(self) -> None:
        self.service = await self.gateways.start()

    async def tenant(self) -> Tenant:
        client = await self.gateways.client(self.service)
        owner = await self.gateways.sign_up(client)
        made = await client.post("/v1/knowledge-bases", headers=owner.auth, json={"name": "FAQ"})
        assert made.status_code == 201, made.text
        return Tenant(client, owner.auth, owner.tenant_id, made.json()["id"])

    async def blob(self, name: str) -> bytes | None:
        try:
            return bytes((await self.bucket.get(name)).data or b"")
        except ObjectNotFoundError:
            return None


@pytest.fixture
async def kb(gateways: Any, ki_stand_in: KnowledgeIngest, bucket: ObjectStore,
             monkeypatch: pytest.MonkeyPatch) -> KnowledgeApi:
    """Not started: a test may set AFO_MAX_UPLOAD_BYTES or AFO_FETCH_ALLOW_PRIVATE first."""
    monkeypatch.setenv("AFO_FETCH_TIMEOUT_S", "5")
    return KnowledgeApi(gateways, ki_stand_in, bucket)
