"""Conditions over the event's and the lead's fields (``domain/workflows.py``): amounts read from what leads
write, text compared without case, a missing or unreadable field never holding; and why a compiled workflow
cannot be kept (a "me" without a contact, sync_crm on an event CRM sync does not follow)."""

from __future__ import annotations

from typing import Any

import pytest

from afo_common.rpcs.workflow_executor_workflows import Condition, WorkflowSpec
from afo_testkit.clock import T0
from afo_workflow_executor.domain.crm_leads import with_analysis, with_fields
from afo_workflow_executor.domain.workflows import holds, lead_fields, refusal, run_id, step_key, unmet


def condition(field: str, op: str, value: Any = None) -> Condition:
    return Condition.model_validate({"field": field, "op": op, "value": value} if op != "exists"
                                    else {"field": field, "op": op})


@pytest.mark.parametrize(("have", "op", "value", "expected"), [
    ("15000", "gt", 10000, True), ("$15,000", "gt", 10000, True), ("about 12k", "gt", 10000, True),
    ("10k", "gt", 10000, False), ("10k", "gte", 10000, True), ("2 thousand", "lt", 5000, True),
    ("1.5m", "gte", 1_500_000, True), ("lots", "gt", 1, False), ("", "lt", 1, False),
    ("Acme", "eq", "acme", True), (" ACME ", "eq", "acme", True), ("Acme", "ne", "acme", False),
    ("Retail", "ne", "saas", True), ("asap, urgent", "contains", "URGENT", True),
    ("5000", "eq", 5000, True), ("5,000", "eq", 5000, True),
])
def test_lead_fields(have: str, op: str, value: Any, expected: bool) -> None:
    assert holds(condition("lead.budget", op, value), {}, {"budget": have}) is expected


def test_exists_and_missing_fields() -> None:
    assert holds(condition("lead.email", "exists"), {}, {"email": "a@b.co"})
    assert not holds(condition("lead.email", "exists"), {}, {"email": "  "})
    assert not holds(condition("lead.email", "exists"), {}, {})
    for op, value in (("eq", "x"), ("ne", "x"), ("gt", 1), ("contains", "x")):
        assert not holds(condition("lead.missing", op, value), {}, {}), op  # a field not there never holds


def test_the_leads_fields_include_its_analysis_under_the_events_own() -> None:
    lead = with_analysis(None, tenant_id="t", lead_id="lead_1", conversation_id="c", agent_id="a", summary="s",
                         outcome="lost", next_step=None, at=T0, now=T0)
    lead = with_fields(lead, tenant_id="t", lead_id="lead_1", conversation_id="c", agent_id="a",
                       fields={"budget": "5k"}, at=T0, now=T0)
    assert lead_fields(lead, {}) == {"budget": "5k", "outcome": "lost"}
    assert lead_fields(lead, {"fields": {"budget": "9k"}}) == {"budget": "9k", "outcome": "lost"}
    assert lead_fields(None, {}) == {}


def test_event_fields_are_the_events() -> None:
    failed = {"reason": "slot_taken", "lead_id": "lead_1"}
    assert holds(condition("event.reason", "eq", "slot_taken"), failed, {"reason": "other"})
    assert not holds(condition("lead.reason", "eq", "slot_taken"), failed, {})


def test_all_conditions_hold_or_the_first_that_does_not_is_named() -> None:
    spec = WorkflowSpec.model_validate({"trigger": "lead.qualified", "actions": [{"type": "sync_crm"}],
                                        "conditions": [{"field": "lead.budget", "op": "gt", "value": 10000},
                                                       {"field": "lead.email", "op": "exists"}]})
    assert unmet(spec, {}, {"budget": "20k", "email": "a@b.co"}) is None
    missed = unmet(spec, {}, {"budget": "20k"})
    assert missed is not None and missed.field == "lead.email"


def test_the_schema_refuses_what_cannot_be_compared() -> None:
    for bad in ({"field": "lead.budget", "op": "gt", "value": "big"}, {"field": "lead.budget", "op": "gt"},
                {"field": "lead.email", "op": "exists", "value": "x"}, {"field": "budget", "op": "eq", "value": 1},
                {"field": "lead.budget", "op": "between", "value": 1}):
        with pytest.raises(ValueError):
            Condition.model_validate(bad)


def test_refusals_of_compiled_steps() -> None:
    texts_me = WorkflowSpec.model_validate({"trigger": "lead.qualified", "actions": [{"type": "send_sms", "to": "me"}]})
    assert refusal(texts_me, {}) is not None and refusal(texts_me, {"phone": "+15550001111"}) is None
    crm_on_failure = WorkflowSpec.model_validate({"trigger": "meeting.failed", "actions": [{"type": "sync_crm"}]})
    assert "sync_crm runs with CRM sync" in (refusal(crm_on_failure, {}) or "")


def test_run_ids_are_derived_and_tenant_scoped() -> None:
    assert run_id("t1", "evt_1", "wf_1") == run_id("t1", "evt_1", "wf_1")
    assert len({run_id("t1", "evt_1", "wf_1"), run_id("t2", "evt_1", "wf_1"), run_id("t1", "evt_2", "wf_1"),
                run_id("t1", "evt_1", "wf_2")}) == 4
    assert step_key("wfr_x", 2) == "wfr_x:2" and len(run_id("t", "e", "w")) <= 40
