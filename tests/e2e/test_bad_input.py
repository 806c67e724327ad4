"""Bad input gets a clear 4xx problem+json, never a 500 or a silent success."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest

from afo_testkit.problems import assert_problem
from tests.e2e.journey import conversation, published_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]



async def test_malformed_bodies_are_422_problems(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant))
    url = f"/v1/conversations/{conversation_id}/messages"
    headers = {**tenant.auth, "Content-Type": "application/json"}
    for raw in ('{"text": ', "[]", '{"text": 42}', '{"text": ""}', '{"txt": "hi"}', "not json"):
        body = assert_problem(await api.post(url, headers=headers, content=raw), 422)
        assert body["errors"], raw
    assert_problem(await api.post(url, headers=tenant.auth, json={"text": "x" * 8001}), 422)
    assert_problem(await api.post("/v1/agents", headers=tenant.auth, json={"name": "A", "persona": "x" * 2_000_000}),
                   413)
    assert_problem(await api.post("/v1/signup", json={"email": "nope", "password": "0123456789",
                                                      "company": "X"}), 422)
    assert_problem(await api.post("/v1/signup", json={"email": "a@b.example", "password": "short",
                                                      "company": "X"}), 422)
    assert_problem(await api.post("/v1/conversations", headers=tenant.auth,
                                  json={"agent_id": "agt_x", "channel": "fax"}), 422)


async def test_an_invalid_agent_configuration_names_the_fields(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    body = assert_problem(await api.post("/v1/agents", headers=tenant.auth, json={
        "name": "", "timezone": "Mars/Olympus", "llm": {"provider": "openai"},
        "qualification_fields": [{"name": "email", "kind": "email"}, {"name": "email", "kind": "email"}],
    }), 422)
    located = {tuple(error["loc"])[:2] for error in body["errors"]}
    assert ("body", "name") in located and ("body", "timezone") in located
    assert ("body", "llm") in located and ("body", "qualification_fields") in located
    assert_problem(await api.post("/v1/agents", headers=tenant.auth, json={"name": "A", "colour": "red"}), 422)


async def test_a_qualification_field_named_by_an_unknown_kind_is_a_422_naming_it(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)

    created = assert_problem(await api.post("/v1/agents", headers=tenant.auth, json={
        "name": "A", "qualification_fields": ["email", "fax"]}), 422)
    patched = assert_problem(await api.patch(f"/v1/agents/{agent_id}", headers=tenant.auth, json={
        "qualification_fields": [{"name": "email", "kind": "email"}, "shoe_size"]}), 422)

    created_errors, patched_errors = (cast(list[dict[str, Any]], p["errors"]) for p in (created, patched))
    assert [e["loc"] for e in created_errors] == [["body", "qualification_fields", 1]]
    assert "'fax' is not a field kind" in created_errors[0]["msg"]
    assert [e["loc"] for e in patched_errors] == [["body", "qualification_fields", 1]]
    assert len((await api.get("/v1/agents", headers=tenant.auth)).json()["data"]) == 1


async def test_auth_failures_are_401(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/agents"), 401)
    assert_problem(await api.get("/v1/agents", headers={"Authorization": "Bearer sk_not_a_key"}), 401)
    assert_problem(await api.get("/v1/agents", headers={"Authorization": "Basic abc"}), 401)
    assert_problem(await api.post("/v1/login", json={"email": "x@y.example", "password": "wrong password"}), 401)


async def test_a_conversation_needs_a_published_agent(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    draft = (await api.post("/v1/agents", headers=tenant.auth, json={"name": "Draft"})).json()
    assert_problem(await api.post("/v1/conversations", headers=tenant.auth, json={"agent_id": draft["id"]}), 409)
    assert_problem(await api.post("/v1/signup", json={"email": tenant.email, "password": "0123456789ab",
                                                      "company": "Again"}), 409)


async def test_idempotency_key_replays_and_refuses_a_different_body(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    headers = {**tenant.auth, "Idempotency-Key": "create-ava-1"}
    first = await api.post("/v1/agents", headers=headers, json={"name": "Ava"})
    again = await api.post("/v1/agents", headers=headers, json={"name": "Ava"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len((await api.get("/v1/agents", headers=tenant.auth)).json()["data"]) == 1
    assert_problem(await api.post("/v1/agents", headers=headers, json={"name": "Bob"}), 409)


async def test_pagination_walks_every_item_once(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    created = {(await api.post("/v1/agents", headers=tenant.auth, json={"name": f"A{i}"})).json()["id"]
               for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/agents", headers=tenant.auth, params=params)).json()
        seen += [agent["id"] for agent in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert_problem(await api.get("/v1/agents", headers=tenant.auth, params={"limit": "1000"}), 422)
