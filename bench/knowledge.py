"""Retrieval quality, answer quality, ingestion throughput and search latency of knowledge bases.

    uv run python -m bench.knowledge [--split dev|test|all] [--sizes 10000,100000] [--tenants 100] [--skip-latency]

Quality: the labelled set under bench/data/knowledge (4 businesses, 19 documents in five formats, 169
questions) is built into real files and ingested with the service's own parsers, chunker, embedders and the
embedded vector index (qdrant-edge), one knowledge base per business. Each question is searched in its own
business's knowledge base only, as an agent's search is; a hit holds the answer when its text contains the
question's evidence (``knowledge_corpus.holds_answer``; every listed evidence for a "multi" question, any one
otherwise). recall@5 is the share of answerable questions with such a hit in the first five; MRR@10 the mean
reciprocal rank of the first one in the first ten (0 when none). Answer quality runs agent-runtime's
extractive answerer on the top five hybrid hits, as the embedded engine does: the share of answerable
questions whose first citation holds the answer, the share answered at all, and the share of unanswerable
questions it declines.

Latency: ``sizes`` chunks spread over ``tenants`` tenants (one knowledge base each) in a fresh embedded index;
chunk texts are sentences of the corpus recombined, their BM25 vectors computed from their own text and their
dense vectors the normalised mean of their sentences' MiniLM vectors (embedding 100k chunks one by one would
take most of an hour on two cores and measure the model, not the search). Each query is a corpus question made
unique (the query-embedding cache would otherwise answer repeats) and searched in one random tenant's
knowledge base: query embedding + BM25 encoding + the hybrid search, as the search handler runs them."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from afo_agent_runtime.domain.engine.answers import AnswerPolicy, compose_answer
from afo_agent_runtime.domain.knowledge import Passage, ScoredSentence
from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
from afo_knowledge_ingest.adapters.embeddings.minilm import MiniLmEmbedder
from afo_knowledge_ingest.adapters.parsers import parse
from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex
from afo_knowledge_ingest.domain.chunking import chunk, indexed_text
from afo_knowledge_ingest.domain.sentence_vectors import SentenceVectors, quantise, relevances, worth_scoring
from afo_knowledge_ingest.domain.sentences import split_sentences
from afo_knowledge_ingest.domain.vectors import ChunkPoint, Hit, SearchMode
from bench.knowledge_corpus import CorpusDocument, Question, build_corpus, holds_answer, load_questions
from bench.knowledge_rpc import percentile, rpc_latency, tenant

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
    "md": "text/markdown",
    "txt": "text/plain",
}
MODES: tuple[SearchMode, ...] = ("sparse", "dense", "hybrid")
MODE_NAMES = {"sparse": "BM25 alone", "dense": "dense alone", "hybrid": "hybrid (RRF)"}
SEARCH_QUERIES = 400


@dataclass(frozen=True)
class Ingested:
    index: EdgeVectorIndex
    embedder: MiniLmEmbedder
    sparse: Bm25Encoder
    files_of_chunk: dict[str, str]
    sentences: dict[str, SentenceVectors]  # by chunk id, as knowledge-ingest stores them on the chunk's row
    pages: int
    chunks: int
    seconds_parse: float
    seconds_embed: float
    seconds_index: float


def tenant_kb(tenant: str) -> str:
    return f"kb_{tenant.replace('-', '_')}"


async def ingest(docs: Sequence[CorpusDocument], root: Path) -> Ingested:
    started = time.perf_counter()
    drafts = []
    pages = 0
    for doc in docs:
        parsed = parse(doc.path.read_bytes(), MEDIA_TYPES[doc.format], doc.path.name)
        pages += parsed.pages or 1
        drafts.append((doc, parsed.title or doc.title, chunk(parsed)))
    parsed_at = time.perf_counter()
    embedder, sparse = MiniLmEmbedder(query_cache_size=0), Bm25Encoder()
    await embedder.start()
    points, files_of_chunk = [], {}
    texts = [indexed_text(c.text, c.heading) for _doc, _title, chunks in drafts for c in chunks]
    # As the ingest worker: each chunk's sentences worth scoring are embedded with the chunks.
    of_chunks = [worth_scoring(c.text) for _doc, _title, chunks in drafts for c in chunks]
    dense = await embedder.embed_documents(texts + [s for of_chunk in of_chunks for s in of_chunk])
    rest = iter(dense[len(texts):])
    stored = [quantise(embedder.space, of_chunk, [next(rest) for _ in of_chunk]) for of_chunk in of_chunks]
    embedded_at = time.perf_counter()
    vectors, sentences, by_chunk = iter(dense[:len(texts)]), iter(stored), {}
    for doc, title, chunks in drafts:
        for c in chunks:
            chunk_id = f"chk_{doc.file}#{c.ordinal}"
            files_of_chunk[chunk_id] = doc.file
            by_chunk[chunk_id] = next(sentences)
            points.append(ChunkPoint(chunk_id=chunk_id, tenant_id=doc.tenant, knowledge_base_id=tenant_kb(doc.tenant),
                                     document_id=doc.file, dense=next(vectors),
                                     sparse=sparse.encode_document(indexed_text(c.text, c.heading)),
                                     text=c.text, title=title, heading=c.heading, page=c.page))
    index = EdgeVectorIndex(root)
    await index.upsert(embedder.space, embedder.dimension, points)
    indexed_at = time.perf_counter()
    return Ingested(index, embedder, sparse, files_of_chunk, by_chunk, pages, len(points), parsed_at - started,
                    embedded_at - parsed_at, indexed_at - embedded_at)


async def search(ingested: Ingested, question: Question, mode: SearchMode, limit: int) -> list[Hit]:
    dense = await ingested.embedder.embed_query(question.question) if mode != "sparse" else None
    sparse = ingested.sparse.encode_query(question.question) if mode != "dense" else None
    return await ingested.index.search(ingested.embedder.space, question.tenant, [tenant_kb(question.tenant)],
                                       dense=dense, sparse=sparse, limit=limit, mode=mode)


def answers_held(question: Question, hits: Sequence[Hit]) -> bool:
    """Whether ``hits`` together hold the answer (every evidence of a "multi" question, else any one)."""
    found = [any(holds_answer(h.text, a.evidence) and h.document_id == a.file for h in hits) for a in question.answers]
    return all(found) if question.kind == "multi" else any(found)


def first_rank(question: Question, hits: Sequence[Hit]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if any(holds_answer(hit.text, a.evidence) and hit.document_id == a.file for a in question.answers):
            return rank
    return None


async def retrieval_table(ingested: Ingested, questions: Sequence[Question]) -> list[str]:
    answerable = [q for q in questions if q.answerable]
    rows = ["| method | recall@5 | MRR@10 | questions |", "|---|---|---|---|"]
    for mode in MODES:
        recall, reciprocal = 0, 0.0
        for question in answerable:
            hits = await search(ingested, question, mode, 10)
            recall += answers_held(question, hits[:5])
            rank = first_rank(question, hits)
            reciprocal += 1 / rank if rank else 0.0
        rows.append(f"| {MODE_NAMES[mode]} | {recall / len(answerable):.3f} | {reciprocal / len(answerable):.3f} "
                    f"| {len(answerable)} |")
    return rows


def passages(hits: Sequence[Hit], ingested: Ingested | None = None, query: list[float] | None = None
             ) -> list[Passage]:
    """Hits as agent-runtime receives them from the search RPC; with ``ingested`` and the dense ``query``, with
    their sentences scored as the search handler scores them (``with_sentences``)."""
    def scored(chunk_id: str) -> tuple[ScoredSentence, ...] | None:
        if ingested is None or query is None:
            return None
        stored = ingested.sentences[chunk_id]
        return tuple(ScoredSentence(t, r) for t, r in zip(stored.texts, relevances(query, stored), strict=True))

    return [Passage(text=h.text, title=h.title, page=h.page, document_id=h.document_id, score=h.score,
                    relevance=h.dense_score, chunk_id=h.chunk_id, knowledge_base_id=h.knowledge_base_id,
                    heading=h.heading, sentences=scored(h.chunk_id)) for h in hits]


@dataclass(frozen=True)
class AnswerScore:
    answered: float        # answerable questions given an answer
    cited_right: float     # answerable questions whose first citation's passage holds the answer
    snippet_right: float   # ... whose first citation's quoted sentences hold it
    declined: float        # unanswerable questions declined


async def answer_score(ingested: Ingested, questions: Sequence[Question], policy: AnswerPolicy,
                       with_sentences: bool) -> AnswerScore:
    answerable, unanswerable = [q for q in questions if q.answerable], [q for q in questions if not q.answerable]
    answered = cited = quoted = declined = 0
    for question in questions:
        hits = await search(ingested, question, "hybrid", 5)
        query = await ingested.embedder.embed_query(question.question) if with_sentences else None
        answer = compose_answer(question.question, passages(hits, ingested, query), policy)
        if not question.answerable:
            declined += answer is None
            continue
        if answer is None:
            continue
        answered += 1
        first = answer.citations[0]
        passage = next(h for h in hits if h.chunk_id == first.chunk_id)
        cited += any(holds_answer(passage.text, a.evidence) and passage.document_id == a.file for a in question.answers)
        quoted += any(holds_answer(first.snippet or "", a.evidence) for a in question.answers)
    return AnswerScore(answered / len(answerable), cited / len(answerable), quoted / len(answerable),
                       declined / max(1, len(unanswerable)))


async def answer_table(ingested: Ingested, questions: Sequence[Question], thresholds: Sequence[float],
                       with_sentences: bool = False) -> list[str]:
    """Without sentence scores the threshold swept is ``min_confidence`` (passage relevance and word overlap);
    with them, ``min_relevance`` (the best sentence's own relevance)."""
    name = "min_relevance" if with_sentences else "min_confidence"
    rows = [f"| {name} | answered | first citation holds the answer | its quoted sentences hold it "
            "| unanswerable declined |", "|---|---|---|---|---|"]
    for threshold in thresholds:
        policy = AnswerPolicy(min_relevance=threshold) if with_sentences else AnswerPolicy(min_confidence=threshold)
        score = await answer_score(ingested, questions, policy, with_sentences)
        default = " (default)" if threshold == getattr(AnswerPolicy(), name) else ""
        rows.append(f"| {threshold:.2f}{default} | {score.answered:.3f} | {score.cited_right:.3f} | "
                    f"{score.snippet_right:.3f} | {score.declined:.3f} |")
    return rows


# -- latency at scale -----------------------------------------------------------------------------------------


async def sentence_pool(docs: Sequence[CorpusDocument], embedder: MiniLmEmbedder) -> tuple[list[str], np.ndarray]:
    sentences: list[str] = []
    for doc in docs:
        parsed = parse(doc.path.read_bytes(), MEDIA_TYPES[doc.format], doc.path.name)
        for block in parsed.blocks:
            sentences += [s for s in split_sentences(block.text) if len(s) > 20]
    unique = sorted(set(sentences))
    return unique, np.asarray(await embedder.embed_documents(unique), dtype=np.float32)


def synthetic_points(size: int, tenants: int, sentences: list[str], vectors: np.ndarray, sparse: Bm25Encoder,
                     rng: random.Random) -> list[ChunkPoint]:
    """Tenant i's chunks are ``ten_<i>``'s, in knowledge base ``kb_ten_<i>`` (renamed for the RPC run)."""
    points = []
    for n in range(size):
        picks = rng.sample(range(len(sentences)), rng.randint(3, 7))
        mean = vectors[picks].mean(axis=0)
        dense = (mean / np.linalg.norm(mean)).tolist()
        text = " ".join(sentences[i] for i in picks)
        owner = tenant(n % tenants)
        points.append(ChunkPoint(chunk_id=f"chk_{n}", tenant_id=owner, knowledge_base_id=f"kb_{owner}",
                                 document_id=f"doc_{n // 10}", dense=dense, sparse=sparse.encode_document(text),
                                 text=text, title="Synthetic", heading=None, page=None))
    return points


async def latency_row(size: int, tenants: int, questions: Sequence[Question], pool: tuple[list[str], np.ndarray],
                      embedder: MiniLmEmbedder, sparse: Bm25Encoder, rng: random.Random) -> str:
    points = synthetic_points(size, tenants, *pool, sparse, rng)
    texts = [questions[n % len(questions)].question for n in range(SEARCH_QUERIES)]
    with tempfile.TemporaryDirectory(prefix="afo-bench-kb-") as root:
        index = EdgeVectorIndex(Path(root))
        await index.upsert(embedder.space, embedder.dimension, points)
        timings, embed_timings = [], []
        for n, question in enumerate(texts):
            owner = tenant(rng.randrange(tenants))
            text = f"{question} ({n})"  # unique: the query cache would answer a repeat
            began = time.perf_counter()
            dense = await embedder.embed_query(text)
            embedded = time.perf_counter()
            await index.search(embedder.space, owner, [f"kb_{owner}"], dense=dense, sparse=sparse.encode_query(text),
                               limit=5)
            timings.append((time.perf_counter() - began) * 1000)
            embed_timings.append((embedded - began) * 1000)
        await index.close()

    def renamed(kb_ids: list[str]) -> list[ChunkPoint]:
        return [replace(p, knowledge_base_id=kb_ids[int(p.tenant_id.removeprefix("ten_"))]) for p in points]

    rpc_p50, rpc_p95, upsert_s = await rpc_latency(renamed, tenants, texts, rng)
    return (f"| {size:,} | {tenants} | {upsert_s:.1f} s | {statistics.median(embed_timings):.1f} / "
            f"{percentile(embed_timings, 0.95):.1f} | {statistics.median(timings):.1f} / "
            f"{percentile(timings, 0.95):.1f} | {rpc_p50:.1f} / {rpc_p95:.1f} |")


async def sentence_cost(ingested: Ingested, questions: Sequence[Question]) -> float:
    """Milliseconds to score the sentences of a search's five hits (the numpy part of ``with_sentences``)."""
    timings = []
    for question in questions:
        hits = await search(ingested, question, "hybrid", 5)
        query = await ingested.embedder.embed_query(question.question)
        started = time.perf_counter()
        for hit in hits:
            relevances(query, ingested.sentences[hit.chunk_id])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def run(split: str, sizes: Sequence[int], tenants: int, skip_latency: bool,
              thresholds_swept: Sequence[float], relevances_swept: Sequence[float]) -> None:
    questions = [q for q in load_questions() if split == "all" or q.split == split]
    with tempfile.TemporaryDirectory(prefix="afo-bench-kb-") as work:
        docs = build_corpus(Path(work) / "corpus")
        ingested = await ingest(docs, Path(work) / "qdrant")
        total = ingested.seconds_parse + ingested.seconds_embed + ingested.seconds_index
        print(f"Ingestion of {len(docs)} documents ({ingested.pages} pages, {ingested.chunks} chunks), in process:")
        print("| step | seconds | pages/s | chunks/s |\n|---|---|---|---|")
        steps = (("parse + chunk", ingested.seconds_parse), ("embed (MiniLM int8)", ingested.seconds_embed),
                 ("index (qdrant-edge)", ingested.seconds_index), ("all", total))
        for step, seconds in steps:
            print(f"| {step} | {seconds:.2f} | {ingested.pages / seconds:.0f} | {ingested.chunks / seconds:.0f} |")
        print(f"\nRetrieval on the {split} questions ({sum(q.answerable for q in questions)} answerable):")
        print("\n".join(await retrieval_table(ingested, questions)))
        print(f"\nAnswers of the embedded engine on the {split} questions (extractive, top 5 hybrid hits; shares of "
              f"{sum(q.answerable for q in questions)} answerable and {sum(not q.answerable for q in questions)} "
              "unanswerable questions):")
        thresholds = sorted({AnswerPolicy().min_confidence, *thresholds_swept})
        print("Without sentence scores (passage relevance and word overlap; the LLM path, data ingested before):")
        print("\n".join(await answer_table(ingested, questions, thresholds)))
        print(f"With sentence scores (with_sentences; {sum(len(s.texts) for s in ingested.sentences.values())} "
              f"sentences scored at ingestion, {await sentence_cost(ingested, questions):.2f} ms median to "
              "score a search's five hits):")
        thresholds = sorted({AnswerPolicy().min_relevance, *relevances_swept})
        print("\n".join(await answer_table(ingested, questions, thresholds, with_sentences=True)))
        if not skip_latency:
            rng = random.Random(7)
            pool = await sentence_pool(docs, ingested.embedder)
            print(f"\nSearch latency, ms ({SEARCH_QUERIES} queries, top 5, hybrid with the tenant filter; chunks made "
                  f"of {len(pool[0])} corpus sentences recombined). In process: query embedding, then embedding + "
                  "BM25 + search; RPC: a search call to a running knowledge-ingest over NATS, end to end:")
            print("| chunks | tenants | upsert | query embedding p50 / p95 | in process p50 / p95 "
                  "| search RPC p50 / p95 |\n|---|---|---|---|---|---|")
            for size in sizes:
                print(await latency_row(size, tenants, questions, pool, ingested.embedder, ingested.sparse, rng))
        await ingested.index.close()
        await ingested.embedder.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--sweep", default="", help="min_confidence values to compare with the default, e.g. 0.3,0.4")
    parser.add_argument("--sweep-relevance", default="",
                        help="min_relevance values (answers with sentence scores) to compare with the default")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    swept = [float(s) for s in args.sweep.split(",") if s]
    relevances_swept = [float(s) for s in args.sweep_relevance.split(",") if s]
    asyncio.run(run(args.split, sizes, args.tenants, args.skip_latency, swept, relevances_swept))


if __name__ == "__main__":
    main()
