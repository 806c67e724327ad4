"""The LLM engine's search_knowledge tool on a local OpenAI-compatible server: passages numbered across a
turn's searches, the [n] markers of the final text mapped to citations, a failed search told to the model."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.llm_engine import LlmEngine
from afo_agent_runtime.adapters.openai_chat import OpenAIChatClient, http_client
from afo_agent_runtime.domain.agent import AgentSpec, LlmConfig
from afo_agent_runtime.domain.engine import ConversationMemory, TurnDecision
from afo_agent_runtime.domain.knowledge import KnowledgeUnavailable, Passage
from afo_common.events.conversation import Citation
from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls, Turn

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
AGENT = AgentSpec(name="Maya", knowledge_base_ids=["kb_1"],
                  llm=LlmConfig(provider="openai", model="gpt-test", base_url="http://unused"))
PRO = Passage("The Pro plan costs $99 a month.", "Pricing", 2, "doc_pricing", 0.03, relevance=0.7,
              chunk_id="chk_pro", knowledge_base_id="kb_1")
ANNUAL = Passage("Annual plans get two months free.", "FAQ", None, "doc_faq", 0.02, relevance=0.5,
                 chunk_id="chk_annual", knowledge_base_id="kb_1")
TRIAL = Passage("Every plan starts with a 14-day free trial.", "FAQ", None, "doc_faq", 0.03, relevance=0.6,
                chunk_id="chk_trial", knowledge_base_id="kb_1")


class Knowledge:
    """Answers each search with the next list of passages, or fails when told to."""

    def __init__(self, *answers: list[Passage], fail: bool = False) -> None:
        self.answers = list(answers)
        self.fail = fail
        self.queries: list[str] = []

    async def search(self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int) -> list[Passage]:
        self.queries.append(query)
        if self.fail:
            raise KnowledgeUnavailable("knowledge-ingest did not answer in time")
        return self.answers.pop(0)


@pytest.fixture
async def http() -> AsyncIterator[DefaultAsyncHttpxClient]:
    async with http_client() as client:
        yield client


async def run(fake: FakeOpenAI, http: DefaultAsyncHttpxClient, knowledge: Knowledge, text: str) -> TurnDecision:
    async def ignore(_delta: str) -> None:
        return None

    engine = LlmEngine(OpenAIChatClient(http, base_url=fake.base_url, api_key=None), knowledge)
    return await engine.respond(tenant_id="ten_1", agent=AGENT, memory=ConversationMemory(), history=[], text=text,
                                now=NOW, on_delta=ignore)


def tool_result(request: dict[str, Any]) -> str:
    message = request["messages"][-1]
    assert message["role"] == "tool"
    return str(message["content"])


async def test_the_markers_the_model_used_become_citations_and_unknown_numbers_are_dropped(
    http: DefaultAsyncHttpxClient,
) -> None:
    knowledge = Knowledge([PRO, ANNUAL], [TRIAL])
    script: list[Turn] = [
        ToolCalls([Call("search_knowledge", {"query": "pro plan price"})]),
        ToolCalls([Call("search_knowledge", {"query": "free trial"})]),
        Text("Pro is $99 a month [1], and every plan has a 14-day trial [3][7]. See also [1, 9]."),
    ]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, knowledge, "How much is Pro, and is there a trial?")

    assert knowledge.queries == ["pro plan price", "free trial"]
    first, second = tool_result(fake.requests[1]), tool_result(fake.requests[2])
    assert "[1] Pricing, page 2\nThe Pro plan costs $99 a month." in first
    assert "[2] FAQ\nAnnual plans get two months free." in first
    assert "[3] FAQ\nEvery plan starts with a 14-day free trial." in second  # numbered after the first search
    assert "say you don't know" in first
    assert decision.citations == (
        Citation(index=1, document_id="doc_pricing", title="Pricing", page=2,
                 snippet="The Pro plan costs $99 a month.", chunk_id="chk_pro"),
        Citation(index=3, document_id="doc_faq", title="FAQ", page=None,
                 snippet="Every plan starts with a 14-day free trial.", chunk_id="chk_trial"),
    )
    system = fake.requests[0]["messages"][0]["content"]
    assert "cite the passages you use as [1], [2]" in system and "say you don't know" in system


async def test_a_reply_without_markers_has_no_citations(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [ToolCalls([Call("search_knowledge", {"query": "price"})]), Text("It's $99 a month.")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, Knowledge([PRO]), "How much is Pro?")

    assert decision.citations == ()


async def test_a_failed_search_tells_the_model_to_say_so_and_offer_a_person(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [
        ToolCalls([Call("search_knowledge", {"query": "sso"})]),
        Text("I can't look that up right now [1] — shall I connect you with the team?"),
    ]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, Knowledge(fail=True), "Do you support SSO?")

    result = tool_result(fake.requests[1])
    assert "unavailable" in result and "connect them with someone from the team" in result
    assert decision.citations == ()  # [1] was never shown to the model


async def test_passages_of_other_knowledge_bases_or_without_text_are_not_shown(http: DefaultAsyncHttpxClient) -> None:
    foreign = Passage("Secret pricing of another tenant.", "Other", 1, "doc_other", 0.05, knowledge_base_id="kb_9")
    blank = Passage(" ", "Blank", 1, "doc_blank", 0.04, knowledge_base_id="kb_1")
    script: list[Turn] = [ToolCalls([Call("search_knowledge", {"query": "price"})]), Text("I don't know [1].")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, Knowledge([foreign, blank]), "How much is it?")

    result = tool_result(fake.requests[1])
    assert "Secret" not in result and result.startswith("No passages found")
    assert decision.citations == ()


async def test_an_empty_query_is_refused_without_searching(http: DefaultAsyncHttpxClient) -> None:
    knowledge = Knowledge()
    script: list[Turn] = [ToolCalls([Call("search_knowledge", {"query": "  "})]), Text("Could you say more?")]
    async with FakeOpenAI(script) as fake:
        await run(fake, http, knowledge, "hm?")

    assert knowledge.queries == []
    assert "error" in json.loads(tool_result(fake.requests[1]))
