"""Reminders end to end over the store, on memory, SQLite and PostgreSQL, with a clock the test moves: what a
booked meeting schedules, the scheduler sending each once when due, cancel and reschedule, opt-out, the
events, another tenant's ids."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from afo_common.events import Event, envelope_for
from afo_common.events.conversation import ConversationOptedOut, LeadCreated, LeadUpdated
from afo_common.events.notification import NotificationFailed, NotificationSent
from afo_common.events.workflow import MeetingBooked, MeetingCancelled
from afo_common.events.workflow_runs import RemindersRequested
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.store import MemoryStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_notifications as ops
from afo_notifier.domain.channels import SendError, Sent
from afo_notifier.domain.planning import OPTED_OUT, TOO_LATE
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.reminders import CANCELLED, MOVED, Reminders
from afo_notifier.handlers.scheduler import Scheduler
from afo_notifier.handlers.views import NotFound, NotificationViews
from afo_testkit.clock import FixedClock

from .conftest import Backend

TENANT, OTHER = "ten_a", "ten_b"
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
OFFSETS = (timedelta(hours=24), timedelta(hours=1))


class Recording:
    """The channels port, recording what it was asked to send; ``failing`` makes every send fail."""

    def __init__(self) -> None:
        self.sent: list[NotificationRow] = []
        self.failing: SendError | None = None

    async def send(self, row: NotificationRow) -> Sent:
        await asyncio.sleep(0)
        if self.failing:
            raise self.failing
        self.sent.append(row)
        return Sent("sink", None)


def deliver(backend: Backend, payload: Event, tenant: str = TENANT) -> Delivery:
    envelope = envelope_for(payload, tenant_id=tenant, source="test")
    return Delivery(envelope, payload, 1, f"notifier-{payload.event_name}",
                    cast(UnitOfWorkFactory, backend.units))


def booked(meeting: str = "mtg_1", start: datetime = START, rescheduled_from: str | None = None) -> MeetingBooked:
    return MeetingBooked(meeting_id=meeting, request_id=f"req_{meeting}", conversation_id="conv_1",
                         agent_id="agt_1", lead_id="lead_1", calendar_id="cal_1", provider="builtin", start=start,
                         end=start + timedelta(minutes=30), timezone="Europe/Paris",
                         rescheduled_from=rescheduled_from)


async def book(backend: Backend, reminders: Reminders, meeting: MeetingBooked) -> None:
    """The meeting booked, then its reminders asked for as the default funnel's workflow does."""
    await reminders.booked(deliver(backend, meeting))
    await reminders.requested(deliver(backend, reminders_requested(meeting)))


def reminders_requested(meeting: MeetingBooked) -> RemindersRequested:
    return RemindersRequested(workflow_id="wf_funnel_remind", run_id=f"wfr_{meeting.meeting_id}", step=0,
                              idempotency_key=f"wfr_{meeting.meeting_id}:0", lead_id=meeting.lead_id,
                              conversation_id=meeting.conversation_id, meeting_id=meeting.meeting_id,
                              agent_id=meeting.agent_id, start=meeting.start, end=meeting.end,
                              timezone=meeting.timezone)


async def with_contact(backend: Backend, reminders: Reminders, tenant: str = TENANT, **fields: str) -> None:
    await reminders.lead(deliver(backend, LeadCreated(lead_id="lead_1", conversation_id="conv_1",
                                                      agent_id="agt_1", fields={"name": "Lee", **fields}), tenant))


async def rows(backend: Backend, tenant: str = TENANT) -> list[NotificationRow]:
    async with backend.store.reading() as repos:
        return sorted(await repos.notifications.search(tenant, 100, None), key=lambda r: (r.send_at, r.channel))


def outbox(backend: Backend) -> list[str]:
    assert isinstance(backend.store, MemoryStore)
    return [e.type for e in backend.store.outbox]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def test_a_booked_meeting_schedules_confirmation_and_reminders(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, email="lee@example.com")
    await reminders.lead(deliver(backend, LeadUpdated(lead_id="lead_1", conversation_id="conv_1",
                                                      fields={"phone": "+33612345678"}, changed=["phone"])))
    await book(backend, reminders, booked())
    found = await rows(backend)
    assert [(r.kind, r.channel, r.send_at, r.status) for r in found] == [
        ("confirmation", "email", NOW, "scheduled"),
        ("reminder", "email", START - timedelta(hours=24), "scheduled"),
        ("reminder", "sms", START - timedelta(hours=24), "scheduled"),
        ("reminder", "email", START - timedelta(hours=1), "scheduled"),
        ("reminder", "sms", START - timedelta(hours=1), "scheduled"),
    ]
    sms = found[2]
    # 2026-06-03 08:00 UTC is 10:00 in Paris (summer time): the lead's own time.
    assert sms.to == "+33612345678" and sms.body == (
        "Reminder: your meeting is tomorrow, Wed 3 Jun, 10:00 (Europe/Paris). Reply STOP to opt out.")
    assert found[0].ics is not None and "BEGIN:VEVENT" in found[0].ics and found[1].ics is None


async def test_a_lead_event_that_changes_no_contact_field_writes_nothing(backend: Backend,
                                                                          clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, email="lee@example.com")
    clock.advance(timedelta(minutes=5))
    unchanged = deliver(backend, LeadUpdated(lead_id="lead_1", conversation_id="conv_1", changed=["budget"],
                                             fields={"name": "Lee", "email": "lee@example.com", "budget": "10k"}))

    await reminders.lead(unchanged)
    await reminders.lead(unchanged)  # no inbox row either: a redelivery is compared again, not refused

    async with backend.store.reading() as repos:
        contact = await repos.contacts.get(TENANT, "lead_1")
    assert contact is not None and contact.updated_at == NOW and contact.fields_at is not None
    assert contact.fields_at < unchanged.envelope.time
    if isinstance(backend.store, MemoryStore):
        assert (unchanged.consumer, unchanged.envelope.id) not in backend.store.processed

    # A change is written, with its inbox row: the same delivery again is refused.
    phone = deliver(backend, LeadUpdated(lead_id="lead_1", conversation_id="conv_1", changed=["phone"],
                                         fields={"name": "Lee", "phone": "+33612345678"}))
    await reminders.lead(phone)
    with pytest.raises(DuplicateDelivery):
        await reminders.lead(phone)
    async with backend.store.reading() as repos:
        contact = await repos.contacts.get(TENANT, "lead_1")
    assert contact is not None and (contact.email, contact.phone, contact.updated_at) == (
        "lee@example.com", "+33612345678", NOW + timedelta(minutes=5))
    assert contact.fields_at == phone.envelope.time

    # An older snapshot arriving late (out of order, or redelivered) changes nothing.
    late = deliver(backend, LeadUpdated(lead_id="lead_1", conversation_id="conv_1", changed=["phone"],
                                        fields={"name": "Lee", "phone": "+33600000000"}))
    late = replace(late, envelope=late.envelope.model_copy(update={"time": phone.envelope.time - timedelta(seconds=1)}))
    await reminders.lead(late)
    async with backend.store.reading() as repos:
        contact = await repos.contacts.get(TENANT, "lead_1")
    assert contact is not None and contact.phone == "+33612345678"


async def test_due_reminders_are_sent_once_each_when_their_time_comes(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    scheduler = Scheduler(backend.store, channels, clock, "sch_1")
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    assert await scheduler.tick() == 0 and channels.sent == []  # none due yet (no email: no confirmation)
    clock.advance(timedelta(hours=23, minutes=59, seconds=59))
    assert await scheduler.tick() == 0
    clock.advance(timedelta(seconds=1))
    assert await scheduler.tick() == 1 and await scheduler.tick() == 0
    clock.advance(timedelta(days=1))
    assert await scheduler.tick() == 1 and await scheduler.tick() == 0
    assert [r.send_at for r in channels.sent] == [START - timedelta(hours=24), START - timedelta(hours=1)]
    found = await rows(backend)
    assert [(r.status, r.provider, r.sent_at) for r in found] == [
        ("sent", "sink", NOW + timedelta(days=1)), ("sent", "sink", NOW + timedelta(days=2))]


async def test_a_reminder_already_past_is_skipped_and_recorded(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked(start=NOW + timedelta(minutes=30)))
    assert [(r.status, r.error) for r in await rows(backend)] == [(("skipped", TOO_LATE))] * 2


async def test_a_cancelled_meeting_cancels_its_reminders(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    await reminders.cancelled(deliver(backend, MeetingCancelled(meeting_id="mtg_1", conversation_id="conv_1",
                                                                agent_id="agt_1", lead_id="lead_1", by="lead")))
    assert {(r.status, r.error) for r in await rows(backend)} == {("cancelled", CANCELLED)}
    clock.advance(timedelta(days=3))
    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 0 and channels.sent == []


async def test_a_reschedule_replaces_the_old_reminders(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    later = START + timedelta(days=1)
    await book(backend, reminders, booked("mtg_2", later, rescheduled_from="mtg_1"))
    found = await rows(backend)
    assert sorted((r.meeting_id, r.status, r.send_at) for r in found) == [
        ("mtg_1", "cancelled", START - timedelta(hours=24)), ("mtg_1", "cancelled", START - timedelta(hours=1)),
        ("mtg_2", "scheduled", later - timedelta(hours=24)), ("mtg_2", "scheduled", later - timedelta(hours=1))]
    assert {r.error for r in found if r.meeting_id == "mtg_1"} == {MOVED}


async def test_an_opted_out_lead_gets_nothing(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678", email="lee@example.com")
    opted_out = ConversationOptedOut(conversation_id="conv_1", lead_id="lead_1", channel="sms")
    await reminders.opted_out(deliver(backend, opted_out))
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=3))
    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 0 and channels.sent == []
    assert {(r.status, r.error) for r in await rows(backend)} == {("skipped", OPTED_OUT)}


async def test_an_opt_out_after_booking_stops_what_is_scheduled(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    await reminders.opted_out(deliver(backend, ConversationOptedOut(conversation_id="conv_1", lead_id="lead_1",
                                                                    channel="web")))
    clock.advance(timedelta(days=3))
    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 0 and channels.sent == []
    assert {(r.status, r.error) for r in await rows(backend)} == {("skipped", OPTED_OUT)}


async def test_a_failed_send_is_recorded_with_its_reason(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    channels.failing = SendError("twilio", 400, "HTTP 400 (Twilio 21211): not a valid phone number")
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=1))
    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 1
    first = (await rows(backend))[0]
    assert (first.status, first.provider, first.error) == (
        "failed", "twilio", "HTTP 400 (Twilio 21211): not a valid phone number")


async def test_two_schedulers_racing_send_each_notification_once(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678", email="lee@example.com")
    for n in range(10):
        await book(backend, reminders, booked(f"mtg_{n}"))
    clock.advance(timedelta(days=3))
    first = Scheduler(backend.store, channels, clock, "sch_1")
    second = Scheduler(backend.reopen(), channels, clock, "sch_2")
    claimed = await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
    assert sum(claimed) == 50 and len(channels.sent) == 50
    assert len({r.id for r in channels.sent}) == 50
    assert {r.status for r in await rows(backend)} == {"sent"}


async def test_a_reminder_survives_a_restart_and_fires_once(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=1, hours=23))
    channels = Recording()
    restarted = backend.reopen()  # a new store on the same database: nothing kept in the first one's memory
    assert await Scheduler(restarted, channels, clock, "sch_after").tick() == 2
    assert await Scheduler(backend.reopen(), channels, clock, "sch_again").tick() == 0
    assert len(channels.sent) == 2


async def test_a_claim_left_by_a_dead_scheduler_is_taken_after_its_lease(backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=1))
    [due] = [r for r in await rows(backend) if r.send_at <= clock.now()]
    async with backend.store() as uow:  # a scheduler claimed it, then died before sending
        assert await uow.notifications.claim(due, "sch_dead", clock.now() + timedelta(minutes=2), clock.now())
    scheduler = Scheduler(backend.store, channels, clock, "sch_1")
    assert await scheduler.tick() == 0
    clock.advance(timedelta(minutes=2, seconds=1))
    assert await scheduler.tick() == 1 and [r.id for r in channels.sent] == [due.id]


async def test_events_say_what_was_sent_without_the_body(clock: FixedClock) -> None:
    from afo_notifier.adapters.memory import memory_store

    backend = Backend(memory_store(), None)
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=1))
    await Scheduler(backend.store, channels, clock, "sch_1").tick()
    channels.failing = SendError("twilio", 500, "HTTP 500")
    clock.advance(timedelta(days=1))
    await Scheduler(backend.store, channels, clock, "sch_1").tick()
    assert outbox(backend) == ["afo.notification.sent.v1", "afo.notification.failed.v1"]
    assert isinstance(backend.store, MemoryStore)
    sent, failed = (e.data for e in backend.store.outbox)
    NotificationSent.model_validate(sent), NotificationFailed.model_validate(failed)
    assert sent["to"] == "+33•••••5678" and "body" not in sent and failed["error"] == "HTTP 500"
    assert sent["kind"] == "reminder" and sent["provider"] == "sink"


async def test_another_tenants_notifications_are_not_found(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    [first, _] = await rows(backend)
    views = NotificationViews(backend.store)
    mine = await views.get(ops.NotificationRef(tenant_id=TENANT, notification_id=first.id))
    assert mine.to == "+33•••••5678" and mine.status == "scheduled"
    with pytest.raises(NotFound):
        await views.get(ops.NotificationRef(tenant_id=OTHER, notification_id=first.id))
    assert (await views.list(ops.ListNotifications(tenant_id=OTHER))).data == []
    page = await views.list(ops.ListNotifications(tenant_id=TENANT, limit=1, meeting_id="mtg_1"))
    assert len(page.data) == 1 and page.next_cursor is not None
    rest = await views.list(ops.ListNotifications(tenant_id=TENANT, cursor=page.next_cursor))
    assert len(rest.data) == 1 and rest.data[0].id != page.data[0].id
    assert (await views.list(ops.ListNotifications(tenant_id=TENANT, status="sent"))).data == []


class PerAgent:
    """The agent-offsets port: each agent's own offsets, as agent-runtime would answer them."""

    def __init__(self, offsets: dict[str, tuple[timedelta, ...]]) -> None:
        self.offsets, self.asked = offsets, list[tuple[str, str]]()

    async def of(self, tenant_id: str, agent_id: str) -> tuple[timedelta, ...]:
        self.asked.append((tenant_id, agent_id))
        return self.offsets[agent_id]


async def test_each_agent_reminds_on_its_own_offsets_and_an_empty_list_sends_only_the_confirmation(
        backend: Backend, clock: FixedClock) -> None:
    per_agent = PerAgent({"agt_1": (timedelta(minutes=30),)})
    reminders = Reminders(backend.store, clock, per_agent)
    await with_contact(backend, reminders, phone="+33612345678", email="lee@example.com")
    await book(backend, reminders, booked())
    assert [(r.kind, r.channel, r.send_at) for r in await rows(backend)] == [
        ("confirmation", "email", NOW),
        ("reminder", "email", START - timedelta(minutes=30)),
        ("reminder", "sms", START - timedelta(minutes=30)),
    ]
    assert per_agent.asked == [(TENANT, "agt_1")]

    per_agent.offsets["agt_1"] = ()
    await book(backend, reminders, booked("mtg_2"))
    assert [(r.kind, r.channel) for r in await rows(backend) if r.meeting_id == "mtg_2"] == [
        ("confirmation", "email")]


async def test_a_request_for_reminders_arriving_after_the_cancellation_or_the_reschedule_schedules_nothing(
        backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678", email="lee@example.com")
    first = booked()
    await reminders.cancelled(deliver(backend, MeetingCancelled(
        meeting_id=first.meeting_id, conversation_id="conv_1", agent_id="agt_1", lead_id="lead_1", by="lead")))
    await reminders.requested(deliver(backend, reminders_requested(first)))
    moved = booked("mtg_2", START + timedelta(days=1))
    await reminders.booked(deliver(backend, booked("mtg_3", START + timedelta(days=2), rescheduled_from="mtg_2")))
    await reminders.requested(deliver(backend, reminders_requested(moved)))
    assert await rows(backend) == []


async def test_a_booked_meeting_without_a_request_from_a_workflow_gets_nothing(backend: Backend,
                                                                               clock: FixedClock) -> None:
    """The tenant disabled the funnel's reminders: ``meeting.booked`` alone schedules nothing."""
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678", email="lee@example.com")
    await reminders.booked(deliver(backend, booked()))
    assert await rows(backend) == []


def phone_learnt(phone: str = "+33612345678") -> LeadUpdated:
    return LeadUpdated(lead_id="lead_1", conversation_id="conv_1", fields={"phone": phone}, changed=["phone"])


async def test_a_phone_learnt_after_the_request_gets_its_sms_reminders(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, email="lee@example.com")
    await book(backend, reminders, booked())
    clock.advance(timedelta(minutes=5))

    await reminders.lead(deliver(backend, phone_learnt()))

    assert [(r.kind, r.channel, r.send_at, r.status) for r in await rows(backend)] == [
        ("confirmation", "email", NOW, "scheduled"),
        ("reminder", "email", START - timedelta(hours=24), "scheduled"),
        ("reminder", "sms", START - timedelta(hours=24), "scheduled"),
        ("reminder", "email", START - timedelta(hours=1), "scheduled"),
        ("reminder", "sms", START - timedelta(hours=1), "scheduled"),
    ]


async def test_a_contact_known_only_after_the_request_gets_everything_once(backend: Backend,
                                                                           clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    meeting = booked()
    await book(backend, reminders, meeting)
    assert await rows(backend) == []
    clock.advance(timedelta(minutes=5))

    await with_contact(backend, reminders, email="lee@example.com", phone="+33612345678")
    # The same request again (another run of the workflow): nothing twice.
    await reminders.requested(deliver(backend, reminders_requested(meeting)))

    assert [(r.kind, r.channel, r.send_at) for r in await rows(backend)] == [
        ("confirmation", "email", NOW + timedelta(minutes=5)),
        ("reminder", "email", START - timedelta(hours=24)),
        ("reminder", "sms", START - timedelta(hours=24)),
        ("reminder", "email", START - timedelta(hours=1)),
        ("reminder", "sms", START - timedelta(hours=1)),
    ]


async def test_a_changed_phone_moves_what_is_still_scheduled(backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, phone="+33612345678")
    await book(backend, reminders, booked())
    clock.advance(timedelta(days=1, minutes=1))
    await Scheduler(backend.store, Recording(), clock, "s1").tick()  # the 24-hour reminder goes
    clock.advance(timedelta(minutes=1))

    await reminders.lead(deliver(backend, phone_learnt("+33698765432")))

    assert [(r.send_at, r.status, r.to) for r in await rows(backend)] == [
        (START - timedelta(hours=24), "sent", "+33612345678"),
        (START - timedelta(hours=1), "scheduled", "+33698765432"),
    ]


async def test_a_channel_learnt_after_the_meeting_was_cancelled_or_held_plans_nothing(
        backend: Backend, clock: FixedClock) -> None:
    reminders = Reminders(backend.store, clock, OFFSETS)
    await with_contact(backend, reminders, email="lee@example.com")
    await book(backend, reminders, booked("mtg_1"))
    await book(backend, reminders, booked("mtg_2", NOW + timedelta(hours=3)))
    await reminders.cancelled(deliver(backend, MeetingCancelled(
        meeting_id="mtg_1", conversation_id="conv_1", agent_id="agt_1", lead_id="lead_1", by="lead")))
    before = await rows(backend)
    clock.advance(timedelta(hours=4))  # mtg_2 has begun

    await reminders.lead(deliver(backend, phone_learnt()))

    assert await rows(backend) == before


async def test_a_phone_saved_while_the_request_plans_is_seen_by_one_side(backend: Backend,
                                                                          clock: FixedClock) -> None:
    """The lead's event and the request at the same moment, on two replicas: the SMS reminders are planned
    whichever commits first."""
    first = Reminders(backend.store, clock, OFFSETS)
    second = Reminders(backend.reopen(), clock, OFFSETS)
    for lead in range(12):
        meeting = booked(f"mtg_{lead}").model_copy(update={"lead_id": f"lead_{lead}"})
        learnt = phone_learnt().model_copy(update={"lead_id": f"lead_{lead}"})
        await asyncio.gather(first.requested(deliver(backend, reminders_requested(meeting))),
                             second.lead(deliver(backend, learnt)))
    by_meeting: dict[str | None, list[str]] = {}
    for row in await rows(backend):
        by_meeting.setdefault(row.meeting_id, []).append(row.channel)
    assert by_meeting == {f"mtg_{lead}": ["sms", "sms"] for lead in range(12)}
