"""The operators' admin area against real processes (every service on a real nats-server, each with its own
least-privilege NATS user): an operator made by ``afo operator add`` (the gateway's RPC, as the NATS admin) logs in;
a schema-invalid event published on a consumed subject becomes a real dead letter that the admin API lists and
shows; replaying it sends it back to its subject, where agent-runtime's consumer gives up on it again (a new dead
letter, the same event); the new one is discarded; replay and discard are each done once however often asked;
consumer lag, health and throughput, and every tenant's anomalies are read; a tenant's own key and session are
refused. ``running_platform`` fails if NATS refused the gateway any of it. The platform may be shared with other
modules: only this test's own dead letters (by their event id) are looked at."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import nats
import pytest

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform
from tests.e2e.journey import sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def every(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a list, page by page: the platform is shared, others' items come before ours."""
    items, cursor = [], None
    while True:
        response = await client.get(path, params={**params, "limit": "100", **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        if (cursor := body["next_cursor"]) is None:
            return items


async def until(client: httpx.AsyncClient, path: str, holds: Callable[[list[dict[str, Any]]], bool],
                within_s: float = 20.0, **params: str) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        if holds(items := await every(client, path, **params)):
            return items
        assert loop.time() < deadline, f"{path} never came to the expected state: {items[-5:]}"
        await asyncio.sleep(0.2)


def theirs(event_id: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def letters(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in items if d["event_id"] == event_id]

    return letters


async def test_a_real_dead_letter_is_seen_replayed_and_discarded_and_lag_is_read(platform: Platform,
                                                                                 api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    added = await add_operator(platform.nats_url, platform.nats_auth(), f"ops+{tenant.id}@example.com")
    event_id = f"evt-not-a-cloudevent-{tenant.id}"
    broken = json.dumps({"specversion": "1.0", "id": event_id, "type": "afo.conversation.message_received.v1",
                         "tenantid": tenant.id}).encode()
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        await admin.jetstream().publish(f"afo.{tenant.id}.conversation.message_received", broken)
    finally:
        await admin.close()

    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as operator:
        assert (await operator.post("/v1/login", json={"email": added.operator.email,
                                                       "password": added.password})).status_code == 200
        mine = theirs(event_id)
        listed = await until(operator, "/v1/admin/dead-letters", lambda items: bool(mine(items)),
                             service="agent-runtime")
        [letter] = mine(listed)
        shown = (await operator.get(f"/v1/admin/dead-letters/{letter['id']}")).json()
        refused = [await api.get("/v1/admin/dead-letters", headers=tenant.auth),
                   await api.post(f"/v1/admin/dead-letters/{letter['id']}/discard", headers=tenant.auth)]

        replayed = await operator.post(f"/v1/admin/dead-letters/{letter['id']}/replay")
        again = await operator.post(f"/v1/admin/dead-letters/{letter['id']}/replay")
        # agent-runtime's consumer gets the event again and gives up on it again: a new dead letter of it.
        relisted = await until(operator, "/v1/admin/dead-letters",
                               lambda items: any(d["id"] != letter["id"] for d in mine(items)),
                               service="agent-runtime")
        [second] = [d for d in mine(relisted) if d["id"] != letter["id"]]
        discarded = await operator.post(f"/v1/admin/dead-letters/{second['id']}/discard")
        discarded_again = await operator.post(f"/v1/admin/dead-letters/{second['id']}/discard")
        replay_discarded = await operator.post(f"/v1/admin/dead-letters/{second['id']}/replay")
        first_now = (await operator.get(f"/v1/admin/dead-letters/{letter['id']}")).json()

        lag = await every(operator, "/v1/admin/consumers")
        health = (await operator.get("/v1/admin/health")).json()
        anomalies = await operator.get("/v1/admin/anomalies")
        console = await operator.get("/console/admin/dead-letters")

    assert (letter["consumer"], letter["tenant_id"], letter["status"]) == (
        "agent-runtime-message-received", tenant.id, "dead")
    assert shown["payload"].encode() == broken and shown["reason"].startswith("schema_invalid")
    assert [r.status_code for r in refused] == [403, 403]
    assert replayed.status_code == 200 and again.json() == replayed.json()
    assert replayed.json()["actor"] == added.operator.id
    assert second["subject"] == letter["subject"] and int(second["id"][4:]) > int(letter["id"][4:])
    assert discarded.status_code == 200 and discarded_again.json() == discarded.json()
    assert replay_discarded.status_code == 409
    assert (first_now["status"], first_now["payload"]) == ("replayed", None)
    durables = {c["name"]: c for c in lag}
    assert {"agent-runtime-message-received", "notifier-webhooks-conversation",
            "workflow-executor-anomalies-turns-tallied"} <= set(durables)
    assert health["ready"] is True
    streams = {s["name"]: s for s in health["streams"]}
    assert streams["CONVERSATION"]["last_minute"] >= 2 and streams["DEADLETTER"]["last_hour"] >= 2
    assert anomalies.status_code == 200 and isinstance(anomalies.json()["data"], list)
    assert console.status_code == 200 and "Dead letters" in console.text
