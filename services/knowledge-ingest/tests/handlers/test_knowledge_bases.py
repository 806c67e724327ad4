"""Knowledge bases over their handlers, on every backend (``conftest.py``)."""

from __future__ import annotations

import pytest

from afo_common.rpcs.knowledge_ingest import (
    CheckKnowledgeBases,
    CreateKnowledgeBase,
    DocumentRef,
    Embedding,
    KnowledgeBaseRef,
    ListDocuments,
    ListKnowledgeBases,
    Search,
    UpdateKnowledgeBase,
)
from afo_knowledge_ingest.adapters.fakes import FakeSparseEncoder
from afo_knowledge_ingest.domain.errors import Invalid, NotFound
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE
from afo_knowledge_ingest.handlers.embedders import EmbedderRegistry
from afo_knowledge_ingest.handlers.knowledge_bases import KnowledgeBaseHandlers
from afo_knowledge_ingest.testing import OTHER, TENANT, Kit
from afo_testkit.clock import T0


async def test_a_created_knowledge_base_reads_back_with_its_event(kit: Kit) -> None:
    made = await kit.knowledge_bases.create(CreateKnowledgeBase(tenant_id=TENANT, name="Pricing", description="d"))

    assert made.id.startswith("kb_") and (made.status, made.document_count, made.created_at) == ("ready", 0, T0)
    assert await kit.knowledge_bases.get(KnowledgeBaseRef(tenant_id=TENANT, knowledge_base_id=made.id)) == made
    (event,) = await kit.events()
    assert (event.type, event.tenantid, event.data) == (
        "afo.knowledge.base_created.v1", TENANT,
        {"knowledge_base_id": made.id, "name": "Pricing", "embedding_space": EMBEDDED_SPACE})


async def test_a_create_retried_with_its_request_id_makes_one_knowledge_base(kit: Kit) -> None:
    request = CreateKnowledgeBase(tenant_id=TENANT, name="Pricing", request_id="req-00000001")

    first, second = await kit.knowledge_bases.create(request), await kit.knowledge_bases.create(request)

    assert first.id == second.id
    assert len((await kit.knowledge_bases.list(ListKnowledgeBases(tenant_id=TENANT))).data) == 1
    assert len(await kit.events("base_created")) == 1


async def test_lists_are_paginated_by_id_descending(kit: Kit) -> None:
    ids = [await kit.kb(f"kb {i}") for i in range(3)]

    first = await kit.knowledge_bases.list(ListKnowledgeBases(tenant_id=TENANT, limit=2))
    rest = await kit.knowledge_bases.list(ListKnowledgeBases(tenant_id=TENANT, limit=2, cursor=first.next_cursor))

    # Ids made in one millisecond are not ordered among themselves (UUIDv7's random bits): by id, then.
    assert [k.id for k in first.data + rest.data] == sorted(ids, reverse=True) and rest.next_cursor is None


async def test_the_openai_provider_without_an_endpoint_is_invalid_and_says_what_to_set(kit: Kit) -> None:
    registry = EmbedderRegistry(lambda: kit.embedded, None, FakeSparseEncoder())
    handlers = KnowledgeBaseHandlers(kit.store, kit.clock, registry, kit.index, kit.blobs)

    with pytest.raises(Invalid, match="AFO_EMBEDDINGS_BASE_URL"):
        await handlers.create(CreateKnowledgeBase(tenant_id=TENANT, name="x",
                                                  embedding=Embedding(provider="openai", model="m")))
    assert await kit.events() == []


async def test_another_tenants_knowledge_base_is_not_found_by_every_operation(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, b"hello world")).document.id
    ref = KnowledgeBaseRef(tenant_id=OTHER, knowledge_base_id=kb)

    for call in (kit.knowledge_bases.get(ref), kit.knowledge_bases.delete(ref),
                 kit.knowledge_bases.update(UpdateKnowledgeBase(tenant_id=OTHER, knowledge_base_id=kb, name="x")),
                 kit.documents.list(ListDocuments(tenant_id=OTHER, knowledge_base_id=kb)),
                 kit.documents.get(DocumentRef(tenant_id=OTHER, knowledge_base_id=kb, document_id=doc)),
                 kit.documents.delete(DocumentRef(tenant_id=OTHER, knowledge_base_id=kb, document_id=doc)),
                 kit.search.search(Search(tenant_id=OTHER, knowledge_base_ids=[kb], query="hello"))):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound):
        await kit.upload(kb, b"other bytes", tenant_id=OTHER)
    checked = await kit.knowledge_bases.check(CheckKnowledgeBases(tenant_id=OTHER, knowledge_base_ids=[kb]))
    assert checked.missing == [kb]
    assert (await kit.knowledge_bases.list(ListKnowledgeBases(tenant_id=OTHER))).data == []
    assert (await kit.knowledge_bases.get(KnowledgeBaseRef(tenant_id=TENANT, knowledge_base_id=kb))).name == "Docs"


async def test_check_names_only_the_missing_ones(kit: Kit) -> None:
    kb = await kit.kb()

    checked = await kit.knowledge_bases.check(CheckKnowledgeBases(tenant_id=TENANT, knowledge_base_ids=[kb, "kb_x"]))

    assert checked.missing == ["kb_x"]


async def test_deleting_a_knowledge_base_removes_its_documents_chunks_vectors_and_blobs(kit: Kit) -> None:
    kb, keep = await kit.kb(), await kit.kb("keep")
    await kit.upload(kb, b"alpha one\n\nalpha two")
    await kit.upload(keep, b"beta one")
    await kit.drain()

    deleted = await kit.knowledge_bases.delete(KnowledgeBaseRef(tenant_id=TENANT, knowledge_base_id=kb))

    assert deleted.id == kb
    assert kit.index.count(EMBEDDED_SPACE) == 1 and len(kit.blobs.objects) == 1
    with pytest.raises(NotFound):
        await kit.knowledge_bases.get(KnowledgeBaseRef(tenant_id=TENANT, knowledge_base_id=kb))
    assert (await kit.events("base_deleted"))[0].data == {"knowledge_base_id": kb}
    async with kit.store.reading() as repos:
        assert await repos.chunks.unembedded(TENANT, "x", "y", 10) == []
        assert await repos.documents.of_knowledge_base(TENANT, kb) == []
