"""What notifier does with the events it consumes: keeps the lead's contact (``lead.created`` /
``lead.updated``, written only when it changes: ``domain/contacts.py``; ``conversation.opted_out``), schedules
a booked meeting's notifications when the tenant's workflow asks (``workflow.reminders_requested``: the
default funnel's "when a meeting is booked, remind the lead"), cancels them with the meeting
(``meeting.cancelled``; ``meeting.booked`` of a reschedule cancels the replaced meeting's). A cancelled meeting
is remembered, so a request for its reminders that comes after the cancellation (the two arrive on different
consumers, in no set order) schedules nothing.

The meeting asked for is remembered too: a phone or email that reaches the contact after the request (the
lead's events and the request are on different consumers, in no set order; a restart lets either run first)
plans what that channel lacks on each of the lead's upcoming meetings. The request holds the contact's row
while it plans, so of a request and a contact change at the same moment one sees the other.

An opt-out also turns every still-scheduled notification of the lead to ``skipped``; the scheduler checks the
contact again at send time, so nothing reaches an opted-out lead whichever event came first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from afo_common.clock import Clock
from afo_common.events.conversation import ConversationOptedOut, LeadCreated, LeadUpdated
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.events.workflow_runs import RemindersRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_notifier.domain.contacts import KEPT, with_lead
from afo_notifier.domain.planning import OPTED_OUT, missing, plan, readdressed
from afo_notifier.domain.records import ContactRow, RemindedMeeting
from afo_notifier.handlers.unit_of_work import Store, UnitOfWork

MOVED = "the meeting was moved to another time"
CANCELLED = "the meeting was cancelled"


class AgentOffsets(Protocol):
    async def of(self, tenant_id: str, agent_id: str) -> Sequence[timedelta]: ...


class Reminders:
    """``offsets``: when a meeting's lead is reminded — the same for every agent, or ``AgentOffsets`` reading
    each agent's own."""

    def __init__(self, store: Store, clock: Clock, offsets: Sequence[timedelta] | AgentOffsets) -> None:
        self._store, self._clock, self._offsets = store, clock, offsets

    async def _offsets_of(self, tenant_id: str, agent_id: str) -> Sequence[timedelta]:
        if isinstance(self._offsets, Sequence):
            return self._offsets
        return await self._offsets.of(tenant_id, agent_id)

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
            found = await uow.contacts.get(tenant, event.lead_id)  # again, in the transaction
            contact = applied(found)
            if contact is None:
                return
            await uow.contacts.save(contact)
            if found is None or (found.phone, found.email) != (contact.phone, contact.email):
                now = self._clock.now()
                for meeting in await uow.notifications.upcoming(tenant, event.lead_id, now):
                    await _plan(uow, meeting, contact, now)

    async def opted_out(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, ConversationOptedOut)
        if event.lead_id is None:
            return
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            found = await uow.contacts.get(tenant, event.lead_id)
            contact = (replace(found, opted_out=True, updated_at=now) if found
                       else ContactRow.unknown(tenant, event.lead_id, now, opted_out=True))
            await uow.contacts.save(contact)
            await uow.notifications.close_scheduled(tenant, lead_id=event.lead_id, status="skipped",
                                                    error=OPTED_OUT, now=now)

    async def booked(self, delivery: Delivery) -> None:
        """A reschedule: the replaced meeting's notifications are cancelled (the new one's come when asked)."""
        event = delivery.payload
        assert isinstance(event, MeetingBooked)
        if event.rescheduled_from is None:
            return
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            await uow.notifications.mark_cancelled(tenant, event.rescheduled_from, now)
            await uow.notifications.close_scheduled(tenant, meeting_id=event.rescheduled_from,
                                                    status="cancelled", error=MOVED, now=now)

    async def requested(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, RemindersRequested)
        if event.lead_id is None:
            return
        tenant = delivery.envelope.tenantid
        # Asked before the transaction: no store connection held while agent-runtime answers.
        offsets = await self._offsets_of(tenant, event.agent_id)
        now = self._clock.now()
        meeting = RemindedMeeting(tenant_id=tenant, meeting_id=event.meeting_id, lead_id=event.lead_id,
                                  agent_id=event.agent_id, start=event.start, end=event.end, timezone=event.timezone,
                                  offsets_s=tuple(o.total_seconds() for o in offsets), requested_at=now)
        async with self._store.handling(delivery) as uow:
            if await uow.notifications.is_cancelled(tenant, event.meeting_id):
                return
            await uow.contacts.hold(tenant, event.lead_id, now)
            await uow.notifications.remember(meeting)
            await _plan(uow, meeting, await uow.contacts.get(tenant, event.lead_id), now)

    async def cancelled(self, delivery: Delivery) -> None:
        event = delivery.payload
        assert isinstance(event, MeetingCancelled)
        tenant, now = delivery.envelope.tenantid, self._clock.now()
        async with self._store.handling(delivery) as uow:
            await uow.notifications.mark_cancelled(tenant, event.meeting_id, now)
            await uow.notifications.close_scheduled(tenant, meeting_id=event.meeting_id, status="cancelled",
                                                    error=CANCELLED, now=now)


async def _plan(uow: UnitOfWork, meeting: RemindedMeeting, contact: ContactRow | None, now: datetime) -> None:
    """What the meeting lacks for the contact, added; its scheduled rows sent to the contact's addresses."""
    held = await uow.notifications.of_meeting(meeting.tenant_id, meeting.meeting_id)
    for row in missing(plan(meeting, contact, now, lambda: new_id("ntf")), held):
        await uow.notifications.add(row)
    if contact is not None:
        for row in readdressed(held, contact, now):
            await uow.notifications.readdress(row)
