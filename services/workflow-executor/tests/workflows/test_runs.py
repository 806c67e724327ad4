"""Workflows on a real store (SQLite, then PostgreSQL): created from an instruction, enabled, run on their trigger
event step by step with one run per event however often it is delivered, waits resumed by the poller, the
default funnel that decides CRM sync, and another tenant's workflows out of reach."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from afo_common.events import Event, envelope_for
from afo_common.events.conversation import HandoffRequested, LeadQualified
from afo_common.events.workflow import MeetingBooked
from afo_common.events.workflow_runs import (
    BookingRequested,
    NotificationRequested,
    RemindersRequested,
    WebhookRequested,
    WorkflowRunCompleted,
)
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.provider_http import RetryPolicy
from afo_common.rpcs.workflow_executor_crm import ListCrmSyncs
from afo_common.rpcs.workflow_executor_workflows import (
    CreateWorkflow,
    ListWorkflowRuns,
    ListWorkflows,
    Notify,
    SetWorkflowStatus,
    WorkflowRef,
)
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import committed_events, migrated_database
from afo_workflow_executor.adapters.crm_providers import CrmOpener
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.handlers.crm_runs import CrmRuns
from afo_workflow_executor.handlers.crm_sync import CrmSync
from afo_workflow_executor.handlers.errors import NotFound
from afo_workflow_executor.handlers.workflow_crm_gate import GatedCrmSync
from afo_workflow_executor.handlers.workflow_runs import WorkflowRunner
from afo_workflow_executor.handlers.workflows import Conflict, NotCompiled, WorkflowBook

TENANT, OTHER = "ten_1", "ten_2"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ME = Notify(phone="+15550001111", email="owner@example.com")


@pytest.fixture(params=["sqlite", "postgres"])
async def units(request: pytest.FixtureRequest, tmp_path: Path,
                postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None)
    finally:
        await db.dispose()


class World:
    def __init__(self, units: UnitOfWorkFactory) -> None:
        self.units = units
        self.store = sql_store(units)
        self.clock = FixedClock(T0)
        self.book = WorkflowBook(self.store, self.clock)
        self.runner = WorkflowRunner(self.store, self.book, self.clock)

    async def create(self, instruction: str, notify: Notify = ME, tenant: str = TENANT) -> str:
        made = await self.book.create(CreateWorkflow(tenant_id=tenant, instruction=instruction, notify=notify,
                                                     request_id=request_id(instruction)))
        await self.book.set_status(SetWorkflowStatus(tenant_id=tenant, workflow_id=made.id, status="enabled"))
        return made.id

    def delivery(self, event: Event, tenant: str = TENANT, attempt: int = 1) -> Delivery:
        return Delivery(envelope_for(event, tenant_id=tenant, source="agent-runtime"), event, attempt, "wf",
                        self.units)

    async def events(self, kind: type[Event]) -> list[dict[str, Any]]:
        return [e.data for e in await committed_events(self.units.db, messaging) if e.type == kind.type_name()]


def request_id(instruction: str) -> str:
    return "req-" + hashlib.sha256(instruction.encode()).hexdigest()[:32]


def qualified(budget: str = "15000", **more: str) -> LeadQualified:
    return LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                         fields={"email": "lee@example.com", "phone": "+15552223333", "budget": budget, **more})


async def test_a_run_step_by_step_once_however_often_delivered(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified with budget over 10k, book a demo on the sales "
                                  "calendar and text me")
    delivery = world.delivery(qualified())
    await world.runner(delivery)
    with pytest.raises(DuplicateDelivery):  # the inbox: a redelivery does nothing
        await world.runner(Delivery(delivery.envelope, delivery.payload, 2, "wf", units))
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert (run.status, run.event_type, run.lead_id) == ("completed", "lead.qualified", "lead_1")
    assert [(s.type, s.status) for s in run.steps] == [("book_meeting", "done"), ("send_sms", "done")]
    assert run.steps[1].idempotency_key == f"{run.id}:1" and run.steps[1].output == {
        "event": "workflow.notification_requested", "channel": "sms", "to": "+15550001111"}
    [sms] = await world.events(NotificationRequested)
    assert (sms["channel"], sms["to"], sms["idempotency_key"]) == ("sms", "+15550001111", f"{run.id}:1")
    # The default funnel's workflow on lead.qualified ran too (its sync_crm step is CRM sync's).
    assert sorted(e["workflow_id"] for e in await world.events(WorkflowRunCompleted)) == sorted(
        [workflow, "wf_funnel_qualified"])


async def test_handoff_webhook_and_booking_are_asked_for_by_events(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified, hand off to a human, send a webhook to "
                                  "https://hooks.example.com/q and book a demo on the sales calendar")
    delivery = world.delivery(qualified())
    await world.runner(delivery)
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert run.status == "completed" and [s.status for s in run.steps] == ["done"] * 3
    [handoff] = await world.events(HandoffRequested)
    assert (handoff["conversation_id"], handoff["lead_id"], handoff["reason"]) == ("conv_1", "lead_1",
                                                                                   f"workflow {workflow}")
    [hook] = await world.events(WebhookRequested)
    assert (hook["url"], hook["trigger"], hook["data"]["fields"]["budget"]) == (
        "https://hooks.example.com/q", "lead.qualified", "15000")
    assert hook["idempotency_key"] == f"{run.id}:1"
    [booking] = await world.events(BookingRequested)
    assert (booking["title"], booking["calendar"], booking["agent_id"]) == ("demo", "sales", "agt_1")


async def test_the_funnel_asks_notifier_for_a_booked_meetings_reminders_unless_disabled(
        units: UnitOfWorkFactory) -> None:
    world = World(units)
    start = T0 + timedelta(days=2)
    meeting = MeetingBooked(meeting_id="mtg_1", request_id="req_1", conversation_id="conv_1", agent_id="agt_1",
                            lead_id="lead_1", calendar_id="cal_1", provider="builtin", start=start,
                            end=start + timedelta(minutes=30), timezone="Europe/Paris")
    await world.runner(world.delivery(meeting))
    [asked] = await world.events(RemindersRequested)
    assert (asked["workflow_id"], asked["meeting_id"], asked["agent_id"], asked["timezone"]) == (
        "wf_funnel_remind", "mtg_1", "agt_1", "Europe/Paris")
    assert datetime.fromisoformat(asked["start"]) == start

    await world.book.set_status(SetWorkflowStatus(tenant_id=TENANT, workflow_id="wf_funnel_remind",
                                                  status="disabled"))
    await world.runner(world.delivery(meeting.model_copy(update={"meeting_id": "mtg_2"})))
    assert [e["meeting_id"] for e in await world.events(RemindersRequested)] == ["mtg_1"]


async def test_a_replayed_event_finds_its_run(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified, text the lead")
    delivery = world.delivery(qualified())
    await world.runner(delivery)
    async with world.units.db.session() as session, session.begin():  # the inbox forgot it (a replay)
        await session.execute(messaging.inbox.delete())
    await world.runner(Delivery(delivery.envelope, delivery.payload, 1, "wf", units))
    runs = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert len(runs) == 1 and len(await world.events(NotificationRequested)) == 1


async def test_conditions_not_met_skip_the_run_and_say_why(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified with budget over 10k, text me")
    await world.runner(world.delivery(qualified(budget="$5,000")))
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert run.status == "skipped" and run.reason == "condition not met: lead.budget gt 10000"
    assert [s.status for s in run.steps] == ["skipped"] and await world.events(NotificationRequested) == []


async def test_a_wait_is_durable_and_resumed_once(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a meeting is booked, wait 1 hour then email the lead")
    async with world.store() as uow:  # the lead's email, known from its lead events
        from afo_workflow_executor.domain.crm_leads import with_fields
        await uow.crm_leads.save(with_fields(None, tenant_id=TENANT, lead_id="lead_1", conversation_id="conv_1",
                                             agent_id="agt_1", fields={"email": "lee@example.com"}, at=T0, now=T0))
    booked = MeetingBooked(meeting_id="mtg_1", request_id="req_1", conversation_id="conv_1", agent_id="agt_1",
                           lead_id="lead_1", calendar_id="cal_1", provider="builtin", start=T0 + timedelta(days=1),
                           end=T0 + timedelta(days=1, minutes=30), timezone="UTC")
    await world.runner(world.delivery(booked))
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert (run.status, run.resume_at) == ("waiting", T0 + timedelta(hours=1))
    await world.runner.resume_due()  # not yet
    assert await world.events(NotificationRequested) == []
    world.clock.advance(timedelta(hours=1, seconds=1))
    await world.runner.resume_due()
    await world.runner.resume_due()  # nothing left to resume
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert run.status == "completed" and [s.status for s in run.steps] == ["done", "done"]
    [email] = await world.events(NotificationRequested)
    assert (email["channel"], email["to"]) == ("email", "lee@example.com")


async def test_a_step_that_cannot_be_done_fails_the_run(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified, text the lead and email me")
    await world.runner(world.delivery(LeadQualified(lead_id="lead_9", conversation_id="conv_9", agent_id="agt_1",
                                                    fields={"email": "x@example.com"})))
    [run] = (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data
    assert run.status == "failed" and [(s.status, s.error) for s in run.steps] == [
        ("failed", "the lead has no phone"), ("skipped", None)]


class NoCrm:
    """A vault without any CRM credential: CRM sync records the built-in lead store, no call goes out."""

    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        return None


async def test_the_default_funnel_decides_crm_sync(units: UnitOfWorkFactory) -> None:
    world = World(units)
    crm = CrmSync(world.store, NoCrm(), CrmOpener(RetryPolicy(attempts=1)), world.clock, 5)
    gate = GatedCrmSync(crm, world.store, world.book)

    async def synced() -> list[str]:
        page = await CrmRuns(world.store).list(ListCrmSyncs(tenant_id=TENANT, lead_id="lead_1"))
        return [run.status for run in page.data]

    await gate(world.delivery(qualified()))
    assert await synced() == ["synced"]  # the default funnel syncs a qualified lead
    listed = (await world.book.list(ListWorkflows(tenant_id=TENANT))).data
    funnel = {w.id: w for w in listed if w.builtin}
    assert set(funnel) == {"wf_funnel_qualified", "wf_funnel_analyzed", "wf_funnel_booked", "wf_funnel_cancelled",
                           "wf_funnel_remind"}
    assert funnel["wf_funnel_qualified"].spec.model_dump(exclude_none=True) == {
        "trigger": "lead.qualified", "conditions": [], "actions": [{"type": "sync_crm"}]}
    await world.book.set_status(SetWorkflowStatus(tenant_id=TENANT, workflow_id="wf_funnel_qualified",
                                                  status="disabled"))
    await gate(world.delivery(qualified(budget="20000")))
    assert await synced() == ["synced"]  # disabled: no CRM sync, the projection still kept
    async with world.store.reading() as repos:
        lead = await repos.crm_leads.get(TENANT, "lead_1")
    assert lead is not None and lead.fields["budget"] == "20000" and lead.qualified
    # A workflow of the tenant's own that syncs big leads only.
    await world.create("when a lead is qualified with budget over 50k, sync the lead to the CRM")
    await gate(world.delivery(qualified(budget="20000")))
    await gate(world.delivery(qualified(budget="60k")))
    assert await synced() == ["synced", "synced"]
    with pytest.raises(Conflict):
        await world.book.delete(WorkflowRef(tenant_id=TENANT, workflow_id="wf_funnel_qualified"))


async def test_refusals_create_nothing(units: UnitOfWorkFactory) -> None:
    world = World(units)
    with pytest.raises(NotCompiled) as refused:
        await world.create("when a lead is qualified, order a pizza")
    assert [u.word for u in refused.value.refused.unrecognized] == ["order", "pizza"]
    with pytest.raises(NotCompiled, match=r"notify\.phone"):
        await world.create("when a lead is qualified, text me", notify=Notify())
    with pytest.raises(NotCompiled, match="sync_crm runs with CRM sync"):
        await world.create("when a meeting fails, sync the lead to the CRM")
    with pytest.raises(NotCompiled, match="remind sends a booked meeting's reminders"):
        await world.create("when a lead is qualified, remind the lead")
    assert [w.id for w in (await world.book.list(ListWorkflows(tenant_id=TENANT))).data if not w.builtin] == []


async def test_another_tenants_workflow_is_not_found(units: UnitOfWorkFactory) -> None:
    world = World(units)
    workflow = await world.create("when a lead is qualified, text me")
    text = "when a lead is qualified, text me"
    same = await world.book.create(CreateWorkflow(tenant_id=TENANT, instruction=text, notify=ME,
                                                  request_id=request_id(text)))
    assert same.id == workflow  # a retried create answers the first
    for call in (world.book.get(WorkflowRef(tenant_id=OTHER, workflow_id=workflow)),
                 world.book.delete(WorkflowRef(tenant_id=OTHER, workflow_id=workflow)),
                 world.book.runs(ListWorkflowRuns(tenant_id=OTHER, workflow_id=workflow)),
                 world.book.set_status(SetWorkflowStatus(tenant_id=OTHER, workflow_id=workflow, status="enabled"))):
        with pytest.raises(NotFound):
            await call
    await world.runner(world.delivery(qualified(), tenant=OTHER))  # the other tenant's event runs none of ours
    assert (await world.book.runs(ListWorkflowRuns(tenant_id=TENANT, workflow_id=workflow))).data == []
    await world.book.delete(WorkflowRef(tenant_id=TENANT, workflow_id=workflow))
    with pytest.raises(NotFound):
        await world.book.get(WorkflowRef(tenant_id=TENANT, workflow_id=workflow))
