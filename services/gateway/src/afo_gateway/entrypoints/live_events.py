"""Every gateway process hears the events tenants watch live and hands them to its ``TenantFeed``.

Core NATS, not a durable consumer: every process must get every such event, only while it runs, and a core
subscription receives what the outbox relays publish to JetStream as well. One subscription per live event
subject (``afo.*.<context>.<event>``, all of them together, however many listeners there are): the gateway's
NATS user is granted exactly these subjects (``afo_common.nats_security.permissions``), so an event added to a
stream later reaches no listener until it is listed in ``afo_common.events.live``. The message's bytes go to
the feed unparsed: it reads them only when someone of the tenant listens."""

from __future__ import annotations

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.events.live import LIVE_EVENTS
from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import events_of_kind
from afo_gateway.handlers.tenant_feed import TenantFeed


class LiveEvents:
    def __init__(self, nats: NatsConnection, feed: TenantFeed) -> None:
        self._nats = nats
        self._feed = feed
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        for name in LIVE_EVENTS:
            self._subscriptions.append(await self._nats.client.subscribe(events_of_kind(name), cb=self._on_message))

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _on_message(self, msg: Msg) -> None:
        self._feed.fan_out(msg.subject, msg.data)
