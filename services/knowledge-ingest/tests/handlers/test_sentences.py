"""Sentence vectors on every backend (``conftest.py``): written at ingestion with the chunk, scored by
``Search.with_sentences`` in order, never another tenant's, none in another space, recomputed by a re-embedding."""

from __future__ import annotations

from dataclasses import replace

from afo_common.rpcs.knowledge_ingest import Embedding, Search, UpdateKnowledgeBase
from afo_knowledge_ingest.domain.sentence_vectors import quantise
from afo_knowledge_ingest.testing import OPENAI_MODEL, OTHER, TENANT, Kit

TEXT = b"Treatment usually lasts 6 to 18 months. Yes. We offer clear aligners for adults.\n\nThe office is in Paris"


async def test_sentences_worth_scoring_are_written_at_ingestion_and_scored_in_order(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, TEXT)
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="how long is treatment",
                                            with_sentences=True))
    plain = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="how long is treatment"))

    top = next(h for h in result.hits if h.text.startswith("Treatment"))
    assert top.sentences is not None
    assert [s.text for s in top.sentences] == ["Treatment usually lasts 6 to 18 months.",
                                               "We offer clear aligners for adults."]  # "Yes." is not scored
    assert top.sentences[0].relevance > top.sentences[1].relevance
    assert all(h.sentences is None for h in plain.hits)


async def test_another_tenants_chunk_ids_are_never_loaded(kit: Kit) -> None:
    mine, theirs = await kit.kb(), await kit.kb(tenant_id=OTHER)
    await kit.upload(theirs, TEXT, tenant_id=OTHER)
    await kit.drain()
    async with kit.store.reading() as repos:
        their_ids = [c.id for c in await repos.chunks.unembedded(OTHER, (await repos.documents.of_knowledge_base(
            OTHER, theirs))[0].id, "none", 10)]
        assert their_ids and await repos.chunks.sentences(OTHER, their_ids)
        assert await repos.chunks.sentences(TENANT, their_ids) == {}
    async with kit.store() as uow:
        await uow.chunks.write_sentences(TENANT, {their_ids[0]: quantise("x", ["a b c"], [[1.0, 0.0]])})
    async with kit.store.reading() as repos:
        assert (await repos.chunks.sentences(OTHER, their_ids))[their_ids[0]].space != "x"
    assert mine


async def test_sentences_of_another_space_are_not_scored(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, TEXT)
    await kit.drain()
    async with kit.store.reading() as repos:
        doc = (await repos.documents.of_knowledge_base(TENANT, kb))[0]
        chunk_ids = [c.id for c in await repos.chunks.unembedded(TENANT, doc.id, "none", 10)]
        stored = await repos.chunks.sentences(TENANT, chunk_ids)
    async with kit.store() as uow:
        await uow.chunks.write_sentences(TENANT, {i: replace(s, space="other") for i, s in stored.items()})

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="treatment",
                                            with_sentences=True))

    assert result.hits and all(h.sentences is None for h in result.hits)


async def test_a_reembedding_recomputes_the_sentences_in_the_new_space(kit: Kit) -> None:
    kb = await kit.kb()
    await kit.upload(kb, TEXT)
    await kit.drain()
    await kit.knowledge_bases.update(UpdateKnowledgeBase(
        tenant_id=TENANT, knowledge_base_id=kb, embedding=Embedding(provider="openai", model=OPENAI_MODEL)))
    await kit.drain()

    result = await kit.search.search(Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="how long is treatment",
                                            with_sentences=True))

    top = next(h for h in result.hits if h.text.startswith("Treatment"))
    assert top.sentences is not None and len(top.sentences) == 2
    async with kit.store.reading() as repos:
        stored = await repos.chunks.sentences(TENANT, [h.chunk_id for h in result.hits])
    assert {s.space for s in stored.values()} == {kit.openai.space}
    assert all(len(s.vectors) == len(s.texts) * kit.openai.dimension for s in stored.values())

