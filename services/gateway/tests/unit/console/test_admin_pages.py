"""The console's admin area for an operator, on a gateway built by the composition root and a real nats-server:
health and throughput, tenants, consumer lag, every tenant's anomalies (workflow-executor a stand-in), and a
real dead letter inspected, replayed through its form (the form's token checked) and then refused a discard; the
live parts listen for the feed's health and anomaly items; bad ids are the error page."""

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived
from afo_common.events.streams import CONVERSATION
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.dead_letters import publish_dead_letter
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import (
    LIST_PLATFORM_ANOMALIES,
    ListPlatformAnomalies,
    PlatformAnomalyView,
)
from afo_testkit.rpc_stand_ins import answer_rpcs

ORIGIN = {"Origin": "http://gateway.test"}
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@pytest.fixture
async def workflow_executor(connection: NatsConnection) -> None:
    async def listed(request: ListPlatformAnomalies) -> Page[PlatformAnomalyView]:
        return Page[PlatformAnomalyView](data=[PlatformAnomalyView(
            id="anm_1", tenant_id="ten_a", signal="reply_latency", scope="agent", agent_id="agt_1", key_id=None,
            status="open", severity="warning", direction="above", observed=2400, unit="ms", volume=12,
            baseline_mean=400, baseline_sigma=100, deviation=20, window_start=AT, window_end=AT, detected_at=AT,
            resolved_at=None, resolution=None)], next_cursor=None)

    await answer_rpcs(connection, {LIST_PLATFORM_ANOMALIES: listed})


async def a_dead_letter(connection: NatsConnection) -> str:
    event = MessageReceived(conversation_id="conv_1", message_id="msg_1", channel="api", text="<hello>", sent_at=AT)
    envelope = envelope_for(event, tenant_id="ten_a", source="gateway")
    await publish_dead_letter(connection, service="agent-runtime", stream=CONVERSATION,
                              consumer="agent-runtime-message-received", subject=envelope.nats_subject, stream_seq=1,
                              num_delivered=1, reason="schema_invalid: something", data=envelope.to_bytes(),
                              headers={"Nats-Msg-Id": envelope.id}, reason_label="schema_invalid")
    return envelope.id


async def test_an_operator_sees_health_tenants_lag_and_every_tenants_anomalies(
        gateways: Any, connection: NatsConnection, workflow_executor: None) -> None:
    gateway = await gateways.start()
    await gateways.sign_up(await gateways.client(gateway))
    await connection.js.pull_subscribe("afo.*.conversation.>", durable="test-behind", stream=CONVERSATION)
    operator = await gateways.operator(gateway)

    landing = await operator.get("/console")
    health = await operator.get("/console/admin/health")
    tenants = await operator.get("/console/admin/tenants")
    lag = await operator.get("/console/admin/consumers")
    anomalies = await operator.get("/console/admin/anomalies?status=open")

    assert landing.status_code == 303 and landing.headers["location"] == "/console/admin/health"
    assert all(page.status_code == 200 for page in (health, tenants, lag, anomalies))
    assert "not all services ready" in health.text and "notifier" in health.text and "CONVERSATION" in health.text
    assert 'hx-trigger="afo-feed-health from:body' in health.text and 'hx-trigger="afo-feed-health' in lag.text
    assert "Acme" in tenants.text and "ten_platform" not in tenants.text.split("</nav>")[1]
    assert "test-behind" in lag.text
    assert "ten_a" in anomalies.text and "2,400 ms" in anomalies.text
    assert 'hx-trigger="afo-feed-anomaly from:body' in anomalies.text
    nav = health.text.split("</nav>")[0]
    assert 'href="/console/admin/dead-letters"' in nav and 'href="/console/agents"' not in nav


async def test_a_dead_letter_is_inspected_replayed_by_its_form_and_then_not_discarded(
        gateways: Any, connection: NatsConnection) -> None:
    gateway = await gateways.start()
    event_id = await a_dead_letter(connection)
    operator = await gateways.operator(gateway)

    listed = await operator.get("/console/admin/dead-letters?service=agent-runtime")
    none_of_theirs = await operator.get("/console/admin/dead-letters?service=notifier")
    page = await operator.get("/console/admin/dead-letters/dlq_1")
    token = csrf_of(page)
    unsigned = await operator.post("/console/admin/dead-letters/dlq_1/replay", headers=ORIGIN)
    foreign = await operator.post("/console/admin/dead-letters/dlq_1/replay",
                                  headers={"Origin": "https://evil.example"}, data={"csrf": token})
    replayed = await operator.post("/console/admin/dead-letters/dlq_1/replay", headers=ORIGIN, data={"csrf": token})
    after = await operator.get("/console/admin/dead-letters/dlq_1")
    discard = await operator.post("/console/admin/dead-letters/dlq_1/discard", headers=ORIGIN, data={"csrf": token})
    unknown_action = await operator.post("/console/admin/dead-letters/dlq_1/forget", headers=ORIGIN,
                                         data={"csrf": token})

    assert 'href="/console/admin/dead-letters/dlq_1"' in listed.text and "agent-runtime-message-received" in listed.text
    assert "No dead letters of notifier" in none_of_theirs.text
    assert event_id in page.text and "&lt;hello&gt;" in page.text and "<hello>" not in page.text
    assert 'action="/console/admin/dead-letters/dlq_1/replay"' in page.text
    assert (unsigned.status_code, foreign.status_code) == (403, 403)
    assert replayed.status_code == 303 and replayed.headers["location"] == "/console/admin/dead-letters/dlq_1"
    assert "replayed</span> by you" in after.text
    assert 'action="/console/admin/dead-letters/dlq_1/replay"' not in after.text
    assert discard.status_code == 409 and 'role="alert"' in discard.text and "was replayed already" in discard.text
    assert unknown_action.status_code == 404
    assert (await connection.js.stream_info(CONVERSATION)).state.messages == 1  # sent again once


@pytest.mark.parametrize(("path", "status"), [("/console/admin/dead-letters/dlq_9", 404),
                                              ("/console/admin/dead-letters/nine", 422),
                                              ("/console/admin/dead-letters?cursor=zz", 422),
                                              ("/console/admin/dead-letters?service=billing", 422)])
async def test_a_bad_dead_letter_address_is_the_error_page(gateways: Any, path: str, status: int) -> None:
    gateway = await gateways.start()
    operator = await gateways.operator(gateway)

    page = await operator.get(path)

    assert page.status_code == status and 'role="alert"' in page.text
    assert page.headers["content-type"].startswith("text/html")
