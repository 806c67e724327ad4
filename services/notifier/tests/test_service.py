"""notifier as the composition root builds it: it migrates its own store, becomes ready, answers its health RPC,
consumes the booked and cancelled meetings, the lead's contact and opt-out and the streams integrators may
subscribe to (and nothing else), and serves
its notification RPCs over a real nats-server (another tenant's or an unknown id: not_found; a bad request:
invalid)."""

from __future__ import annotations

import pytest

from afo_common.events.streams import ADVISORIES
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import Reply, RpcClient, RpcError
from afo_common.rpcs import notifier_notifications as nt
from afo_common.service import Service
from afo_notifier.app import build
from afo_notifier.entrypoints.subscribers import CONSUMERS, WEBHOOK_SOURCES
from afo_testkit.bare_service import BareServiceChecks


class TestNotifier(BareServiceChecks):
    service_name = "notifier"
    build = staticmethod(build)

    async def test_it_subscribes_to_no_jetstream_consumer(self, running: Service, client: NatsConnection) -> None:
        """Replaces the bare check: the reminders' and the webhooks' consumers, each on its stream, and nothing
        else."""
        streams = [str(info.config.name) for info in await client.js.streams_info()]
        consumers = {(stream, c.name) for stream in streams for c in await client.js.consumers_info(stream)
                     if stream != ADVISORIES}
        assert consumers == {(spec.stream, spec.durable) for spec in (*CONSUMERS, *WEBHOOK_SOURCES)}

    async def test_it_answers_its_notification_rpcs(self, running: Service, client: NatsConnection) -> None:
        rpc = RpcClient(client, timeout_s=5.0)
        page = await rpc.call(nt.LIST_NOTIFICATIONS, nt.ListNotifications(tenant_id="ten_a"))
        assert (page.data, page.next_cursor) == ([], None)
        with pytest.raises(RpcError) as missing:
            await rpc.call(nt.GET_NOTIFICATION, nt.NotificationRef(tenant_id="ten_a", notification_id="ntf_x"))
        assert missing.value.code == "not_found"
        msg = await client.client.request(nt.LIST_NOTIFICATIONS.subject,
                                          b'{"tenant_id": "ten_a", "status": "lost"}', timeout=5)
        reply = Reply.model_validate_json(msg.data)
        assert not reply.ok and reply.error is not None and reply.error.code == "invalid"
