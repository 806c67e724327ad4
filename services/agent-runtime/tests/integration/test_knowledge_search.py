"""RpcKnowledgeSearch against a stand-in for knowledge-ingest on a real nats-server: the request it sends,
the passages it returns, and every way a search can fail turned into KnowledgeUnavailable, fast."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from nats.aio.msg import Msg

from afo_agent_runtime.adapters.knowledge import RpcKnowledgeSearch
from afo_agent_runtime.domain.knowledge import KnowledgeUnavailable, Passage, ScoredSentence
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_error, encode_result
from afo_common.rpcs.knowledge_ingest import SEARCH, HitSource, Search, SearchHit, SearchResult, SentenceScore

TIMEOUT_S = 0.3
Responder = Callable[[Msg], Awaitable[None]]


async def serve(connection: NatsConnection, responder: Responder) -> None:
    await connection.client.subscribe(SEARCH.subject, cb=responder)
    await connection.client.flush()


def searcher(connection: NatsConnection) -> RpcKnowledgeSearch:
    return RpcKnowledgeSearch(RpcClient(connection, timeout_s=30.0), timeout_s=TIMEOUT_S)


async def search(knowledge: RpcKnowledgeSearch, query: str = "Is my data encrypted?") -> list[Passage]:
    return await knowledge.search(tenant_id="ten_1", knowledge_base_ids=["kb_1", "kb_2"], query=query, top_k=5)


async def test_hits_come_back_as_passages_and_the_request_names_the_tenant_and_bases(
    connection: NatsConnection,
) -> None:
    asked: list[Search] = []

    async def knowledge_ingest(msg: Msg) -> None:
        asked.append(Search.model_validate_json(msg.data))
        await msg.respond(encode_result(SearchResult(hits=[
            SearchHit(chunk_id="chk_1", document_id="doc_1", knowledge_base_id="kb_1", text="All data is encrypted.",
                      score=0.033, relevance=0.61, source=HitSource(title="Security", page=3, heading="Data"),
                      sentences=[SentenceScore(text="All data is encrypted.", relevance=0.72)]),
            SearchHit(chunk_id="chk_2", document_id="doc_2", knowledge_base_id="kb_2", text="We are SOC 2 certified.",
                      score=0.016, source=HitSource(title="Trust")),
        ])))

    await serve(connection, knowledge_ingest)

    passages = await search(searcher(connection))

    assert asked == [Search(tenant_id="ten_1", knowledge_base_ids=["kb_1", "kb_2"], query="Is my data encrypted?",
                            top_k=5, mode="hybrid", with_sentences=True)]
    assert passages == [
        Passage("All data is encrypted.", "Security", 3, "doc_1", 0.033, relevance=0.61, chunk_id="chk_1",
                knowledge_base_id="kb_1", heading="Data",
                sentences=(ScoredSentence("All data is encrypted.", 0.72),)),
        Passage("We are SOC 2 certified.", "Trust", None, "doc_2", 0.016, relevance=None, chunk_id="chk_2",
                knowledge_base_id="kb_2"),
    ]


async def test_a_long_question_and_many_bases_are_cut_to_the_contracts_limits(connection: NatsConnection) -> None:
    asked: list[Search] = []

    async def knowledge_ingest(msg: Msg) -> None:
        asked.append(Search.model_validate_json(msg.data))
        await msg.respond(encode_result(SearchResult(hits=[])))

    await serve(connection, knowledge_ingest)

    passages = await searcher(connection).search(tenant_id="ten_1", knowledge_base_ids=[f"kb_{i}" for i in range(30)],
                                                 query="why? " * 1000, top_k=500)

    assert passages == []
    (request,) = asked
    assert len(request.query) <= 2000 and len(request.knowledge_base_ids) == 20 and request.top_k == 50


async def test_a_search_that_does_not_answer_in_time_fails_fast(connection: NatsConnection) -> None:
    async def slow(msg: Msg) -> None:
        await asyncio.sleep(2)

    await serve(connection, slow)
    started = time.perf_counter()

    with pytest.raises(KnowledgeUnavailable, match="timeout"):
        await search(searcher(connection))

    assert time.perf_counter() - started < 1.5


async def test_no_knowledge_ingest_answering_is_unavailable(connection: NatsConnection) -> None:
    with pytest.raises(KnowledgeUnavailable, match="unavailable"):
        await search(searcher(connection))


async def test_a_typed_error_reply_is_unavailable_with_its_code(connection: NatsConnection) -> None:
    async def refuses(msg: Msg) -> None:
        await msg.respond(encode_error("not_found", "knowledge base kb_2 does not exist"))

    await serve(connection, refuses)

    with pytest.raises(KnowledgeUnavailable, match="not_found"):
        await search(searcher(connection))


async def test_a_malformed_reply_is_unavailable(connection: NatsConnection) -> None:
    async def garbled(msg: Msg) -> None:
        await msg.respond(b'{"ok": true, "result": {"hits": [{"text": 42}]}}')

    await serve(connection, garbled)

    with pytest.raises(KnowledgeUnavailable, match="malformed"):
        await search(searcher(connection))


async def test_an_empty_question_is_not_sent(connection: NatsConnection) -> None:
    assert await search(searcher(connection), query="   ") == []
