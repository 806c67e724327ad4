"""What notifier does with the events it consumes: keeps the lead's contact (``lead.created`` /
``lead.updated``, written only when it changes: ``domain/contacts.py``; ``conversation.opted_out``), schedules
a booked meeting's notifications (``meeting.booked``; a reschedule cancels the replaced meeting's first),
cancels them with the meeting (``meeting.cancelled``).

An opt-out also turns every still-scheduled notification of the lead to ``skipped``; the scheduler checks the
contact again at send time, so nothing reaches an opted-out lead whichever event came first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from afo_common.clock import Clock
from afo_common.events.conversation import ConversationOptedOut, LeadCreated, LeadUpdated
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_notifier.domain.contacts import KEPT, with_lead
from afo_notifier.domain.planning import OPTED_OUT, BookedMeeting, plan
from afo_notifier.domain.records import ContactRow
from afo_notifier.handlers.unit_of_work import Store

MOVED = "the meeting was moved to another time"
CANCELLED = "the meeting was cancelled"


class Reminders:
    def __init__(self, store: Store, clock: Clock, offsets: Sequence[timedelta]) -> None:
        self._store, self._clock, self._offsets = store, clock, tuple(offsets)

    async def lead(self, delivery: Delivery) -> None:
        """The contact (``domain/contacts.py``). A ``lead.updated`` that names none of its fields as changed
        (most of them: a budget, a timeline) is checked first, outside any transaction, and acknowledged with
        nothing written when it changes nothing; ``lead.created`` and one naming a contact field go straight
        to their transaction (no read added before the write a booked meeting may be waiting for)."""
        event = delivery.payload
        assert isinstance(event, LeadCreated | LeadUpdated)
        tenant, at = delivery.envelope.tenantid, delivery.envelope.time
        changed = event.changed if isinstance(event, LeadUpdated) else ()

        def applied(found: ContactRow | None) -> ContactRow | None:
            return with_lead(found, tenant_id=tenant, lead_id=event.lead_id, fields=event.fields, changed=changed,
                             at=at, now=self._clock.now())

        if isinstance(event, LeadUpdated) and not set(changed) & KEPT.keys():
            async with self._store.reading() as repos:
                if applied(await repos.contacts.get(tenant, event.lead_id)) is None:
                    return
        async with self._store.handling(delivery) as uow:
            contact = applied(await uow.contacts.get(tenant, event.lead_id))  # again, in the transaction
            if contact is not None:
                await uow.contacts.save(contact)

    async def opted_out(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, ConversationOptedOut)
        if event.lead_id is None:
            return
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            found = await uow.contacts.get(tenant, event.lead_id)
            contact = (replace(found, opted_out=True, updated_at=now) if found else ContactRow(
                tenant_id=tenant, lead_id=event.lead_id, name=None, email=None, phone=None, opted_out=True,
                updated_at=now))
            await uow.contacts.save(contact)
            await uow.notifications.close_scheduled(tenant, lead_id=event.lead_id, status="skipped",
                                                    error=OPTED_OUT, now=now)

    async def booked(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, MeetingBooked)
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            if event.rescheduled_from:
                await uow.notifications.close_scheduled(tenant, meeting_id=event.rescheduled_from,
                                                        status="cancelled", error=MOVED, now=now)
            if event.lead_id is None:
                return
            contact = await uow.contacts.get(tenant, event.lead_id)
            meeting = BookedMeeting(tenant_id=tenant, meeting_id=event.meeting_id, lead_id=event.lead_id,
                                    agent_id=event.agent_id, start=event.start, end=event.end,
                                    timezone=event.timezone)
            for row in plan(meeting, contact, self._offsets, now, lambda: new_id("ntf")):
                await uow.notifications.add(row)

    async def cancelled(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, MeetingCancelled)
        async with self._store.handling(delivery) as uow:
            await uow.notifications.close_scheduled(delivery.envelope.tenantid, meeting_id=event.meeting_id,
                                                    status="cancelled", error=CANCELLED, now=self._clock.now())
