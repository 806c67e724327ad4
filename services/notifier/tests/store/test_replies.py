"""The agent's replies by SMS or email, and delivery reports, over the store on memory, SQLite and PostgreSQL:
a reply with a route becomes a due ``reply`` notification the scheduler sends from the agent's number; a chat's
reply does nothing; an opt-out's answer and an opted-out lead are skipped; a redelivery makes no second one;
a delivery report lands on the tenant's notification only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

import pytest

from afo_common.events import Event, envelope_for
from afo_common.events.conversation import ConversationOptedOut, LeadCreated, MessageReplied, ReplyRoute
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_notifications as ops
from afo_common.rpcs.notifier_delivery import DeliveryStatus
from afo_notifier.domain.channels import Sent
from afo_notifier.domain.planning import OPTED_OUT
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.delivery_reports import DeliveryReports
from afo_notifier.handlers.reminders import Reminders
from afo_notifier.handlers.replies import Replies
from afo_notifier.handlers.scheduler import Scheduler
from afo_notifier.handlers.views import NotificationViews
from afo_testkit.clock import FixedClock

from .conftest import Backend

TENANT, OTHER = "ten_a", "ten_b"
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
AGENT_NUMBER, LEAD_PHONE = "+14155550100", "+14155550199"
SMS_BACK = ReplyRoute(channel="sms", to=LEAD_PHONE, sender=AGENT_NUMBER)


class Recording:
    def __init__(self) -> None:
        self.sent: list[NotificationRow] = []

    async def send(self, row: NotificationRow) -> Sent:
        await asyncio.sleep(0)
        self.sent.append(row)
        return Sent("twilio", f"SM{len(self.sent):032d}")


def deliver(backend: Backend, payload: Event, tenant: str = TENANT) -> Delivery:
    envelope = envelope_for(payload, tenant_id=tenant, source="test")
    return Delivery(envelope, payload, 1, f"notifier-{payload.event_name}", cast(UnitOfWorkFactory, backend.units))


def replied(message_id: str = "msg_r1", text: str = "Thanks! What's your company?", intent: str = "provide_info",
            route: ReplyRoute | None = SMS_BACK
            ) -> MessageReplied:
    return MessageReplied(conversation_id="conv_1", message_id=message_id, in_reply_to="msg_1", text=text,
                          engine="embedded", intent=intent, first_delta_ms=1.0, completed_ms=2.0, reply_route=route,
                          agent_id="agt_1", lead_id="lead_1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def all_rows(backend: Backend, tenant: str = TENANT) -> list[NotificationRow]:
    async with backend.store.reading() as repos:
        return await repos.notifications.search(tenant, 100, None)


async def test_a_routed_reply_is_sent_by_sms_from_the_agents_number_once(backend: Backend, clock: FixedClock) -> None:
    replies, channels = Replies(backend.store, clock), Recording()
    event = deliver(backend, replied())
    await replies.replied(event)
    with pytest.raises(DuplicateDelivery):
        await replies.replied(event)
    await replies.replied(deliver(backend, replied("msg_chat", route=None)))

    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 1
    [sent] = channels.sent
    assert (sent.kind, sent.channel, sent.to, sent.sender, sent.body) == (
        "reply", "sms", LEAD_PHONE, AGENT_NUMBER, "Thanks! What's your company?")
    [row] = await all_rows(backend)
    assert (row.status, row.provider, row.lead_id) == ("sent", "twilio", "lead_1")
    view = await NotificationViews(backend.store).get(ops.NotificationRef(tenant_id=TENANT, notification_id=row.id))
    assert (view.kind, view.channel, view.to, view.delivery_status) == ("reply", "sms", "+14•••••0199", None)


async def test_an_opt_out_answer_and_an_opted_out_lead_get_nothing(backend: Backend, clock: FixedClock) -> None:
    replies, reminders, channels = Replies(backend.store, clock), Reminders(backend.store, clock, []), Recording()
    await replies.replied(deliver(backend, replied("msg_stop", "You're unsubscribed.", intent="opt_out")))
    await reminders.lead(deliver(backend, LeadCreated(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                                                      fields={"phone": LEAD_PHONE})))
    await reminders.opted_out(deliver(backend, ConversationOptedOut(conversation_id="conv_1", lead_id="lead_1",
                                                                    channel="sms")))
    await replies.replied(deliver(backend, replied("msg_after")))

    assert await Scheduler(backend.store, channels, clock, "sch_1").tick() == 0 and channels.sent == []
    assert [(r.status, r.error) for r in await all_rows(backend)] == [("skipped", OPTED_OUT)] * 2


async def test_a_delivery_report_is_recorded_on_the_tenants_notification(backend: Backend, clock: FixedClock) -> None:
    await Replies(backend.store, clock).replied(deliver(backend, replied()))
    await Scheduler(backend.store, Recording(), clock, "sch_1").tick()
    [row] = await all_rows(backend)
    reports = DeliveryReports(backend.store, clock)

    other = await reports.record(DeliveryStatus(tenant_id=OTHER, provider_id=str(row.provider_id), status="failed"))
    unknown = await reports.record(DeliveryStatus(tenant_id=TENANT, provider_id="SMnope", status="failed"))
    recorded = await reports.record(DeliveryStatus(tenant_id=TENANT, provider_id=str(row.provider_id),
                                                   status="undelivered", error_code="30003"))

    assert (other.recorded, unknown.recorded) == (False, False)
    assert (recorded.recorded, recorded.notification_id) == (True, row.id)
    view = await NotificationViews(backend.store).get(ops.NotificationRef(tenant_id=TENANT, notification_id=row.id))
    assert (view.delivery_status, view.delivery_error_code, view.delivery_updated_at) == ("undelivered", "30003", NOW)


async def test_an_email_routed_opening_goes_by_email_with_a_subject(backend: Backend, clock: FixedClock) -> None:
    channels = Recording()
    route = ReplyRoute(channel="email", to="lee@example.com")
    await Replies(backend.store, clock).replied(deliver(backend, replied("msg_open", "Hi Lee!", route=route)))
    await Scheduler(backend.store, channels, clock, "sch_1").tick()
    [sent] = channels.sent
    assert (sent.kind, sent.channel, sent.to, sent.subject, sent.sender) == (
        "reply", "email", "lee@example.com", "Re: your enquiry", None)
