"""Usage metered from events into the gateway's own counters, in batches (``afo_common.messaging.batches``).
A lead's message is not an event counted here: the gateway accepts every message that counts (API, widget, SMS)
and counts it in the transaction that records it (``adapters/plans_repository.count_message``), so the text path
pays one upsert for it, not a delivery; a caller's words in a call do not count as messages: the call counts in
voice minutes.

Rules:
- A call that ended (``call.ended``) adds its ``duration_s`` to the tenant's ``voice_seconds`` of the month of its
  ``ended_at``: a call across midnight at the month's end counts in the month it ended.
- Each event counts once: the batch's inbox rows are written in its transaction, and a redelivered event (in
  the batch or in an earlier one) is settled as a duplicate. Order does not matter: each event names its month.
- A batch with nothing to count writes nothing (not even inbox rows): there is nothing to count twice."""

from __future__ import annotations

from afo_common.events import Event
from afo_common.events.call import CallEnded
from afo_common.messaging.batches import Batch
from afo_gateway.adapters.plans_repository import CounterKey
from afo_gateway.domain.plans import Month
from afo_gateway.handlers.unit_of_work import Store


def counted(tenant_id: str, payload: Event) -> tuple[CounterKey, float] | None:
    """What one event adds to which counter, if anything."""
    match payload:
        case CallEnded(duration_s=seconds, ended_at=ended_at) if seconds > 0:
            return (tenant_id, Month.of(ended_at).key, "voice_seconds"), seconds
    return None


class Metering:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def count(self, batch: Batch) -> None:
        if not any(counted(d.envelope.tenantid, d.payload) for d in batch.deliveries):
            return
        async with self._store.handling_batch(batch) as (uow, fresh):
            amounts: dict[CounterKey, float] = {}
            for delivery in fresh:
                if (adds := counted(delivery.envelope.tenantid, delivery.payload)) is not None:
                    amounts[adds[0]] = amounts.get(adds[0], 0.0) + adds[1]
            await uow.usage.add(amounts)
