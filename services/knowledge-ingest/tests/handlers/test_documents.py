"""Documents over their handlers, on every backend (``conftest.py``)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from afo_common.messaging.blobs import document_blob_name
from afo_common.rpcs.knowledge_ingest import AddDocument, DocumentRef, ListDocuments, MeasureKnowledge
from afo_knowledge_ingest.domain.errors import NotFound
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE
from afo_knowledge_ingest.testing import TENANT, Kit


def request(kb: str, data: bytes) -> AddDocument:
    sha = hashlib.sha256(data).hexdigest()
    return AddDocument(tenant_id=TENANT, knowledge_base_id=kb, name="n.txt", media_type="text/plain",
                       size_bytes=len(data), sha256=sha, blob=document_blob_name(TENANT, kb, sha))


async def test_an_upload_is_queued_with_its_event_and_wakes_the_worker(kit: Kit) -> None:
    kb = await kit.kb()

    added = await kit.upload(kb, b"hello")

    assert added.created and added.document.status == "queued" and added.document.progress == 0.0
    assert kit.wakes == 1
    (event,) = await kit.events("document_uploaded")
    assert event.data["document_id"] == added.document.id and event.data["size_bytes"] == 5


async def test_the_same_bytes_twice_are_one_document_and_one_event(kit: Kit) -> None:
    kb = await kit.kb()

    first, second = await kit.upload(kb, b"same"), await kit.upload(kb, b"same", name="again.txt")

    assert (first.created, second.created) == (True, False)
    assert second.document.id == first.document.id
    assert len(await kit.events("document_uploaded")) == 1
    assert len((await kit.documents.list(ListDocuments(tenant_id=TENANT, knowledge_base_id=kb))).data) == 1


async def test_concurrent_uploads_of_the_same_bytes_make_one_document(kit: Kit) -> None:
    kb = await kit.kb()

    results = await asyncio.gather(*(kit.documents.add(request(kb, b"raced")) for _ in range(4)))

    assert len({r.document.id for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len(await kit.events("document_uploaded")) == 1


async def test_the_tenants_knowledge_is_measured_in_stored_bytes_across_its_knowledge_bases(kit: Kit) -> None:
    first, second = await kit.kb(), await kit.kb()
    await kit.upload(first, b"hello")
    await kit.upload(first, b"hello")  # the same bytes: one document
    await kit.upload(second, b"twelve bytes")

    measured = await kit.documents.measure(MeasureKnowledge(tenant_id=TENANT))
    elsewhere = await kit.documents.measure(MeasureKnowledge(tenant_id="ten_other"))

    assert (measured.documents, measured.size_bytes) == (2, 17)
    assert (elsewhere.documents, elsewhere.size_bytes) == (0, 0)


async def test_an_upload_to_an_unknown_knowledge_base_is_not_found(kit: Kit) -> None:
    with pytest.raises(NotFound, match="kb_missing"):
        await kit.documents.add(request("kb_missing", b"x"))


async def test_a_failed_document_uploaded_again_is_queued_again(kit: Kit) -> None:
    kb = await kit.kb()
    failed = await kit.upload(kb, b"%CORRUPT bytes")
    await kit.drain()
    ref = DocumentRef(tenant_id=TENANT, knowledge_base_id=kb, document_id=failed.document.id)
    assert (await kit.documents.get(ref)).status == "failed"

    again = await kit.upload(kb, b"%CORRUPT bytes")

    assert (again.created, again.document.id, again.document.status, again.document.error) == (
        False, failed.document.id, "queued", None)
    assert (await kit.documents.get(ref)).status == "queued"


async def test_a_delete_removes_rows_vectors_and_blob_and_a_retry_after_a_failure_finishes_it(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, b"one\n\ntwo\n\nthree")).document
    other = (await kit.upload(kb, b"other")).document
    await kit.drain()
    ref = DocumentRef(tenant_id=TENANT, knowledge_base_id=kb, document_id=doc.id)
    kit.blobs.fail_deletes = 1

    with pytest.raises(ConnectionError):
        await kit.documents.delete(ref)
    assert (await kit.documents.get(ref)).status == "ready"  # nothing half-deleted in the rows
    deleted = await kit.documents.delete(ref)

    assert deleted.id == doc.id
    assert kit.index.count(EMBEDDED_SPACE, doc.id) == 0 and kit.index.count(EMBEDDED_SPACE, other.id) == 1
    assert list(kit.blobs.objects) == [document_blob_name(TENANT, kb, other.sha256)]
    with pytest.raises(NotFound):
        await kit.documents.get(ref)
    with pytest.raises(NotFound):
        await kit.documents.delete(ref)
    assert [e.data["document_id"] for e in await kit.events("document_deleted")] == [doc.id]
    async with kit.store.reading() as repos:
        assert await repos.chunks.unembedded(TENANT, doc.id, "none", 10) == []
