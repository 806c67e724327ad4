"""Workflows as workflow-executor keeps them, and the rules of running one (plain Python, no I/O).

Rules:
- A workflow is ``draft`` when created (compiled, not run), then ``enabled`` or ``disabled`` by the tenant.
  Only enabled workflows run. A ``builtin`` workflow (the default funnel, ``DEFAULT_FUNNEL``) may be
  disabled, not deleted.
- A run is one workflow on one event: its id is derived from the tenant, the event id and the workflow id,
  so a redelivered or replayed event finds its run instead of starting another, and each step's
  idempotency key is ``<run id>:<index>``.
- Conditions all hold, or the run is recorded ``skipped`` with the first that did not. ``event.<f>`` reads
  the event's field, ``lead.<f>`` the lead's (the lead projection, with the triggering lead event's fields
  over it). ``exists``: present and not empty; ``eq``/``ne``/``contains``: text without case (numbers as
  numbers when both sides are); ``gt``/``gte``/``lt``/``lte``: the field read as an amount ("10k", "$12,000")
  — a field that is not one does not hold. The lead's fields include the analysis's ``outcome`` and
  ``next_step`` (``lead_fields``).
- ``sync_crm`` is done by CRM sync itself, on the events it syncs on (``CRM_TRIGGERS``): CRM sync runs
  for an event when an enabled workflow with that trigger has a ``sync_crm`` step and its conditions hold
  (the default funnel has one per trigger). Any other trigger cannot carry it: such a workflow is refused.
- ``remind`` asks notifier for the booked meeting's confirmation and reminders: on ``meeting.booked`` only
  (the default funnel's ``wf_funnel_remind``; disabled, a booked meeting's lead gets neither).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from afo_common.rpcs.workflow_executor_workflows import Condition, WorkflowSpec
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.workflows_text import amount, tokens

CRM_TRIGGERS = frozenset({"lead.qualified", "conversation.analyzed", "meeting.booked", "meeting.cancelled"})

REMIND_TRIGGER = "meeting.booked"

# The default funnel: what the platform does for every tenant unless the tenant disables it. Each is compiled
# from its instruction like any other workflow.
DEFAULT_FUNNEL: tuple[tuple[str, str], ...] = (
    ("wf_funnel_qualified", "when a lead is qualified, sync the lead to the CRM"),
    ("wf_funnel_analyzed", "when a conversation is analyzed, sync the lead to the CRM"),
    ("wf_funnel_booked", "when a meeting is booked, sync the lead to the CRM"),
    ("wf_funnel_cancelled", "when a meeting is cancelled, sync the lead to the CRM"),
    ("wf_funnel_remind", "when a meeting is booked, remind the lead"),
)


@dataclass(frozen=True)
class WorkflowRow:
    id: str
    tenant_id: str
    name: str
    instruction: str
    status: str  # draft, enabled, disabled
    builtin: bool
    engine: str  # embedded, openai
    trigger: str
    spec: dict[str, Any]
    notify: dict[str, Any]
    request_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RunRow:
    id: str
    tenant_id: str
    workflow_id: str
    event_id: str
    event_type: str
    lead_id: str | None
    status: str  # running, waiting, completed, failed, skipped
    next_step: int
    context: dict[str, Any]  # the event's data, its conversation and agent: what later steps read
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    resume_at: datetime | None = None


@dataclass(frozen=True)
class StepRow:
    run_id: str
    index: int
    tenant_id: str
    type: str
    idempotency_key: str
    status: str  # pending, done, failed, skipped, waiting
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


def lead_fields(lead: LeadRecord | None, event: Mapping[str, Any]) -> dict[str, Any]:
    """What ``lead.<name>`` reads: the lead's fields and the outcome and next step its conversation's
    analysis gave, with the triggering lead event's own fields over them (newer than the projection)."""
    held: dict[str, Any] = dict(lead.fields) if lead is not None else {}
    if lead is not None:
        for name, value in (("outcome", lead.outcome), ("next_step", lead.next_step)):
            if value and name not in held:
                held[name] = value
    return {**held, **(event.get("fields") or {})}


def run_id(tenant_id: str, event_id: str, workflow_id: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}:{event_id}:{workflow_id}".encode()).hexdigest()
    return f"wfr_{digest[:28]}"


def step_key(run: str, index: int) -> str:
    return f"{run}:{index}"


def refusal(spec: WorkflowSpec, notify: Mapping[str, Any]) -> str | None:
    """Why a compiled workflow cannot be kept as it is; None when it can."""
    for action in spec.actions:
        if action.type == "sync_crm" and spec.trigger not in CRM_TRIGGERS:
            return (f"sync_crm runs with CRM sync, on {', '.join(sorted(CRM_TRIGGERS))}; "
                    f"not on {spec.trigger}")
        if action.type == "remind" and spec.trigger != REMIND_TRIGGER:
            return f"remind sends a booked meeting's reminders: on {REMIND_TRIGGER}, not on {spec.trigger}"
        if action.type == "send_sms" and action.to == "me" and not notify.get("phone"):
            return "the instruction texts \"me\": give notify.phone (E.164)"
        if action.type == "send_email" and action.to == "me" and not notify.get("email"):
            return "the instruction emails \"me\": give notify.email"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    words = tokens(str(value))
    for i, tok in enumerate(words):
        found = amount(tok)
        if found is not None:
            nxt = words[i + 1].low if i + 1 < len(words) else ""
            return found * {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get(nxt, 1)
    return None


def holds(condition: Condition, event: Mapping[str, Any], lead: Mapping[str, Any]) -> bool:
    scope, _, name = condition.field.partition(".")
    have = (event if scope == "event" else lead).get(name)
    if condition.op == "exists":
        return have is not None and str(have).strip() != ""
    if have is None:
        return False
    want = condition.value
    if condition.op in ("gt", "gte", "lt", "lte"):
        number, limit = _number(have), _number(want)
        if number is None or limit is None:
            return False
        return {"gt": number > limit, "gte": number >= limit, "lt": number < limit,
                "lte": number <= limit}[condition.op]
    if condition.op == "contains":
        return str(want).casefold() in str(have).casefold()
    same = _same(have, want)
    return same if condition.op == "eq" else not same


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        number = _number(have)
        return number is not None and number == float(want)
    return str(have).strip().casefold() == str(want).strip().casefold()


def unmet(spec: WorkflowSpec, event: Mapping[str, Any], lead: Mapping[str, Any]) -> Condition | None:
    """The first condition that does not hold; None when all do."""
    return next((c for c in spec.conditions if not holds(c, event, lead)), None)


def describe(condition: Condition) -> str:
    return f"{condition.field} {condition.op}" + ("" if condition.op == "exists" else f" {condition.value!r}")
