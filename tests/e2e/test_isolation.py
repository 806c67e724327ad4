"""Tenant isolation and key scopes: every read with another tenant's key is a 404; publishable keys are
held to their agent, their web conversations and their origins."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
ORIGIN = "https://shop.example"


async def test_every_read_with_another_tenants_key_is_not_found(api: httpx.AsyncClient) -> None:
    owner = await sign_up(api, "Owner Co")
    intruder = await sign_up(api, "Intruder Co")
    agent_id = await published_agent(api, owner)
    conversation_id = await conversation(api, owner, agent_id)
    lead_id = (await say(api, owner, conversation_id, "I'm Dana from Acme, dana@acme.example"))["lead"]["id"]

    reads = [
        ("GET", f"/v1/agents/{agent_id}"),
        ("GET", f"/v1/agents/{agent_id}/versions"),
        ("PATCH", f"/v1/agents/{agent_id}"),
        ("POST", f"/v1/agents/{agent_id}/publish"),
        ("DELETE", f"/v1/agents/{agent_id}"),
        ("GET", f"/v1/conversations/{conversation_id}"),
        ("GET", f"/v1/conversations/{conversation_id}/stream"),
        ("POST", f"/v1/conversations/{conversation_id}/messages"),
        ("GET", f"/v1/leads/{lead_id}"),
    ]
    for method, path in reads:
        body = {"text": "hi"} if path.endswith("/messages") else ({"name": "x"} if method == "PATCH" else None)
        response = await api.request(method, path, headers=intruder.auth, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404

    for path in ("/v1/agents", "/v1/conversations", "/v1/leads"):
        page = (await api.get(path, headers=intruder.auth)).json()
        assert page["data"] == [], path
    started = await api.post("/v1/conversations", headers=intruder.auth, json={"agent_id": agent_id})
    assert started.status_code == 404
    # The owner still sees everything.
    assert (await api.get(f"/v1/leads/{lead_id}", headers=owner.auth)).status_code == 200


async def test_publishable_keys_open_only_their_agents_web_conversations(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    other_agent = await published_agent(api, tenant, name="Bob")
    created = await api.post("/v1/api-keys", headers=tenant.auth,
                             json={"kind": "publishable", "agent_id": agent_id, "allowed_origins": [ORIGIN]})
    assert created.status_code == 201, created.text
    pk = created.json()["secret"]
    assert pk.startswith("pk_")
    widget = {"Authorization": f"Bearer {pk}", "Origin": ORIGIN}

    opened = await api.post("/v1/conversations", headers=widget, json={"agent_id": agent_id, "channel": "api"})
    assert opened.status_code == 201 and opened.json()["channel"] == "web"
    web_conversation = opened.json()["id"]
    reply = await api.post(f"/v1/conversations/{web_conversation}/messages", params={"wait": "true"},
                           headers=widget, json={"text": "hello"})
    assert reply.status_code == 200 and reply.json()["reply"]["text"]

    wrong_origin = {"Authorization": f"Bearer {pk}", "Origin": "https://evil.example"}
    assert (await api.post("/v1/conversations", headers=wrong_origin, json={"agent_id": agent_id})).status_code == 403
    no_origin = {"Authorization": f"Bearer {pk}"}
    assert (await api.post("/v1/conversations", headers=no_origin, json={"agent_id": agent_id})).status_code == 403
    other = await api.post("/v1/conversations", headers=widget, json={"agent_id": other_agent})
    assert other.status_code == 403
    api_conversation = await conversation(api, tenant, agent_id)
    assert (await api.get(f"/v1/conversations/{api_conversation}", headers=widget)).status_code == 404
    for path in ("/v1/agents", "/v1/leads", "/v1/api-keys"):
        assert (await api.get(path, headers=widget)).status_code == 403, path


async def test_a_revoked_key_stops_working(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    created = (await api.post("/v1/api-keys", headers=tenant.auth, json={"name": "ci"})).json()
    extra = {"Authorization": f"Bearer {created['secret']}"}
    assert (await api.get("/v1/agents", headers=extra)).status_code == 200
    assert (await api.delete(f"/v1/api-keys/{created['id']}", headers=tenant.auth)).status_code == 204
    assert (await api.get("/v1/agents", headers=extra)).status_code == 401
    listed = (await api.get("/v1/api-keys", headers=tenant.auth)).json()["data"]
    assert created["id"] not in [k["id"] for k in listed]
    assert all("secret" not in k or k["secret"] is None for k in listed)
