"""Search on every backend (``conftest.py``): tenant isolation, unknown bases, relevance, modes."""

from __future__ import annotations

import pytest

from afo_common.rpcs.knowledge_ingest import Search
from afo_knowledge_ingest.adapters.components import read_document
from afo_knowledge_ingest.domain.errors import NotFound
from afo_knowledge_ingest.testing import OTHER, TENANT, Kit


async def test_hits_carry_text_source_and_a_relevance_in_range(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, b"Our pricing starts at 10 euros\n\nThe office is in Paris", name="facts.txt")
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="pricing euros"))

    top = result.hits[0]
    assert top.text == "Our pricing starts at 10 euros" and top.source.title == "facts.txt"
    assert top.relevance is not None and 0.0 < top.relevance <= 1.0
    assert top.relevance > (result.hits[1].relevance or 0.0)


async def test_another_tenants_documents_are_never_found(kit: Kit) -> None:
    mine, theirs = await kit.kb(), await kit.kb(tenant_id=OTHER)
    await kit.upload(mine, b"apples are red")
    await kit.upload(theirs, b"apples are green", tenant_id=OTHER)
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[mine], query="apples"))

    assert [h.text for h in result.hits] == ["apples are red"]
    with pytest.raises(NotFound, match=theirs):
        await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[mine, theirs], query="apples"))


async def test_unknown_knowledge_bases_are_named(kit: Kit) -> None:
    kb = await kit.kb()

    with pytest.raises(NotFound) as raised:
        await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb, "kb_a", "kb_b"], query="q"))

    assert raised.value.idents == ["kb_a", "kb_b"]


async def test_sparse_mode_embeds_no_query_and_has_no_relevance(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, b"apples are red")
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="apples",
                                            mode="sparse"))

    assert [h.relevance for h in result.hits] == [None] and kit.embedded.queries == []


async def test_knowledge_bases_of_two_spaces_are_searched_each_in_its_own_and_merged(kit: Kit) -> None:
    local, remote = await kit.kb(), await kit.kb("remote", provider="openai")
    await kit.upload(local, b"apples in the local base")
    await kit.upload(remote, b"apples in the remote base")
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[local, remote], query="apples"))

    assert {h.knowledge_base_id for h in result.hits} == {local, remote}
    assert (kit.embedded.queries, kit.openai.queries) == (["apples"], ["apples"])


async def test_a_section_is_found_by_a_word_only_its_heading_holds(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, b"# Onboarding\n\nMost customers go live within two days.\n\n# Support\n\n"
                         b"Write to us on weekdays.", name="guide.md", media_type="text/markdown")
    await kit.drain(kit.worker(reader=read_document))

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="onboarding",
                                            mode="sparse"))

    assert [(h.text, h.source.heading) for h in result.hits] == [
        ("Most customers go live within two days.", "Onboarding")]  # the heading is searched, not quoted
