"""A provider's delivery report (Twilio's status callback, checked and forwarded by the gateway) recorded on
the tenant's notification it is about; a report for a message notifier did not send changes nothing."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.rpcs.notifier_delivery import DeliveryRecorded, DeliveryStatus
from afo_notifier.handlers.unit_of_work import Store


class DeliveryReports:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    async def record(self, request: DeliveryStatus) -> DeliveryRecorded:
        async with self._store() as uow:
            found = await uow.delivery_reports.record(request.tenant_id, request.provider_id, request.status,
                                                      request.error_code, self._clock.now())
        return DeliveryRecorded(recorded=found is not None, notification_id=found)
