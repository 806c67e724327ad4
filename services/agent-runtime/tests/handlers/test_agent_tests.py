"""Agent tests over RPC, on every backend (``conftest.py``): written, listed and deleted per tenant and agent;
run against the agent's current draft through the real engine (documents from a fake search, the port) without
writing a conversation, a lead or an event; publishing blocked by failed or unrun tests unless overridden, and
the version saying which."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from afo_agent_runtime.domain.agent_tests import spec_digest
from afo_agent_runtime.domain.engine import EmbeddedEngine
from afo_agent_runtime.domain.errors import Conflict, Invalid, NotFound, TestsBlockPublish
from afo_agent_runtime.domain.hearing import SpeechUnavailable
from afo_agent_runtime.domain.knowledge import Passage
from afo_agent_runtime.handlers.agent_test_runs import AgentTestRunner
from afo_agent_runtime.handlers.agent_tests import AgentTestHandlers
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.deciding import TurnDecider
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope
from afo_common.rpcs.agent_runtime import (
    AgentRef,
    CreateAgent,
    ListConversations,
    ListLeads,
    ListVersions,
    PublishAgent,
    UpdateAgent,
)
from afo_common.rpcs.agent_spec import AgentPatch, AgentSpec
from afo_common.rpcs.agent_tests import (
    MAX_TESTS_PER_AGENT,
    AgentTestRef,
    AgentTestRunRef,
    AgentTestSpec,
    AgentTestsRef,
    CreateAgentTest,
    RunAgentTests,
)
from afo_testkit.clock import SteppingClock
from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls

Committed = Callable[[], Awaitable[list[Envelope]]]
TENANT = "ten_tests"
OTHER = "ten_other"
SECURITY = Passage("Data security\nAll data is encrypted at rest with AES-256 and in transit with TLS 1.2.",
                   "Security whitepaper", 12, "doc_security", 0.03, relevance=0.5, chunk_id="chk_1",
                   knowledge_base_id="kb_1")
AGENT = {"name": "Ava", "timezone": "America/New_York", "knowledge_base_ids": ["kb_1"],
         "qualification_fields": ["name", "email", {"name": "budget", "kind": "budget", "required": False}]}
CITES = {"name": "answers encryption from the whitepaper", "turns": ["Hi, I'm Dana", "Is my data encrypted?"],
         "expectations": [{"type": "cites_document", "document": "Security whitepaper"},
                          {"type": "fields_filled", "fields": ["name"]}]}
BUDGET = {"name": "gets the budget", "turns": ["Hi, I'm Dana", "dana@acme.io"],
          "expectations": [{"type": "fields_filled", "fields": ["name", "budget"]}]}


@dataclass
class FakeKnowledge:
    searches: list[tuple[str, str]] = field(default_factory=list)
    delay_s: float = 0.0

    async def search(self, *, tenant_id: str, knowledge_base_ids: list[str], query: str, top_k: int) -> list[Passage]:
        self.searches.append((tenant_id, query))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return [SECURITY]


@dataclass
class FakeHearing:
    """What the recogniser hears: each line lower-cased, dashes gone, "@" and ".io" said, or a failure."""

    fail: bool = False
    asked: list[tuple[str, AgentSpec, list[str]]] = field(default_factory=list)

    async def heard(self, tenant_id: str, agent: AgentSpec, lines: Any) -> list[str]:
        self.asked.append((tenant_id, agent, list(lines)))
        if self.fail:
            raise SpeechUnavailable("unavailable: no voice-media instance is answering")
        return [line.lower().replace("-", " ").replace("@", " at ").replace(".io", " dot io") for line in lines]


@dataclass
class Setup:
    store: Store
    clock: SteppingClock
    knowledge: FakeKnowledge
    hearing: FakeHearing
    llm: LlmEngines

    def runner(self, timeout_s: float = 60.0) -> AgentTestRunner:
        decider = TurnDecider(self.llm, self.knowledge, EmbeddedEngine())
        return AgentTestRunner(decider, self.clock, self.hearing, timeout_s)

    def tests(self, timeout_s: float = 60.0) -> AgentTestHandlers:
        return AgentTestHandlers(self.store, self.clock, self.runner(timeout_s))

    @property
    def agents(self) -> AgentHandlers:
        return AgentHandlers(self.store, self.clock)

    async def agent(self, tenant_id: str = TENANT, **spec: Any) -> str:
        return (await self.agents.create(CreateAgent(tenant_id=tenant_id, spec={**AGENT, **spec}))).id

    async def add(self, agent_id: str, body: dict[str, Any], tenant_id: str = TENANT) -> str:
        test = AgentTestSpec.model_validate(body)
        return (await self.tests().create(CreateAgentTest(tenant_id=tenant_id, agent_id=agent_id, test=test))).id

    async def publish(self, agent_id: str, override: bool = False) -> Any:
        return await self.agents.publish(PublishAgent(tenant_id=TENANT, agent_id=agent_id, override=override))


@pytest.fixture
async def setup(store: Store, clock: SteppingClock) -> Any:
    llm = LlmEngines(api_key=None)
    await llm.start()
    yield Setup(store, clock, FakeKnowledge(), FakeHearing(), llm)
    await llm.stop()


async def test_tests_are_written_listed_oldest_first_and_deleted(setup: Setup) -> None:
    agent_id = await setup.agent()
    first, second = await setup.add(agent_id, CITES), await setup.add(agent_id, BUDGET)

    page = await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))

    assert [t.id for t in page.data] == [first, second] and page.next_cursor is None
    assert first.startswith("tst_") and page.data[0].agent_id == agent_id
    assert page.data[0].model_dump(include={"name", "channel", "turns"}) == {
        "name": CITES["name"], "channel": "text", "turns": CITES["turns"]}
    assert page.data[0].expectations[0].type == "cites_document"
    one = await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id, limit=1))
    assert [t.id for t in one.data] == [first] and one.next_cursor == first
    rest = await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id, cursor=first))
    assert [t.id for t in rest.data] == [second]

    await setup.tests().delete(AgentTestRef(tenant_id=TENANT, agent_id=agent_id, test_id=first))

    assert [t.id for t in (await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))).data] == [
        second]
    with pytest.raises(NotFound):
        await setup.tests().delete(AgentTestRef(tenant_id=TENANT, agent_id=agent_id, test_id=first))


async def test_a_create_retried_with_its_request_id_makes_one_test(setup: Setup) -> None:
    agent_id = await setup.agent()
    request = CreateAgentTest(tenant_id=TENANT, agent_id=agent_id, test=AgentTestSpec.model_validate(CITES),
                              request_id="req_retried_1")

    first = await setup.tests().create(request)
    again = await setup.tests().create(request)

    assert again == first
    assert len((await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))).data) == 1


async def test_a_test_naming_a_field_the_agent_does_not_collect_is_refused(setup: Setup) -> None:
    agent_id = await setup.agent()

    with pytest.raises(Invalid) as raised:
        await setup.add(agent_id, {**BUDGET, "expectations": [{"type": "fields_filled",
                                                                "fields": ["name", "team_size"]}]})

    assert raised.value.details == [{"loc": ["test", "expectations", 0, "fields", 1],
                                     "msg": "the agent does not collect 'team_size'", "type": "unknown_field"}]
    assert (await setup.tests().list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))).data == []


async def test_an_agent_has_at_most_fifty_tests(setup: Setup) -> None:
    agent_id = await setup.agent()
    for n in range(MAX_TESTS_PER_AGENT):
        await setup.add(agent_id, {**CITES, "name": f"test {n}"})

    with pytest.raises(Conflict, match="50 tests"):
        await setup.add(agent_id, CITES)


async def test_another_tenants_agent_and_its_tests_and_runs_are_not_found(setup: Setup) -> None:
    agent_id = await setup.agent()
    test_id = await setup.add(agent_id, CITES)
    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))
    tests = setup.tests()

    for attempt in (
        setup.add(agent_id, CITES, tenant_id=OTHER),
        tests.list(AgentTestsRef(tenant_id=OTHER, agent_id=agent_id)),
        tests.delete(AgentTestRef(tenant_id=OTHER, agent_id=agent_id, test_id=test_id)),
        tests.run(RunAgentTests(tenant_id=OTHER, agent_id=agent_id)),
        tests.runs(AgentTestsRef(tenant_id=OTHER, agent_id=agent_id)),
        tests.get_run(AgentTestRunRef(tenant_id=OTHER, agent_id=agent_id, run_id=run.id)),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert [t.id for t in (await tests.list(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))).data] == [test_id]


async def test_a_run_plays_every_test_and_judges_each_expectation(setup: Setup) -> None:
    agent_id = await setup.agent()
    cites, budget = await setup.add(agent_id, CITES), await setup.add(agent_id, BUDGET)

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    assert run.id.startswith("trn_") and (run.status, run.passed, run.failed) == ("failed", 1, 1)
    agent = await setup.agents.get(AgentRef(tenant_id=TENANT, agent_id=agent_id))
    assert run.spec_digest == spec_digest(agent.spec)
    passing, failing = run.results
    assert (passing.test_id, passing.passed, failing.test_id, failing.passed) == (cites, True, budget, False)
    assert [(e.passed, e.reason) for e in passing.expectations] == [
        (True, "the reply to turn 2 cites 'Security whitepaper' (doc_security)"), (True, "name = Dana")]
    answer = passing.transcript[1]
    assert (answer.user, answer.intent, answer.engine) == ("Is my data encrypted?", "question", "embedded")
    assert "encrypted at rest with AES-256" in answer.reply and answer.citations[0].document_id == "doc_security"
    assert passing.transcript[0].lead_changes == {"name": "Dana"} and passing.lead == {"name": "Dana"}
    assert [(e.passed, e.reason) for e in failing.expectations] == [(False, "never filled: budget")]
    assert failing.lead == {"name": "Dana", "email": "dana@acme.io"} and failing.error is None
    assert setup.knowledge.searches == [(TENANT, "Is my data encrypted?")]

    assert await setup.tests().get_run(AgentTestRunRef(tenant_id=TENANT, agent_id=agent_id, run_id=run.id)) == run
    (summary,) = (await setup.tests().runs(AgentTestsRef(tenant_id=TENANT, agent_id=agent_id))).data
    assert summary.model_dump() == run.model_dump(exclude={"results"})


async def test_a_run_writes_no_conversation_no_lead_and_no_event(setup: Setup, committed: Committed) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, {"name": "books and opts out", "turns": [
        "I'm Dana, dana@acme.io", "Can we meet tomorrow at 3pm?", "I want to talk to a person", "stop"],
        "expectations": [{"type": "meeting_requested"}, {"type": "handoff_offered"},
                         {"type": "opt_out_respected"}]})
    before = await committed()

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    assert run.status == "passed", run.results[0].expectations
    transcript = run.results[0].transcript
    assert transcript[1].meeting_requested_at is not None and transcript[2].handoff and transcript[3].opted_out
    assert await committed() == before  # no lead.*, meeting.requested, handoff.requested, opted_out...
    conversations = ConversationHandlers(setup.store, setup.clock)
    assert (await conversations.list(ListConversations(tenant_id=TENANT))).data == []
    assert (await conversations.leads(ListLeads(tenant_id=TENANT))).data == []


async def test_a_run_plays_the_current_draft_not_the_published_version(setup: Setup) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, {"name": "introduces itself", "turns": ["hello"],
                               "expectations": [{"type": "reply_contains", "text": "I'm Bea", "turn": 1}]})
    await setup.publish(agent_id, override=True)
    await setup.agents.update(UpdateAgent(tenant_id=TENANT, agent_id=agent_id, patch=AgentPatch(name="Bea")))

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    assert run.status == "passed", run.results[0].transcript[0].reply


async def test_an_agent_without_tests_publishes_as_before(setup: Setup) -> None:
    agent_id = await setup.agent()

    version = await setup.agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent_id))  # type: ignore[arg-type]

    assert (version.version, version.tests, version.test_run_id) == (1, None, None)


async def test_publishing_needs_a_passing_run_of_the_current_draft(setup: Setup, committed: Committed) -> None:
    agent_id = await setup.agent()
    cites, budget = await setup.add(agent_id, CITES), await setup.add(agent_id, BUDGET)

    with pytest.raises(TestsBlockPublish) as never_run:
        await setup.publish(agent_id)
    assert [(b.test_id, b.reason) for b in never_run.value.blocking] == [(cites, "not_run"), (budget, "not_run")]

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))
    with pytest.raises(TestsBlockPublish) as failed:
        await setup.publish(agent_id)
    assert [(b.test_id, b.name, b.reason) for b in failed.value.blocking] == [(budget, BUDGET["name"], "failed")]
    assert "failed: 'gets the budget'" in str(failed.value)
    assert [e.type for e in await committed()] == ["afo.agent.created.v1"]  # nothing published

    # The failing test goes: the latest run of this draft passed every test there is now.
    await setup.tests().delete(AgentTestRef(tenant_id=TENANT, agent_id=agent_id, test_id=budget))
    version = await setup.publish(agent_id)
    assert (version.version, version.tests, version.test_run_id) == (1, "passed", run.id)

    # A changed draft was not run: blocked again.
    await setup.agents.update(UpdateAgent(tenant_id=TENANT, agent_id=agent_id, patch=AgentPatch(greeting="Hey!")))
    with pytest.raises(TestsBlockPublish) as changed:
        await setup.publish(agent_id)
    assert [(b.test_id, b.reason) for b in changed.value.blocking] == [(cites, "not_run")]


async def test_a_test_added_after_the_run_blocks_as_not_run(setup: Setup) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, CITES)
    await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))
    added = await setup.add(agent_id, {**CITES, "name": "added later"})

    with pytest.raises(TestsBlockPublish) as blocked:
        await setup.publish(agent_id)

    assert [(b.test_id, b.reason) for b in blocked.value.blocking] == [(added, "not_run")]


async def test_an_override_publishes_and_the_version_records_it(setup: Setup, committed: Committed) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, BUDGET)
    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    version = await setup.publish(agent_id, override=True)

    assert (version.version, version.tests, version.test_run_id) == (1, "overridden", run.id)
    (listed,) = (await setup.agents.versions(ListVersions(tenant_id=TENANT, agent_id=agent_id))).data
    assert (listed.tests, listed.test_run_id) == ("overridden", run.id)
    assert (await committed())[-1].type == "afo.agent.published.v1"


async def test_a_voice_test_plays_what_the_recogniser_heard_as_on_a_call(setup: Setup) -> None:
    agent_id = await setup.agent(voice={"vocabulary": ["Acme"]}, qualification_fields=["name", "phone"])
    await setup.add(agent_id, {"name": "number on the phone", "channel": "voice",
                               "turns": ["My number is 212-555-0187", "Dana@Acme.io"],
                               "expectations": [{"type": "fields_filled", "fields": ["phone"]},
                                                {"type": "reply_contains", "text": "read that back", "turn": 1}]})

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    (result,) = run.results
    ((tenant_id, agent, lines),) = setup.hearing.asked
    assert (tenant_id, agent.voice.vocabulary, lines) == (TENANT, ["Acme"], ["My number is 212-555-0187",
                                                                             "Dana@Acme.io"])
    assert [(t.user, t.heard) for t in result.transcript] == [
        ("My number is 212-555-0187", "my number is 212 555 0187"), ("Dana@Acme.io", "dana at acme dot io")]
    assert result.passed, result.expectations
    assert result.lead == {"phone": "+12125550187"}  # "dana at acme dot io" is not read as an email


async def test_a_voice_test_that_cannot_be_heard_fails_saying_why(setup: Setup) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, {**CITES, "channel": "voice"})
    await setup.add(agent_id, CITES)
    setup.hearing.fail = True

    run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    voice, text = run.results
    assert not voice.passed and voice.transcript == []
    assert voice.error == ("the turns could not be spoken and recognised: unavailable: no voice-media instance is "
                           "answering")
    assert text.passed


async def test_a_test_still_playing_when_time_is_up_fails_with_the_turns_it_got_through(setup: Setup) -> None:
    agent_id = await setup.agent()
    await setup.add(agent_id, {"name": "slow", "turns": ["Hi, I'm Dana", "Is my data encrypted?"],
                               "expectations": [{"type": "fields_filled", "fields": ["name"]}]})
    setup.knowledge.delay_s = 5.0

    run = await setup.tests(timeout_s=0.3).run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    (result,) = run.results
    assert not result.passed and result.error == "the run's time limit (0.3 s) ran out before this test finished"
    assert [t.user for t in result.transcript] == ["Hi, I'm Dana"]
    assert result.expectations[0].passed  # judged on what was played


async def test_an_agent_with_a_model_is_tested_through_the_model(setup: Setup, committed: Committed) -> None:
    script = [ToolCalls([Call("request_meeting", {"when": "tomorrow at 3pm"})]), Text("Booked for tomorrow at 3pm.")]
    async with FakeOpenAI(script) as fake:
        agent_id = await setup.agent(llm={"provider": "openai", "model": "gpt-test", "base_url": fake.base_url})
        await setup.add(agent_id, {"name": "books", "turns": ["Can we meet tomorrow at 3pm?"],
                                   "expectations": [{"type": "meeting_requested"}]})
        before = await committed()

        run = await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))

    (turn,) = run.results[0].transcript
    assert (turn.engine, turn.reply) == ("openai", "Booked for tomorrow at 3pm.")
    assert run.status == "passed" and turn.meeting_requested_at is not None
    assert await committed() == before


async def test_running_an_agent_without_tests_is_a_conflict(setup: Setup) -> None:
    agent_id = await setup.agent()

    with pytest.raises(Conflict, match="no tests"):
        await setup.tests().run(RunAgentTests(tenant_id=TENANT, agent_id=agent_id))
