"""A workflow's SMS or email step over the store (memory, SQLite, PostgreSQL): recorded as a ``workflow``
notification due at once and sent by the scheduler; to an opted-out lead it is skipped, to the tenant ("me")
it is sent whatever the lead chose; the same request arriving twice makes one notification."""

from __future__ import annotations

import pytest

from afo_common.events.conversation import ConversationOptedOut
from afo_common.events.workflow_runs import NotificationRequested
from afo_common.messaging.consumer import DuplicateDelivery
from afo_notifier.domain.planning import OPTED_OUT
from afo_notifier.handlers.reminders import Reminders
from afo_notifier.handlers.scheduler import Scheduler
from afo_notifier.handlers.workflow_steps import WorkflowNotifications
from afo_testkit.clock import FixedClock

from .conftest import Backend
from .test_reminders import NOW, OFFSETS, Recording, deliver, rows, with_contact


def requested(step: int, recipient: str, to: str, channel: str = "sms") -> NotificationRequested:
    return NotificationRequested(workflow_id="wfl_1", run_id="wfr_1", step=step, idempotency_key=f"wfr_1:{step}",
                                 lead_id="lead_1", conversation_id="conv_1", channel=channel,
                                 recipient=recipient, to=to, subject=None, body="A lead qualified: Lee")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def test_a_workflow_sms_is_sent_at_once_to_the_tenant_and_skipped_for_an_opted_out_lead(
        backend: Backend, clock: FixedClock) -> None:
    reminders, channels = Reminders(backend.store, clock, OFFSETS), Recording()
    steps = WorkflowNotifications(backend.store, clock)
    await with_contact(backend, reminders, phone="+33612345678")
    await reminders.opted_out(deliver(backend, ConversationOptedOut(conversation_id="conv_1", lead_id="lead_1",
                                                                    channel="api")))
    await steps(deliver(backend, requested(0, "tenant", "+14155550100")))
    await steps(deliver(backend, requested(1, "lead", "+33612345678")))

    found = {r.to: r for r in await rows(backend)}
    assert (found["+14155550100"].kind, found["+14155550100"].status, found["+14155550100"].lead_id) == (
        "workflow", "scheduled", None)
    assert (found["+33612345678"].status, found["+33612345678"].error) == ("skipped", OPTED_OUT)

    await Scheduler(backend.store, channels, clock, "sch_1").tick()
    assert [(r.to, r.body) for r in channels.sent] == [("+14155550100", "A lead qualified: Lee")]


async def test_the_same_request_twice_makes_one_notification(backend: Backend, clock: FixedClock) -> None:
    steps = WorkflowNotifications(backend.store, clock)
    event = requested(0, "tenant", "ops@example.com", channel="email")
    delivery = deliver(backend, event)
    await steps(delivery)
    with pytest.raises(DuplicateDelivery):
        await steps(delivery)
    assert [(r.channel, r.to, r.kind) for r in await rows(backend)] == [("email", "ops@example.com", "workflow")]
