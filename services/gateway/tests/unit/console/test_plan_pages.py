"""The console's "Usage and plan" page (a tenant's plan, each limit, used, bars) and the operators' "Plans" page
(each plan's limits edited in a form, each tenant's plan changed), on a gateway built by the composition root with
agent-runtime and knowledge-ingest answered by stand-ins: who may open them, what they show, a bad form kept
with why, and a form without its token refused."""

import re
from typing import Any

import httpx
import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import knowledge_ingest as ki
from afo_testkit.rpc_stand_ins import answer_rpcs

ORIGIN = {"Origin": "http://gateway.test"}
FORM = {"agents": "5", "knowledge_bytes": "1048576", "messages_per_month": "1,000", "voice_minutes_per_month": "",
        "concurrent_calls": "2", "requests_per_minute": "600"}


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@pytest.fixture
async def owners(connection: NatsConnection) -> None:
    async def agents(r: ar.CountAgents) -> ar.AgentCount:
        return ar.AgentCount(agents=4)

    async def knowledge(r: ki.MeasureKnowledge) -> ki.KnowledgeSize:
        return ki.KnowledgeSize(documents=3, size_bytes=786_432)

    handlers: dict[RpcOperation[Any, Any], Any] = {ar.COUNT_AGENTS: agents, ki.MEASURE_KNOWLEDGE: knowledge}
    await answer_rpcs(connection, handlers)


async def test_an_operator_edits_a_plan_and_moves_a_tenant_onto_it_and_the_tenant_sees_its_usage(
        gateways: Any, owners: None) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    operator = await gateways.operator(gateway)
    page = await operator.get("/console/admin/plans")
    assert page.status_code == 200, page.text
    assert owner.tenant_id in page.text and 'href="/console/admin/plans" aria-current="page"' in page.text
    token = csrf_of(page)

    edited = await operator.post("/console/admin/plans/pro", headers=ORIGIN, data={**FORM, "csrf": token})
    moved = await operator.post(f"/console/admin/tenants/{owner.tenant_id}/plan", headers=ORIGIN,
                                data={"plan": "pro", "csrf": token})

    assert edited.status_code == moved.status_code == 303
    shown = (await operator.get("/console/admin/plans")).text
    assert 'id="pro-messages_per_month" name="messages_per_month"' in shown and 'value="1000"' in shown
    assert 'id="pro-voice_minutes_per_month" name="voice_minutes_per_month" inputmode="numeric" pattern="[0-9]*" ' \
           'maxlength="16" value=""' in shown
    tenant = await gateways.login(gateway, owner.email)
    usage = await tenant.get("/console/usage")
    assert usage.status_code == 200, usage.text
    assert "<strong>pro</strong>" in usage.text and 'href="/console/usage" aria-current="page"' in usage.text
    assert re.search(r'<meter aria-labelledby="limit-agents" min="0" max="5" value="4"', usage.text)
    assert "768.0 KB" in usage.text and "1.0 MB" in usage.text and "80%" in usage.text
    assert "Unlimited" in usage.text  # voice minutes


@pytest.mark.parametrize(("field", "value"), [("agents", "-1"), ("concurrent_calls", "two"),
                                              ("requests_per_minute", "1" * 17)])
async def test_a_bad_plan_form_is_shown_again_with_why_and_changes_nothing(gateways: Any, field: str,
                                                                           value: str) -> None:
    gateway = await gateways.start()
    operator = await gateways.operator(gateway)
    token = csrf_of(await operator.get("/console/admin/plans"))

    refused = await operator.post("/console/admin/plans/pro", headers=ORIGIN,
                                  data={**FORM, field: value, "csrf": token})
    unknown = await operator.post("/console/admin/plans/gold", headers=ORIGIN, data={**FORM, "csrf": token})
    no_token = await operator.post("/console/admin/plans/pro", headers=ORIGIN, data=FORM)

    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert unknown.status_code == 404 and 'role="alert"' in unknown.text
    assert no_token.status_code == 403
    plans = (await operator.get("/v1/admin/plans")).json()["data"]
    assert next(p for p in plans if p["name"] == "pro")["limits"]["agents"] == 25


async def test_tenants_cannot_open_the_plans_page_nor_post_to_it(gateways: Any, owners: None) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    tenant = await gateways.login(gateway, owner.email)
    token = csrf_of(await tenant.get("/console/usage"))

    page = await tenant.get("/console/admin/plans")
    posted = await tenant.post(f"/console/admin/tenants/{owner.tenant_id}/plan", headers=ORIGIN,
                               data={"plan": "enterprise", "csrf": token})

    assert page.status_code == posted.status_code == 403
    assert 'href="/console/admin/plans"' not in (await tenant.get("/console/usage")).text
