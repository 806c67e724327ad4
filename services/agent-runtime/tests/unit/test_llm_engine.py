import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.llm_engine import HistoryTurn, LlmEngine
from afo_agent_runtime.adapters.openai_chat import ChatProviderError, OpenAIChatClient, http_client
from afo_agent_runtime.domain.agent import AgentSpec, LlmConfig, QualificationField
from afo_agent_runtime.domain.engine import ConversationMemory, Intent, TurnDecision
from afo_agent_runtime.domain.knowledge import Passage
from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls, Turn

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday; 10:00 in New York
AGENT = AgentSpec(
    name="Maya",
    role="sales assistant at Acme Robotics",
    persona="Warm and brief.",
    goals=["Qualify the lead", "Book a demo"],
    qualification_fields=[
        QualificationField(name="email", kind="email", question="What's your email?"),
        QualificationField(name="company", kind="company"),
        QualificationField(name="phone", kind="phone", required=False),
    ],
    knowledge_base_ids=["kb-1"],
    llm=LlmConfig(provider="openai", model="gpt-test", base_url="http://unused", temperature=0.2),
    timezone="America/New_York",
)


class FakeKnowledge:
    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.queries: list[dict[str, Any]] = []

    async def search(self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int) -> list[Passage]:
        self.queries.append({"tenant_id": tenant_id, "kb": knowledge_base_ids, "query": query, "top_k": top_k})
        return self.passages[:top_k]


class Deltas:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def __call__(self, text: str) -> None:
        self.received.append(text)


@pytest.fixture
async def http() -> AsyncIterator[DefaultAsyncHttpxClient]:
    async with http_client() as client:
        yield client


async def run(
    fake: FakeOpenAI,
    http: DefaultAsyncHttpxClient,
    *,
    text: str = "Hi",
    memory: ConversationMemory | None = None,
    knowledge: FakeKnowledge | None = None,
    max_tool_rounds: int = 4,
    deltas: Deltas | None = None,
) -> TurnDecision:
    client = OpenAIChatClient(http, base_url=fake.base_url, api_key="sk-test")
    engine = LlmEngine(client, knowledge or FakeKnowledge([]), max_tool_rounds=max_tool_rounds)
    return await engine.respond(
        tenant_id="tenant-1",
        agent=AGENT,
        memory=memory or ConversationMemory(),
        history=[HistoryTurn("assistant", "Hello! How can I help?")],
        text=text,
        now=NOW,
        on_delta=deltas or Deltas(),
    )


def tool_message(request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = request["messages"][-1]
    assert message["role"] == "tool"
    return message


async def test_a_plain_answer_streams_deltas_and_sends_the_agent_context(http: DefaultAsyncHttpxClient) -> None:
    deltas = Deltas()
    async with FakeOpenAI([Text("Happy to help. What is your email?")]) as fake:
        decision = await run(fake, http, text="What do you sell?", deltas=deltas)

    assert len(deltas.received) > 1
    assert "".join(deltas.received) == decision.reply == "Happy to help. What is your email?"
    assert decision.intent is Intent.QUESTION
    assert decision.missing_fields == ["email", "company"]
    assert decision.memory.turns == 1 and decision.memory.greeted
    request = fake.requests[0]
    assert request["model"] == "gpt-test" and request["temperature"] == 0.2
    system = request["messages"][0]["content"]
    for expected in ("Maya", "Book a demo", "America/New_York", "Monday 03 March 2025, 10:00", "[1], [2]"):
        assert expected in system
    assert 'email (email, email, required): missing, ask e.g. "What\'s your email?"' in system
    assert request["messages"][1:] == [
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "What do you sell?"},
    ]
    assert {t["function"]["name"] for t in request["tools"]} == {
        "search_knowledge",
        "update_lead",
        "request_meeting",
        "handoff",
    }


async def test_update_lead_keeps_valid_values_and_reports_invalid_ones_to_the_model(
    http: DefaultAsyncHttpxClient,
) -> None:
    fields = {"company": "acme robotics", "email": "ana@", "favourite_colour": "blue"}
    script: list[Turn] = [
        ToolCalls([Call("update_lead", {"fields": fields}, id="call_1")]),
        Text("Thanks! That email looks incomplete, could you check it?"),
    ]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="I'm at acme robotics, ana@")

    assert decision.lead_changes == {"company": "Acme Robotics"}
    assert decision.invalid_fields == {"email": "it is missing the domain after the @"}
    assert decision.intent is Intent.PROVIDE_INFO
    assert decision.missing_fields == ["email"]
    assert decision.memory.lead == {"company": "Acme Robotics"}
    assert not decision.became_qualified
    second = fake.requests[1]
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    message = tool_message(second)
    assert message["tool_call_id"] == "call_1"
    result = json.loads(message["content"])
    assert result["accepted"] == {"company": "Acme Robotics"}
    assert result["invalid"]["email"] == "it is missing the domain after the @"
    assert result["invalid"]["favourite_colour"].startswith("unknown field")
    assert result["still_missing"] == ["email"]


async def test_the_last_required_field_qualifies_the_lead(http: DefaultAsyncHttpxClient) -> None:
    memory = ConversationMemory(lead={"company": "Acme"}, greeted=True, turns=2)
    script: list[Turn] = [
        ToolCalls([Call("update_lead", {"fields": {"email": "Ana@Example.com"}})]),
        Text("You're all set."),
    ]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="ana@example.com", memory=memory)

    assert decision.became_qualified
    assert decision.memory.qualified
    assert decision.memory.lead == {"company": "Acme", "email": "Ana@example.com"}
    assert decision.missing_fields == []
    assert "company (company, company, required): known: Acme" in fake.requests[0]["messages"][0]["content"]


async def test_request_meeting_reads_the_time_in_the_agents_zone(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [
        ToolCalls([Call("request_meeting", {"when": "sometime soon"})]),
        ToolCalls([Call("request_meeting", {"when": "Tuesday at 3pm"})]),
        Text("Booked for Tuesday at 3pm."),
    ]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="Can we meet Tuesday at 3pm?")

    failed = json.loads(tool_message(fake.requests[1])["content"])
    assert failed["ok"] is False and "ask the lead for a day and time" in failed["error"]
    booked = json.loads(tool_message(fake.requests[2])["content"])
    assert booked["ok"] is True and booked["start"] == "2025-03-04T15:00:00-05:00"
    assert decision.intent is Intent.SCHEDULING
    assert decision.meeting_request is not None
    assert decision.meeting_request.start == datetime(2025, 3, 4, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    assert decision.meeting_request.timezone == "America/New_York"
    assert decision.meeting_request.text == "Can we meet Tuesday at 3pm?"
    assert decision.memory.meeting_start == "2025-03-04T15:00:00-05:00"


async def test_the_model_sees_offered_times_and_its_pick_is_asked_for(http: DefaultAsyncHttpxClient) -> None:
    ny = ZoneInfo("America/New_York")
    offered = [datetime(2025, 3, 5, 10, 0, tzinfo=ny), datetime(2025, 3, 5, 10, 30, tzinfo=ny)]
    memory = ConversationMemory(offered_slots=tuple(o.isoformat() for o in offered))
    script: list[Turn] = [ToolCalls([Call("request_meeting", {"when": "the second one"})]), Text("Booking 10:30.")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="the second one please", memory=memory)

    system = fake.requests[0]["messages"][0]["content"]
    assert "Wednesday, Mar 5 at 10:00 AM or 10:30 AM" in system
    assert "cancel_meeting" not in [t["function"]["name"] for t in fake.requests[0]["tools"]]
    assert decision.meeting_request is not None and decision.meeting_request.start == offered[1]
    assert decision.memory.offered_slots == ()


async def test_with_a_meeting_booked_the_model_can_move_or_cancel_it(http: DefaultAsyncHttpxClient) -> None:
    memory = ConversationMemory(meeting_id="mtg_1", booked_start="2025-03-05T15:00:00+00:00")
    script: list[Turn] = [ToolCalls([Call("cancel_meeting", {})]), Text("Cancelling it now.")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="please cancel my meeting", memory=memory)

    assert "cancel_meeting" in [t["function"]["name"] for t in fake.requests[0]["tools"]]
    assert "has a meeting booked for Wednesday 05 March 2025, 10:00" in fake.requests[0]["messages"][0]["content"]
    assert json.loads(tool_message(fake.requests[1])["content"])["ok"] is True
    assert decision.cancel_meeting_id == "mtg_1" and decision.intent is Intent.SCHEDULING


async def test_handoff_is_reported_with_the_models_reason(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [ToolCalls([Call("handoff", {"reason": "asked for a person"})]), Text("Connecting you.")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="Can I talk to a real person?")

    assert decision.intent is Intent.HUMAN
    assert decision.handoff_reason == "asked for a person"
    assert decision.memory.handoff_requested
    assert json.loads(tool_message(fake.requests[1])["content"])["ok"] is True


async def test_search_results_reach_the_model_as_numbered_passages(http: DefaultAsyncHttpxClient) -> None:
    knowledge = FakeKnowledge(
        [
            Passage("The Pro plan costs $99 a month.", "Pricing", 2, "doc-1", 0.91),
            Passage("Annual plans get two months free.", "FAQ", None, "doc-2", 0.72),
        ]
    )
    script: list[Turn] = [ToolCalls([Call("search_knowledge", {"query": "pro plan price"})]), Text("$99 [1].")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, text="How much is Pro?", knowledge=knowledge)

    assert knowledge.queries == [{"tenant_id": "tenant-1", "kb": ["kb-1"], "query": "pro plan price", "top_k": 4}]
    content = tool_message(fake.requests[1])["content"]
    assert "[1] Pricing, page 2\nThe Pro plan costs $99 a month." in content
    assert "[2] FAQ\nAnnual plans get two months free." in content
    assert decision.reply == "$99 [1]."
    assert decision.intent is Intent.PRICING


async def test_invalid_tool_arguments_are_reported_back_to_the_model(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [ToolCalls([Call("handoff", '{"reason": ')]), Text("Sorry, let me try again.")]
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http)

    assert "not valid JSON" in json.loads(tool_message(fake.requests[1])["content"])["error"]
    assert decision.handoff_reason is None


async def test_tool_rounds_are_capped_and_the_last_call_offers_no_tools(http: DefaultAsyncHttpxClient) -> None:
    def always_search(body: dict[str, Any]) -> Turn:
        return ToolCalls([Call("search_knowledge", {"query": "more"})]) if "tools" in body else Text("Done.")

    deltas = Deltas()
    async with FakeOpenAI(always_search) as fake:
        decision = await run(fake, http, max_tool_rounds=2, deltas=deltas)

    assert len(fake.requests) == 3
    assert "tools" in fake.requests[1] and "tools" not in fake.requests[2]
    assert decision.reply == "Done."


async def test_text_from_several_rounds_is_streamed_and_kept_apart(http: DefaultAsyncHttpxClient) -> None:
    script: list[Turn] = [
        ToolCalls([Call("handoff", {"reason": "wants a person"})], text="Let me get someone."),
        Text("A teammate will write to you shortly."),
    ]
    deltas = Deltas()
    async with FakeOpenAI(script) as fake:
        decision = await run(fake, http, deltas=deltas)

    assert decision.reply == "Let me get someone.\n\nA teammate will write to you shortly."
    assert "".join(deltas.received) == decision.reply
    assert fake.requests[1]["messages"][-2]["content"] == "Let me get someone."


async def test_provider_errors_propagate(http: DefaultAsyncHttpxClient) -> None:
    async with FakeOpenAI([Text("never")], api_key="sk-other") as fake:
        with pytest.raises(ChatProviderError) as caught:
            await run(fake, http)

    assert caught.value.status == 401 and not caught.value.retryable
