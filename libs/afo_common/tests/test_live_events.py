"""The table of what tenants watch live names real events and real fields of them, keeps out what must not
reach a live view, and is exactly what the gateway's NATS user may subscribe to beyond its own few events."""

import pytest

from afo_common.events import registered_events
from afo_common.events.live import LIVE_EVENTS, LIVE_FIELDS
from afo_common.nats_security.permissions import covers, service_permissions
from afo_common.subjects import event_subject, events_of_kind

LATEST = {event.event_name: event for event in sorted(registered_events().values(), key=lambda e: e.event_version)}
# Never in a live view: a reply's route (the lead's address), a document's storage name, a provider's answer.
NEVER = {"reply_route", "blob", "sha256", "source_url", "error", "detail", "body", "url", "citations"}


@pytest.mark.parametrize("name", LIVE_EVENTS)
def test_each_live_event_is_a_registered_event_and_keeps_only_its_own_fields(name: str) -> None:
    assert name in LATEST, f"{name} is not a registered event"
    fields = set(LATEST[name].model_fields)
    assert set(LIVE_FIELDS[name]) <= fields, f"{name}: no such field {set(LIVE_FIELDS[name]) - fields}"
    assert not set(LIVE_FIELDS[name]) & NEVER


def test_no_workflow_step_request_or_tenant_administration_is_live() -> None:
    assert not [name for name in LIVE_EVENTS if name.endswith("_requested") and name.startswith("workflow.")]
    assert not [name for name in LIVE_EVENTS if name.split(".")[0] in {"tenant", "user", "apikey", "event_credential",
                                                                       "integration"}]


def test_the_gateway_may_subscribe_to_each_live_event_and_to_no_other_event() -> None:
    subscribe = service_permissions("gateway").subscribe_allow
    for name in LIVE_EVENTS:
        assert events_of_kind(name) in subscribe
    # Who may do what changed, and a tenant's plan changed: every replica drops what it kept of them.
    access_changes = ("apikey.revoked", "user.role_changed", "user.session_ended", "tenant.plan_changed")
    assert {p for p in subscribe if p.startswith("afo.*.")} == {events_of_kind(name)
                                                                for name in (*access_changes, *LIVE_EVENTS)}
    assert not any(covers(p, event_subject("ten_a", "workflow.notification_requested")) for p in subscribe)
