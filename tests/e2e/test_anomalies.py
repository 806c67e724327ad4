"""Anomaly detection against real processes (gateway, agent-runtime, workflow-executor on a real nats-server),
with buckets of 2 s so a baseline warms up in seconds: a tenant's secret key sends one message per bucket, then
a burst of thirty at once. agent-runtime tallies the key's turns in windows of 1 s (``conversation.turns_tallied``
names the key), workflow-executor counts the tallies, and when the tick closes the burst's bucket it emits
``anomaly.detected`` — which the tenant's live feed (``GET /v1/realtime``) shows — and lists it at
``GET /v1/anomalies``; another tenant sees none of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, eventually, published_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

BUCKET_S = 2.0
BURST = 30
# A bucket is judged 1.5 s after it ends: its last window's tally is sent within 1.3 s of the window's end.
DETECTION = {"AFO_ANOMALY_BUCKET_S": str(int(BUCKET_S)), "AFO_ANOMALY_WARMUP_BUCKETS": "3",
             "AFO_ANOMALY_MIN_KEY_MESSAGES": "10", "AFO_ANOMALY_GRACE_S": "1.5", "AFO_ANOMALY_TICK_S": "0.5",
             "AFO_TURN_TALLY_WINDOW_S": "1", "AFO_TURN_TALLY_GRACE_S": "0.1", "AFO_TURN_TALLY_CLOSE_S": "0.2"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"),
                                services=("gateway", "agent-runtime", "workflow-executor"), supervise=False,
                                environment=DETECTION) as running:
        yield running


async def post(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, text: str) -> None:
    response = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=tenant.auth,
                              json={"text": text})
    assert response.status_code == 202, response.text


async def frames_until(ws: ClientConnection, kind: str, within_s: float) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame  # type: ignore[no-any-return]


async def test_a_burst_from_one_key_after_a_quiet_baseline_is_detected_shown_live_and_listed(
        platform: Platform, api: httpx.AsyncClient) -> None:
    tenant, other = await sign_up(api), await sign_up(api, company="Globex")
    agent_id = await published_agent(api, tenant)
    conversation_id = await conversation(api, tenant, agent_id)
    [key] = (await api.get("/v1/api-keys", headers=tenant.auth)).json()["data"]
    live = platform.gateway_url.replace("http://", "ws://", 1) + "/v1/realtime"
    async with connect(live, additional_headers=tenant.auth) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        for i in range(4):  # the quiet baseline: one message a bucket
            await post(api, tenant, conversation_id, f"hello {i}")
            await asyncio.sleep(BUCKET_S)
        await asyncio.gather(*(post(api, tenant, conversation_id, f"again {i}") for i in range(BURST)))

        frame = await frames_until(ws, "anomaly.detected", within_s=30.0)

    detected = frame["data"]
    assert frame["subject"] == f"afo.{tenant.id}.anomaly.detected"
    assert (detected["signal"], detected["scope"], detected["key_id"], detected["agent_id"]) == (
        "key_messages", "key", key["id"], None)
    # On a loaded machine the burst's posts can straddle two buckets: the detection fires on the first part.
    assert detected["observed"] >= BURST / 3 and detected["unit"] == "messages" and detected["direction"] == "above"
    assert detected["baseline_mean"] <= 2 and detected["deviation"] > 3
    listed = await eventually(api, tenant, "/v1/anomalies", lambda body: bool(body["data"]))
    [anomaly] = [a for a in listed["data"] if a["id"] == detected["anomaly_id"]]
    assert (anomaly["key_id"], anomaly["signal"], anomaly["observed"]) == (key["id"], "key_messages",
                                                                            detected["observed"])
    theirs = await api.get("/v1/anomalies", headers=other.auth)
    assert theirs.status_code == 200 and theirs.json()["data"] == []
    bad = await api.get("/v1/anomalies", headers=tenant.auth, params={"status": "sideways"})
    assert bad.status_code == 422
