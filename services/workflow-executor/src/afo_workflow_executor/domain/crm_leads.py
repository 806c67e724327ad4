"""What workflow-executor knows of a lead, for its CRM: a projection of agent-runtime's lead events, the
conversation's analysis and the lead's meeting, kept per tenant.

Rules:
- Every change is applied by a pure function of the lead as stored (or None) and one event; applying the same
  event twice gives the same lead, so a redelivery changes nothing.
- Events may arrive out of order: the fields are replaced only by a snapshot at least as recent as the one
  held (``fields_at``), the analysis likewise (``analyzed_at``), the meeting likewise (``meeting_at``). A
  cancellation clears the meeting only when it is the meeting held.
- A snapshot with the very fields held, from an event that says nothing changed (``lead.created`` seen again,
  ``lead.updated`` with no field in ``changed``), changes nothing — not even ``fields_at`` — so the handler
  writes nothing. One that says a field changed yet holds the same fields (a field back to an earlier value)
  does move ``fields_at``: a snapshot from between the two, arriving late, is then older.
- The CRM receives ``email``, ``name``, ``phone`` and ``company`` as the contact's own properties; every other
  field is a qualification field, written into the note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from afo_workflow_executor.domain.crm import CrmLead

CONTACT_FIELDS = ("email", "name", "phone", "company")


@dataclass(frozen=True)
class LeadRecord:
    id: str  # lead_…
    tenant_id: str
    conversation_id: str | None
    agent_id: str | None
    created_at: datetime
    updated_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    fields_at: datetime | None = None
    qualified: bool = False
    summary: str | None = None
    outcome: str | None = None
    next_step: str | None = None
    analyzed_at: datetime | None = None
    meeting_id: str | None = None
    meeting_start: datetime | None = None
    meeting_at: datetime | None = None


def _base(lead: LeadRecord | None, tenant_id: str, lead_id: str, conversation_id: str | None,
          agent_id: str | None, now: datetime) -> LeadRecord:
    if lead is None:
        return LeadRecord(lead_id, tenant_id, conversation_id, agent_id, now, now)
    return replace(lead, conversation_id=lead.conversation_id or conversation_id,
                   agent_id=lead.agent_id or agent_id, updated_at=now)


def _newer(at: datetime, held: datetime | None) -> bool:
    return held is None or at >= held


def with_fields(lead: LeadRecord | None, *, tenant_id: str, lead_id: str, conversation_id: str | None,
                agent_id: str | None, fields: Mapping[str, str], at: datetime, now: datetime,
                qualified: bool = False, changed: bool = True) -> LeadRecord:
    """lead.created / lead.updated (``qualified`` False) and lead.qualified (True): the fields' snapshot;
    ``changed``: whether the event says a field changed."""
    base = _base(lead, tenant_id, lead_id, conversation_id, agent_id, now)
    if _newer(at, base.fields_at) and (changed or base.fields != dict(fields)):
        base = replace(base, fields=dict(fields), fields_at=at)
    return replace(base, qualified=base.qualified or qualified)


def with_analysis(lead: LeadRecord | None, *, tenant_id: str, lead_id: str, conversation_id: str,
                  agent_id: str, summary: str, outcome: str, next_step: str | None, at: datetime,
                  now: datetime) -> LeadRecord:
    base = _base(lead, tenant_id, lead_id, conversation_id, agent_id, now)
    if not _newer(at, base.analyzed_at):
        return base
    return replace(base, summary=summary, outcome=outcome, next_step=next_step, analyzed_at=at)


def with_meeting(lead: LeadRecord | None, *, tenant_id: str, lead_id: str, conversation_id: str | None,
                 agent_id: str, meeting_id: str, start: datetime, at: datetime, now: datetime) -> LeadRecord:
    base = _base(lead, tenant_id, lead_id, conversation_id, agent_id, now)
    if not _newer(at, base.meeting_at):
        return base
    return replace(base, meeting_id=meeting_id, meeting_start=start, meeting_at=at)


def without_meeting(lead: LeadRecord | None, *, tenant_id: str, lead_id: str, conversation_id: str | None,
                    agent_id: str, meeting_id: str, at: datetime, now: datetime) -> LeadRecord:
    base = _base(lead, tenant_id, lead_id, conversation_id, agent_id, now)
    if base.meeting_id != meeting_id or not _newer(at, base.meeting_at):
        return base
    return replace(base, meeting_id=None, meeting_start=None, meeting_at=at)


def crm_lead(lead: LeadRecord) -> CrmLead | None:
    """The lead as a CRM receives it; None when it has no email (a CRM finds contacts by email)."""
    email = (lead.fields.get("email") or "").strip()
    if not email:
        return None
    qualification = {k: v for k, v in lead.fields.items() if k not in CONTACT_FIELDS}
    if lead.outcome:
        qualification["outcome"] = lead.outcome
    if lead.next_step:
        qualification["next_step"] = lead.next_step
    return CrmLead(email=email, name=lead.fields.get("name"), phone=lead.fields.get("phone"),
                   company=lead.fields.get("company"), source_conversation_id=lead.conversation_id or "",
                   qualification=qualification, summary=lead.summary, meeting_start=lead.meeting_start)
