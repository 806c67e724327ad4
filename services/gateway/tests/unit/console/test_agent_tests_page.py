"""The console's agent tests page on a gateway built by the composition root, agent-runtime answered by a stand-in:
a test written through the form (turns one per line, expectations as inputs), a form without an expectation kept
with the reason, a run and its results with transcripts, and the agent page's publish refused by failing tests
with the offer to publish anyway."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from afo_common.events.conversation import Citation
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_tests as at
from afo_common.rpcs.pages import Page
from afo_testkit.rpc_stand_ins import answer_rpcs

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AGENT = "agt_1"
ORIGIN = {"Origin": "http://gateway.test"}
SPEC = {"name": "Ava", "qualification_fields": [{"name": "name", "kind": "name"}, {"name": "email", "kind": "email"}]}


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@dataclass
class AgentRuntime:
    tests: list[at.AgentTestView] = field(default_factory=list)
    runs: list[at.AgentTestRunView] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:
        return ar.AgentView(id=r.agent_id, spec=SPEC, published_version=None, created_at=AT, updated_at=AT)

    async def versions(self, r: ar.ListVersions) -> Page[ar.AgentVersionView]:
        return Page[ar.AgentVersionView](data=[])

    async def create(self, r: at.CreateAgentTest) -> at.AgentTestView:
        view = at.AgentTestView(id=f"tst_{len(self.tests) + 1}", agent_id=r.agent_id, created_at=AT,
                                **r.test.model_dump())
        self.tests.append(view)
        return view

    async def list(self, r: at.AgentTestsRef) -> Page[at.AgentTestView]:
        return Page[at.AgentTestView](data=self.tests)

    async def run(self, r: at.RunAgentTests) -> at.AgentTestRunView:
        results = [at.AgentTestResult(
            test_id=t.id, name=t.name, channel=t.channel, passed=False, transcript=[at.TranscriptTurn(
                user=t.turns[0], reply="From our documents: Pro is $99 a month [1].", intent="pricing",
                engine="embedded", citations=[Citation(index=1, document_id="doc_1", title="Price <list>", page=2)])],
            expectations=[at.ExpectationResult(expectation=e, passed=False, reason="never filled: email")
                          for e in t.expectations]) for t in self.tests]
        run = at.AgentTestRunView(id="trn_1", agent_id=r.agent_id, spec_digest="c0ffee" * 10 + "abcd",
                                  status="failed", passed=0, failed=len(results), started_at=AT, duration_ms=42,
                                  results=results)
        self.runs.insert(0, run)
        return run

    async def run_list(self, r: at.AgentTestsRef) -> Page[at.AgentTestRunSummary]:
        return Page[at.AgentTestRunSummary](data=[
            at.AgentTestRunSummary.model_validate(run.model_dump(exclude={"results"})) for run in self.runs])

    async def get_run(self, r: at.AgentTestRunRef) -> at.AgentTestRunView:
        return next(run for run in self.runs if run.id == r.run_id)

    async def publish(self, r: ar.PublishAgent) -> ar.AgentVersionView:
        self.published.append(r.override)
        if not r.override:
            raise RpcError("conflict", "the agent's tests block publishing", [
                {"loc": ["tests", t.id], "msg": t.name, "type": "test_failed"} for t in self.tests])
        return ar.AgentVersionView(agent_id=r.agent_id, version=1, spec=SPEC, published_at=AT, tests="overridden",
                                   test_run_id="trn_1")


@pytest.fixture
async def runtime(connection: NatsConnection) -> AgentRuntime:
    stand_in = AgentRuntime()
    await answer_rpcs(connection, {
        ar.GET_AGENT: stand_in.agent,
        ar.LIST_VERSIONS: stand_in.versions,
        at.CREATE_TEST: stand_in.create,
        at.LIST_TESTS: stand_in.list,
        at.RUN_TESTS: stand_in.run,
        at.LIST_RUNS: stand_in.run_list,
        at.GET_RUN: stand_in.get_run,
        ar.PUBLISH_AGENT: stand_in.publish})
    return stand_in


@pytest.fixture
async def console(gateways: Any, runtime: AgentRuntime) -> httpx.AsyncClient:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client: httpx.AsyncClient = await gateways.login(gateway, owner.email)
    return client


async def test_a_test_written_in_the_form_run_and_its_results_shown(console: httpx.AsyncClient,
                                                                    runtime: AgentRuntime) -> None:
    page = await console.get(f"/console/agents/{AGENT}/tests")
    assert page.status_code == 200, page.text
    assert "No tests yet" in page.text and "Not run yet." in page.text and "name, email" in page.text
    token = csrf_of(page)

    added = await console.post(f"/console/agents/{AGENT}/tests", headers=ORIGIN, data={
        "csrf": token, "name": "price <question>", "channel": "text",
        "turns": "Hi, I'm Dana\n\n  How much is Pro?  \n", "fields_filled": "name, email",
        "meeting_requested": "on", "cites_document": "Price list", "reply_contains": "", "request_id": "r" * 12})

    assert added.status_code == 303 and added.headers["location"] == f"/console/agents/{AGENT}/tests"
    (test,) = runtime.tests
    assert test.turns == ["Hi, I'm Dana", "How much is Pro?"]
    assert [e.model_dump() for e in test.expectations] == [
        {"type": "fields_filled", "fields": ["name", "email"]}, {"type": "meeting_requested"},
        {"type": "cites_document", "document": "Price list"}]

    ran = await console.post(f"/console/agents/{AGENT}/tests/run", headers=ORIGIN, data={"csrf": token})
    assert ran.status_code == 303

    html = (await console.get(f"/console/agents/{AGENT}/tests")).text
    assert "price &lt;question&gt;" in html and "0 passed, 1 failed" in html and "42 ms" in html
    assert "fields filled: name, email — never filled: email" in html and "a meeting is requested" in html
    assert "From our documents: Pro is $99 a month [1]." in html and "[1] Price &lt;list&gt;, page 2" in html
    assert "<script>" not in html and "style=" not in html


async def test_a_test_without_an_expectation_keeps_the_form_and_says_why(console: httpx.AsyncClient,
                                                                         runtime: AgentRuntime) -> None:
    token = csrf_of(await console.get(f"/console/agents/{AGENT}/tests"))

    page = await console.post(f"/console/agents/{AGENT}/tests", headers=ORIGIN, data={
        "csrf": token, "name": "nothing expected", "turns": "hello"})

    assert page.status_code == 422
    assert "expectations" in page.text and 'value="nothing expected"' in page.text
    assert runtime.tests == []


async def test_a_publish_blocked_by_tests_offers_to_publish_anyway(console: httpx.AsyncClient,
                                                                   runtime: AgentRuntime) -> None:
    agent_page = await console.get(f"/console/agents/{AGENT}")
    assert f'href="/console/agents/{AGENT}/tests"' in agent_page.text
    token = csrf_of(agent_page)
    await console.post(f"/console/agents/{AGENT}/tests", headers=ORIGIN, data={
        "csrf": token, "name": "asks for the email", "turns": "hi", "fields_filled": "email"})

    refused = await console.post(f"/console/agents/{AGENT}/publish", headers=ORIGIN, data={"csrf": token})

    assert refused.status_code == 409
    assert "Tests failing — publish anyway?" in refused.text and "asks for the email (failed)" in refused.text
    assert 'name="override" value="true"' in refused.text

    published = await console.post(f"/console/agents/{AGENT}/publish", headers=ORIGIN,
                                   data={"csrf": token, "override": "true"})

    assert published.status_code == 303 and published.headers["location"] == f"/console/agents/{AGENT}?published=1"
    assert runtime.published == [False, True]
