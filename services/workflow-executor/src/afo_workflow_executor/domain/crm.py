"""A qualified lead as a CRM receives it, the port every CRM adapter implements, and the note text they share.

Rules:
- A lead is keyed by its email: `Crm.upsert_lead` finds the contact by email and updates it, or creates it when
  none exists. Calling it twice with the same lead leaves one contact (the same `record_id`), never two.
- Properties a lead does not carry (`None`) are left as the CRM has them, never blanked.
- The qualification fields, the summary and the meeting go into a note on the contact, written by `note_lines`.
- A sync runs as two steps (`CrmSteps`), each recorded on its own: the contact (`upsert_contact`, updated by the
  record id a first sync kept when there is one) and the note (`add_note`); `upsert_lead` is both in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class CrmLead:
    email: str
    name: str | None
    phone: str | None
    company: str | None
    source_conversation_id: str
    qualification: Mapping[str, str] = field(default_factory=dict)
    summary: str | None = None
    meeting_start: datetime | None = None

    def first_and_last_name(self) -> tuple[str | None, str | None]:
        """The first word of the name, then the rest (`None` when there is no rest)."""
        if not self.name or not self.name.strip():
            return None, None
        first, _, last = self.name.strip().partition(" ")
        return first, last.strip() or None


@dataclass(frozen=True)
class CrmRecord:
    provider: str  # "hubspot", "pipedrive", "salesforce", "builtin"
    record_id: str
    url: str


class Crm(Protocol):
    async def upsert_lead(self, lead: CrmLead) -> CrmRecord:
        """Create or update the contact with the lead's email and attach a note; raises `ProviderError`."""
        ...


class CrmSteps(Crm, Protocol):
    async def upsert_contact(self, lead: CrmLead, record_id: str | None = None) -> CrmRecord:
        """The contact created or updated: by `record_id` when a first sync kept one (and it still exists),
        else found by the lead's email, else created; raises `ProviderError`."""
        ...

    async def add_note(self, lead: CrmLead, record: CrmRecord) -> None:
        """One note with `note_lines` on the record; raises `ProviderError`."""
        ...

    async def aclose(self) -> None: ...


def note_lines(lead: CrmLead) -> list[str]:
    """The note's lines, plain text: the summary, the meeting (ISO 8601 with its offset), the qualification
    fields in a stable order, and the conversation the lead came from."""
    lines: list[str] = []
    if lead.summary:
        lines.append(f"Summary: {lead.summary}")
    if lead.meeting_start is not None:
        lines.append(f"Meeting: {lead.meeting_start.isoformat()}")
    lines += [f"{key}: {value}" for key, value in sorted(lead.qualification.items())]
    lines.append(f"Source conversation: {lead.source_conversation_id}")
    return lines
