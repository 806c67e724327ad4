"""Plans over HTTP on a gateway built by the composition root, agent-runtime and knowledge-ingest answered by
stand-ins on a real nats-server: operators list and edit plans and put tenants on them, each change announced as
``tenant.plan_changed``; a tenant reads its own plan and usage; bad input, another tenant's usage and a caller
who is not an operator are refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.domain.plans import DEFAULT_LIMITS
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

LIMITS = {"agents": 2, "knowledge_bytes": 1000, "messages_per_month": 5, "voice_minutes_per_month": None,
          "concurrent_calls": 1, "requests_per_minute": 600}


@pytest.fixture
async def owners(connection: NatsConnection) -> dict[str, int]:
    """agent-runtime's agent count and knowledge-ingest's size: 2 agents and 700 bytes for every tenant."""
    handlers: dict[RpcOperation[Any, Any], Any] = {}

    async def agents(r: ar.CountAgents) -> ar.AgentCount:
        return ar.AgentCount(agents=2)

    async def knowledge(r: ki.MeasureKnowledge) -> ki.KnowledgeSize:
        return ki.KnowledgeSize(documents=1, size_bytes=700)

    handlers[ar.COUNT_AGENTS], handlers[ki.MEASURE_KNOWLEDGE] = agents, knowledge
    await answer_rpcs(connection, handlers)
    return {"agents": 2, "knowledge_bytes": 700}


@pytest.fixture
async def announced(connection: NatsConnection) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def on(msg: Msg) -> None:
        events.append(json.loads(msg.data))

    await connection.client.subscribe("afo.*.tenant.plan_changed", cb=on)
    return events


async def until(check: Any, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_operators_list_the_seeded_plans(gateways: Any) -> None:
    service = await gateways.start()
    operator = await gateways.operator(service)

    listed = await operator.get("/v1/admin/plans")

    assert listed.status_code == 200, listed.text
    plans = {p["name"]: p["limits"] for p in listed.json()["data"]}
    assert plans == {name: limits.model_dump() for name, limits in DEFAULT_LIMITS.items()}


async def test_an_edited_plan_applies_to_its_tenants_at_once_and_is_announced_to_each(
        gateways: Any, owners: dict[str, int], announced: list[dict[str, Any]]) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    on_pro, elsewhere = await gateways.sign_up(client), await gateways.sign_up(client)
    operator = await gateways.operator(service)
    assigned = await operator.put(f"/v1/admin/tenants/{on_pro.tenant_id}/plan", json={"plan": "pro"})
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["plan"], assigned.json()["revision"]) == ("pro", 2)  # its sign-up's was 1

    edited = await operator.put("/v1/admin/plans/pro", json=LIMITS)
    usage = await client.get("/v1/usage", headers=on_pro.auth)

    assert edited.status_code == 200, edited.text
    assert edited.json()["limits"] == LIMITS and edited.json()["name"] == "pro"
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert (body["tenant_id"], body["plan"]) == (on_pro.tenant_id, "pro")
    lines = {line["limit"]: line for line in body["usage"]}
    assert {name: line["allowed"] for name, line in lines.items()} == LIMITS
    assert (lines["agents"]["used"], lines["knowledge_bytes"]["used"], lines["knowledge_bytes"]["unit"]) == (
        2, 700, "bytes")
    assert (lines["messages_per_month"]["used"], lines["concurrent_calls"]["used"]) == (0, None)
    assert body["resets_at"] > body["period_starts_at"] and len(body["period"]) == 7
    await until(lambda: len(announced) >= 4)  # two sign-ups, the assignment, the edit
    last = {(e["tenantid"], e["data"]["revision"]): e["data"] for e in announced}
    assert last[(on_pro.tenant_id, 3)] == {"plan": "pro", "limits": LIMITS, "revision": 3}
    assert last[(elsewhere.tenant_id, 1)]["plan"] == "enterprise"  # the tests' default plan
    assert not any(t == elsewhere.tenant_id and r > 1 for t, r in last)  # not on the edited plan


@pytest.mark.parametrize("body", [
    {**LIMITS, "agents": -1},
    {**LIMITS, "messages_per_month": "many"},
    {**LIMITS, "concurrent_calls": 1.5},
    {**LIMITS, "requests_per_minute": False},  # JSON's false is no number (schemathesis found it taken for 0)
    {**LIMITS, "agents": "5"},
    {**LIMITS, "requests_per_minute": 10**16},
    {**LIMITS, "gold_stars": 3},
    {key: value for key, value in LIMITS.items() if key != "agents"},
    [],
])
async def test_a_malformed_plan_edit_is_422_and_changes_nothing(gateways: Any, body: Any) -> None:
    service = await gateways.start()
    operator = await gateways.operator(service)

    assert_problem(await operator.put("/v1/admin/plans/pro", json=body), 422, "validation-error")

    plans = {p["name"]: p["limits"] for p in (await operator.get("/v1/admin/plans")).json()["data"]}
    assert plans["pro"] == DEFAULT_LIMITS["pro"].model_dump()


async def test_unknown_plans_and_tenants_are_refused(gateways: Any) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    operator = await gateways.operator(service)

    assert_problem(await operator.put("/v1/admin/plans/gold", json=LIMITS), 404)
    assert_problem(await operator.put("/v1/admin/tenants/ten_nobody/plan", json={"plan": "pro"}), 404)
    assert_problem(await operator.put(f"/v1/admin/tenants/{owner.tenant_id}/plan", json={"plan": "gold"}), 422)
    assert_problem(await operator.put(f"/v1/admin/tenants/{owner.tenant_id}/plan", json={}), 422)
    assert_problem(await operator.get("/v1/admin/tenants/ten_nobody/usage"), 404)


async def test_only_operators_see_or_change_plans(gateways: Any, owners: dict[str, int]) -> None:
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    other = await gateways.sign_up(client)
    session = await gateways.login(service, owner.email)

    for caller, headers in ((client, owner.auth), (session, {})):
        assert_problem(await caller.get("/v1/admin/plans", headers=headers), 403)
        assert_problem(await caller.put("/v1/admin/plans/free", json=LIMITS, headers=headers), 403)
        assert_problem(await caller.put(f"/v1/admin/tenants/{owner.tenant_id}/plan", json={"plan": "enterprise"},
                                        headers=headers), 403)
        assert_problem(await caller.get(f"/v1/admin/tenants/{other.tenant_id}/usage", headers=headers), 403)
    assert_problem(await client.get("/v1/admin/plans"), 401)
    assert_problem(await client.get("/v1/usage"), 401)
    mine = await client.get("/v1/usage", headers=owner.auth)
    assert mine.status_code == 200 and mine.json()["plan"] == "enterprise"  # the tests' default plan
    assert mine.json()["tenant_id"] == owner.tenant_id


async def test_operators_read_any_tenants_usage(gateways: Any, owners: dict[str, int]) -> None:
    service = await gateways.start()
    client: httpx.AsyncClient = await gateways.client(service)
    owner = await gateways.sign_up(client)
    operator = await gateways.operator(service)

    read = await operator.get(f"/v1/admin/tenants/{owner.tenant_id}/usage")

    assert read.status_code == 200, read.text
    assert (read.json()["tenant_id"], read.json()["plan"]) == (owner.tenant_id, "enterprise")


async def test_usage_stands_without_the_owners_their_figures_unknown(gateways: Any) -> None:
    service = await gateways.start()  # nobody answers for agent-runtime or knowledge-ingest
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)

    usage = await client.get("/v1/usage", headers=owner.auth)

    assert usage.status_code == 200, usage.text
    assert sorted(usage.json()["unavailable"]) == ["agent-runtime", "knowledge-ingest"]
    used = {line["limit"]: line["used"] for line in usage.json()["usage"]}
    assert (used["agents"], used["knowledge_bytes"], used["messages_per_month"]) == (None, None, 0)
