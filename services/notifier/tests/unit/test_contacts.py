"""The contact kept from lead events: written only when name, email or phone change; an older snapshot never
overwrites a newer one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from afo_notifier.domain.contacts import with_lead
from afo_notifier.domain.records import ContactRow

T1 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
T2, T3 = T1 + timedelta(seconds=1), T1 + timedelta(seconds=2)
NOW = T1 + timedelta(minutes=1)


def apply(found: ContactRow | None, fields: dict[str, str], at: datetime,
          changed: tuple[str, ...] = ()) -> ContactRow | None:
    return with_lead(found, tenant_id="ten_a", lead_id="lead_1", fields=fields, changed=changed, at=at, now=NOW)


def test_a_first_snapshot_with_a_contact_field_is_written() -> None:
    row = apply(None, {"name": " Lee ", "budget": "10k"}, T1)
    assert row is not None and (row.name, row.email, row.phone, row.fields_at) == ("Lee", None, None, T1)


def test_a_snapshot_without_any_contact_field_and_nothing_held_writes_nothing() -> None:
    assert apply(None, {"budget": "10k"}, T1) is None


def test_a_snapshot_that_changes_no_contact_field_writes_nothing() -> None:
    held = apply(None, {"name": "Lee", "email": "lee@example.com"}, T1)
    assert apply(held, {"name": "Lee", "email": "lee@example.com", "budget": "10k"}, T2, ("budget",)) is None
    assert apply(held, {"budget": "10k"}, T2, ("budget",)) is None  # absent fields leave the held ones


def test_a_changed_contact_field_is_written_with_the_snapshots_time() -> None:
    held = apply(None, {"email": "lee@example.com"}, T1)
    row = apply(held, {"email": "lee@example.com", "phone": "+33612345678"}, T2, ("phone",))
    assert row is not None and (row.email, row.phone, row.fields_at) == ("lee@example.com", "+33612345678", T2)


def test_an_older_snapshot_arriving_late_changes_nothing() -> None:
    held = apply(None, {"email": "new@example.com"}, T2)
    assert apply(held, {"email": "old@example.com"}, T1, ("email",)) is None


def test_a_field_back_to_an_earlier_value_is_written_so_a_late_snapshot_between_is_older() -> None:
    first = apply(None, {"email": "a@example.com"}, T1)
    back = apply(first, {"email": "a@example.com"}, T3, ("email",))  # a → b → a; the b snapshot is late
    assert back is not None and back.fields_at == T3
    assert apply(back, {"email": "b@example.com"}, T2, ("email",)) is None


def test_the_opt_out_is_kept() -> None:
    held = ContactRow("ten_a", "lead_1", None, None, None, True, T1)
    row = apply(held, {"phone": "+33612345678"}, T2)
    assert row is not None and row.opted_out
