"""Notifications over HTTP, forwarded to notifier's RPCs: a stand-in answers them from memory on a real
nats-server, in front of a gateway replica built by the composition root. Another tenant's notification is 404,
a bad filter 422 at the edge, and no key no notifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcError, RpcOperation
from afo_common.rpcs import notifier_notifications as nt
from afo_common.rpcs.pages import Page
from afo_testkit.problems import assert_problem
from afo_testkit.rpc_stand_ins import answer_rpcs

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def notification(notification_id: str, status: nt.NotificationStatus = "sent") -> nt.NotificationView:
    return nt.NotificationView(id=notification_id, kind="reminder", channel="sms", to="+33•••••5678", subject=None,
                               body="Reminder: your meeting is in 1 hour.", attachment=None, provider="sink",
                               send_at=NOW, status=status, error=None, meeting_id="mtg_1", lead_id="lead_1",
                               sent_at=NOW, created_at=NOW, updated_at=NOW)


@dataclass
class Notifier:
    rows: dict[str, tuple[str, nt.NotificationView]] = field(default_factory=dict)
    calls: list[tuple[str, BaseModel]] = field(default_factory=list)

    async def list(self, r: nt.ListNotifications) -> Page[nt.NotificationView]:
        return Page(data=[v for t, v in self.rows.values() if t == r.tenant_id and r.status in (None, v.status)
                          and r.meeting_id in (None, v.meeting_id)][: r.limit])

    async def get(self, r: nt.NotificationRef) -> nt.NotificationView:
        tenant, view = self.rows.get(r.notification_id, ("", None))
        if view is None or tenant != r.tenant_id:
            raise RpcError("not_found", f"no notification {r.notification_id}")
        return view


@pytest.fixture
async def notifier(connection: NatsConnection) -> Notifier:
    stand_in = Notifier()
    handlers: dict[RpcOperation[Any, Any], Any] = {nt.LIST_NOTIFICATIONS: stand_in.list,
                                                   nt.GET_NOTIFICATION: stand_in.get}
    await answer_rpcs(connection, handlers, stand_in.calls)
    return stand_in


@pytest.fixture
async def tenants(gateways: Any, notifier: Notifier) -> Any:
    service = await gateways.start()
    client = await gateways.client(service)
    ours, theirs = await gateways.sign_up(client), await gateways.sign_up(client)
    notifier.rows["ntf_ours"] = (ours.tenant_id, notification("ntf_ours"))
    notifier.rows["ntf_theirs"] = (theirs.tenant_id, notification("ntf_theirs"))
    return client, ours, theirs


async def test_notifications_are_listed_filtered_and_read(tenants: Any, notifier: Notifier) -> None:
    client, ours, _ = tenants
    listed = await client.get("/v1/notifications", headers=ours.auth, params={"meeting_id": "mtg_1",
                                                                              "status": "sent"})
    one = await client.get("/v1/notifications/ntf_ours", headers=ours.auth)
    assert listed.status_code == 200 and [n["id"] for n in listed.json()["data"]] == ["ntf_ours"]
    sent = [r for name, r in notifier.calls if name == nt.LIST_NOTIFICATIONS.name][-1]
    assert isinstance(sent, nt.ListNotifications) and (sent.tenant_id, sent.meeting_id, sent.status) == (
        ours.tenant_id, "mtg_1", "sent")
    assert one.status_code == 200 and one.json()["body"] == "Reminder: your meeting is in 1 hour."
    assert one.json()["to"] == "+33•••••5678" and one.json()["send_at"] == "2026-03-02T14:00:00Z"


async def test_another_tenants_notification_is_not_found(tenants: Any) -> None:
    client, ours, _ = tenants
    assert_problem(await client.get("/v1/notifications/ntf_theirs", headers=ours.auth), 404, "not-found")
    listed = await client.get("/v1/notifications", headers=ours.auth)
    assert [n["id"] for n in listed.json()["data"]] == ["ntf_ours"]


async def test_bad_input_is_refused_at_the_edge(tenants: Any, notifier: Notifier) -> None:
    client, ours, _ = tenants
    for response in [await client.get("/v1/notifications", headers=ours.auth, params={"status": "lost"}),
                     await client.get("/v1/notifications", headers=ours.auth, params={"limit": "0"}),
                     await client.get("/v1/notifications", headers=ours.auth, params={"meeting_id": "m" * 65}),
                     await client.get(f"/v1/notifications/{'n' * 65}", headers=ours.auth)]:
        assert_problem(response, 422, "validation-error")
    assert notifier.calls == []


async def test_no_key_no_notifications(tenants: Any) -> None:
    client, _, _ = tenants
    assert_problem(await client.get("/v1/notifications"), 401)
    assert_problem(await client.get("/v1/notifications/ntf_ours"), 401)
