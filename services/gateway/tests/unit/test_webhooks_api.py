"""Webhook subscriptions over HTTP, forwarded to notifier's RPCs: a stand-in answers them from memory on a
real nats-server, in front of a gateway replica built by the composition root. Bodies are checked at the edge
(shape, 422 without a call) and by the owner (meaning: unknown event types, refused URLs, also 422); another
tenant's subscription or delivery is 404 everywhere; the secret is shown once, never in a replay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import notifier_webhooks as nw
from afo_common.rpcs.pages import Page
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@dataclass
class Notifier:
    subscriptions: dict[str, tuple[str, nw.SubscriptionView]] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)

    def _own(self, r: nw.SubscriptionRef | nw.ListDeliveries) -> nw.SubscriptionView:
        tenant, view = self.subscriptions.get(r.subscription_id, ("", None))
        if view is None or tenant != r.tenant_id:
            raise RpcError("not_found", f"no webhook subscription {r.subscription_id}")
        return view

    async def create(self, r: nw.CreateSubscription) -> nw.CreatedSubscription:
        if "10.0.0.1" in r.subscription.url:
            raise RpcError("invalid", "10.0.0.1 is a private address; webhooks go to public addresses only",
                           [{"loc": ["body", "url"], "msg": "not allowed", "type": "url_not_allowed"}])
        view = nw.SubscriptionView(id=f"whk_{len(self.subscriptions) + 1}", url=r.subscription.url,
                                   events=r.subscription.events, status="active", created_at=NOW)
        self.subscriptions[view.id] = (r.tenant_id, view)
        return nw.CreatedSubscription(**view.model_dump(), secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0")

    async def list(self, r: nw.ListSubscriptions) -> Page[nw.SubscriptionView]:
        return Page(data=[v for t, v in self.subscriptions.values() if t == r.tenant_id])

    async def get(self, r: nw.SubscriptionRef) -> nw.SubscriptionView:
        return self._own(r)

    async def delete(self, r: nw.SubscriptionRef) -> nw.Deleted:
        self._own(r)
        del self.subscriptions[r.subscription_id]
        return nw.Deleted(id=r.subscription_id)

    async def deliveries(self, r: nw.ListDeliveries) -> Page[nw.DeliveryView]:
        view = self._own(r)
        return Page(data=[self._delivery(view.id)])

    async def replay(self, r: nw.DeliveryRef) -> nw.DeliveryView:
        view = self._own(r)
        if r.delivery_id != "whd_1":
            raise RpcError("not_found", f"no delivery {r.delivery_id}")
        return self._delivery(view.id).model_copy(update={"status": "pending"})

    async def enable(self, r: nw.SubscriptionRef) -> nw.SubscriptionView:
        view = self._own(r).model_copy(update={"status": "active", "disabled_reason": None})
        self.subscriptions[view.id] = (r.tenant_id, view)
        return view

    @staticmethod
    def _delivery(subscription_id: str) -> nw.DeliveryView:
        return nw.DeliveryView(
            id="whd_1", subscription_id=subscription_id, event_id="evt_1", event_type="afo.lead.qualified.v1",
            status="delivered", attempts=2, next_attempt_at=None, last_status_code=200, last_error=None,
            created_at=NOW, log=[nw.AttemptView(attempt=1, at=NOW, status_code=500, response_ms=12,
                                                error="answered 500"),
                                 nw.AttemptView(attempt=2, at=NOW, status_code=200, response_ms=8, error=None)])

    def handlers(self) -> dict[RpcOperation[Any, Any], Callable[[Any], Awaitable[BaseModel]]]:
        return {nw.CREATE_SUBSCRIPTION: self.create, nw.LIST_SUBSCRIPTIONS: self.list,
                nw.GET_SUBSCRIPTION: self.get, nw.DELETE_SUBSCRIPTION: self.delete,
                nw.LIST_DELIVERIES: self.deliveries, nw.REPLAY_DELIVERY: self.replay,
                nw.ENABLE_SUBSCRIPTION: self.enable}


@pytest.fixture
async def notifier(connection: NatsConnection) -> Notifier:
    stand_in = Notifier()
    await answer_rpcs(connection, stand_in.handlers(), stand_in.calls)
    assert {op.name for op in nw.OPERATIONS} == {op.name for op in stand_in.handlers()}
    return stand_in


@pytest.fixture
async def tenants(gateways: Any, notifier: Notifier) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    return client, await gateways.sign_up(client), await gateways.sign_up(client)


BODY = {"url": "https://hooks.example.com/afo", "events": ["lead.qualified"]}


async def test_a_subscription_is_created_with_its_secret_shown_once(tenants: Any, notifier: Notifier) -> None:
    client, ours, _ = tenants
    headers = {**ours.auth, "Idempotency-Key": "create-1"}

    created = await client.post("/v1/webhook-subscriptions", headers=headers, json=BODY)
    replayed = await client.post("/v1/webhook-subscriptions", headers=headers, json=BODY)
    read = await client.get(f"/v1/webhook-subscriptions/{created.json()['id']}", headers=ours.auth)

    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_") and created.json()["status"] == "active"
    assert replayed.status_code == 201 and replayed.json()["secret"] is None
    assert replayed.json()["secret_withheld"] is True and replayed.json()["id"] == created.json()["id"]
    assert read.status_code == 200 and "secret" not in read.json()
    [(_, sent)] = [c for c in notifier.calls if c[0] == nw.CREATE_SUBSCRIPTION.name]
    assert isinstance(sent, nw.CreateSubscription) and sent.tenant_id == ours.tenant_id


@pytest.mark.parametrize("body", [
    {"events": ["lead.qualified"]},                                  # no url
    {"url": "https://hooks.example.com/afo", "events": []},          # no event
    {"url": "https://hooks.example.com/afo", "events": "lead.qualified"},  # not a list
    {"url": "https://hooks.example.com/afo", "events": ["*"], "secret": "mine"},  # unknown field
    {"url": "", "events": ["*"]},
])
async def test_malformed_bodies_are_refused_at_the_edge(tenants: Any, notifier: Notifier,
                                                        body: dict[str, Any]) -> None:
    client, ours, _ = tenants
    response = await client.post("/v1/webhook-subscriptions", headers=ours.auth, json=body)
    assert_problem(response, 422, "validation-error")
    assert not notifier.calls


async def test_a_url_the_owner_refuses_is_422_with_its_reason(tenants: Any) -> None:
    client, ours, _ = tenants
    response = await client.post("/v1/webhook-subscriptions", headers=ours.auth,
                                 json={"url": "http://10.0.0.1/hook", "events": ["*"]})
    problem = assert_problem(response, 422, "validation-error")
    assert "private address" in problem["detail"]


async def test_the_delivery_log_is_read_and_a_delivery_replayed(tenants: Any) -> None:
    client, ours, _ = tenants
    sub = (await client.post("/v1/webhook-subscriptions", headers=ours.auth, json=BODY)).json()

    log = await client.get(f"/v1/webhook-subscriptions/{sub['id']}/deliveries", headers=ours.auth)
    replay = await client.post(f"/v1/webhook-subscriptions/{sub['id']}/deliveries/whd_1/replay", headers=ours.auth)
    deleted = await client.delete(f"/v1/webhook-subscriptions/{sub['id']}", headers=ours.auth)

    assert log.status_code == 200
    assert [a["status_code"] for a in log.json()["data"][0]["log"]] == [500, 200]
    assert replay.status_code == 200 and replay.json()["status"] == "pending"
    assert deleted.status_code == 200 and deleted.json() == {"id": sub["id"], "deleted": True}


async def test_a_disabled_subscription_is_enabled_again(tenants: Any, notifier: Notifier) -> None:
    client, ours, _ = tenants
    sub = (await client.post("/v1/webhook-subscriptions", headers=ours.auth, json=BODY)).json()
    tenant, view = notifier.subscriptions[sub["id"]]
    notifier.subscriptions[sub["id"]] = (tenant, view.model_copy(update={"status": "disabled",
                                                                        "disabled_reason": "gone"}))

    enabled = await client.post(f"/v1/webhook-subscriptions/{sub['id']}/enable", headers=ours.auth)

    assert enabled.status_code == 200
    assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("active", None)
    assert ("webhooks.enable", nw.SubscriptionRef(tenant_id=tenant, subscription_id=sub["id"])) in notifier.calls


async def test_another_tenants_subscription_is_not_found_anywhere(tenants: Any, notifier: Notifier) -> None:
    client, ours, theirs = tenants
    sub = (await client.post("/v1/webhook-subscriptions", headers=theirs.auth, json=BODY)).json()
    base = f"/v1/webhook-subscriptions/{sub['id']}"

    for response in [await client.get(base, headers=ours.auth),
                     await client.delete(base, headers=ours.auth),
                     await client.get(f"{base}/deliveries", headers=ours.auth),
                     await client.post(f"{base}/deliveries/whd_1/replay", headers=ours.auth),
                     await client.post(f"{base}/enable", headers=ours.auth)]:
        assert_problem(response, 404, "not-found")
    assert sub["id"] in notifier.subscriptions
    listed = await client.get("/v1/webhook-subscriptions", headers=ours.auth)
    assert listed.json()["data"] == []


async def test_no_key_no_webhooks(tenants: Any) -> None:
    client, _, _ = tenants
    response = await client.get("/v1/webhook-subscriptions")
    assert response.status_code == 401
