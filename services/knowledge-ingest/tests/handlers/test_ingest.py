"""The ingest worker on every backend (``conftest.py``): statuses and progress, failures that stay with
their document, a crash taken over after the lease, transient failures, re-embedding on a model change."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from prometheus_client import REGISTRY

from afo_common.rpcs.knowledge_ingest import DocumentRef, Embedding, KnowledgeBaseRef, Search, UpdateKnowledgeBase
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE
from afo_knowledge_ingest.testing import OPENAI_MODEL, TENANT, Kit

FIVE = b"one\n\ntwo\n\nthree\n\nfour\n\nfive"


def ref(kb: str, doc: str) -> DocumentRef:
    return DocumentRef(tenant_id=TENANT, knowledge_base_id=kb, document_id=doc)


def counted(metric: str, **labels: str) -> float:
    """A domain metric's value now (afo_knowledge_ingest.metrics), 0 before its first increment."""
    return REGISTRY.get_sample_value(metric, {"service": "knowledge-ingest", **labels}) or 0.0


async def test_a_document_goes_queued_parsing_embedding_ready_with_progress_matching_get(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, FIVE)).document.id

    async def slow(_batch: int) -> None:
        kit.clock.advance(timedelta(seconds=0.6))  # a progress event every second batch at most

    kit.embedded.before_batch = slow
    assert await kit.drain() == 1

    progress = [(e.data["status"], e.data["chunks_done"], e.data["chunks_total"], e.data["progress"])
                for e in await kit.events("document_progress")]
    assert progress == [("parsing", 0, 0, 0.0), ("embedding", 0, 5, 0.0), ("embedding", 4, 5, 0.8),
                        ("ready", 5, 5, 1.0)]
    (ingested,) = await kit.events("document_ingested")
    assert (ingested.data["chunks"], ingested.data["embedding_space"]) == (5, EMBEDDED_SPACE)
    view = await kit.documents.get(ref(kb, doc))
    assert (view.status, view.chunks_done, view.chunks_total, view.progress, view.error) == ("ready", 5, 5, 1.0, None)
    assert kit.index.count(EMBEDDED_SPACE, doc) == 5 and kit.embedded.batches == 3


async def test_a_corrupt_document_fails_with_its_reason_and_the_next_one_still_ingests(kit: Kit) -> None:
    kb = await kit.kb()
    bad = (await kit.upload(kb, b"%CORRUPT", name="bad.pdf")).document.id
    good = (await kit.upload(kb, b"fine text")).document.id
    ready, failed_before = counted("afo_documents_ingested_total", outcome="ready"), counted(
        "afo_documents_ingested_total", outcome="failed")
    chunks = counted("afo_chunks_ingested_total")

    assert await kit.drain() == 2

    assert counted("afo_documents_ingested_total", outcome="ready") == ready + 1
    assert counted("afo_documents_ingested_total", outcome="failed") == failed_before + 1
    assert counted("afo_chunks_ingested_total") == chunks + 1

    failed = await kit.documents.get(ref(kb, bad))
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "corrupt"
    assert "bad.pdf" in failed.error.reason
    (event,) = await kit.events("document_failed")
    assert event.data == {"knowledge_base_id": kb, "document_id": bad, "code": "corrupt", "reason": failed.error.reason}
    assert (await kit.documents.get(ref(kb, good))).status == "ready"


async def test_a_missing_blob_fails_the_document_blob_missing(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, b"gone")).document
    kit.blobs.objects.clear()

    await kit.drain()

    view = await kit.documents.get(ref(kb, doc.id))
    assert view.status == "failed" and view.error is not None and view.error.code == "blob_missing"


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing in the worker catches it, so no lease is let go."""


async def test_a_crash_mid_embedding_is_taken_over_after_the_lease_and_only_the_rest_is_embedded(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, FIVE)).document.id

    async def die_on_second_batch(batch: int) -> None:
        if batch == 2:
            raise ProcessDied

    kit.embedded.before_batch = die_on_second_batch
    first = kit.worker("worker-1", lease_s=60.0)
    with contextlib.suppress(ProcessDied):
        await first.run_once()
    assert len(kit.index.upserted) == 2 and (await kit.documents.get(ref(kb, doc))).status == "embedding"
    kit.embedded.before_batch = None
    second = kit.worker("worker-2", lease_s=60.0)

    assert not await second.run_once()  # the dead worker's lease still holds
    kit.clock.advance(timedelta(seconds=61))
    assert await kit.drain(second) == 1

    assert len(kit.index.upserted) == 5 and len(set(kit.index.upserted)) == 5
    view = await kit.documents.get(ref(kb, doc))
    assert (view.status, view.chunks_done, view.chunks_total) == ("ready", 5, 5)


async def test_the_only_process_at_start_takes_over_a_dead_ones_lease_at_once(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, FIVE)).document.id

    async def die_on_second_batch(batch: int) -> None:
        if batch == 2:
            raise ProcessDied

    kit.embedded.before_batch = die_on_second_batch
    with contextlib.suppress(ProcessDied):
        await kit.worker("worker-1", lease_s=60.0).run_once()
    kit.embedded.before_batch = None
    restarted = kit.worker("worker-2", lease_s=60.0)

    await restarted.take_over_leases()
    assert await kit.drain(restarted) == 1  # no wait for the lease to run out

    assert len(kit.index.upserted) == 5 and len(set(kit.index.upserted)) == 5
    assert (await kit.documents.get(ref(kb, doc))).status == "ready"


async def test_a_transient_embedding_failure_is_retried_with_backoff_then_fails_after_max_attempts(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, b"text")).document.id
    calls = 0

    async def endpoint_down(_batch: int) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("embedding endpoint unreachable")

    kit.embedded.before_batch = endpoint_down
    worker = kit.worker(max_attempts=3)

    assert await worker.run_once()
    assert (await kit.documents.get(ref(kb, doc))).status == "embedding"
    assert not await worker.run_once()  # waiting out its backoff
    for _ in range(2):
        kit.clock.advance(timedelta(seconds=11))
        assert await worker.run_once()

    view = await kit.documents.get(ref(kb, doc))
    assert calls == 3 and view.status == "failed" and view.error is not None
    assert view.error.code == "embedding_failed" and "embedding endpoint unreachable" in view.error.reason
    assert len(await kit.events("document_failed")) == 1


async def test_a_transient_failure_that_passes_ends_ready(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, b"text")).document.id

    async def down_once(batch: int) -> None:
        if batch == 1:
            raise ConnectionError("down")

    kit.embedded.before_batch = down_once
    await kit.drain()
    kit.clock.advance(timedelta(seconds=6))
    await kit.drain()

    assert (await kit.documents.get(ref(kb, doc))).status == "ready"


async def test_a_model_change_reembeds_every_document_while_search_keeps_the_old_space(kit: Kit) -> None:
    kb = await kit.kb()
    docs = [(await kit.upload(kb, text)).document.id for text in (b"apples\n\npears", b"plums")]
    await kit.drain()
    new_space = kit.openai.space
    search = Search(tenant_id=TENANT, knowledge_base_ids=[kb], query="apples")

    updated = await kit.knowledge_bases.update(UpdateKnowledgeBase(
        tenant_id=TENANT, knowledge_base_id=kb, embedding=Embedding(provider="openai", model=OPENAI_MODEL)))

    assert updated.status == "reembedding" and kit.wakes == 3
    await kit.worker().run_once()  # one document re-embedded, the other not yet
    assert (await kit.search.search(search)).hits[0].text == "apples"
    assert (kit.embedded.queries, kit.openai.queries) == (["apples"], [])
    assert kit.index.count(EMBEDDED_SPACE) == 3

    await kit.drain()

    kb_view = await kit.knowledge_bases.get(KnowledgeBaseRef(tenant_id=TENANT, knowledge_base_id=kb))
    assert (kb_view.status, kb_view.embedding.provider) == ("ready", "openai")
    assert kit.index.count(EMBEDDED_SPACE) == 0 and kit.index.count(new_space) == 3
    assert (await kit.search.search(search)).hits[0].text == "apples" and kit.openai.queries == ["apples"]
    assert [(await kit.documents.get(ref(kb, d))).status for d in docs] == ["ready", "ready"]
    switched = (await kit.events("base_updated"))[-1]
    assert switched.data == {"knowledge_base_id": kb, "name": "Docs", "embedding_space": new_space,
                             "reembedding": False}


async def test_a_document_deleted_while_it_is_embedded_leaves_no_vectors(kit: Kit) -> None:
    kb = await kit.kb()
    doc = (await kit.upload(kb, FIVE)).document.id

    async def delete_meanwhile(batch: int) -> None:
        if batch == 2:
            await asyncio.wait_for(kit.documents.delete(ref(kb, doc)), 5)

    kit.embedded.before_batch = delete_meanwhile
    await kit.drain()

    assert kit.index.count(EMBEDDED_SPACE) == 0 and kit.blobs.objects == {}
