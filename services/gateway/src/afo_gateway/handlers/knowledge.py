"""Knowledge bases, their documents and search, owned by knowledge-ingest: the gateway checks who may do
what, then asks the owner over RPC (uploads, which also store the bytes, are in ``documents.py``)."""

from __future__ import annotations

from afo_common.events.knowledge import DocumentStatus
from afo_common.rpcs import knowledge_ingest as ki
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners

# knowledge-ingest checks at most this many ids at once (``CheckKnowledgeBases``).
CHECK_BATCH = 50


class KnowledgeBases:
    def __init__(self, owners: Owners, audit: AuditTrail) -> None:
        self._owners = owners
        self._audit = audit

    async def create(self, principal: Principal, name: str, description: str, embedding: ki.Embedding,
                     request_id: str) -> ki.KnowledgeBaseView:
        require(principal, Permission.WRITE)
        request = ki.CreateKnowledgeBase(tenant_id=principal.tenant_id, name=name, description=description,
                                         embedding=embedding, request_id=request_id)
        created = await self._owners.create(ki.CREATE_KNOWLEDGE_BASE, request)
        await self._audit.changed(principal, "knowledge_base.create", created.id)
        return created

    async def get(self, principal: Principal, knowledge_base_id: str) -> ki.KnowledgeBaseView:
        require(principal, Permission.READ)
        return await self._owners.call(ki.GET_KNOWLEDGE_BASE, self._ref(principal, knowledge_base_id))

    async def knowledge_bases(self, principal: Principal, limit: int, cursor: str | None
                              ) -> Page[ki.KnowledgeBaseView]:
        require(principal, Permission.READ)
        request = ki.ListKnowledgeBases(tenant_id=principal.tenant_id, limit=limit, cursor=cursor)
        return await self._owners.call(ki.LIST_KNOWLEDGE_BASES, request)

    async def update(self, principal: Principal, knowledge_base_id: str, name: str | None,
                     description: str | None, embedding: ki.Embedding | None) -> ki.KnowledgeBaseView:
        require(principal, Permission.WRITE)
        request = ki.UpdateKnowledgeBase(tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id,
                                         name=name, description=description, embedding=embedding)
        updated = await self._owners.call(ki.UPDATE_KNOWLEDGE_BASE, request)
        await self._audit.changed(principal, "knowledge_base.update", knowledge_base_id)
        return updated

    async def delete(self, principal: Principal, knowledge_base_id: str) -> None:
        require(principal, Permission.WRITE)
        await self._owners.call(ki.DELETE_KNOWLEDGE_BASE, self._ref(principal, knowledge_base_id))
        await self._audit.changed(principal, "knowledge_base.delete", knowledge_base_id)

    async def missing(self, principal: Principal, knowledge_base_ids: list[str]) -> list[str]:
        """Which of these ids are not knowledge bases of the principal's tenant (another tenant's included)."""
        missing: list[str] = []
        unique = list(dict.fromkeys(knowledge_base_ids))
        for start in range(0, len(unique), CHECK_BATCH):
            request = ki.CheckKnowledgeBases(tenant_id=principal.tenant_id,
                                             knowledge_base_ids=unique[start:start + CHECK_BATCH])
            missing += (await self._owners.call(ki.CHECK_KNOWLEDGE_BASES, request)).missing
        return missing

    async def documents(self, principal: Principal, knowledge_base_id: str, limit: int, cursor: str | None,
                        status: DocumentStatus | None) -> Page[ki.DocumentView]:
        require(principal, Permission.READ)
        request = ki.ListDocuments(tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id,
                                   limit=limit, cursor=cursor, status=status)
        return await self._owners.call(ki.LIST_DOCUMENTS, request)

    async def document(self, principal: Principal, knowledge_base_id: str, document_id: str) -> ki.DocumentView:
        require(principal, Permission.READ)
        return await self._owners.call(ki.GET_DOCUMENT, self._doc(principal, knowledge_base_id, document_id))

    async def delete_document(self, principal: Principal, knowledge_base_id: str, document_id: str) -> None:
        require(principal, Permission.WRITE)
        await self._owners.call(ki.DELETE_DOCUMENT, self._doc(principal, knowledge_base_id, document_id))
        await self._audit.changed(principal, "document.delete", f"{knowledge_base_id}/{document_id}")

    async def search(self, principal: Principal, knowledge_base_id: str, query: str, top_k: int,
                     mode: ki.SearchMode) -> ki.SearchResult:
        # A read, though it is a POST: an operator (read only) may search.
        require(principal, Permission.READ)
        request = ki.Search(tenant_id=principal.tenant_id, knowledge_base_ids=[knowledge_base_id], query=query,
                            top_k=top_k, mode=mode)
        return await self._owners.call(ki.SEARCH, request)

    @staticmethod
    def _ref(principal: Principal, knowledge_base_id: str) -> ki.KnowledgeBaseRef:
        return ki.KnowledgeBaseRef(tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id)

    @staticmethod
    def _doc(principal: Principal, knowledge_base_id: str, document_id: str) -> ki.DocumentRef:
        return ki.DocumentRef(tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id,
                              document_id=document_id)
