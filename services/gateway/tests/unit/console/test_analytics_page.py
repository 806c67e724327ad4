"""The console's analytics page on a gateway built by the composition root, agent-runtime and voice-media answered
by stand-ins: the funnel as numbers, the chart's data as a JSON block (no inline script), the latency table, the
unanswered questions, the CSV link with the same filters; a bad period keeps the form and says why."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import analytics as an
from afo_common.rpcs.pages import Page
from afo_testkit.rpc_stand_ins import answer_rpcs

DAY = datetime(2026, 3, 2, tzinfo=UTC)


async def conversations(q: an.AnalyticsQuery) -> an.ConversationAnalytics:
    return an.ConversationAnalytics(
        totals=an.FunnelCounts(conversations=4, qualified=2, booked=1, handed_off=1),
        series=[an.FunnelPeriod(start=date(2026, 3, 2), conversations=4, qualified=2, booked=1, handed_off=1),
                an.FunnelPeriod(start=date(2026, 3, 3))],
        by_channel=[an.FunnelSlice(key="web", label="web", conversations=4, qualified=2, booked=1, handed_off=1)],
        by_agent=[an.FunnelSlice(key="agt_1", label="Ava <3", conversations=4, qualified=2, booked=1, handed_off=1)],
        reply_latency=an.LatencyStats(count=12, p50_ms=41.0, p95_ms=380.0),
        unanswered=[an.UnansweredQuestion(question="do you integrate with <salesforce>", count=2, last_asked_at=DAY)])


async def voice(q: an.AnalyticsQuery) -> an.VoiceAnalytics:
    return an.VoiceAnalytics(calls=1, turns=3, latency=[
        an.ComponentLatency(component=c, count=3, p50_ms=500.0, p95_ms=900.0) for c in an.VOICE_COMPONENTS])


async def agents(r: ar.ListAgents) -> Page[ar.AgentView]:
    return Page[ar.AgentView](data=[ar.AgentView(id="agt_1", spec={"name": "Ava <3"}, published_version=1,
                                                 created_at=DAY, updated_at=DAY)], next_cursor=None)


@pytest.fixture
async def asked(connection: NatsConnection) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    await answer_rpcs(connection, {an.CONVERSATION_SUMMARY: conversations, an.VOICE_SUMMARY: voice,
                                   ar.LIST_AGENTS: agents}, seen)
    return seen


async def test_the_analytics_page_shows_the_funnel_chart_data_latency_and_questions(
        gateways: Any, asked: list[tuple[str, Any]]) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)

    page = await client.get("/console/analytics", params={"from": "2026-03-02", "to": "2026-03-03",
                                                          "agent_id": "agt_1", "channel": "", "granularity": "day"})

    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/console/analytics" aria-current="page"' in html
    assert "uPlot-1.6.32.iife.min.js" in html and "analytics.js" in html and "<script>" not in html
    data = re.search(r'<script type="application/json" id="analytics-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert json.loads(data.group(1)) == {"periods": ["2026-03-02", "2026-03-03"], "conversations": [4, 0],
                                         "qualified": [2, 0], "booked": [1, 0]}
    assert "from 2026-03-02 to 2026-03-03, included (days in UTC, the tenant's time zone" in html
    assert "<strong>4</strong>" in html and "(50%)" in html and "(25%)" in html
    assert "75%" in html  # contained: 3 of 4
    assert "41 ms" in html and "380 ms" in html and "first audio out" in html
    assert "do you integrate with &lt;salesforce&gt;" in html and "Ava &lt;3" in html
    assert 'href="/v1/analytics/summary.csv?from=2026-03-02&amp;to=2026-03-03&amp;agent_id=agt_1&amp;' \
           'granularity=day"' in html
    summaries = [q for _, q in asked if isinstance(q, an.AnalyticsQuery)]
    assert {(q.tenant_id, q.agent_id, q.channel) for q in summaries} == {(owner.tenant_id, "agt_1", None)}
    csv = await client.get("/v1/analytics/summary.csv", params={"from": "2026-03-02", "to": "2026-03-03"})
    assert csv.status_code == 200 and csv.text.splitlines()[1].startswith("2026-03-02,4,2,1,1,3,")


async def test_a_bad_period_keeps_the_form_and_says_why(gateways: Any, asked: list[tuple[str, Any]]) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)

    page = await client.get("/console/analytics", params={"from": "2026-03-10", "to": "2026-03-01"})
    wrong_channel = await client.get("/console/analytics", params={"channel": "fax"})

    assert page.status_code == 422 and 'role="alert"' in page.text and "from must come before to" in page.text
    assert 'value="2026-03-10"' in page.text and "analytics-data" not in page.text
    assert wrong_channel.status_code == 422 and "channel is one of" in wrong_channel.text
    assert [q for _, q in asked if isinstance(q, an.AnalyticsQuery)] == []
