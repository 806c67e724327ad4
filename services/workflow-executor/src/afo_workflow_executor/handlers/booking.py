"""A lead's ``meeting.requested`` answered: booked on the agent's calendar (``meeting.booked``), or refused with
the reason and the nearest three free slots (``meeting.failed``).

Rules:
- The calendar is the agent's (owner ``agent``); an agent without one gets the default
  (``domain.calendar.default_settings``: Mon-Fri 09:00-17:00 in the request's zone, 30 minutes, 2 hours' notice).
- The asked start is checked against the calendar's rules and what it holds (``domain.slots.check_request``):
  too_soon, beyond_horizon (too far), outside_hours (closed, or not on the slot grid), slot_taken. When the
  tenant has an outside calendar, its busy times count too.
- Booking is the store's constraint (``Bookings.book``): two requests racing for one time both pass the check,
  and the second is refused by the cells' key and answered ``slot_taken`` with fresh alternatives.
- An outside calendar receives the meeting after the built-in booking holds the cells, in the same transaction:
  its event's id and link are stored with the booking. A provider failure rolls the transaction back (the cells
  are free again): retried (NAK) while the failure is retryable and deliveries remain, else ``provider_error``.
  A provider that books only through its own page (Calendly's ``SchedulingLink``) holds nothing here: the answer
  is ``meeting.failed`` with reason ``no_calendar`` (no calendar of ours can hold it) and ``scheduling_url``,
  which the agent passes on. A retried create reuses the provider's event (the idempotency key is the request's).
  The lead is the event's attendee when the tenant's lead projection (``crm_leads``, fed by lead.created/updated)
  holds its email, with its name when known.
- Idempotent by ``request_id``: a request seen before is answered as it was the first time — its booking, or the
  stored failure — and never books twice.
- A reschedule (``replaces_meeting_id``) frees the old meeting and books the new time in one transaction, so
  the old one is cancelled exactly when the new one is booked (an overlapping new time is allowed); answers
  ``meeting.booked(rescheduled_from)`` and ``meeting.cancelled(by="rescheduled")``. The old outside event is
  cancelled too. An unknown meeting, or one of another agent, is dead-lettered.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from afo_common.clock import Clock
from afo_common.events.conversation import MeetingRequested
from afo_common.events.workflow import FailureReason, MeetingCancelled, MeetingFailed, SlotOffer
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, PermanentError
from afo_common.provider_errors import ProviderError
from afo_workflow_executor.domain.calendar import CalendarSettings, Interval, default_settings
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.external_calendars import (
    ExternalCalendar,
    ExternalCalendars,
    MeetingDraft,
    SchedulingLink,
)
from afo_workflow_executor.domain.records import BookingRow, CalendarRow, Taken
from afo_workflow_executor.domain.slots import RefusalReason, Refused, check_request, nearest_alternatives
from afo_workflow_executor.handlers.unit_of_work import Store
from afo_workflow_executor.handlers.views import booked_event
from afo_workflow_executor.metrics import BOOKINGS, SERVICE

log = logging.getLogger(__name__)

TITLE = "Meeting"
REASONS: dict[RefusalReason, FailureReason] = {
    "too_soon": "too_soon", "too_far": "beyond_horizon", "outside_hours": "outside_hours",
    "not_on_step": "outside_hours", "taken": "slot_taken",
}
DETAILS: dict[RefusalReason, str] = {
    "too_soon": "the calendar needs {notice} minutes' notice",
    "too_far": "the calendar books at most {horizon} days ahead",
    "outside_hours": "the calendar is closed at that time",
    "not_on_step": "meetings start on the calendar's {step}-minute grid",
    "taken": "that time is already booked",
}


class _Refusal(Exception):
    """Rolls the booking transaction back: what was written in it (cells, a reschedule's cancel) is undone."""

    def __init__(self, reason: FailureReason, detail: str, scheduling_url: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.scheduling_url = reason, detail, scheduling_url


class _Moved(Exception):
    """The meeting to reschedule was cancelled while this request was handled: the delivery is retried (NAK), and
    then books the new time without cancelling anything."""


class MeetingRequests:
    def __init__(self, store: Store, clock: Clock, outside: ExternalCalendars, max_deliver: int) -> None:
        self._store = store
        self._clock = clock
        self._outside = outside
        self._max_deliver = max_deliver

    async def __call__(self, delivery: Delivery) -> None:
        request = cast(MeetingRequested, delivery.payload)
        tenant = delivery.envelope.tenantid
        async with self._store.reading() as repos:
            earlier = await repos.bookings.by_request(tenant, request.request_id)
            failed = None if earlier else await repos.failures.get(tenant, request.request_id)
            replaced = (await repos.bookings.get(tenant, request.replaces_meeting_id)
                        if request.replaces_meeting_id else None)
        if earlier is not None:
            async with self._store.handling(delivery) as uow:
                await uow.emit(booked_event(earlier), tenant_id=tenant, causation=delivery.envelope)
                moved = await uow.bookings.get(tenant, earlier.rescheduled_from) if earlier.rescheduled_from else None
                if moved is not None and moved.cancelled_by == "rescheduled":
                    await uow.emit(_cancelled(moved), tenant_id=tenant, causation=delivery.envelope)
            return
        if failed is not None:
            async with self._store.handling(delivery) as uow:
                await uow.emit(MeetingFailed.model_validate(failed), tenant_id=tenant, causation=delivery.envelope)
            return
        if request.replaces_meeting_id and (replaced is None or replaced.agent_id not in (None, request.agent_id)):
            raise PermanentError(f"meeting {request.replaces_meeting_id} to reschedule not found")
        calendar = await self._calendar(tenant, request)
        try:
            outside = await self._outside.for_tenant(tenant)
            await self._attempt(delivery, request, calendar, outside, replaced)
        except _Refusal as refusal:
            await self._fail(delivery, request, calendar, refusal, await self._busy_or_none(tenant, calendar))
        except ProviderError as exc:
            if exc.retryable and delivery.attempt < self._max_deliver:
                raise
            log.warning("booking %s failed at the provider: %s", request.request_id, exc)
            await self._fail(delivery, request, calendar, _Refusal("provider_error", str(exc)[:500]),
                             await self._busy_or_none(tenant, calendar))

    async def _calendar(self, tenant: str, request: MeetingRequested) -> CalendarRow:
        async with self._store.reading() as repos:
            found = await repos.calendars.of_owner(tenant, "agent", request.agent_id)
        if found is not None:
            return found
        now = self._clock.now()
        async with self._store() as uow:
            return await uow.calendars.ensure(CalendarRow(new_id("cal"), tenant, "agent", request.agent_id,
                                                          default_settings(request.timezone), now, now))

    async def _busy(self, tenant: str, calendar: CalendarRow, outside: ExternalCalendar | None,
                    replaced: BookingRow | None = None, around: datetime | None = None) -> list[Interval]:
        """What the calendar holds (its bookings, and the outside calendar's events) within a day of ``around``
        (enough to check one start), or over the whole bookable window (to choose alternatives)."""
        now, settings = self._clock.now(), calendar.settings
        if around is not None:
            start, end = around - timedelta(days=1), around + timedelta(days=1)
        else:
            start, end = now - timedelta(days=1), now + timedelta(days=settings.horizon_days + 1)
        async with self._store.reading() as repos:
            busy = await repos.bookings.busy(tenant, calendar.id, start, end)
        moving = replaced is not None and replaced.status == "booked"
        if moving and replaced is not None:  # a reschedule may move into the time it frees
            busy = [b for b in busy if b != replaced.held]
        if outside is not None:
            busy += await outside.busy(start, end)
            if moving and replaced is not None and replaced.external_id:
                busy = [b for b in busy if b != Interval(replaced.start, replaced.end)]
        return sorted(busy, key=lambda b: b.start)

    async def _busy_or_none(self, tenant: str, calendar: CalendarRow) -> list[Interval]:
        """For alternatives after a refusal: the outside calendar's busy times too when it answers."""
        try:
            return await self._busy(tenant, calendar, await self._outside.for_tenant(tenant))
        except ProviderError:
            return await self._busy(tenant, calendar, None)

    async def _attempt(self, delivery: Delivery, request: MeetingRequested, calendar: CalendarRow,
                       outside: ExternalCalendar | None, replaced: BookingRow | None) -> None:
        tenant, settings = delivery.envelope.tenantid, calendar.settings
        busy = await self._busy(tenant, calendar, outside, replaced, around=asked_start(request))
        verdict = check_request(settings, busy, self._clock.now(), asked_start(request))
        if isinstance(verdict, Refused):
            raise _Refusal(REASONS[verdict.reason], _detail(settings, verdict.reason))
        now = self._clock.now()
        held = settings.held(verdict.slot.start)
        row = BookingRow(new_id("mtg"), tenant, calendar.id, verdict.slot.start, verdict.slot.end, held.start,
                         held.end, "booked", request.request_id, request.lead_id, request.conversation_id, now, now,
                         agent_id=request.agent_id, time_zone=request.timezone, title=TITLE,
                         rescheduled_from=replaced.id if replaced else None)
        async with self._store.handling(delivery) as uow:
            moving = replaced is not None and replaced.status == "booked"
            if moving:
                assert replaced is not None
                if await uow.bookings.release(tenant, replaced.id, now, by="rescheduled") is None:
                    raise _Moved()  # cancelled meanwhile: tried again, it books without cancelling
            result = await uow.bookings.book(row, settings.step)
            if isinstance(result, Taken):
                raise _Refusal("slot_taken", _detail(settings, "taken"))
            if result.id != row.id:  # the same request booked meanwhile (a duplicate racing this one)
                await uow.emit(booked_event(result), tenant_id=tenant, causation=delivery.envelope)
                return
            if outside is not None:
                lead = await uow.crm_leads.get(tenant, request.lead_id) if request.lead_id else None
                row = await self._book_outside(outside, row, request, lead)
                await uow.bookings.record_external(tenant, row.id, row.provider, row.external_id or "", row.url)
                if moving and replaced is not None and replaced.external_id and replaced.provider == outside.provider:
                    await _cancel_outside(outside, replaced.external_id)
            await uow.emit(booked_event(row), tenant_id=tenant, causation=delivery.envelope)
            if moving and replaced is not None:
                await uow.emit(_cancelled(replaced), tenant_id=tenant, causation=delivery.envelope)
        BOOKINGS.labels(SERVICE, "rescheduled" if moving else "booked").inc()

    async def _book_outside(self, outside: ExternalCalendar, row: BookingRow, request: MeetingRequested,
                            lead: LeadRecord | None) -> BookingRow:
        """The lead is invited when the lead projection (kept from lead.created/updated) knows its email."""
        fields = lead.fields if lead is not None else {}
        email = (fields.get("email") or "").strip() or None
        name = (fields.get("name") or "").strip() or None
        draft = MeetingDraft(start=row.start, end=row.end, time_zone=request.timezone, title=row.title or TITLE,
                             description=f"Booked by the agent in conversation {request.conversation_id}.",
                             attendee_email=email, attendee_name=name if email else None,
                             idempotency_key=request.request_id)
        answer = await outside.book(draft)
        if isinstance(answer, SchedulingLink):
            raise _Refusal("no_calendar", f"{outside.provider} books through its own page: the lead finishes there",
                           scheduling_url=answer.url)
        return replace(row, provider=outside.provider, external_id=answer.external_id, url=answer.url)

    async def _fail(self, delivery: Delivery, request: MeetingRequested, calendar: CalendarRow, refusal: _Refusal,
                    busy: list[Interval]) -> None:
        settings, now = calendar.settings, self._clock.now()
        offers = [] if refusal.scheduling_url else nearest_alternatives(settings, busy, now, asked_start(request))
        failed = MeetingFailed(request_id=request.request_id, conversation_id=request.conversation_id,
                               agent_id=request.agent_id, lead_id=request.lead_id, reason=refusal.reason,
                               detail=refusal.detail, timezone=settings.time_zone,
                               alternatives=[SlotOffer(start=s.start, end=s.end) for s in offers],
                               scheduling_url=refusal.scheduling_url)
        tenant = delivery.envelope.tenantid
        async with self._store.handling(delivery) as uow:
            await uow.failures.add(tenant, request.request_id, failed.model_dump(mode="json"), now)
            await uow.emit(failed, tenant_id=tenant, causation=delivery.envelope)
        BOOKINGS.labels(SERVICE, refusal.reason).inc()  # a FailureReason: a short fixed list


def _cancelled(replaced: BookingRow) -> MeetingCancelled:
    return MeetingCancelled(meeting_id=replaced.id, conversation_id=replaced.conversation_id,
                            agent_id=replaced.agent_id or "", lead_id=replaced.lead_id, by="rescheduled")


def asked_start(request: MeetingRequested) -> datetime:
    """The asked start as an instant: a time without an offset is read in the request's zone (UTC when the zone
    is unknown)."""
    if request.start.tzinfo is not None:
        return request.start
    try:
        return request.start.replace(tzinfo=ZoneInfo(request.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return request.start.replace(tzinfo=UTC)


async def _cancel_outside(outside: ExternalCalendar, external_id: str) -> None:
    """A final failure leaves the outside event in place (logged): the booking here is what counts."""
    try:
        await outside.cancel(external_id)
    except ProviderError as exc:
        if exc.retryable:
            raise
        log.warning("could not cancel %s event %s: %s", outside.provider, external_id, exc)


def _detail(settings: CalendarSettings, reason: RefusalReason) -> str:
    return DETAILS[reason].format(notice=settings.minimum_notice_minutes, horizon=settings.horizon_days,
                                  step=settings.slot_step_minutes)
