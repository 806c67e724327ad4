"""The chat widget over HTTP, on a gateway built by the composition root, with agent-runtime answered by a stand-in
on a real nats-server: ``GET /widget.js`` (no auth, cacheable, small), ``GET /v1/widget/config`` for a publishable
key from an allowed origin (the published version's template, its gaps filled), ``GET /v1/agents/{id}/embed``
for the people who build the agent (snippet, the agent's publishable keys by hint, phone set-up), and the
template's validation on the agent itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs.pages import Page
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

ORIGIN = "https://shop.example.com"
PUBLIC_URL = "https://afo.example.com"
AT = datetime(2026, 3, 2, tzinfo=UTC)
PUBLISHED: dict[str, Any] = {"name": "Ava", "greeting": "Hi, I'm Ava.", "channels": {"web": {
    "title": "Ask Ava", "greeting": None, "colour": "#0a7b83", "position": "bottom-left", "voice_button": True}}}
DRAFT = {**PUBLISHED, "channels": {"web": {**PUBLISHED["channels"]["web"], "title": "Not yet published"}}}


@dataclass
class AgentRuntime:
    """agent-runtime as the widget asks it: agents by tenant, each with a draft, its published versions and its
    phone numbers; another tenant's agent is not found."""

    agents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    asked: list[tuple[str, BaseModel]] = field(default_factory=list)

    def add(self, tenant_id: str, agent_id: str, draft: dict[str, Any], versions: list[dict[str, Any]],
            numbers: list[str] | None = None) -> None:
        self.agents[(tenant_id, agent_id)] = {"draft": draft, "versions": versions, "numbers": numbers or []}

    def _agent(self, tenant_id: str, agent_id: str) -> dict[str, Any]:
        if (tenant_id, agent_id) not in self.agents:
            raise RpcError("not_found", f"agent {agent_id} not found")
        return self.agents[(tenant_id, agent_id)]

    async def get(self, r: ar.AgentRef) -> ar.AgentView:
        agent = self._agent(r.tenant_id, r.agent_id)
        return ar.AgentView(id=r.agent_id, spec=agent["draft"], published_version=len(agent["versions"]) or None,
                            created_at=AT, updated_at=AT)

    async def versions(self, r: ar.ListVersions) -> Page[ar.AgentVersionView]:
        agent = self._agent(r.tenant_id, r.agent_id)
        below = int(r.cursor) if r.cursor else len(agent["versions"]) + 1
        views = [ar.AgentVersionView(agent_id=r.agent_id, version=n, spec=spec, published_at=AT)
                 for n, spec in enumerate(agent["versions"], start=1) if n < below]
        return Page[ar.AgentVersionView](data=list(reversed(views))[:r.limit])

    async def numbers(self, r: ch.PhoneNumbersRef) -> ch.PhoneNumbersView:
        return ch.PhoneNumbersView(agent_id=r.agent_id, numbers=self._agent(r.tenant_id, r.agent_id)["numbers"])


@pytest.fixture
async def agent_runtime(connection: NatsConnection) -> AgentRuntime:
    stand_in = AgentRuntime()
    handlers: dict[RpcOperation[Any, Any], Any] = {
        ar.GET_AGENT: stand_in.get, ar.LIST_VERSIONS: stand_in.versions, ch.GET_PHONE_NUMBERS: stand_in.numbers}
    await answer_rpcs(connection, handlers, stand_in.asked)
    return stand_in


@pytest.fixture
async def gateway(gateways: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AFO_PUBLIC_URL", PUBLIC_URL)
    service = await gateways.start()
    return await gateways.client(service)


async def publishable(client: Any, owner: Any, agent_id: str, origins: list[str] | None = None) -> dict[str, Any]:
    created = await client.post("/v1/api-keys", headers=owner.auth, json={
        "kind": "publishable", "name": f"site of {agent_id}", "agent_id": agent_id,
        "allowed_origins": origins or [ORIGIN]})
    assert created.status_code == 201, created.text
    key: dict[str, Any] = created.json()
    return key


def widget(key: dict[str, Any], origin: str = ORIGIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}", "Origin": origin}


async def test_the_script_is_served_to_anyone_small_cacheable_and_free_of_eval(gateway: Any) -> None:
    response = await gateway.get("/widget.js", headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert 5_000 < len(response.content) < 40_000, len(response.content)
    source = response.text
    for forbidden in ("eval(", "new Function", "innerHTML", "setAttribute(\"style\"", ".style."):
        assert forbidden not in source, forbidden
    assert "data-afo-key" in source and "/v1/widget/config" in source

    etag = response.headers["etag"]
    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await gateway.get("/widget.js", headers={"If-None-Match": validator})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag), validator
    changed = await gateway.get("/widget.js", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == response.content


async def test_the_config_is_the_published_versions_template_for_a_publishable_key(
        gateways: Any, gateway: Any, agent_runtime: AgentRuntime) -> None:
    owner = await gateways.sign_up(gateway)
    agent_runtime.add(owner.tenant_id, "agt_ava", DRAFT, [{"name": "Ava v1"}, PUBLISHED])
    key = await publishable(gateway, owner, "agt_ava")

    response = await gateway.get("/v1/widget/config", headers=widget(key))

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.json() == {"agent_id": "agt_ava", "agent_name": "Ava", "title": "Ask Ava",
                                "greeting": "Hi, I'm Ava.", "colour": "#0a7b83", "position": "bottom-left",
                                "voice": True}
    asked = len(agent_runtime.asked)
    assert (await gateway.get("/v1/widget/config", headers=widget(key))).json() == response.json()
    assert len(agent_runtime.asked) == asked  # kept for a few seconds: every page view asks


async def test_without_a_template_the_widget_shows_the_agents_name_and_greeting_or_the_defaults(
        gateways: Any, gateway: Any, agent_runtime: AgentRuntime) -> None:
    owner = await gateways.sign_up(gateway)
    agent_runtime.add(owner.tenant_id, "agt_bo", {"name": "Bo"}, [{"name": "Bo", "greeting": "Hello from Bo!"}])
    agent_runtime.add(owner.tenant_id, "agt_cy", {"name": "Cy"}, [{"name": "Cy"}])

    bo = (await gateway.get("/v1/widget/config", headers=widget(await publishable(gateway, owner, "agt_bo")))).json()
    cy = (await gateway.get("/v1/widget/config", headers=widget(await publishable(gateway, owner, "agt_cy")))).json()

    assert bo == {"agent_id": "agt_bo", "agent_name": "Bo", "title": "Bo", "greeting": "Hello from Bo!",
                  "colour": "#2563eb", "position": "bottom-right", "voice": False}
    assert (cy["title"], cy["greeting"]) == ("Cy", "Hi! How can I help you today?")


async def test_the_config_is_refused_to_another_origin_a_secret_key_and_before_publishing(
        gateways: Any, gateway: Any, agent_runtime: AgentRuntime) -> None:
    owner = await gateways.sign_up(gateway)
    agent_runtime.add(owner.tenant_id, "agt_ava", DRAFT, [PUBLISHED])
    agent_runtime.add(owner.tenant_id, "agt_new", DRAFT, [])
    key = await publishable(gateway, owner, "agt_ava")

    foreign = assert_problem(await gateway.get("/v1/widget/config", headers=widget(key, "https://evil.example")),
                             403, "forbidden")
    assert "origin" in foreign["detail"]
    assert foreign["detail"] and key["secret"] not in str(foreign)
    assert_problem(await gateway.get("/v1/widget/config", headers={**widget(key), "Origin": ""}), 403)
    assert_problem(await gateway.get("/v1/widget/config", headers=owner.auth), 403, "forbidden")
    assert_problem(await gateway.get("/v1/widget/config"), 401)
    unpublished = await publishable(gateway, owner, "agt_new")
    assert "publish" in assert_problem(await gateway.get("/v1/widget/config", headers=widget(unpublished)),
                                       409)["detail"]


async def test_the_embed_code_names_the_agents_publishable_keys_by_hint_and_its_phone_setup(
        gateways: Any, gateway: Any, agent_runtime: AgentRuntime) -> None:
    owner = await gateways.sign_up(gateway)
    agent_runtime.add(owner.tenant_id, "agt_ava", DRAFT, [PUBLISHED], numbers=["+14155550100"])
    agent_runtime.add(owner.tenant_id, "agt_bo", {"name": "Bo"}, [])
    first = await publishable(gateway, owner, "agt_ava", ["https://shop.example.com/", "https://WWW.example.com"])
    second = await publishable(gateway, owner, "agt_ava")
    revoked = await publishable(gateway, owner, "agt_ava")
    assert (await gateway.delete(f"/v1/api-keys/{revoked['id']}", headers=owner.auth)).status_code == 204
    await publishable(gateway, owner, "agt_bo")

    response = await gateway.get("/v1/agents/agt_ava/embed", headers=owner.auth)

    assert response.status_code == 200, response.text
    embed = response.json()
    assert embed["snippet"] == (f'<script src="{PUBLIC_URL}/widget.js" data-afo-key="YOUR_PUBLISHABLE_KEY" '
                                "async></script>")
    assert (embed["agent_id"], embed["published"], embed["script_url"], embed["key_placeholder"]) == (
        "agt_ava", True, f"{PUBLIC_URL}/widget.js", "YOUR_PUBLISHABLE_KEY")
    assert sorted((k["id"], k["hint"], k["allowed_origins"]) for k in embed["publishable_keys"]) == sorted([
        (second["id"], second["hint"], [ORIGIN]),
        (first["id"], first["hint"], ["https://shop.example.com", "https://www.example.com"])])
    assert [k["id"] for k in embed["publishable_keys"]] == sorted([first["id"], second["id"]], reverse=True)
    assert first["secret"] not in response.text and second["secret"] not in response.text
    assert embed["widget"]["title"] == "Ask Ava"  # what visitors see: the published version
    assert embed["phone"] == {"numbers": ["+14155550100"], "voice_webhook_url": f"{PUBLIC_URL}/twilio/voice",
                              "sms_webhook_url": f"{PUBLIC_URL}/twilio/sms",
                              "status_callback_url": f"{PUBLIC_URL}/twilio/status"}

    bo = (await gateway.get("/v1/agents/agt_bo/embed", headers=owner.auth)).json()
    assert (bo["published"], bo["widget"], bo["phone"], len(bo["publishable_keys"])) == (False, None, None, 1)


async def test_the_embed_code_is_for_the_agents_own_tenant_and_a_user_who_may_read(
        gateways: Any, gateway: Any, agent_runtime: AgentRuntime) -> None:
    owner = await gateways.sign_up(gateway)
    stranger = await gateways.sign_up(gateway)
    agent_runtime.add(owner.tenant_id, "agt_ava", DRAFT, [PUBLISHED])
    key = await publishable(gateway, owner, "agt_ava")

    assert_problem(await gateway.get("/v1/agents/agt_ava/embed", headers=stranger.auth), 404)
    assert_problem(await gateway.get("/v1/agents/agt_ava/embed", headers=widget(key)), 403)
    assert_problem(await gateway.get("/v1/agents/agt_ava/embed"), 401)
    too_long = assert_problem(await gateway.get(f"/v1/agents/{'a' * 65}/embed", headers=owner.auth), 422)
    assert too_long["errors"][0]["loc"] == ["path", "agent_id"]


@pytest.mark.parametrize(("web", "field_name"), [
    ({"colour": "blue"}, "colour"), ({"position": "top-right"}, "position"), ({"greeting": "x" * 501}, "greeting"),
    ({"colour": "#0a7b83", "font": "Comic Sans"}, "font")])
async def test_a_malformed_template_is_a_422_naming_its_field(
        gateways: Any, gateway: Any, web: dict[str, Any], field_name: str) -> None:
    owner = await gateways.sign_up(gateway)

    created = await gateway.post("/v1/agents", headers=owner.auth, json={"name": "Ava", "channels": {"web": web}})
    patched = await gateway.patch("/v1/agents/agt_1", headers=owner.auth, json={"channels": {"web": web}})
    for response in (created, patched):
        problem = assert_problem(response, 422, "validation-error")
        assert [e["loc"] for e in problem["errors"]] == [["body", "channels", "web", field_name]]
