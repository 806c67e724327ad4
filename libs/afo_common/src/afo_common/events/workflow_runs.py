"""Events of workflow runs (workflow-executor runs the tenant's workflows, ``rpcs.workflow_executor_workflows``).

A run's step that another service carries out is asked for by an event, in the run's own transaction: each
carries the run, the step's index and its idempotency key (``<run id>:<index>``), so a consumer that sees the
same key twice acts once. ``workflow.notification_requested`` asks notifier to send an SMS or an email (``to`` is
already resolved: the lead's phone or email, or the workflow's notification contact);
``workflow.webhook_requested`` asks for a POST of the triggering event to a URL the tenant wrote;
``workflow.booking_requested`` asks for a meeting to be offered to the lead (title and calendar as written);
``workflow.reminders_requested`` asks notifier for a booked meeting's confirmation and reminders.
``workflow.run_completed`` says a run ended (completed or failed) with how many steps it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import WORKFLOW


class _Step(Event):
    workflow_id: str
    run_id: str
    step: int
    idempotency_key: str
    lead_id: str | None
    conversation_id: str | None


@event("workflow.notification_requested", stream=WORKFLOW)
class NotificationRequested(_Step):
    channel: Literal["sms", "email"]
    # ``lead``: to the lead (an opt-out stops it); ``tenant``: to the tenant's own people ("me", or an address
    # the workflow names), about the lead.
    recipient: Literal["lead", "tenant"]
    to: str = Field(max_length=254)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(max_length=5000)


@event("workflow.webhook_requested", stream=WORKFLOW)
class WebhookRequested(_Step):
    url: str = Field(max_length=2048)
    trigger: str
    data: dict[str, Any]


@event("workflow.booking_requested", stream=WORKFLOW)
class BookingRequested(_Step):
    agent_id: str | None
    title: str | None
    calendar: str | None


@event("workflow.reminders_requested", stream=WORKFLOW)
class RemindersRequested(_Step):
    meeting_id: str
    agent_id: str
    start: datetime
    end: datetime
    timezone: str


@event("workflow.run_completed", stream=WORKFLOW)
class WorkflowRunCompleted(Event):
    workflow_id: str
    run_id: str
    trigger: str
    status: Literal["completed", "failed"]
    steps: int
