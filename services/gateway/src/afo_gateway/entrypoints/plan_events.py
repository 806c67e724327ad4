"""Every gateway replica hears ``tenant.plan_changed`` and forgets the tenant's plan it kept, so a plan assigned or
edited on one replica applies on all at once (``handlers/quotas.py``).

A core NATS subscription per replica, like ``access_events.py``: every replica must get every such event while
it runs. A missed one (a reconnect) is covered by the kept plan's 10-second lifetime."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.events import SchemaError, parse_envelope
from afo_common.events.tenant import TenantPlanChanged
from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import events_of_kind
from afo_gateway.handlers.quotas import PlanBook

log = logging.getLogger(__name__)


class PlanEvents:
    def __init__(self, nats: NatsConnection, book: PlanBook) -> None:
        self._nats = nats
        self._book = book
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nats.client.subscribe(events_of_kind(TenantPlanChanged.event_name),
                                                               cb=self._on_message)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _on_message(self, msg: Msg) -> None:
        try:
            envelope, payload = parse_envelope(msg.data)
        except SchemaError:
            log.warning("ignored a malformed plan event on %s", msg.subject)
            return
        if isinstance(payload, TenantPlanChanged):
            self._book.forget(envelope.tenantid)
