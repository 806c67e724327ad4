"""The memory transition both engines share, and what a model's tools do to a turn (no model needed)."""

from datetime import UTC, datetime

from afo_agent_runtime.domain.agent import AgentSpec, QualificationField
from afo_agent_runtime.domain.engine import EmbeddedEngine, Intent
from afo_agent_runtime.domain.model_turn import ModelTurn
from afo_agent_runtime.domain.turn import ConversationMemory, conclude, opt_out, update_lead

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday
AGENT = AgentSpec(
    name="Ava",
    qualification_fields=[
        QualificationField(name="email", kind="email"),
        QualificationField(name="company", kind="company"),
        QualificationField(name="phone", kind="phone", required=False),
    ],
    timezone="America/New_York",
)


def test_the_lead_takes_the_agents_fields_in_its_order_and_an_equal_value_is_no_change() -> None:
    memory = ConversationMemory(lead={"company": "Acme"})

    update = update_lead(AGENT, memory, {"phone": "+15550001111", "colour": "blue", "company": "Acme",
                                         "email": "ana@example.com"})

    assert list(update.changes) == ["email", "phone"]
    assert update.lead == {"company": "Acme", "email": "ana@example.com", "phone": "+15550001111"}
    assert update.missing == [] and update.became_qualified


def test_a_lead_qualifies_once() -> None:
    memory = ConversationMemory(lead={"company": "Acme", "email": "ana@example.com"}, qualified=True)

    update = update_lead(AGENT, memory, {"email": "ana@acme.example"})

    assert update.changes == {"email": "ana@acme.example"} and not update.became_qualified


def test_a_turn_counts_greets_and_keeps_a_handoff_and_the_last_meeting() -> None:
    memory = ConversationMemory(handoff_requested=True, meeting_start="2025-03-04T15:00:00-05:00", turns=3)

    decision = conclude(memory, update_lead(AGENT, memory, {}), reply="Noted.", intent=Intent.OTHER, invalid={},
                        awaiting_field="email", pending_meeting_day=None, meeting=None, handoff_reason=None)

    assert decision.memory.turns == 4 and decision.memory.greeted
    assert decision.memory.handoff_requested and decision.memory.meeting_start == "2025-03-04T15:00:00-05:00"
    assert decision.memory.awaiting_field == "email" and decision.missing_fields == ["email", "company"]


def test_opting_out_keeps_what_was_given_but_never_qualifies() -> None:
    memory = ConversationMemory(lead={"company": "Acme"}, awaiting_field="email")

    decision = opt_out(memory, update_lead(AGENT, memory, {"email": "ana@example.com"}), reply="Bye.",
                       intent=Intent.OPT_OUT, invalid={})

    assert decision.opted_out and decision.memory.opted_out and decision.memory.awaiting_field is None
    assert decision.memory.lead == {"company": "Acme", "email": "ana@example.com"}
    assert not decision.became_qualified and not decision.memory.qualified


def test_both_engines_leave_the_same_memory_for_the_same_facts() -> None:
    memory = ConversationMemory(lead={"company": "Acme"}, greeted=True, turns=2)
    embedded = EmbeddedEngine().respond(AGENT, memory, "my email is ana@example.com", NOW)
    model = ModelTurn(agent=AGENT, memory=memory, text="my email is ana@example.com", now=NOW)
    model.record_lead({"email": "ana@example.com"})

    decided = model.decision("Thanks, you're all set.")

    assert decided.lead_changes == embedded.lead_changes == {"email": "ana@example.com"}
    assert decided.missing_fields == embedded.missing_fields == []
    assert decided.became_qualified and embedded.became_qualified
    assert decided.memory.lead == embedded.memory.lead and decided.memory.qualified == embedded.memory.qualified
    assert decided.memory.turns == embedded.memory.turns == 3


def test_a_models_later_value_replaces_its_earlier_one_and_clears_the_earlier_complaint() -> None:
    turn = ModelTurn(agent=AGENT, memory=ConversationMemory(), text="ana@", now=NOW)

    first = turn.record_lead({"email": "ana@", "team": "5"})
    second = turn.record_lead({"email": "ana@example.com"})
    decision = turn.decision("Thanks!")

    assert first["invalid"]["email"] and first["invalid"]["team"].startswith("unknown field")
    assert first["still_missing"] == ["email", "company"] and second["still_missing"] == ["company"]
    assert decision.invalid_fields == {} and decision.lead_changes == {"email": "ana@example.com"}
    assert decision.intent is Intent.PROVIDE_INFO


def test_a_day_without_a_time_is_remembered_for_the_next_turn() -> None:
    turn = ModelTurn(agent=AGENT, memory=ConversationMemory(), text="Tuesday works", now=NOW)

    answer = turn.request_meeting("Tuesday", None)

    assert answer["ok"] is False and "no time" in answer["error"]
    assert turn.decision("What time suits you?").memory.pending_meeting_day == "2025-03-04"


def test_an_unreadable_remembered_day_is_dropped_not_an_error() -> None:
    memory = ConversationMemory(pending_meeting_day="next-ish")

    decision = ModelTurn(agent=AGENT, memory=memory, text="hello", now=NOW).decision("Hi!")

    assert decision.memory.pending_meeting_day is None
    assert decision.intent is Intent.GREETING
