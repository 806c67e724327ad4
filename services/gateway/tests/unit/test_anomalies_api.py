"""``GET /v1/anomalies`` and the console's Anomalies page on a gateway built by the composition root, in front of a
stand-in for workflow-executor's ``anomalies.list`` on a real nats-server: the caller's tenant's anomalies only
(the owner is asked for the caller's tenant, whatever the query says), filters and the cursor passed through,
bad parameters a 422 asked of no one, a publishable key refused, workflow-executor not answering a 503."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.aio.subscription import Subscription

from afo_common.messaging.connection import NatsConnection
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import LIST_ANOMALIES, AnomalyView, ListAnomalies
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

T0 = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def anomaly(anomaly_id: str, status: str = "open") -> AnomalyView:
    return AnomalyView.model_validate({
        "id": anomaly_id, "signal": "key_messages", "scope": "key", "agent_id": None, "key_id": "key_1",
        "status": status, "severity": "critical", "direction": "above", "observed": 42.0, "unit": "messages",
        "volume": 42, "baseline_mean": 1.5, "baseline_sigma": 1.2, "deviation": 33.75, "window_start": T0,
        "window_end": T0 + timedelta(minutes=5), "detected_at": T0 + timedelta(minutes=5, seconds=31),
        "resolved_at": None, "resolution": None})


class WorkflowExecutor:
    """``anomalies.list`` answered from memory per tenant (and agent-runtime's agents.get, for a widget key)."""

    def __init__(self) -> None:
        self.anomalies: dict[str, list[AnomalyView]] = {}
        self.asked: list[ListAnomalies] = []
        self.subscription: Subscription | None = None

    async def list(self, request: ListAnomalies) -> Page[AnomalyView]:
        self.asked.append(request)
        rows = [a for a in self.anomalies.get(request.tenant_id, []) if request.status in (None, a.status)]
        return Page[AnomalyView](data=rows[: request.limit], next_cursor="c1" if len(rows) > request.limit else None)

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:
        return ar.AgentView(id=r.agent_id, spec={"name": "Ava"}, published_version=1, created_at=T0, updated_at=T0)


@pytest.fixture
async def stand_in(connection: NatsConnection) -> WorkflowExecutor:
    owner = WorkflowExecutor()
    subscriptions = await answer_rpcs(connection, {LIST_ANOMALIES: owner.list, ar.GET_AGENT: owner.agent})
    owner.subscription = subscriptions[LIST_ANOMALIES]
    return owner


@pytest.fixture
async def tenants(gateways: Any, stand_in: WorkflowExecutor) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    ours, theirs = await gateways.sign_up(client), await gateways.sign_up(client)
    stand_in.anomalies[ours.tenant_id] = [anomaly("anm_2"), anomaly("anm_1", "resolved")]
    stand_in.anomalies[theirs.tenant_id] = [anomaly("anm_theirs")]
    return gateways, service, client, ours, theirs


async def test_a_tenant_reads_its_own_anomalies_only(tenants: Any, stand_in: WorkflowExecutor) -> None:
    _, _, client, ours, theirs = tenants

    mine = await client.get("/v1/anomalies", headers=ours.auth)
    open_only = await client.get("/v1/anomalies", headers=ours.auth,
                                 params={"status": "open", "signal": "key_messages", "limit": 1, "cursor": "c0"})
    other = await client.get("/v1/anomalies", headers=theirs.auth, params={"tenant_id": ours.tenant_id})

    assert mine.status_code == 200, mine.text
    assert [a["id"] for a in mine.json()["data"]] == ["anm_2", "anm_1"] and mine.json()["next_cursor"] is None
    assert mine.json()["data"][0] == anomaly("anm_2").model_dump(mode="json")
    assert [a["id"] for a in open_only.json()["data"]] == ["anm_2"]
    assert [a["id"] for a in other.json()["data"]] == ["anm_theirs"]
    assert [(a.tenant_id, a.status, a.signal, a.limit, a.cursor) for a in stand_in.asked] == [
        (ours.tenant_id, None, None, 20, None), (ours.tenant_id, "open", "key_messages", 1, "c0"),
        (theirs.tenant_id, None, None, 20, None)]
    assert_problem(await client.get("/v1/anomalies"), 401)


@pytest.mark.parametrize("params", [{"status": "closed"}, {"signal": "moon_phase"}, {"limit": 0},
                                    {"limit": 101}, {"cursor": "c" * 65}])
async def test_bad_parameters_are_refused_at_the_edge(tenants: Any, stand_in: WorkflowExecutor,
                                                       params: dict[str, Any]) -> None:
    _, _, client, ours, _ = tenants

    assert_problem(await client.get("/v1/anomalies", headers=ours.auth, params=params), 422, "validation-error")
    assert stand_in.asked == []


async def test_a_publishable_key_may_not_read_anomalies(tenants: Any, stand_in: WorkflowExecutor) -> None:
    _, _, client, ours, _ = tenants
    created = await client.post("/v1/api-keys", headers=ours.auth, json={
        "name": "widget", "kind": "publishable", "agent_id": "agt_1", "allowed_origins": ["https://shop.example"]})
    assert created.status_code == 201, created.text

    assert_problem(await client.get("/v1/anomalies", headers={
        "Authorization": f"Bearer {created.json()['secret']}", "Origin": "https://shop.example"}), 403)
    assert stand_in.asked == []


async def test_workflow_executor_not_answering_is_a_503(tenants: Any, stand_in: WorkflowExecutor) -> None:
    _, _, client, ours, _ = tenants
    assert stand_in.subscription is not None
    await stand_in.subscription.unsubscribe()

    assert_problem(await client.get("/v1/anomalies", headers=ours.auth), 503)


async def test_the_console_page_lists_them_and_refreshes_on_the_live_feed(tenants: Any) -> None:
    gateways, service, _, ours, _ = tenants
    console = await gateways.login(service, ours.email)

    page = await console.get("/console/anomalies", params={"status": "open"})

    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/console/anomalies" aria-current="page"' in html
    assert 'hx-trigger="afo-feed-anomaly from:body throttle:1s"' in html and 'hx-select="#anomaly-rows"' in html
    assert ">resolved<" not in html and "API key key_1" in html
    assert "42 (above, 33.8 \u03c3" in html and "1.5 ± 1.2" in html and ">critical<" in html and ">open<" in html
    assert (await console.get("/console/anomalies", params={"status": "closed"})).status_code == 422
