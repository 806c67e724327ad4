"""Analytics over the public API of the running platform (every service, real nats-server): two conversations —
one lead qualifies in five turns and books "next Wednesday at 10am" on the built-in calendar; the other asks a
question the knowledge base cannot answer and takes the offer of a person — then ``GET /v1/analytics/summary``
counts them where their facts live (agent-runtime: funnel, containment, reply latency, the unanswered question;
voice-media: no calls), the CSV carries the day's row, a filter keeps one channel, and another tenant sees
nothing of it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from afo_testkit.problems import assert_problem
from tests.e2e.journey import FIVE_TURNS, Tenant, conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_S = 30.0
QUESTION = "Do you integrate with Salesforce?"
HANDBOOK = b"""# Northwind help centre

## Opening hours

Our support team answers Monday to Friday, from 9 am to 5 pm Eastern time.

## Pricing

The starter plan costs $49 per month and includes three agents.
"""


async def knowledge_base(api: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await api.post("/v1/knowledge-bases", headers=tenant.auth, json={"name": "Help centre"})
    assert created.status_code == 201, created.text
    kb_id: str = created.json()["id"]
    uploaded = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth,
                              files={"file": ("help.md", HANDBOOK, "text/markdown")})
    assert uploaded.status_code in (200, 202), uploaded.text
    doc_id = uploaded.json()["id"]
    await eventually(api, tenant, f"/v1/knowledge-bases/{kb_id}/documents/{doc_id}",
                     lambda d: d["status"] == "ready", within_s=90.0)
    return kb_id


def around_today() -> dict[str, str]:
    """Yesterday to tomorrow (UTC), so a run across midnight still holds both conversations."""
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}


async def test_the_summary_counts_the_funnel_containment_latency_and_the_unanswered_question(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api)
    kb_id = await knowledge_base(api, tenant)
    agent_id = await published_agent(api, tenant, timezone="America/New_York", knowledge_base_ids=[kb_id])

    booked = await conversation(api, tenant, agent_id, channel="api")
    replies = [await say(api, tenant, booked, text) for text in FIVE_TURNS]
    assert replies[-1]["lead"]["qualified"] is True
    await say(api, tenant, booked, "Can we meet next Wednesday at 10am?")
    declined = await conversation(api, tenant, agent_id, channel="web")
    unanswered = await say(api, tenant, declined, QUESTION)
    assert "couldn't find" in unanswered["reply"]["text"], unanswered
    await say(api, tenant, declined, "yes please")  # takes the offer of a person: handed off

    # The booking reaches agent-runtime as workflow-executor's meeting.booked: eventually counted.
    summary: dict[str, Any] = await eventually(api, tenant, "/v1/analytics/summary",
                                               lambda b: b["funnel"]["totals"]["booked"] == 1,
                                               params=around_today(), within_s=WAIT_S)

    assert summary["funnel"]["totals"] == {"conversations": 2, "qualified": 1, "booked": 1, "handed_off": 1}
    assert summary["funnel"]["rates"] == {"qualified": 0.5, "booked": 0.5}
    assert summary["containment"] == {"conversations": 2, "handed_off": 1, "contained": 1, "rate": 0.5}
    assert sorted((s["key"], s["conversations"]) for s in summary["funnel"]["by_channel"]) == [("api", 1),
                                                                                             ("web", 1)]
    assert [(s["key"], s["label"], s["conversations"]) for s in summary["funnel"]["by_agent"]] == [
        (agent_id, "Ava", 2)]
    assert sum(p["conversations"] for p in summary["funnel"]["series"]) == 2
    assert len(summary["funnel"]["series"]) == 3  # yesterday, today, tomorrow
    reply = summary["latency"]["reply"]
    assert reply["count"] == len(FIVE_TURNS) + 3 and 0 < reply["p50_ms"] <= reply["p95_ms"] < 10_000
    assert [(q["question"], q["count"]) for q in summary["unanswered_questions"]] == [
        ("do you integrate with salesforce", 1)]
    assert summary["calls"] == {"calls": 0, "turns": 0} and summary["unavailable"] == []
    assert [c["count"] for c in summary["latency"]["voice"]] == [0] * 5

    web = (await api.get("/v1/analytics/summary", headers=tenant.auth,
                         params={**around_today(), "channel": "web", "granularity": "week"})).json()
    assert web["funnel"]["totals"] == {"conversations": 1, "qualified": 0, "booked": 0, "handed_off": 1}
    assert web["latency"]["reply"]["count"] == 2 and len(web["unanswered_questions"]) == 1

    exported = await api.get("/v1/analytics/summary.csv", headers=tenant.auth, params=around_today())
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="afo-funnel-')
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    today = datetime.now(UTC).date().isoformat()
    assert [r["period_start"] for r in rows] == [p["start"] for p in summary["funnel"]["series"]]
    assert sum(int(r["conversations"]) for r in rows) == 2 and any(r["period_start"] == today for r in rows)

    other = await sign_up(api, "Someone Else")
    theirs = (await api.get("/v1/analytics/summary", headers=other.auth,
                            params={**around_today(), "agent_id": agent_id})).json()
    assert theirs["funnel"]["totals"]["conversations"] == 0 and theirs["unanswered_questions"] == []
    assert theirs["latency"]["reply"]["count"] == 0 and theirs["funnel"]["by_agent"] == []
    assert_problem(await api.get("/v1/analytics/summary", headers=tenant.auth,
                                 params={"from": "2024-01-01", "to": "2026-01-01"}), 422)
