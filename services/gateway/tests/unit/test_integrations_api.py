"""The vault through the public API, on gateways built by the composition root: masked answers, problems,
Idempotency-Key replays without secrets, connection tests against local stand-ins of OpenAI and Twilio, and
no plaintext secret in the database file, the outbox or any event published on NATS."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_common.messaging.connection import NatsConnection
from afo_testkit.local_server import serving
from afo_testkit.openai_server import FakeOpenAI
from afo_testkit.problems import assert_problem
from afo_testkit.spans import exported as exported

TWILIO_SID, TWILIO_TOKEN = "AC0123456789abcdef0123", "twilio-auth-token-secret-5678"
OPENAI_KEY = "sk-openai-key-never-shown-9999"
SMTP_PASSWORD = "smtp-password-never-shown"


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[str]:
    """``GET /2010-04-01/Accounts/{sid}.json`` with basic auth, as Twilio answers it."""

    async def account(request: Request) -> Response:
        sid = request.path_params["sid"]
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if sid != TWILIO_SID or request.headers.get("authorization") != expected:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        return JSONResponse({"sid": sid, "status": "active"})

    async with serving(Starlette(routes=[Route("/2010-04-01/Accounts/{sid}.json", account)])) as port:
        yield f"http://127.0.0.1:{port}"


async def test_credentials_are_written_masked_listed_replayed_and_removed(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)
    body = {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN}
    headers = {**owner.auth, "Idempotency-Key": "put-twilio-1"}

    put = await client.put("/v1/integrations/twilio", json=body, headers=headers)
    replay = await client.put("/v1/integrations/twilio", json=body, headers=headers)

    assert put.status_code == 200, put.text
    shown = put.json()
    assert shown["fields"] == {"account_sid": TWILIO_SID, "auth_token": "••••5678"}
    assert (shown["provider"], shown["configured"], shown["key_id"]) == ("twilio", True, "t1")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == shown
    assert TWILIO_TOKEN not in put.text + replay.text
    listed = (await client.get("/v1/integrations", headers=owner.auth)).json()["data"]
    assert listed == [shown] and (await client.get("/v1/integrations/twilio", headers=owner.auth)).json() == shown
    assert (await client.delete("/v1/integrations/twilio", headers=owner.auth)).status_code == 204
    assert_problem(await client.get("/v1/integrations/twilio", headers=owner.auth), 404, "not-found")
    assert (await client.get("/v1/integrations", headers=owner.auth)).json() == {"data": []}


async def test_bad_fields_unknown_providers_and_strangers_get_problems(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())
    owner, other = await gateways.sign_up(client), await gateways.sign_up(client)
    await client.put("/v1/integrations/openai", json={"api_key": OPENAI_KEY}, headers=owner.auth)

    invalid = assert_problem(await client.put("/v1/integrations/openai", json={"api_key": "short"},
                                              headers=owner.auth), 422, "validation-error")
    assert invalid["errors"][0]["loc"] == ["body", "api_key"]
    assert_problem(await client.put("/v1/integrations/myspace", json={}, headers=owner.auth), 404)
    assert_problem(await client.put("/v1/integrations/openai", json={"api_key": OPENAI_KEY}), 401)
    assert_problem(await client.get("/v1/integrations/openai", headers=other.auth), 404)
    assert (await client.get("/v1/integrations", headers=other.auth)).json() == {"data": []}
    assert_problem(await client.delete("/v1/integrations/openai", headers=other.auth), 404)
    assert_problem(await client.post("/v1/integrations/hubspot/test", headers=owner.auth), 501, "test-not-available")


async def test_connection_tests_ask_openai_and_twilio_with_the_stored_credentials(
    gateways: Any, monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    async with FakeOpenAI([], api_key=OPENAI_KEY) as openai, fake_twilio() as twilio:
        monkeypatch.setenv("AFO_TWILIO_API_BASE_URL", twilio)
        client = await gateways.client(await gateways.start())
        owner = await gateways.sign_up(client)

        async def check(provider: str, fields: dict[str, str]) -> Any:
            put = await client.put(f"/v1/integrations/{provider}", json=fields, headers=owner.auth)
            assert put.status_code == 200, put.text
            response = await client.post(f"/v1/integrations/{provider}/test", headers=owner.auth)
            assert response.status_code == 200, response.text
            return response.json()

        assert await check("openai", {"api_key": OPENAI_KEY, "base_url": openai.base_url}) == {
            "ok": True, "error": None, "status": None}
        assert openai.authorizations[-1] == f"Bearer {OPENAI_KEY}"
        wrong = await check("openai", {"api_key": OPENAI_KEY + "x", "base_url": openai.base_url})
        assert (wrong["ok"], wrong["status"]) == (False, 401)
        assert await check("twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN}) == {
            "ok": True, "error": None, "status": None}
        refused = await check("twilio", {"account_sid": TWILIO_SID, "auth_token": "wrong-token-123"})
        assert (refused["ok"], refused["status"]) == (False, 401)
    probes = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert [(span.name, dict(span.attributes or {})["http.response.status_code"]) for span in probes] == [
        ("GET openai", 200), ("GET openai", 401), ("GET twilio", 200), ("GET twilio", 401)]
    recorded = " ".join(str(v) for span in probes for v in (span.attributes or {}).values())
    assert OPENAI_KEY not in recorded and TWILIO_SID not in recorded and TWILIO_TOKEN not in recorded
    await client.delete("/v1/integrations/openai", headers=owner.auth)
    assert_problem(await client.post("/v1/integrations/openai/test", headers=owner.auth), 404)


async def test_no_plaintext_secret_reaches_the_database_the_outbox_or_nats(
    gateways: Any, connection: NatsConnection, tmp_path: Path
) -> None:
    published: list[bytes] = []

    async def keep(msg: Any) -> None:
        published.append(msg.subject.encode() + msg.data + json.dumps(dict(msg.headers or {})).encode())

    await connection.client.subscribe("afo.>", cb=keep)
    service = await gateways.start()
    client = await gateways.client(service)
    owner = await gateways.sign_up(client)
    writes = {"openai": {"api_key": OPENAI_KEY},
              "twilio": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN},
              "smtp": {"host": "mail.example", "port": 587, "username": "bot", "password": SMTP_PASSWORD,
                       "from_address": "bot@example.com"}}
    for provider, fields in writes.items():
        response = await client.put(f"/v1/integrations/{provider}", json=fields, headers=owner.auth)
        assert response.status_code == 200, response.text
    assert (await client.delete("/v1/integrations/smtp", headers=owner.auth)).status_code == 204
    for _ in range(200):
        if sum(b".integration." in m for m in published) >= 4:
            break
        await asyncio.sleep(0.05)

    events = [m for m in published if b".integration." in m]
    assert len(events) == 4, published
    assert b"auth_token" in events[1] and b"key_id" in events[1]  # field names and the key, never values
    database = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("gateway.db*"))
    assert b"integrations" in database
    for secret in (OPENAI_KEY, TWILIO_TOKEN, SMTP_PASSWORD):
        assert secret.encode() not in database, secret
        assert not [m for m in published if secret.encode() in m], secret


async def test_a_gateway_started_after_a_rotation_reencrypts_and_the_old_key_can_then_go(
    gateways: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "t1:" + base64.b64encode(bytes(range(32))).decode()
    new = "t2:" + base64.b64encode(bytes(range(32, 64))).decode()
    monkeypatch.setenv("AFO_VAULT_KEY", old)
    first = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(first)
    put = await first.put("/v1/integrations/openai", json={"api_key": OPENAI_KEY}, headers=owner.auth)
    assert put.json()["key_id"] == "t1"

    monkeypatch.setenv("AFO_VAULT_KEY", f"{new},{old}")  # `afo vault rotate`, then a restart
    rotated = await gateways.client(await gateways.start())
    for _ in range(100):
        if (await rotated.get("/v1/integrations/openai", headers=owner.auth)).json()["key_id"] == "t2":
            break
        await asyncio.sleep(0.05)
    monkeypatch.setenv("AFO_VAULT_KEY", new)  # `afo vault retire`, then a restart
    retired = await gateways.client(await gateways.start())

    shown = await retired.get("/v1/integrations/openai", headers=owner.auth)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["key_id"], shown.json()["fields"]["api_key"]) == ("t2", "••••9999")
