"""Meetings after they are booked: listed, read, cancelled (by the lead in the conversation, or by the tenant
over the API), and their calendar invitation.

Rules:
- Cancelling frees the meeting's time at once and emits ``meeting.cancelled`` with who cancelled; the outside
  calendar's event (when the meeting has one and the tenant's outside calendar is that provider) is cancelled
  first, so a provider failure leaves the meeting as it was (retried for the lead, ``unavailable`` for the API).
- A lead's cancel request names the meeting: an unknown meeting, another tenant's, or one of another agent or
  conversation, is dead-lettered (``PermanentError``). A request for a meeting already cancelled is answered again
  with ``meeting.cancelled`` as it was cancelled (the same ``by``); the API answers the meeting unchanged.
- The invitation is ``METHOD:REQUEST`` while booked and ``METHOD:CANCEL`` (sequence 1) once cancelled; the
  organizer is the platform's calendar address until tenants' own addresses arrive with email.
"""

from __future__ import annotations

from typing import cast

from afo_common.clock import Clock
from afo_common.events.conversation import MeetingCancelRequested
from afo_common.events.workflow import MeetingCancelled
from afo_common.messaging.consumer import Delivery, PermanentError
from afo_common.rpcs import workflow_executor as wx
from afo_common.rpcs.pages import Page
from afo_workflow_executor.domain.external_calendars import ExternalCalendars
from afo_workflow_executor.domain.invites import Meeting, cancellation_ics, invite_ics
from afo_workflow_executor.domain.records import BookingRow, CancelledBy
from afo_workflow_executor.handlers.errors import NotFound
from afo_workflow_executor.handlers.unit_of_work import Store, UnitOfWork
from afo_workflow_executor.handlers.views import meeting_view

ORGANIZER_EMAIL = "calendar@afo.localhost"
ORGANIZER_NAME = "AFO calendar"


class Meetings:
    def __init__(self, store: Store, clock: Clock, outside: ExternalCalendars) -> None:
        self._store = store
        self._clock = clock
        self._outside = outside

    async def _found(self, tenant_id: str, meeting_id: str) -> BookingRow:
        async with self._store.reading() as repos:
            row = await repos.bookings.get(tenant_id, meeting_id)
        if row is None:
            raise NotFound(f"meeting {meeting_id} not found")
        return row

    async def list(self, request: wx.ListMeetings) -> Page[wx.MeetingView]:
        async with self._store.reading() as repos:
            rows = await repos.bookings.search(request.tenant_id, request.limit, request.cursor,
                                               agent_id=request.agent_id, lead_id=request.lead_id,
                                               status=request.status)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[wx.MeetingView](data=[meeting_view(r) for r in rows], next_cursor=next_cursor)

    async def get(self, request: wx.MeetingRef) -> wx.MeetingView:
        return meeting_view(await self._found(request.tenant_id, request.meeting_id))

    async def cancel(self, request: wx.MeetingRef) -> wx.MeetingView:
        row = await self._found(request.tenant_id, request.meeting_id)
        if row.status == "booked":
            await self._cancel_outside(row)
            async with self._store() as uow:
                released = await self._release(uow, row, "tenant")
            # None: cancelled meanwhile (by the lead, or a concurrent call), which announced it.
            row = released or await self._found(row.tenant_id, row.id)
        return meeting_view(row)

    async def invite(self, request: wx.MeetingRef) -> wx.Invite:
        row = await self._found(request.tenant_id, request.meeting_id)
        meeting = Meeting(booking_id=row.id, start=row.start, end=row.end, summary=row.title or "Meeting",
                          description=f"Meeting {row.id}", organizer_email=ORGANIZER_EMAIL,
                          organizer_name=ORGANIZER_NAME, attendee_email=None, attendee_name=None,
                          stamped_at=row.updated_at, sequence=1 if row.status == "cancelled" else 0)
        ics = cancellation_ics(meeting) if row.status == "cancelled" else invite_ics(meeting)
        return wx.Invite(filename=f"{row.id}.ics", ics=ics.decode())

    async def cancel_requested(self, delivery: Delivery) -> None:
        """The consumer of ``meeting.cancel_requested``."""
        request = cast(MeetingCancelRequested, delivery.payload)
        tenant = delivery.envelope.tenantid
        async with self._store.reading() as repos:
            row = await repos.bookings.get(tenant, request.meeting_id)
        if row is None:
            raise PermanentError(f"meeting {request.meeting_id} not found")
        if row.agent_id not in (None, request.agent_id) or row.conversation_id not in (None, request.conversation_id):
            raise PermanentError(f"meeting {request.meeting_id} is not of conversation {request.conversation_id}")
        if row.status == "booked":
            await self._cancel_outside(row)
        async with self._store.handling(delivery) as uow:
            if await self._release(uow, row, "lead", delivery) is None:  # cancelled already: answered as it was
                current = await uow.bookings.get(tenant, row.id)
                assert current is not None
                await uow.emit(_cancelled(current, current.cancelled_by or "lead"), tenant_id=tenant,
                               causation=delivery.envelope)

    async def _cancel_outside(self, row: BookingRow) -> None:
        if row.external_id is None:
            return
        outside = await self._outside.for_tenant(row.tenant_id)
        if outside is not None and outside.provider == row.provider:
            await outside.cancel(row.external_id)

    async def _release(self, uow: UnitOfWork, row: BookingRow, by: CancelledBy,
                       delivery: Delivery | None = None) -> BookingRow | None:
        """Cancelled and announced by this call, or None when it was not booked any more."""
        cancelled = await uow.bookings.release(row.tenant_id, row.id, self._clock.now(), by=by)
        if cancelled is not None:
            await uow.emit(_cancelled(cancelled, by), tenant_id=row.tenant_id,
                           causation=delivery.envelope if delivery else None)
        return cancelled


def _cancelled(row: BookingRow, by: CancelledBy) -> MeetingCancelled:
    return MeetingCancelled(meeting_id=row.id, conversation_id=row.conversation_id, agent_id=row.agent_id or "",
                            lead_id=row.lead_id, by=by)
