"""Each tenant's active webhook subscriptions (which event types each wants), kept per process, so an event
that no subscription wants costs the fan-out no read.

Rules:
- Kept correct by broadcast: every change of a subscription (created, deleted, disabled, re-enabled) is
  ``webhook.subscription_changed``, which every replica hears on core NATS (not a queue group) and which
  drops the tenant's entry there (``entrypoints/subscription_changes.py``). The replica that made the change
  drops its own entry at once, and a create or re-enable answers only once its broadcast has come back
  to it through NATS (so the server had passed it on to every replica before the caller can publish an
  event that the subscription should get).
- An entry lives ``ttl_s`` at most (the backstop for a broadcast that never arrived).
- An entry is kept only while the broadcasts can be trusted: the cache's ``epoch`` (from the listener: None
  while it is not subscribed or not connected, else the NATS connection's reconnect count) is stored with
  each entry, and an entry of another epoch is a miss — a reconnect, during which broadcasts may have been
  lost, forgets everything.
- A load that raced with a change is not stored: each load notes the count of changes seen when it began,
  and an entry is stored only if none came meanwhile (the read may predate the change).
- The cache only ever says which subscriptions to try: the fan-out writes a delivery only for a subscription
  still active in the database (``add_delivery``), so a stale entry can lose an event for at most the
  window above, never deliver to a deleted or disabled subscription.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from afo_notifier.domain.webhooks import matches


@dataclass(frozen=True)
class Wanted:
    """One active subscription, as the fan-out needs it."""

    subscription_id: str
    events: tuple[str, ...]


Load = Callable[[str], Awaitable[list[Wanted]]]
Epoch = Callable[[], Hashable | None]


def _always() -> Hashable:
    return 0


class SubscriptionCache:
    def __init__(self, load: Load, *, ttl_s: float = 10.0, max_tenants: int = 10_000,
                 epoch: Epoch = _always, clock: Callable[[], float] = time.monotonic) -> None:
        """``load``: a tenant's active subscriptions from the store; ``epoch``: see the module's rules (the
        default trusts every entry until its TTL: tests, and a process without NATS)."""
        self._load, self._ttl_s, self._max, self._epoch, self._clock = load, ttl_s, max_tenants, epoch, clock
        self._entries: OrderedDict[str, tuple[float, Hashable, list[Wanted]]] = OrderedDict()
        self._changes = 0
        self.loads = 0  # how many times the store was read (tests, metrics)

    async def wanted(self, tenant_id: str, event_type: str) -> list[str]:
        """The ids of the tenant's active subscriptions that name ``event_type``."""
        return [w.subscription_id for w in await self.subscriptions(tenant_id) if matches(w.events, event_type)]

    async def subscriptions(self, tenant_id: str) -> list[Wanted]:
        epoch, now = self._epoch(), self._clock()
        entry = self._entries.get(tenant_id)
        if entry is not None and entry[0] > now and epoch is not None and entry[1] == epoch:
            self._entries.move_to_end(tenant_id)
            return entry[2]
        changes = self._changes
        self.loads += 1
        found = await self._load(tenant_id)
        if epoch is not None and changes == self._changes and epoch == self._epoch():
            self._entries[tenant_id] = (self._clock() + self._ttl_s, epoch, found)
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return found

    def set_epoch(self, epoch: Epoch) -> None:
        """The listener's epoch (built after the cache it tells)."""
        self._epoch = epoch
        self.clear()

    def changed(self, tenant_id: str) -> None:
        """A subscription of the tenant changed (here or, by broadcast, on another replica)."""
        self._changes += 1
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        self._changes += 1
        self._entries.clear()


class Changes(Protocol):
    """How the handlers that change a subscription tell the replicas: ``changed`` drops this replica's entry
    at once; ``heard`` waits (bounded) until the change's broadcast (the event ``event_id``, written to the
    outbox in the change's transaction) has come back through NATS."""

    def changed(self, tenant_id: str) -> None: ...

    async def heard(self, event_id: str) -> None: ...


class LocalChanges:
    """``Changes`` for one process without NATS (tests, benchmarks): the cache told directly."""

    def __init__(self, cache: SubscriptionCache) -> None:
        self._cache = cache

    def changed(self, tenant_id: str) -> None:
        self._cache.changed(tenant_id)

    async def heard(self, event_id: str) -> None:
        return None
