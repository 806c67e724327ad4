"""SMS and inbound leads over the running platform (every service, real nats-server; Twilio's Messages API is the
local stand-in ``FakeTwilio`` through ``AFO_TWILIO_API_BASE_URL``; ``AFO_PUBLIC_URL`` is the address Twilio signs):

- an agent gets a number; a lead's SMS to it, signed with twilio's ``RequestValidator`` for the tenant's stored
  auth token, becomes a conversation whose reply goes back by SMS from the agent's number (seen at the stand-in
  and in ``GET /v1/notifications``), and the delivery report Twilio would send lands on that notification;
- a bad signature is a 403 (and a tenant without Twilio credentials cannot be checked: 403 too);
- a web form's lead (an inbound source) is answered first by SMS — in the sink while the tenant has no Twilio
  credentials — and the lead's SMS answer continues that same conversation; the same form posted again makes
  one lead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from afo_testkit.platform import Platform
from afo_testkit.problems import assert_problem
from afo_testkit.twilio_server import FakeTwilio
from tests.e2e.journey import Tenant, eventually, published_agent, sign_up
from tests.e2e.phone import PUBLIC

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_S = 30.0


async def connect_twilio(api: httpx.AsyncClient, tenant: Tenant, twilio: FakeTwilio) -> None:
    stored = await api.put("/v1/integrations/twilio", headers=tenant.auth, json={
        "account_sid": twilio.account_sid, "auth_token": twilio.auth_token, "from_number": "+15005550006"})
    assert stored.status_code == 200, stored.text


async def text_agent(api: httpx.AsyncClient, tenant: Tenant, agent_id: str, number: str) -> None:
    put = await api.put(f"/v1/agents/{agent_id}/phone-numbers", headers=tenant.auth, json={"numbers": [number]})
    assert put.status_code == 200, put.text


async def sms(api: httpx.AsyncClient, twilio: FakeTwilio, sid: str, sender: str, to: str, body: str,
              token: str | None = None) -> httpx.Response:
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": twilio.account_sid, "From": sender, "To": to,
              "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token or twilio.auth_token).compute_signature(f"{PUBLIC}/twilio/sms", params)
    return await api.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})


async def replies(api: httpx.AsyncClient, tenant: Tenant, count: int) -> list[dict[str, Any]]:
    body = await eventually(api, tenant, "/v1/notifications", lambda b: sum(
        1 for r in b["data"] if r["kind"] == "reply" and r["status"] == "sent") >= count, within_s=WAIT_S)
    return [r for r in body["data"] if r["kind"] == "reply"]


async def test_an_sms_is_answered_by_sms_and_its_delivery_recorded(platform: Platform, api: httpx.AsyncClient,
                                                                   twilio: FakeTwilio) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, greeting="Hi! I'm Ava from Acme.")
    await connect_twilio(api, tenant, twilio)
    await text_agent(api, tenant, agent_id, "+1 415 555 0100")

    ok = await sms(api, twilio, "SM" + "1" * 32, "+14155550199", "+14155550100", "Hi, I'm Dana from Northwind")
    assert ok.status_code == 200 and "<Response/>" in ok.text
    again = await sms(api, twilio, "SM" + "1" * 32, "+14155550199", "+14155550100", "Hi, I'm Dana from Northwind")
    assert again.status_code == 200
    assert_problem(await sms(api, twilio, "SM" + "2" * 32, "+14155550199", "+14155550100", "hello",
                             token="not-the-token"), 403)

    [reply] = await replies(api, tenant, 1)
    assert (reply["channel"], reply["provider"], reply["to"]) == ("sms", "twilio", "+14•••••0199")
    # The stand-in serves every tenant of the worker: this agent's number (no other agent may hold it) to the lead.
    [sent] = [m for m in twilio.messages if (m["to"], m["from"]) == ("+14155550199", "+14155550100")]
    assert sent["body"] == reply["body"]
    assert sent["status_callback"] == f"{PUBLIC}/twilio/status?tenant={tenant.id}"
    conversations = (await api.get("/v1/conversations", headers=tenant.auth)).json()["data"]
    assert [(c["channel"], c["contact"]["phone"]) for c in conversations] == [("sms", "+14155550199")]
    detail = (await api.get(f"/v1/conversations/{conversations[0]['id']}", headers=tenant.auth)).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]  # the retried webhook added nothing

    # Twilio's delivery report, signed for the callback URL it was given.
    report = {"MessageSid": sent["sid"], "MessageStatus": "delivered", "AccountSid": twilio.account_sid,
              "From": "+14155550100", "To": "+14155550199"}
    signature = RequestValidator(twilio.auth_token).compute_signature(sent["status_callback"], report)
    posted = await api.post(f"/twilio/status?tenant={tenant.id}", data=report,
                            headers={"X-Twilio-Signature": signature})
    assert posted.status_code == 204
    shown = (await api.get(f"/v1/notifications/{reply['id']}", headers=tenant.auth)).json()
    assert shown["delivery_status"] == "delivered"


async def test_a_tenant_without_twilio_credentials_cannot_have_sms_checked(platform: Platform,
                                                                          api: httpx.AsyncClient,
                                                                          twilio: FakeTwilio) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    await text_agent(api, tenant, agent_id, "+14155550101")
    assert_problem(await sms(api, twilio, "SM" + "3" * 32, "+14155550199", "+14155550101", "hello"), 403)
    assert_problem(await sms(api, twilio, "SM" + "4" * 32, "+14155550199", "+14155550999", "hello"), 404)


async def test_a_form_lead_is_texted_first_and_its_sms_answer_continues(platform: Platform, api: httpx.AsyncClient,
                                                                        twilio: FakeTwilio) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, greeting="Hi! I'm Ava from Acme.",
                                     qualification_fields=["name", "email", "company"])
    await text_agent(api, tenant, agent_id, "+14155550102")
    source = (await api.post("/v1/inbound-sources", headers=tenant.auth, json={
        "name": "Website", "agent_id": agent_id, "phone_region": "US"})).json()
    form = {"first_name": "Lee", "last_name": "Park", "email": "lee@example.com", "phone": "(415) 555-0177",
            "message": "Can I get a demo?"}
    bearer = {"Authorization": f"Bearer {source['secret']}"}
    first = await api.post(f"/v1/inbound/{source['id']}", data=form, headers=bearer)
    again = await api.post(f"/v1/inbound/{source['id']}", data=form, headers=bearer)
    assert first.status_code == again.status_code == 202, first.text
    lead = first.json()
    assert lead["created"] and not again.json()["created"] and again.json()["lead_id"] == lead["lead_id"]

    # No Twilio credentials yet: the opening SMS lands in the sink.
    [opening] = await replies(api, tenant, 1)
    assert (opening["channel"], opening["provider"], opening["lead_id"]) == ("sms", "sink", lead["lead_id"])
    assert opening["body"].startswith("Hi! I'm Ava from Acme. Thanks for your message, Lee")
    leads = (await api.get("/v1/leads", headers=tenant.auth)).json()["data"]
    assert [x["id"] for x in leads] == [lead["lead_id"]]

    # The lead answers by SMS (now that the tenant connected Twilio): the same conversation carries on.
    await connect_twilio(api, tenant, twilio)
    answered = await sms(api, twilio, "SM" + "5" * 32, "+14155550177", "+14155550102", "We're Northwind Traders")
    assert answered.status_code == 200
    await replies(api, tenant, 2)
    detail = await eventually(api, tenant, f"/v1/conversations/{lead['conversation_id']}",
                              lambda b: len(b["messages"]) == 4, within_s=WAIT_S)
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["lead"]["fields"]["company"] == "Northwind Traders"
    assert [m["from"] for m in twilio.messages if m["to"] == "+14155550177"] == ["+14155550102"]
