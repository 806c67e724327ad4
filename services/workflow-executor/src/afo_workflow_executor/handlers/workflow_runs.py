"""Running the tenant's workflows: one run per enabled workflow whose trigger is the delivered event, each step
recorded with its input, output and error.

Rules:
- The run, its steps and the events its steps emit are written in the delivery's own transaction, with its
  inbox row: a crash before commit repeats nothing that was done, and a redelivery or replay finds the run
  (its id derived from the event and the workflow) instead of starting another.
- Steps run in order; a step that fails fails the run and the steps after it are ``skipped``.
- A step another service carries out is asked for by an event carrying the step's idempotency key:
  ``send_sms``/``send_email`` → ``workflow.notification_requested`` (to the lead's phone or email, or the workflow's
  ``notify`` contact for "me"); ``call_webhook`` → ``workflow.webhook_requested``; ``book_meeting`` →
  ``workflow.booking_requested``; ``remind`` → ``workflow.reminders_requested`` (the booked meeting, from the
  triggering ``meeting.booked``); ``handoff`` → ``handoff.requested``. ``sync_crm`` is CRM sync's own
  (``handlers/workflow_crm_gate.py``): the step records that it was handed to it.
- ``wait`` makes the run ``waiting`` until ``resume_at``; ``resume_due`` (a ``service.every`` poller) claims
  due runs with a conditional update (one replica wins) and carries on in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from afo_common.clock import Clock
from afo_common.events import Envelope
from afo_common.events.conversation import HandoffRequested
from afo_common.events.workflow_runs import (
    BookingRequested,
    NotificationRequested,
    RemindersRequested,
    WebhookRequested,
    WorkflowRunCompleted,
)
from afo_common.messaging.consumer import Delivery
from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_workflow_executor.domain.workflows import (
    REMIND_TRIGGER,
    RunRow,
    StepRow,
    WorkflowRow,
    describe,
    lead_fields,
    run_id,
    step_key,
    unmet,
)
from afo_workflow_executor.handlers.workflow_repositories import WorkflowStore, WorkflowUnitOfWork
from afo_workflow_executor.handlers.workflows import WorkflowBook


class StepFailed(Exception):
    pass


class WorkflowRunner:
    def __init__(self, store: WorkflowStore, book: WorkflowBook, clock: Clock, *, batch: int = 50) -> None:
        self._store, self._book, self._clock, self._batch = store, book, clock, batch

    async def __call__(self, delivery: Delivery) -> None:
        tenant_id, envelope = delivery.envelope.tenantid, delivery.envelope
        trigger = delivery.payload.event_name
        await self._book.ensure_defaults(tenant_id)
        async with self._store.handling(delivery) as uow:
            workflows = await uow.workflows.enabled(tenant_id, trigger)
            if not workflows:
                return
            data = delivery.payload.model_dump(mode="json")
            lead_id = data.get("lead_id")
            lead = await uow.crm_leads.get(tenant_id, lead_id) if lead_id else None
            fields = lead_fields(lead, data)
            context = {"event": data, "lead": fields,
                       "conversation_id": data.get("conversation_id") or (lead.conversation_id if lead else None),
                       "agent_id": data.get("agent_id") or (lead.agent_id if lead else None)}
            for workflow in workflows:
                await self._start(uow, workflow, envelope, context, lead_id)

    async def _start(self, uow: WorkflowUnitOfWork, workflow: WorkflowRow, envelope: Envelope,
                     context: dict[str, Any], lead_id: str | None) -> None:
        tenant_id, rid = envelope.tenantid, run_id(envelope.tenantid, envelope.id, workflow.id)
        if await uow.workflows.run(tenant_id, rid) is not None:
            return
        spec = WorkflowSpec.model_validate(workflow.spec)
        now = self._clock.now()
        run = RunRow(rid, tenant_id, workflow.id, envelope.id, envelope_type(envelope), lead_id, "running", 0,
                     context, now, now)
        steps = [StepRow(rid, i, tenant_id, a.type, step_key(rid, i), "pending", a.model_dump(mode="json"))
                 for i, a in enumerate(spec.actions)]
        missed = unmet(spec, context["event"], context["lead"])
        if missed is not None:
            await uow.workflows.save_run(replace(run, status="skipped",
                                                 reason=f"condition not met: {describe(missed)}"[:500]))
            for step in steps:
                await uow.workflows.save_step(replace(step, status="skipped"))
            return
        for step in steps:
            await uow.workflows.save_step(step)
        await self._advance(uow, workflow, run, steps, envelope)

    async def resume_due(self) -> None:
        """Carries on the waiting runs whose time has come (each in a transaction of its own)."""
        async with self._store.reading() as repos:
            due = await repos.workflows.due(self._clock.now(), self._batch)
        for run in due:
            async with self._store() as uow:
                if not await uow.workflows.claim(run.tenant_id, run.id, self._clock.now()):
                    continue  # another replica took it
                workflow = await uow.workflows.get(run.tenant_id, run.workflow_id)
                steps = await uow.workflows.steps(run.tenant_id, [run.id])
                if workflow is None:
                    continue
                await self._advance(uow, workflow, replace(run, status="running", resume_at=None), steps, None)

    async def _advance(self, uow: WorkflowUnitOfWork, workflow: WorkflowRow, run: RunRow, steps: list[StepRow],
                       cause: Envelope | None) -> None:
        index = run.next_step
        while index < len(steps):
            step, now = steps[index], self._clock.now()
            if step.status == "done":  # done before a wait, or by an earlier attempt
                index += 1
                continue
            started = replace(step, started_at=now)
            if step.type == "wait":
                resume_at = now + timedelta(seconds=int(step.input["seconds"]))
                await uow.workflows.save_step(replace(started, status="done", finished_at=now,
                                                      output={"resume_at": resume_at.isoformat()}))
                await uow.workflows.save_run(replace(run, status="waiting", next_step=index + 1,
                                                     resume_at=resume_at, updated_at=now))
                return
            try:
                output = await self._perform(uow, workflow, run, step, cause)
            except StepFailed as failed:
                await uow.workflows.save_step(replace(started, status="failed", error=str(failed)[:500],
                                                      finished_at=now))
                for later in steps[index + 1:]:
                    await uow.workflows.save_step(replace(later, status="skipped"))
                await self._end(uow, workflow, replace(run, next_step=index, reason=str(failed)[:500]), "failed",
                                cause)
                return
            await uow.workflows.save_step(replace(started, status="done", output=output, finished_at=now))
            index += 1
        await self._end(uow, workflow, replace(run, next_step=index), "completed", cause)

    async def _end(self, uow: WorkflowUnitOfWork, workflow: WorkflowRow, run: RunRow, status: str,
                   cause: Envelope | None) -> None:
        await uow.workflows.save_run(replace(run, status=status, resume_at=None, updated_at=self._clock.now()))
        await uow.emit(WorkflowRunCompleted(workflow_id=workflow.id, run_id=run.id, trigger=run.event_type,
                                            status="completed" if status == "completed" else "failed",
                                            steps=run.next_step),
                       tenant_id=run.tenant_id, causation=cause)

    async def _perform(self, uow: WorkflowUnitOfWork, workflow: WorkflowRow, run: RunRow, step: StepRow,
                       cause: Envelope | None) -> dict[str, Any]:
        ctx, action = run.context, step.input
        lead = dict(ctx.get("lead") or {})
        if run.lead_id is not None and (held := await uow.crm_leads.get(run.tenant_id, run.lead_id)) is not None:
            lead = {**lead, **lead_fields(held, {})}  # a run resumed after a wait reads the lead as it is now
        base = {"workflow_id": workflow.id, "run_id": run.id, "step": step.index,
                "idempotency_key": step.idempotency_key, "lead_id": run.lead_id,
                "conversation_id": ctx.get("conversation_id")}
        kind = step.type
        if kind in ("send_sms", "send_email"):
            channel = "sms" if kind == "send_sms" else "email"
            to = _recipient(str(action["to"]), channel, workflow.notify, lead)
            anomaly = _anomaly_text(ctx["event"]) if run.event_type == "anomaly.detected" else None
            body = action.get("body") or anomaly or _default_body(run.event_type, action["to"], lead)
            subject = action.get("subject") if channel == "email" else None
            if channel == "email" and subject is None:
                about = anomaly or lead.get("name") or lead.get("email") or run.lead_id or "a lead"
                subject = f"{run.event_type}: {about}"[:200]
            recipient = "lead" if action["to"] == "lead" else "tenant"
            await uow.emit(NotificationRequested(**base, channel=channel, recipient=recipient, to=to, subject=subject,
                                                 body=body),
                           tenant_id=run.tenant_id, causation=cause)
            return {"event": NotificationRequested.event_name, "channel": channel, "to": to}
        if kind == "call_webhook":
            await uow.emit(WebhookRequested(**base, url=action["url"], trigger=run.event_type, data=ctx["event"]),
                           tenant_id=run.tenant_id, causation=cause)
            return {"event": WebhookRequested.event_name, "url": action["url"]}
        if kind == "book_meeting":
            await uow.emit(BookingRequested(**base, agent_id=ctx.get("agent_id"), title=action.get("title"),
                                            calendar=action.get("calendar")),
                           tenant_id=run.tenant_id, causation=cause)
            return {"event": BookingRequested.event_name}
        if kind == "remind":
            meeting = ctx["event"]
            if run.event_type != REMIND_TRIGGER or run.lead_id is None:
                raise StepFailed(f"{run.event_type} has no booked meeting of a lead to remind")
            await uow.emit(RemindersRequested(**base, meeting_id=meeting["meeting_id"], agent_id=meeting["agent_id"],
                                              start=meeting["start"], end=meeting["end"],
                                              timezone=meeting["timezone"]),
                           tenant_id=run.tenant_id, causation=cause)
            return {"event": RemindersRequested.event_name, "meeting_id": meeting["meeting_id"]}
        if kind == "handoff":
            conversation_id, agent_id = ctx.get("conversation_id"), ctx.get("agent_id")
            if not conversation_id or not agent_id:
                raise StepFailed(f"{run.event_type} has no conversation to hand off")
            await uow.emit(HandoffRequested(conversation_id=conversation_id, agent_id=agent_id,
                                            lead_id=run.lead_id,
                                            reason=action.get("reason") or f"workflow {workflow.id}"),
                           tenant_id=run.tenant_id, causation=cause)
            return {"event": HandoffRequested.event_name, "conversation_id": conversation_id}
        if kind == "sync_crm":
            if run.lead_id is None:
                raise StepFailed(f"{run.event_type} has no lead to sync")
            return {"by": "crm-sync", "syncs": f"/v1/leads/{run.lead_id}/crm-syncs"}
        raise StepFailed(f"unknown step {kind}")


def envelope_type(envelope: Envelope) -> str:
    """``afo.lead.qualified.v1`` → ``lead.qualified``."""
    parts = envelope.type.split(".")
    return ".".join(parts[1:-1]) if len(parts) > 2 else envelope.type


def _recipient(to: str, channel: str, notify: dict[str, Any], lead: dict[str, Any]) -> str:
    want = "phone" if channel == "sms" else "email"
    if to == "me":
        found = notify.get(want)
        if not found:
            raise StepFailed(f"the workflow has no notify.{want} for \"me\"")
        return str(found)
    if to == "lead":
        found = (lead.get(want) or "").strip()
        if not found:
            raise StepFailed(f"the lead has no {want}")
        return str(found)
    return to


def _anomaly_text(event: dict[str, Any]) -> str:
    """``anomaly.detected`` in words: "key_messages of key key_1: 42 messages against a usual 1.5 (critical)"."""
    who = f"agent {event['agent_id']}" if event.get("agent_id") else (
        f"key {event['key_id']}" if event.get("key_id") else "the tenant")
    unit = {"ms": " ms", "messages": " messages"}.get(str(event.get("unit")), "")
    return (f"AFO anomaly: {event.get('signal')} of {who}: {float(event.get('observed', 0)):.3g}{unit} against a "
            f"usual {float(event.get('baseline_mean', 0)):.3g} ({event.get('severity')})")


def _default_body(trigger: str, to: str, lead: dict[str, Any]) -> str:
    who = lead.get("name") or lead.get("email") or lead.get("phone") or "a lead"
    if to == "lead":
        return f"Hi {lead.get('name') or 'there'}, thanks for your time. We will be in touch shortly."
    details = ", ".join(f"{k}: {v}" for k, v in sorted(lead.items()) if k not in ("name",))[:300]
    return f"AFO {trigger}: {who}" + (f" ({details})" if details else "")
