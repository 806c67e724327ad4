"""Inbound lead sources over HTTP, on a gateway built by the composition root, with agent-runtime answered by
a stand-in on a real nats-server: the secret shown once, token and Standard Webhooks signature sources (the
signature computed with the ``standardwebhooks`` package), JSON and form bodies, and every refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_runtime_channels as ch
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@dataclass
class Runtime:
    leads: dict[str, ch.InboundLead] = field(default_factory=dict)

    async def agent(self, r: ar.AgentRef) -> ar.AgentView:
        if r.agent_id != "agt_1":
            raise RpcError("not_found", f"agent {r.agent_id} not found")
        return ar.AgentView(id=r.agent_id, spec={"name": "Ava"}, published_version=1, created_at=NOW, updated_at=NOW)

    async def inbound(self, r: ch.InboundLead) -> ch.InboundLeadView:
        created = r.request_id not in self.leads
        self.leads.setdefault(r.request_id, r)
        number = list(self.leads).index(r.request_id)
        return ch.InboundLeadView(conversation_id=f"conv_{number}", lead_id=f"lead_{number}", created=created,
                                  reached_by="sms" if r.contact.phone else "email")


@pytest.fixture
async def runtime(connection: NatsConnection) -> Runtime:
    stand_in = Runtime()
    handlers: dict[RpcOperation[Any, Any], Any] = {ar.GET_AGENT: stand_in.agent, ch.INBOUND_LEAD: stand_in.inbound}
    await answer_rpcs(connection, handlers)
    return stand_in


@pytest.fixture
async def api(gateways: Any, runtime: Runtime) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    return client, await gateways.sign_up(client), await gateways.sign_up(client)


async def test_a_token_source_takes_json_and_forms_and_dedupes(api: Any, runtime: Runtime) -> None:
    client, owner, _ = api
    made = await client.post("/v1/inbound-sources", headers=owner.auth, json={
        "name": "Website form", "agent_id": "agt_1", "phone_region": "US", "field_map": {"message": "question"}})
    assert made.status_code == 201, made.text
    source = made.json()
    assert source["secret"].startswith("ist_") and source["auth"] == "token"
    listed = (await client.get("/v1/inbound-sources", headers=owner.auth)).json()
    assert [s["id"] for s in listed["data"]] == [source["id"]] and listed["data"][0]["secret"] is None

    url = f"/v1/inbound/{source['id']}"
    bearer = {"Authorization": f"Bearer {source['secret']}"}
    lead = {"name": "Dana Reyes", "phone": "415-555-0199", "question": "Do you do demos?", "id": "form-1"}
    first = await client.post(url, json=lead, headers=bearer)
    again = await client.post(url, data={**lead, "name": "Dana R."}, params={"token": source["secret"]})
    assert first.status_code == again.status_code == 202
    assert first.json()["created"] and not again.json()["created"]
    assert first.json()["conversation_id"] == again.json()["conversation_id"]
    [sent] = runtime.leads.values()
    assert (sent.tenant_id, sent.agent_id, sent.channel, sent.message) == (owner.tenant_id, "agt_1", "sms",
                                                                           "Do you do demos?")
    assert sent.contact.phone == "+14155550199" and sent.fields["name"] == "Dana Reyes"


async def test_bad_submissions_are_problems(api: Any) -> None:
    client, owner, _ = api
    source = (await client.post("/v1/inbound-sources", headers=owner.auth,
                                json={"name": "Form", "agent_id": "agt_1"})).json()
    url, bearer = f"/v1/inbound/{source['id']}", {"Authorization": f"Bearer {source['secret']}"}
    assert_problem(await client.post("/v1/inbound/src_nope", json={"email": "a@example.com"}, headers=bearer), 404)
    assert_problem(await client.post(url, json={"email": "a@example.com"}), 401)
    assert_problem(await client.post(url, json={"email": "a@example.com"}, headers={"Authorization": "Bearer x"}),
                   401)
    assert_problem(await client.post(url, content=b"{not json", headers={**bearer, "Content-Type":
                                                                          "application/json"}), 400)
    assert_problem(await client.post(url, json=["a@example.com"], headers=bearer), 400)
    assert_problem(await client.post(url, content=b"email=a", headers={**bearer, "Content-Type": "text/plain"}), 415)
    assert_problem(await client.post(url, json={"email": "nope"}, headers=bearer), 422)
    assert_problem(await client.post(url, json={"name": "No Contact"}, headers=bearer), 422)
    assert_problem(await client.post(url, json={"message": "x" * 2_000_000}, headers=bearer), 413)


async def test_a_signature_source_verifies_standard_webhooks(api: Any, runtime: Runtime) -> None:
    client, owner, _ = api
    source = (await client.post("/v1/inbound-sources", headers=owner.auth, json={
        "name": "Zap", "agent_id": "agt_1", "auth": "signature", "channel": "email"})).json()
    assert source["secret"].startswith("whsec_")
    body = json.dumps({"email": "lee@example.com", "first_name": "Lee"})
    now = datetime.now(UTC)
    signature = Webhook(source["secret"]).sign("msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
               "Content-Type": "application/json"}
    url = f"/v1/inbound/{source['id']}"
    ok = await client.post(url, content=body, headers=headers)
    assert ok.status_code == 202 and ok.json()["reached_by"] == "email"
    assert list(runtime.leads.values())[-1].channel == "email"
    assert_problem(await client.post(url, content=body.replace("Lee", "Eve"), headers=headers), 401)
    assert_problem(await client.post(url, content=body, headers={"Content-Type": "application/json"}), 401)
    bad = {**headers, "webhook-signature": Webhook("whsec_" + "A" * 43 + "=").sign("msg_1", now, body)}
    assert_problem(await client.post(url, content=body, headers=bad), 401)


async def test_sources_belong_to_their_tenant(api: Any) -> None:
    client, owner, other = api
    assert_problem(await client.post("/v1/inbound-sources", headers=owner.auth,
                                     json={"name": "Form", "agent_id": "agt_missing"}), 404)
    assert_problem(await client.post("/v1/inbound-sources", headers=owner.auth,
                                     json={"name": "Form", "agent_id": "agt_1", "field_map": {"fax": "f"}}), 422)
    source = (await client.post("/v1/inbound-sources", headers=owner.auth,
                                json={"name": "Form", "agent_id": "agt_1"})).json()
    assert (await client.get("/v1/inbound-sources", headers=other.auth)).json()["data"] == []
    assert_problem(await client.delete(f"/v1/inbound-sources/{source['id']}", headers=other.auth), 404)
    assert (await client.delete(f"/v1/inbound-sources/{source['id']}", headers=owner.auth)).status_code == 204
    assert_problem(await client.post(f"/v1/inbound/{source['id']}", json={"email": "a@example.com"},
                                     headers={"Authorization": f"Bearer {source['secret']}"}), 404)
