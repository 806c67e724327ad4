"""``GET /v1/analytics/summary`` (and ``.csv``) on a gateway built by the composition root, with agent-runtime and
voice-media answered by stand-ins on a real nats-server: both asked at once with the caller's tenant and the
period read from ``from``/``to``; their answers merged; a bad period a 422 problem before anything is asked;
another tenant's key sees only its own (empty) numbers; voice-media down leaves the funnel standing."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from nats.aio.subscription import Subscription

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import analytics as an
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def conversation_numbers() -> an.ConversationAnalytics:
    days = [an.FunnelPeriod(start=date(2026, 3, 2), conversations=3, qualified=2, booked=1, handed_off=1),
            an.FunnelPeriod(start=date(2026, 3, 3))]
    return an.ConversationAnalytics(
        totals=an.FunnelCounts(conversations=3, qualified=2, booked=1, handed_off=1), series=days,
        by_channel=[an.FunnelSlice(key="web", label="web", conversations=3, qualified=2, booked=1, handed_off=1)],
        by_agent=[an.FunnelSlice(key="agt_1", label="Ava", conversations=3, qualified=2, booked=1, handed_off=1)],
        reply_latency=an.LatencyStats(count=9, p50_ms=41.0, p95_ms=380.0),
        unanswered=[an.UnansweredQuestion(question="do you integrate with salesforce", count=2, last_asked_at=DAY)])


def voice_numbers() -> an.VoiceAnalytics:
    return an.VoiceAnalytics(calls=2, turns=7, latency=[
        an.ComponentLatency(component=c, count=7, p50_ms=500.0, p95_ms=900.0) for c in an.VOICE_COMPONENTS])


@dataclass
class StandIns:
    """agent-runtime and voice-media: numbers for ``tenant_id`` only, nothing for any other tenant."""

    tenant_id: str = ""
    asked: list[tuple[str, Any]] = field(default_factory=list)
    voice_up: bool = True
    subscriptions: dict[RpcOperation[Any, Any], Subscription] = field(default_factory=dict)

    async def conversations(self, q: an.AnalyticsQuery) -> an.ConversationAnalytics:
        self.asked.append((an.CONVERSATION_SUMMARY.service, q))
        if q.tenant_id == self.tenant_id:
            return conversation_numbers()
        return an.ConversationAnalytics(totals=an.FunnelCounts(), series=[], by_channel=[], by_agent=[],
                                        reply_latency=an.LatencyStats(), unanswered=[])

    async def voice(self, q: an.AnalyticsQuery) -> an.VoiceAnalytics:
        self.asked.append((an.VOICE_SUMMARY.service, q))
        await asyncio.sleep(0.05)  # both are asked at once: the answer does not wait for this one alone
        return voice_numbers() if q.tenant_id == self.tenant_id else an.VoiceAnalytics()

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:  # a publishable key's agent is checked
        self.asked.append((ar.GET_AGENT.service, r))
        return ar.AgentView(id=r.agent_id, spec={"name": "Ava"}, published_version=1, created_at=DAY, updated_at=DAY)

    def requests(self, op: RpcOperation[Any, Any]) -> list[an.AnalyticsQuery]:
        return [r for service, r in self.asked if service == op.service and isinstance(r, an.AnalyticsQuery)]


@pytest.fixture
async def stand_ins(connection: NatsConnection) -> StandIns:
    stand_in = StandIns()
    stand_in.subscriptions = await answer_rpcs(connection, {
        an.CONVERSATION_SUMMARY: stand_in.conversations, an.VOICE_SUMMARY: stand_in.voice,
        ar.GET_AGENT: stand_in.agent})
    return stand_in


@pytest.fixture
async def tenant(gateways: Any, stand_ins: StandIns) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    stand_ins.tenant_id = owner.tenant_id
    return gateways, service, client, owner


async def test_the_summary_merges_both_owners_answers_for_the_period_asked(tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant

    response = await client.get("/v1/analytics/summary", headers=owner.auth, params={
        "from": "2026-03-02", "to": "2026-03-03", "agent_id": "agt_1", "channel": "web", "granularity": "week"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {"start": "2026-03-02T00:00:00Z", "end": "2026-03-04T00:00:00Z", "granularity": "week",
                              "time_zone": "UTC"}
    assert body["filters"] == {"agent_id": "agt_1", "channel": "web"}
    assert body["funnel"]["totals"] == {"conversations": 3, "qualified": 2, "booked": 1, "handed_off": 1}
    assert body["funnel"]["rates"] == {"qualified": 0.6667, "booked": 0.3333}
    assert body["containment"] == {"conversations": 3, "handed_off": 1, "contained": 2, "rate": 0.6667}
    assert body["latency"]["reply"] == {"count": 9, "p50_ms": 41.0, "p95_ms": 380.0}
    assert [c["component"] for c in body["latency"]["voice"]] == list(an.VOICE_COMPONENTS)
    assert body["calls"] == {"calls": 2, "turns": 7} and body["unavailable"] == []
    assert body["unanswered_questions"] == [{"question": "do you integrate with salesforce", "count": 2,
                                             "last_asked_at": "2026-03-02T00:00:00Z"}]
    for asked in (stand_ins.requests(an.CONVERSATION_SUMMARY)[0], stand_ins.requests(an.VOICE_SUMMARY)[0]):
        assert (asked.tenant_id, asked.start, asked.end, asked.agent_id, asked.channel, asked.granularity) == (
            owner.tenant_id, DAY, datetime(2026, 3, 4, tzinfo=UTC), "agt_1", "web", "week")


async def test_the_period_is_read_in_the_tenants_time_zone_unless_another_is_asked(
        tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant
    moved = await client.patch("/v1/tenant", headers=owner.auth, json={"timezone": "America/Los_Angeles"})
    assert moved.status_code == 200, moved.text
    week = {"from": "2026-03-02", "to": "2026-03-08"}  # Los Angeles changes to summer time on Sunday the 8th

    body = (await client.get("/v1/analytics/summary", headers=owner.auth, params=week)).json()
    in_paris = await client.get("/v1/analytics/summary", headers=owner.auth, params={**week, "tz": "Europe/Paris"})

    assert body["period"] == {"start": "2026-03-02T00:00:00-08:00", "end": "2026-03-09T00:00:00-07:00",
                              "granularity": "day", "time_zone": "America/Los_Angeles"}
    assert in_paris.status_code == 200 and in_paris.json()["period"]["time_zone"] == "Europe/Paris"
    local, paris = stand_ins.requests(an.CONVERSATION_SUMMARY)
    assert (local.start, local.end, local.time_zone) == (datetime(2026, 3, 2, 8, tzinfo=UTC),
                                                         datetime(2026, 3, 9, 7, tzinfo=UTC), "America/Los_Angeles")
    assert (paris.start, paris.end, paris.time_zone) == (datetime(2026, 3, 1, 23, tzinfo=UTC),
                                                         datetime(2026, 3, 8, 23, tzinfo=UTC), "Europe/Paris")
    for bad in ("Mars/Olympus_Mons", "EST", "localtime"):
        problem = assert_problem(await client.get("/v1/analytics/summary", headers=owner.auth, params={"tz": bad}),
                                 422)
        assert problem["errors"][0]["loc"] == ["query", "tz"]
    assert len(stand_ins.requests(an.CONVERSATION_SUMMARY)) == 2


async def test_the_period_defaults_to_the_last_thirty_days(tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)

    assert (await client.get("/v1/analytics/summary", headers=owner.auth)).status_code == 200

    [asked] = stand_ins.requests(an.CONVERSATION_SUMMARY)
    assert asked.end - asked.start == timedelta(days=30) and asked.granularity == "day"
    assert asked.end.time() == time() and asked.end.date() in (tomorrow, tomorrow + timedelta(days=1))


@pytest.mark.parametrize(("params", "loc"), [
    ({"from": "2026-03-10", "to": "2026-03-01"}, ["query", "from"]),
    ({"from": "2025-01-01", "to": "2026-03-01"}, ["query", "to"]),
    ({"from": "yesterday"}, ["query", "from"]),
    ({"to": "2026-02-30"}, ["query", "to"]),
    ({"granularity": "month"}, ["query", "granularity"]),
    ({"channel": "fax"}, ["query", "channel"]),
])
async def test_a_bad_period_or_filter_is_a_422_problem_and_nothing_is_asked(
        tenant: Any, stand_ins: StandIns, params: dict[str, str], loc: list[str]) -> None:
    _, _, client, owner = tenant

    problem = assert_problem(await client.get("/v1/analytics/summary", headers=owner.auth, params=params), 422)

    assert [e["loc"] for e in problem["errors"]] == [loc]
    assert stand_ins.asked == []


async def test_another_tenant_sees_only_its_own_numbers(tenant: Any, stand_ins: StandIns) -> None:
    gateways, service, _, owner = tenant
    other_client = await gateways.client(service, address="198.51.100.7")
    other = await gateways.sign_up(other_client)

    # A tenant id in the query is not a parameter: the owners are asked for the caller's own tenant.
    response = await other_client.get("/v1/analytics/summary", headers=other.auth,
                                      params={"tenant_id": owner.tenant_id})

    assert response.status_code == 200
    body = response.json()
    assert body["funnel"]["totals"]["conversations"] == 0 and body["unanswered_questions"] == []
    assert body["calls"] == {"calls": 0, "turns": 0}
    assert {q.tenant_id for q in stand_ins.requests(an.CONVERSATION_SUMMARY)} == {other.tenant_id}
    assert_problem(await other_client.get("/v1/analytics/summary"), 401)


async def test_a_publishable_key_may_not_read_analytics(tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant
    created = await client.post("/v1/api-keys", headers=owner.auth, json={
        "name": "widget", "kind": "publishable", "agent_id": "agt_1", "allowed_origins": ["https://shop.example"]})
    assert created.status_code == 201, created.text

    assert_problem(await client.get("/v1/analytics/summary", headers={
        "Authorization": f"Bearer {created.json()['secret']}", "Origin": "https://shop.example"}), 403)
    assert stand_ins.requests(an.CONVERSATION_SUMMARY) == []


async def test_the_funnel_stands_when_voice_media_does_not_answer(tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant
    await stand_ins.subscriptions[an.VOICE_SUMMARY].unsubscribe()

    body = (await client.get("/v1/analytics/summary", headers=owner.auth)).json()

    assert body["funnel"]["totals"]["conversations"] == 3
    assert body["calls"] is None and body["latency"]["voice"] == [] and body["unavailable"] == ["voice-media"]


async def test_the_funnel_series_as_csv(tenant: Any, stand_ins: StandIns) -> None:
    _, _, client, owner = tenant

    response = await client.get("/v1/analytics/summary.csv", headers=owner.auth,
                                params={"from": "2026-03-02", "to": "2026-03-03"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="afo-funnel-2026-03-02-2026-03-03.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [
        ["period_start", "conversations", "qualified", "booked", "handed_off", "contained", "qualified_rate",
         "booked_rate", "containment_rate"],
        ["2026-03-02", "3", "2", "1", "1", "2", "0.6667", "0.3333", "0.6667"],
        ["2026-03-03", "0", "0", "0", "0", "0", "", "", ""],
    ]
    assert_problem(await client.get("/v1/analytics/summary.csv", headers=owner.auth, params={"from": "x"}), 422)
