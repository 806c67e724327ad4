"""Agent tests through the public API on the real platform: an agent answering from a knowledge document gets two
tests — one asks what the document answers and expects it cited, one expects a field the lead never gives — and
a voice one whose line is spoken (espeak-ng) and recognised (Whisper) by voice-media first. The run plays them
against the draft and says which passed and why, writing no conversation or lead; publishing is a 409 naming the
failing test until it is overridden, and the version says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_testkit.platform import Platform
from afo_testkit.problems import assert_problem
from tests.e2e.journey import Tenant, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

POLICIES = (b"# Harbor Dental policies\n\n"
            b"## Opening hours\n\nThe clinic is open Monday to Friday from 8 am to 6 pm.\n\n"
            b"## Whitening\n\nIn-office whitening takes about 90 minutes and costs $450 per session.\n")


def cites(doc_id: str) -> dict[str, Any]:
    return {"name": "answers whitening from the policies", "turns": ["Hi, I'm Dana", "How long does whitening take?"],
            "expectations": [{"type": "cites_document", "document": doc_id},
                             {"type": "reply_contains", "text": "90 minutes", "turn": 2},
                             {"type": "fields_filled", "fields": ["name"]}]}


BUDGET = {"name": "gets the budget", "turns": ["Hi, I'm Dana", "What are your opening hours?"],
          "expectations": [{"type": "fields_filled", "fields": ["name", "budget"]}]}
VOICE = {"name": "a caller asks for a person", "channel": "voice", "turns": ["I want to talk to a person please."],
         "expectations": [{"type": "handoff_offered"}]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A run of the agent's tests answers when every test has played: longer than the usual 30 s."""
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=120.0) as client:
        yield client


async def ready_document(api: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    """A knowledge base holding the policies, ingested: (knowledge base id, document id)."""
    kb = await api.post("/v1/knowledge-bases", headers=tenant.auth, json={"name": "Policies"})
    assert kb.status_code == 201, kb.text
    kb_id: str = kb.json()["id"]
    uploaded = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth,
                              files={"file": ("policies.md", POLICIES, "text/markdown")})
    assert uploaded.status_code in (200, 202), uploaded.text
    doc_id: str = uploaded.json()["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while (status := (await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{doc_id}",
                                    headers=tenant.auth)).json()["status"]) != "ready":
        assert status != "failed" and loop.time() < deadline, status
        await asyncio.sleep(0.2)
    return kb_id, doc_id


async def add_test(api: httpx.AsyncClient, tenant: Tenant, agent_id: str, body: dict[str, Any]) -> str:
    response = await api.post(f"/v1/agents/{agent_id}/tests", headers=tenant.auth, json=body)
    assert response.status_code == 201, response.text
    test_id: str = response.json()["id"]
    return test_id


async def test_tests_run_against_the_draft_and_guard_publishing(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api, "Harbor Dental")
    kb_id, doc_id = await ready_document(api, tenant)
    agent = await api.post("/v1/agents", headers=tenant.auth, json={
        "name": "Ava", "knowledge_base_ids": [kb_id],
        "qualification_fields": ["name", "email", {"name": "budget", "kind": "budget", "required": False}]})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    cited = await add_test(api, tenant, agent_id, cites(doc_id))
    budget = await add_test(api, tenant, agent_id, BUDGET)

    ran = await api.post(f"/v1/agents/{agent_id}/tests/run", headers=tenant.auth)

    assert ran.status_code == 200, ran.text
    run = ran.json()
    assert (run["status"], run["passed"], run["failed"]) == ("failed", 1, 1)
    passing, failing = run["results"]
    assert (passing["test_id"], passing["passed"]) == (cited, True), passing["expectations"]
    answer = passing["transcript"][1]
    assert "90 minutes" in answer["reply"] and answer["citations"][0]["document_id"] == doc_id
    assert [e["passed"] for e in passing["expectations"]] == [True, True, True]
    assert (failing["test_id"], failing["passed"]) == (budget, False)
    assert failing["expectations"][0]["reason"] == "never filled: budget"
    listed = (await api.get(f"/v1/agents/{agent_id}/tests/runs", headers=tenant.auth)).json()["data"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert (await api.get(f"/v1/agents/{agent_id}/tests/runs/{run['id']}", headers=tenant.auth)).json() == run
    # Nothing a real conversation leaves behind.
    assert (await api.get("/v1/conversations", headers=tenant.auth)).json()["data"] == []
    assert (await api.get("/v1/leads", headers=tenant.auth)).json()["data"] == []

    refused = assert_problem(await api.post(f"/v1/agents/{agent_id}/publish", headers=tenant.auth), 409,
                             "agent-tests-failing")
    assert refused["failing_tests"] == [{"id": budget, "name": "gets the budget", "reason": "failed"}]
    assert "gets the budget" in refused["detail"]

    published = await api.post(f"/v1/agents/{agent_id}/publish", headers=tenant.auth, params={"override": "true"})

    assert published.status_code == 200, published.text
    assert (published.json()["version"], published.json()["tests"], published.json()["test_run_id"]) == (
        1, "overridden", run["id"])
    (version,) = (await api.get(f"/v1/agents/{agent_id}/versions", headers=tenant.auth)).json()["data"]
    assert version["tests"] == "overridden"

    # Another tenant sees none of it.
    other = await sign_up(api, "Someone else")
    assert_problem(await api.get(f"/v1/agents/{agent_id}/tests", headers=other.auth), 404)
    assert_problem(await api.post(f"/v1/agents/{agent_id}/tests/run", headers=other.auth), 404)


async def test_a_voice_test_hears_its_line_through_speech_and_recognition(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api, "Voice Co")
    agent = await api.post("/v1/agents", headers=tenant.auth, json={"name": "Ava"})
    agent_id = agent.json()["id"]
    await add_test(api, tenant, agent_id, VOICE)

    run = (await api.post(f"/v1/agents/{agent_id}/tests/run", headers=tenant.auth)).json()

    (result,) = run["results"]
    (turn,) = result["transcript"]
    assert result["error"] is None and "person" in turn["heard"].lower(), turn
    assert result["passed"] and turn["handoff"], result
    published = await api.post(f"/v1/agents/{agent_id}/publish", headers=tenant.auth)
    assert published.status_code == 200 and published.json()["tests"] == "passed"
