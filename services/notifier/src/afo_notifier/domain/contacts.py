"""The contact notifier keeps of a lead (name, email, phone: what a reminder needs), from agent-runtime's lead
events — written only when it changes.

Rules:
- A lead event carries the lead's fields as they were (a snapshot); a non-empty name, email or phone in it
  replaces the one held, an absent one leaves it.
- A snapshot older than the one held (``fields_at``) changes nothing: events may arrive out of order (two
  durables) or again (a redelivery).
- A snapshot that leaves the three fields as they are is not written (no row, no inbox row: applying it again
  would change nothing either) — unless the event says one of them changed (``lead.updated``'s ``changed``),
  which happens when a field went back to an earlier value: then its time is written, so a snapshot from
  between the two, arriving late, is seen as older.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from afo_notifier.domain.records import ContactRow

KEPT = {"name": 120, "email": 254, "phone": 32}  # the fields a contact keeps, and their longest


def _clean(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] if value else None


def with_lead(found: ContactRow | None, *, tenant_id: str, lead_id: str, fields: Mapping[str, str],
              changed: Iterable[str], at: datetime, now: datetime) -> ContactRow | None:
    """The contact to write for one lead event's snapshot taken ``at``; None when there is nothing to write."""
    if found is not None and found.fields_at is not None and at < found.fields_at:
        return None
    held = (found.name, found.email, found.phone) if found else (None, None, None)
    name, email, phone = (_clean(fields.get(key), limit) or old for (key, limit), old in zip(KEPT.items(), held,
                                                                                          strict=True))
    if (name, email, phone) == held and not set(changed) & KEPT.keys():
        return None
    return ContactRow(tenant_id=tenant_id, lead_id=lead_id, name=name, email=email, phone=phone,
                      opted_out=found.opted_out if found else False, updated_at=now, fields_at=at)
