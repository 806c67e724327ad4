"""Integrator webhooks over the public API of the running platform (every service, real nats-server; private
targets allowed so the receiver can run on 127.0.0.1): a subscription to ``lead.qualified``, five qualifying
chat turns, and the receiver gets the event — the CloudEvents envelope, signed per Standard Webhooks with the
subscription's secret — while the delivery log shows it delivered; a subscription disabled by 410 Gone enabled
again over the API (another tenant's: 404) gets the next event. Private targets being allowed here, the SSRF
refusals are proved in notifier's own tests; here an unknown event type and a malformed body are 422."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from afo_testkit.local_server import serving
from afo_testkit.problems import assert_problem
from afo_testkit.webhook_receiver import Receiver
from tests.e2e.journey import FIVE_TURNS, conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_S = 15.0


async def test_a_qualified_lead_reaches_the_integrators_endpoint_signed_and_is_in_the_delivery_log(
        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    receiver = Receiver()
    async with serving(receiver.app()) as port:
        created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth,
                                 json={"url": f"http://127.0.0.1:{port}/afo", "events": ["lead.qualified"]})
        assert created.status_code == 201, created.text
        subscription = created.json()
        receiver.secret = subscription["secret"]

        agent_id = await published_agent(api, tenant)
        conversation_id = await conversation(api, tenant, agent_id)
        replies = [await say(api, tenant, conversation_id, text) for text in FIVE_TURNS]
        assert replies[-1]["lead"]["qualified"] is True

        async with asyncio.timeout(WAIT_S):
            [got] = await receiver.wait_for(1)
        log = await eventually(api, tenant, f"/v1/webhook-subscriptions/{subscription['id']}/deliveries",
                               lambda b: bool(b["data"]) and b["data"][0]["status"] == "delivered", within_s=WAIT_S)

    assert got.signature_valid
    envelope = got.envelope
    assert envelope["type"] == "afo.lead.qualified.v1" and envelope["tenantid"] == tenant.id
    assert envelope["data"]["conversation_id"] == conversation_id
    assert got.headers["webhook-id"] == envelope["id"]
    [delivery] = log["data"]
    assert (delivery["event_id"], delivery["event_type"], delivery["attempts"]) == (
        envelope["id"], "afo.lead.qualified.v1", 1)
    assert delivery["log"][0]["status_code"] == 200
    # Only the subscribed event type: the conversation's other events were not sent.
    assert len(receiver.received) == 1


async def test_bad_subscriptions_are_refused(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    unknown = await api.post("/v1/webhook-subscriptions", headers=tenant.auth,
                             json={"url": "https://hooks.example.com/afo", "events": ["lead.qualifed"]})
    malformed = await api.post("/v1/webhook-subscriptions", headers=tenant.auth, json={"url": 7})
    assert "lead.qualifed" in assert_problem(unknown, 422, "validation-error")["detail"]
    assert_problem(malformed, 422, "validation-error")


async def test_a_subscription_disabled_by_410_gone_is_enabled_again_and_gets_the_next_event(
        api: httpx.AsyncClient) -> None:
    tenant, other = await sign_up(api), await sign_up(api)
    receiver = Receiver(planned=[410])
    async with serving(receiver.app()) as port:
        created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth,
                                 json={"url": f"http://127.0.0.1:{port}/afo",
                                       "events": ["conversation.message_received"]})
        subscription = created.json()
        receiver.secret = subscription["secret"]
        path = f"/v1/webhook-subscriptions/{subscription['id']}"
        agent_id = await published_agent(api, tenant)
        conversation_id = await conversation(api, tenant, agent_id)

        await say(api, tenant, conversation_id, FIVE_TURNS[0])
        disabled = await eventually(api, tenant, path, lambda b: b["status"] == "disabled", within_s=WAIT_S)
        assert disabled["disabled_reason"] == "gone"

        assert_problem(await api.post(f"{path}/enable", headers=other.auth), 404)
        enabled = await api.post(f"{path}/enable", headers=tenant.auth)
        assert enabled.status_code == 200, enabled.text
        assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("active", None)

        await say(api, tenant, conversation_id, FIVE_TURNS[1])
        async with asyncio.timeout(WAIT_S):
            received = await receiver.wait_for(2)

    assert [r.signature_valid for r in received] == [True, True]
    assert received[1].envelope["type"] == "afo.conversation.message_received.v1"
    assert received[1].envelope["id"] != received[0].envelope["id"]
    again = await api.post(f"{path}/enable", headers=tenant.auth)  # enabling an active one answers it as it is
    assert again.status_code == 200 and again.json()["status"] == "active"
