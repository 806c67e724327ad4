"""Adding a document to a knowledge base: uploaded, or a page fetched once. The gateway decides what the
bytes are (``domain/documents.py``), stores them in the documents bucket of the JetStream object store under
a name made of tenant, knowledge base and content hash, and registers them with knowledge-ingest, which
ingests them in the background. The same bytes twice are one document (knowledge-ingest answers with the
existing one), and one object: a blob already stored is not written again."""

from __future__ import annotations

import logging
from typing import Protocol

from afo_common.messaging.blobs import document_blob_name, sha256_hex
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.documents import Upload, media_type_of, safe_name
from afo_gateway.domain.errors import ApiProblem, Unavailable, UpstreamTimeout
from afo_gateway.domain.fetch_policy import FetchedPage
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import Quotas

log = logging.getLogger(__name__)


class Blobs(Protocol):
    """The documents bucket (``afo_common.messaging.blobs.BlobStore``)."""

    async def put(self, name: str, data: bytes) -> None: ...
    async def exists(self, name: str) -> bool: ...
    async def delete(self, name: str) -> None: ...


class Fetcher(Protocol):
    """Fetches a page behind the SSRF guard (``adapters/page_fetcher.py``)."""

    async def fetch(self, url: str) -> FetchedPage: ...


class Documents:
    def __init__(self, owners: Owners, blobs: Blobs, fetcher: Fetcher, quotas: Quotas, audit: AuditTrail) -> None:
        self._quotas = quotas
        self._audit = audit
        self._owners = owners
        self._blobs = blobs
        self._fetcher = fetcher

    async def upload(self, principal: Principal, knowledge_base_id: str, upload: Upload) -> ki.AddedDocument:
        require(principal, Permission.WRITE)
        await self._knowledge_base(principal, knowledge_base_id)
        return await self._add(principal, knowledge_base_id, upload, source_url=None)

    async def fetch(self, principal: Principal, knowledge_base_id: str, url: str) -> ki.AddedDocument:
        require(principal, Permission.WRITE)
        # Before the fetch: nothing is fetched on behalf of a knowledge base that is not the caller's.
        await self._knowledge_base(principal, knowledge_base_id)
        page = await self._fetcher.fetch(url)
        upload = Upload(page.name, page.content_type, page.data)
        return await self._add(principal, knowledge_base_id, upload, source_url=url)

    async def _knowledge_base(self, principal: Principal, knowledge_base_id: str) -> None:
        """404 unless it is one of the principal's tenant's knowledge bases."""
        await self._owners.call(ki.GET_KNOWLEDGE_BASE, ki.KnowledgeBaseRef(
            tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id))

    async def _add(self, principal: Principal, knowledge_base_id: str, upload: Upload,
                   source_url: str | None) -> ki.AddedDocument:
        name = safe_name(upload.name)
        media_type = media_type_of(upload.data, name, upload.declared_type)
        await self._quotas.admit_document(principal, len(upload.data))
        digest = sha256_hex(upload.data)
        blob = document_blob_name(principal.tenant_id, knowledge_base_id, digest)
        stored_before = await self._store(blob, upload.data)
        request = ki.AddDocument(tenant_id=principal.tenant_id, knowledge_base_id=knowledge_base_id, name=name,
                                 media_type=media_type, size_bytes=len(upload.data), sha256=digest, blob=blob,
                                 source_url=source_url)
        try:
            # Asked once more after a timeout: the same bytes register as the same document, never twice.
            added = await self._owners.create(ki.ADD_DOCUMENT, request)
        except UpstreamTimeout:
            # It may have been registered after all, and then knowledge-ingest needs the blob: kept.
            log.warning("document %s: registration timed out twice; blob %s kept", digest[:12], blob)
            raise
        except ApiProblem:
            if not stored_before:
                await self._forget(blob)
            raise
        if added.created:  # the same bytes again add nothing: nothing to audit
            await self._audit.changed(principal, "document.create", f"{knowledge_base_id}/{added.document.id}")
        return added

    async def _store(self, blob: str, data: bytes) -> bool:
        """Put the blob unless it is there already (the same bytes, by its name); whether it was."""
        try:
            if await self._blobs.exists(blob):
                return True
            await self._blobs.put(blob, data)
        except Exception as exc:  # the object store's failures are NATS's: retryable, a 503
            log.warning("document store failed on %s: %s", blob, type(exc).__name__)
            raise Unavailable("the document store is unavailable; retry the upload") from exc
        return False

    async def _forget(self, blob: str) -> None:
        try:
            await self._blobs.delete(blob)
        except Exception:  # the registration's failure is the answer; an orphan blob is only space
            log.exception("could not delete blob %s after its registration failed", blob)
