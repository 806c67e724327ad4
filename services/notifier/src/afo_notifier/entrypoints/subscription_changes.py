"""Every notifier replica hears ``webhook.subscription_changed`` and drops the tenant's cached subscriptions
(``handlers/subscription_cache.py``).

A core NATS subscription per replica, not a durable consumer or a queue group: every replica must hear every
change, and only while it runs (a replica that starts later has nothing cached). The cache trusts its entries
only while this subscription is up: ``epoch`` is None before it is subscribed and while disconnected, and
changes with every reconnect (broadcasts may have been missed meanwhile), so entries of an older epoch are
read again. A change made here waits in ``heard`` until its own broadcast comes back: NATS passes a message
to every subscriber as it receives it, so by then every other replica's connection has it too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Hashable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.events import SchemaError, parse_envelope
from afo_common.events.webhooks import WebhookSubscriptionChanged
from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import events_of_kind
from afo_notifier.handlers.subscription_cache import SubscriptionCache

log = logging.getLogger(__name__)
RECENT = 1024  # broadcasts remembered, for a ``heard`` that starts after its broadcast came back


class SubscriptionChanges:
    def __init__(self, nats: NatsConnection, cache: SubscriptionCache, *, wait_s: float = 2.0) -> None:
        self._nats, self._cache, self._wait_s = nats, cache, wait_s
        self._subscription: Subscription | None = None
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._recent: deque[str] = deque(maxlen=RECENT)

    async def start(self) -> None:
        self._subscription = await self._nats.client.subscribe(
            events_of_kind(WebhookSubscriptionChanged.event_name), cb=self._on_message)
        await self._nats.client.flush()  # subscribed at the server before the cache trusts it
        self._cache.clear()

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._cache.clear()

    def epoch(self) -> Hashable | None:
        if self._subscription is None or not self._nats.is_connected:
            return None
        return int(self._nats.client.stats["reconnects"])

    def changed(self, tenant_id: str) -> None:
        self._cache.changed(tenant_id)

    async def heard(self, event_id: str) -> None:
        if event_id in self._recent or self.epoch() is None:
            return
        future = self._waiting.setdefault(event_id, asyncio.get_running_loop().create_future())
        try:
            async with asyncio.timeout(self._wait_s):
                await asyncio.shield(future)
        except TimeoutError:
            log.warning("webhook.subscription_changed %s not heard back within %.1f s; other replicas see the "
                        "change when it arrives or their entry expires", event_id, self._wait_s)
        finally:
            self._waiting.pop(event_id, None)

    async def _on_message(self, msg: Msg) -> None:
        try:
            envelope, _payload = parse_envelope(msg.data)
        except SchemaError:
            log.warning("ignored a malformed subscription change on %s", msg.subject)
            return
        self._cache.changed(envelope.tenantid)
        self._recent.append(envelope.id)
        if (future := self._waiting.get(envelope.id)) is not None and not future.done():
            future.set_result(None)
