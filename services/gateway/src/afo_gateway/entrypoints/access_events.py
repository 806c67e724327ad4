"""Every gateway replica hears the events that change who may do what — a key revoked, a role changed, a
session ended — and applies them to its own principal cache and open streams.

A core NATS subscription per replica, not a durable consumer or a queue group: every replica must get every
such event, and only while it runs (a replica that starts later has nothing cached). A missed message (a
reconnect) is covered by the cache's 10-second lifetime."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.events import SchemaError, parse_envelope
from afo_common.events.tenant import ApiKeyRevoked, UserRoleChanged, UserSessionEnded
from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import events_of_kind
from afo_gateway.handlers.access_changes import AccessChanges

log = logging.getLogger(__name__)
EVENTS = (ApiKeyRevoked, UserRoleChanged, UserSessionEnded)


class AccessEvents:
    def __init__(self, nats: NatsConnection, changes: AccessChanges) -> None:
        self._nats = nats
        self._changes = changes
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        for kind in EVENTS:
            subscription = await self._nats.client.subscribe(events_of_kind(kind.event_name), cb=self._on_message)
            self._subscriptions.append(subscription)

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _on_message(self, msg: Msg) -> None:
        try:
            _envelope, payload = parse_envelope(msg.data)
        except SchemaError:
            log.warning("ignored a malformed access event on %s", msg.subject)
            return
        match payload:
            case ApiKeyRevoked():
                self._changes.key_revoked(payload.key_id)
            case UserRoleChanged():
                self._changes.role_changed(payload.user_id, payload.role)
            case UserSessionEnded():
                self._changes.session_ended(payload.user_id, payload.session_digest)
