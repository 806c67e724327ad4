"""VectorIndex behaviour, run against the embedded (qdrant-edge) and the server (qdrant-client) adapters."""

from __future__ import annotations

import pytest

from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
from afo_knowledge_ingest.adapters.embeddings.minilm import MiniLmEmbedder
from afo_knowledge_ingest.domain.vectors import ChunkPoint, SearchMode, SparseVector, VectorIndex

# qdrant-client's local mode says it ignores payload indexes and search params: expected of a stand-in.
pytestmark = pytest.mark.filterwarnings("ignore:(Payload indexes|Local mode):UserWarning")

BM25 = Bm25Encoder()
SPACE = "synthetic-4"


def chunk(
    chunk_id: str,
    text: str = "some text",
    *,
    tenant: str = "tenant-a",
    kb: str = "kb-1",
    doc: str = "doc-1",
    dense: list[float] | None = None,
) -> ChunkPoint:
    return ChunkPoint(
        chunk_id=chunk_id,
        tenant_id=tenant,
        knowledge_base_id=kb,
        document_id=doc,
        dense=dense if dense is not None else [1.0, 0.0, 0.0, 0.0],
        sparse=BM25.encode_document(text),
        text=text,
        title=f"title of {doc}",
        heading="A heading",
        page=3,
    )


async def ids(index: VectorIndex, tenant: str, kbs: list[str], *, space: str = SPACE, dim: int = 4) -> set[str]:
    """Every chunk the tenant can reach in these knowledge bases (a dense search wide enough to see all)."""
    hits = await index.search(space, tenant, kbs, dense=[1.0] + [0.0] * (dim - 1), sparse=None, limit=100, mode="dense")
    return {h.chunk_id for h in hits}


FAQ = {
    "password": "To reset a forgotten password, open the login page and click 'Forgot password'.",
    "refund": "Refunds are paid back to the original card within 14 days of the return.",
    "hours": "Our support team answers calls Monday to Friday, from 9 am to 5 pm.",
    "shipping": "Parcels ship with DHL; delivery inside Germany takes two working days.",
    "dog": "The office dog is a golden retriever called Biscuit who loves visitors.",
}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
async def test_each_mode_ranks_the_matching_chunk_first(index: VectorIndex, mode: SearchMode) -> None:
    embedder = MiniLmEmbedder(intra_op_threads=1)
    try:
        vectors = await embedder.embed_documents(list(FAQ.values()))
        points = [chunk(key, text, dense=vector) for (key, text), vector in zip(FAQ.items(), vectors, strict=True)]
        await index.upsert(embedder.space, embedder.dimension, points)
        query = "How can I reset my password?"
        hits = await index.search(
            embedder.space,
            "tenant-a",
            ["kb-1"],
            dense=await embedder.embed_query(query),
            sparse=BM25.encode_query(query),
            limit=3,
            mode=mode,
        )
    finally:
        await embedder.close()
    assert hits[0].chunk_id == "password"
    assert len(hits) == (1 if mode == "sparse" else 3)  # BM25 finds only chunks sharing a term
    assert (hits[0].text, hits[0].title, hits[0].heading, hits[0].page) == (
        FAQ["password"],
        "title of doc-1",
        "A heading",
        3,
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_a_tenant_never_sees_another_tenants_points_even_under_the_same_kb_id(index: VectorIndex) -> None:
    await index.upsert(SPACE, 4, [chunk("a1", tenant="tenant-a"), chunk("a2", tenant="tenant-a")])
    assert await ids(index, "tenant-b", ["kb-1"]) == set()
    await index.upsert(SPACE, 4, [chunk("b1", tenant="tenant-b")])
    assert await ids(index, "tenant-a", ["kb-1"]) == {"a1", "a2"}
    assert await ids(index, "tenant-b", ["kb-1"]) == {"b1"}
    sparse = await index.search(
        SPACE, "tenant-b", ["kb-1"], dense=None, sparse=BM25.encode_query("some text"), limit=10, mode="sparse"
    )
    assert [h.chunk_id for h in sparse] == ["b1"]


async def test_the_same_chunk_id_under_two_tenants_is_two_points(index: VectorIndex) -> None:
    await index.upsert(SPACE, 4, [chunk("c1", "alpha", tenant="tenant-a"), chunk("c1", "beta", tenant="tenant-b")])
    [hit_a] = await index.search(SPACE, "tenant-a", ["kb-1"], dense=[1, 0, 0, 0], sparse=None, limit=5, mode="dense")
    [hit_b] = await index.search(SPACE, "tenant-b", ["kb-1"], dense=[1, 0, 0, 0], sparse=None, limit=5, mode="dense")
    assert (hit_a.text, hit_b.text) == ("alpha", "beta")


async def test_search_keeps_to_the_given_knowledge_bases(index: VectorIndex) -> None:
    await index.upsert(SPACE, 4, [chunk("k1", kb="kb-1"), chunk("k2", kb="kb-2"), chunk("k3", kb="kb-3")])
    assert await ids(index, "tenant-a", ["kb-2"]) == {"k2"}
    assert await ids(index, "tenant-a", ["kb-1", "kb-3"]) == {"k1", "k3"}
    assert await ids(index, "tenant-a", []) == set()


async def test_delete_document_removes_exactly_its_points(index: VectorIndex) -> None:
    await index.upsert(
        SPACE,
        4,
        [
            chunk("d1a", doc="d1"),
            chunk("d1b", doc="d1"),
            chunk("d2a", doc="d2"),
            chunk("x", doc="d1", tenant="tenant-b"),
        ],
    )
    await index.delete_document(SPACE, "tenant-a", "d1")
    assert await ids(index, "tenant-a", ["kb-1"]) == {"d2a"}
    assert await ids(index, "tenant-b", ["kb-1"]) == {"x"}  # another tenant's document of the same id stays


async def test_delete_knowledge_base_removes_exactly_its_points(index: VectorIndex) -> None:
    await index.upsert(
        SPACE, 4, [chunk("k1", kb="kb-1"), chunk("k2", kb="kb-2"), chunk("other", kb="kb-1", tenant="tenant-b")]
    )
    await index.delete_knowledge_base(SPACE, "tenant-a", "kb-1")
    assert await ids(index, "tenant-a", ["kb-1", "kb-2"]) == {"k2"}
    assert await ids(index, "tenant-b", ["kb-1"]) == {"other"}


async def test_upserting_a_chunk_again_replaces_it(index: VectorIndex) -> None:
    await index.upsert(SPACE, 4, [chunk("c1", "first version")])
    await index.upsert(SPACE, 4, [chunk("c1", "second version")])
    hits = await index.search(SPACE, "tenant-a", ["kb-1"], dense=[1, 0, 0, 0], sparse=None, limit=10, mode="dense")
    assert [(h.chunk_id, h.text) for h in hits] == [("c1", "second version")]


async def test_spaces_of_different_dimensions_never_mix(index: VectorIndex) -> None:
    await index.upsert("synthetic-4", 4, [chunk("four")])
    await index.upsert("synthetic-6", 6, [chunk("six", dense=[1.0, 0, 0, 0, 0, 0])])
    assert await ids(index, "tenant-a", ["kb-1"], space="synthetic-4") == {"four"}
    assert await ids(index, "tenant-a", ["kb-1"], space="synthetic-6", dim=6) == {"six"}
    with pytest.raises(ValueError, match="6-dimensional"):
        await index.upsert("synthetic-4", 4, [chunk("wrong", dense=[1.0] * 6)])


async def test_an_unknown_space_holds_nothing(index: VectorIndex) -> None:
    assert await ids(index, "tenant-a", ["kb-1"], space="never-written") == set()
    await index.delete_document("never-written", "tenant-a", "doc-1")  # no error, nothing created
    assert await ids(index, "tenant-a", ["kb-1"], space="never-written") == set()


async def test_a_query_without_terms_finds_nothing_by_bm25_but_hybrid_still_uses_the_dense_vector(
    index: VectorIndex,
) -> None:
    await index.upsert(SPACE, 4, [chunk("c1", "invoices")])
    no_terms = SparseVector(indices=[], values=[])
    assert await index.search(SPACE, "tenant-a", ["kb-1"], dense=None, sparse=no_terms, limit=5, mode="sparse") == []
    hybrid = await index.search(SPACE, "tenant-a", ["kb-1"], dense=[1, 0, 0, 0], sparse=no_terms, limit=5)
    assert [h.chunk_id for h in hybrid] == ["c1"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
async def test_hits_carry_their_cosine_to_the_query_when_it_has_a_dense_vector(
    index: VectorIndex, mode: SearchMode,
) -> None:
    near, far = [0.6, 0.8, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]
    await index.upsert(SPACE, 4, [chunk("near", "alpha beta", dense=near), chunk("far", "alpha gamma", dense=far)])
    hits = await index.search(SPACE, "tenant-a", ["kb-1"], dense=[1.0, 0.0, 0.0, 0.0] if mode != "sparse" else None,
                              sparse=BM25.encode_query("alpha"), limit=2, mode=mode)
    scores = {h.chunk_id: h.dense_score for h in hits}
    if mode == "sparse":
        assert scores == {"near": None, "far": None}
    else:
        assert scores["near"] == pytest.approx(0.6) and scores["far"] == pytest.approx(0.0)
