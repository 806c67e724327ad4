"""The embedded analysis of a finished conversation (domain/analysis.py)."""

import pytest

from afo_agent_runtime.domain.agent import DEFAULT_QUALIFICATION_FIELDS, AgentSpec
from afo_agent_runtime.domain.analysis import AnalysisResult, Said, analyze
from afo_agent_runtime.domain.turn import ConversationMemory

AGENT = AgentSpec(name="Ava", timezone="America/New_York", qualification_fields=list(DEFAULT_QUALIFICATION_FIELDS))
SAID = [
    Said("assistant", "Hi, I'm Ava. How can I help?"),
    Said("user", "Hello!"),
    Said("user", "I'm Dana from Acme Corp. We need a booking system for our three clinics."),
    Said("assistant", "Thanks — what's the best email?"),
    Said("user", "dana@acme.example is best. Also, do you integrate with Google Calendar?"),
    Said("user", "ok"),
]
FACTS = {"email": "dana@acme.example", "company": "Acme Corp"}


def test_the_summary_is_the_leads_most_informative_sentences_in_order() -> None:
    result = analyze(AGENT, ConversationMemory(lead=FACTS), SAID)

    # "Hello!" and "ok" are left out; the three sentences holding details are kept in the order said.
    assert result.summary.startswith("I'm Dana from Acme Corp. We need a booking system for our three clinics. ")
    assert "dana@acme.example is best." in result.summary
    assert "Hello" not in result.summary and not result.summary.endswith("ok")
    assert result.facts == FACTS
    assert result.outcome == "lost"
    assert result.next_step is not None and result.next_step.startswith("Follow up for what is missing")


@pytest.mark.parametrize(("memory", "outcome"), [
    (ConversationMemory(lead=FACTS, opted_out=True, meeting_id="mtg_1"), "not_interested"),
    (ConversationMemory(lead=FACTS, meeting_id="mtg_1", booked_start="2026-12-09T15:00:00+00:00"), "booked"),
    (ConversationMemory(lead=FACTS, handoff_requested=True, qualified=True), "handoff"),
    (ConversationMemory(lead=FACTS, qualified=True), "qualified"),
    (ConversationMemory(lead=FACTS), "lost"),
])
def test_the_outcome_is_what_the_conversation_recorded(memory: ConversationMemory, outcome: str) -> None:
    assert analyze(AGENT, memory, SAID).outcome == outcome


def test_a_booked_meeting_is_the_next_step_in_the_agents_time() -> None:
    memory = ConversationMemory(lead=FACTS, meeting_id="mtg_1", booked_start="2026-12-09T15:00:00+00:00")

    expected = "Hold the meeting on Wednesday, Dec 9 at 10:00 AM (America/New_York)."
    assert analyze(AGENT, memory, SAID).next_step == expected


def test_a_conversation_without_the_leads_words_still_has_a_summary() -> None:
    result = analyze(AGENT, ConversationMemory(), [Said("assistant", "Hi there!")])

    assert result.summary == "The lead gave no details." and result.outcome == "lost"


def test_the_schema_refuses_what_a_model_might_invent() -> None:
    with pytest.raises(ValueError):
        AnalysisResult.model_validate({"summary": "ok", "outcome": "delighted", "facts": {}})
    with pytest.raises(ValueError):
        AnalysisResult.model_validate({"summary": "", "outcome": "lost", "facts": {}})
    with pytest.raises(ValueError):
        AnalysisResult.model_validate({"summary": "ok", "outcome": "lost", "facts": {}, "extra": 1})


def test_chat_messages_without_a_full_stop_do_not_run_into_each_other() -> None:
    said = [Said("user", "I'm Dana from Northwind Traders, dana@northwind.example"),
            Said("user", "We need an assistant for our website")]

    result = analyze(AGENT, ConversationMemory(lead={"company": "Northwind Traders"}), said)

    assert result.summary == ("I'm Dana from Northwind Traders, dana@northwind.example. "
                              "We need an assistant for our website.")
