import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afo_agent_runtime.domain.agent import DEFAULT_QUALIFICATION_FIELDS, AgentSpec, QualificationField
from afo_agent_runtime.domain.engine import (
    ConversationMemory,
    EmbeddedEngine,
    Intent,
    MeetingRequest,
    TurnDecision,
)

NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday morning.
NOW = datetime(2025, 11, 26, 10, 0, tzinfo=NEW_YORK)
AGENT = AgentSpec(
    name="Ava",
    timezone="America/New_York",
    qualification_fields=[QualificationField(name="name", kind="name"), *DEFAULT_QUALIFICATION_FIELDS],
)
engine = EmbeddedEngine()


def converse(
    messages: list[str], agent: AgentSpec = AGENT, now: datetime = NOW, memory: ConversationMemory | None = None
) -> list[TurnDecision]:
    decisions = []
    memory = memory or ConversationMemory()
    for message in messages:
        decision = engine.respond(agent, memory, message, now)
        decisions.append(decision)
        memory = decision.memory
    return decisions


def test_a_five_turn_conversation_qualifies_the_lead_and_books_a_meeting() -> None:
    hello, intro, email, budget, meeting = converse(
        [
            "Hi there",
            "I'm Dana from Acme Corp, we need a chatbot for our website",
            "sure, it's dana@acme.io",
            "around 20k, and we'd like to launch next quarter",
            "Great - can we meet next Tuesday at 3pm?",
        ]
    )

    assert hello.reply == "Hi, I'm Ava, your sales assistant. Who am I speaking with?"
    assert hello.memory.awaiting_field == "name"
    assert intro.lead_changes == {"name": "Dana", "company": "Acme Corp", "need": "a chatbot for our website"}
    assert intro.reply.startswith("Thanks, Dana — got your name, your company name and what you need.")
    assert intro.missing_fields == ["email", "budget", "timeline"]
    assert intro.memory.awaiting_field == "email"
    assert email.lead_changes == {"email": "dana@acme.io"}
    assert email.reply == "Thanks, Dana — got your email. Do you have a rough budget in mind?"
    assert budget.lead_changes == {"budget": "USD 20000", "timeline": "next quarter"}
    assert budget.missing_fields == []
    assert "That's everything I need" in budget.reply and "book a call" in budget.reply
    assert [d.became_qualified for d in (hello, intro, email, budget, meeting)] == [False, False, False, True, False]
    assert meeting.intent is Intent.SCHEDULING
    assert meeting.meeting_request == MeetingRequest(
        start=datetime(2025, 12, 2, 15, 0, tzinfo=NEW_YORK),
        timezone="America/New_York",
        text="Great - can we meet next Tuesday at 3pm?",
    )
    assert meeting.reply == (
        "I've passed Tuesday, Dec 2 at 3:00 PM (America/New_York) on to the team as your preferred time."
    )
    assert meeting.memory.lead == {
        "name": "Dana",
        "company": "Acme Corp",
        "need": "a chatbot for our website",
        "email": "dana@acme.io",
        "budget": "USD 20000",
        "timeline": "next quarter",
    }
    assert meeting.memory.qualified and meeting.memory.turns == 5


def test_a_meeting_requested_before_clocks_go_back_lands_on_the_same_wall_time() -> None:
    before_dst_ends = datetime(2025, 10, 30, 10, 0, tzinfo=NEW_YORK)

    (decision,) = converse(["Can we do a call next Tuesday at 3pm?"], now=before_dst_ends)

    assert decision.meeting_request is not None
    assert decision.meeting_request.start == datetime(2025, 11, 4, 15, 0, tzinfo=NEW_YORK)
    assert decision.meeting_request.start.utcoffset() == timedelta(hours=-5)
    assert "Tuesday, Nov 4 at 3:00 PM (America/New_York)" in decision.reply


def test_a_day_without_a_time_is_asked_about_and_remembered_for_the_next_turn() -> None:
    ask, answer = converse(["could we book a call next Tuesday?", "3pm works"])

    assert ask.meeting_request is None
    assert "What time on Tuesday, Dec 2 works for you?" in ask.reply
    assert "?" not in ask.reply.split("What time on Tuesday, Dec 2 works for you?")[1]
    assert answer.meeting_request is not None
    assert answer.meeting_request.start == datetime(2025, 12, 2, 15, 0, tzinfo=NEW_YORK)
    assert answer.memory.pending_meeting_day is None


def test_scheduling_without_any_day_asks_for_one() -> None:
    (decision,) = converse(["I'd like to schedule a demo"])

    assert decision.meeting_request is None
    assert "what day and time work for you?" in decision.reply


def test_a_meeting_time_already_passed_is_refused() -> None:
    (decision,) = converse(["can we meet today at 9am?"])

    assert decision.meeting_request is None
    assert "already passed" in decision.reply


def test_an_invalid_value_is_explained_and_asked_again() -> None:
    _, invalid, fixed = converse(["hello", "I'm Dana, my email is dana@acme", "oops, dana@acme.io"])

    assert invalid.invalid_fields == {"email": "it looks incomplete, as the domain needs an ending such as .com"}
    assert invalid.lead_changes == {"name": "Dana"}
    assert "That email doesn't look right" in invalid.reply and invalid.reply.endswith("Could you check it?")
    assert invalid.memory.awaiting_field == "email"
    assert fixed.lead_changes == {"email": "dana@acme.io"}
    assert fixed.invalid_fields == {}


def test_opting_out_confirms_once_and_then_only_says_so() -> None:
    _, stop, later = converse(["hi", "STOP", "my email is dana@acme.io, what's the price?"])

    assert stop.opted_out and stop.intent is Intent.OPT_OUT
    assert stop.reply == "Understood — you've been opted out and won't receive any more messages from us."
    assert stop.memory.opted_out and stop.memory.awaiting_field is None
    assert not later.opted_out
    assert later.reply == "You've opted out, so you won't receive any more messages from us."
    assert later.became_qualified is False and later.meeting_request is None


def test_a_corrected_value_replaces_the_old_one_and_is_acknowledged_as_an_update() -> None:
    _, correction = converse(["my email is dana@acme.io", "sorry, my email is dana@globex.com"])

    assert correction.lead_changes == {"email": "dana@globex.com"}
    assert correction.memory.lead["email"] == "dana@globex.com"
    assert correction.reply.startswith("Thanks — updated your email.")


def test_an_opt_out_on_the_first_turn_is_not_greeted() -> None:
    (decision,) = converse(["unsubscribe"])

    assert decision.opted_out
    assert "Ava" not in decision.reply


def test_asking_for_a_person_hands_off_and_stops_the_questions() -> None:
    _, handoff, later = converse(["hi", "can I talk to a real person?", "my company is Globex"])

    assert handoff.intent is Intent.HUMAN
    assert handoff.handoff_reason == "the lead asked to talk to a person"
    assert "passing this conversation to a person" in handoff.reply
    assert "?" not in handoff.reply
    assert handoff.memory.handoff_requested and handoff.memory.awaiting_field is None
    assert later.handoff_reason is None
    assert later.lead_changes == {"company": "Globex"}
    assert "?" not in later.reply


def test_a_question_gets_an_honest_answer_and_the_offer_of_a_person() -> None:
    _, question = converse(["hey", "What integrations do you support?"])

    assert question.intent is Intent.QUESTION
    assert "I don't have any documents to answer that from yet" in question.reply
    assert "connect you with a person" in question.reply
    assert question.reply.endswith("Who am I speaking with?")
    assert question.handoff_reason is None


def test_pricing_is_answered_without_a_number_and_the_next_question_follows() -> None:
    (decision,) = converse(["how much does it cost?"])

    assert decision.intent is Intent.PRICING
    assert "tailored quote" in decision.reply
    assert decision.reply.endswith("Who am I speaking with?")


def test_the_agent_greeting_and_field_questions_are_used_when_set() -> None:
    agent = AgentSpec(
        name="Max",
        greeting="Welcome to Globex!",
        qualification_fields=[QualificationField(name="team_size", kind="text", question="How big is your team?")],
    )

    (decision,) = converse(["hello"], agent=agent)

    assert decision.reply == "Welcome to Globex! How big is your team?"


@pytest.mark.parametrize(
    ("persona", "greeting"),
    [
        ("", "Hi, I'm Ava, your sales assistant."),
        ("Formal and professional at all times.", "Hello, my name is Ava and I am your sales assistant."),
        ("A warm, friendly helper.", "Hi there! I'm Ava, your sales assistant."),
    ],
)
def test_the_register_follows_the_persona(persona: str, greeting: str) -> None:
    agent = AGENT.model_copy(update={"persona": persona})

    (decision,) = converse(["hi"], agent=agent)

    assert decision.reply.startswith(greeting)


def test_a_lead_without_required_fields_is_qualified_on_the_first_turn_only() -> None:
    agent = AgentSpec(name="Ava", qualification_fields=[QualificationField(name="notes", kind="text", required=False)])

    first, second = converse(["hi", "thanks"], agent=agent)

    assert first.became_qualified and not second.became_qualified
    assert second.reply == "Is there anything else I can help with?"


def test_text_beyond_the_parsing_limit_is_ignored() -> None:
    (decision,) = converse(["x" * 4000 + " my email is dana@acme.io"])

    assert decision.lead_changes == {}


def test_memory_survives_a_json_round_trip() -> None:
    decisions = converse(["hi", "I'm Dana from Acme Corp", "could we book a call next Tuesday?"])
    memory = decisions[-1].memory

    restored = ConversationMemory.from_json(json.loads(json.dumps(memory.to_json())))

    assert restored == memory
    assert restored.pending_meeting_day == "2025-12-02"


def test_memory_from_json_fills_defaults_and_ignores_unknown_keys() -> None:
    assert ConversationMemory.from_json({"lead": {"email": "a@b.co"}, "later": 1}) == ConversationMemory(
        lead={"email": "a@b.co"}
    )


@pytest.mark.parametrize(
    "data",
    [
        {"lead": ["email"]},
        {"lead": {"email": 1}},
        {"turns": "3"},
        {"turns": True},
        {"greeted": "yes"},
        {"awaiting_field": 5},
    ],
)
def test_memory_from_json_rejects_wrong_types(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="memory"):
        ConversationMemory.from_json(data)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.respond(AGENT, ConversationMemory(), "hi", datetime(2025, 11, 26, 10, 0))


ODD_MESSAGES = [
    "",
    " ",
    "\n\t\r",
    "?",
    "@",
    "$",
    "\x00\x01\x7f",
    "\ud800 lone surrogate",
    "\u202eevil right-to-left",
    "\uff28\uff45\uff4c\uff4c\uff4f \uff33\uff34\uff2f\uff30",  # fullwidth "Hello STOP"
    "\U0001d7d1pm tomorrow",  # a bold digit three
    "مرحبا، أريد حجز موعد",
    "你好\uff0c我想预约明天下午三点",
    "😀" * 50,
    "e\u0301mail: dana@acme.io",
    "at 99:99 on 31/31",
    "Feb 29 at 3pm",
    "$$$ 1e9999 k k k",
    "1," * 3000,
    "@" * 5000,
    "a" * 20000,
    "budget " + "1k-" * 2000,
    "my email is " * 500,
]


@pytest.mark.parametrize("message", ODD_MESSAGES, ids=range(len(ODD_MESSAGES)))
def test_any_input_gets_a_reply_and_never_raises(message: str) -> None:
    memory = ConversationMemory()
    for now in (NOW, datetime(2026, 3, 8, 6, 59, tzinfo=UTC)):
        decision = engine.respond(AGENT, memory, message, now)
        memory = decision.memory
        assert decision.reply.strip()
        json.dumps(memory.to_json())


def test_ten_turns_with_answers_out_of_order_a_correction_and_two_facts_at_once() -> None:
    london = ZoneInfo("Europe/London")
    agent = AgentSpec(
        name="Ava",
        timezone="Europe/London",  # no phone_region: numbers are read as British
        qualification_fields=[
            QualificationField(name="name", kind="name"),
            *DEFAULT_QUALIFICATION_FIELDS,
            QualificationField(name="phone", kind="phone", required=False),
        ],
    )

    decisions = converse(
        [
            "hi",
            "we need a chatbot that books viewings",  # asked for a name, answers what they need
            "Priya here, from Harbour Lettings",  # two facts
            "we can spend up to £4k a month",  # asked for an email, gives the budget
            "priya@harbour-lettings.co.uk",
            "actually it's priya.shah@harbour-lettings.co.uk",  # a correction
            "how much does it cost?",
            "mobile is 07700 900321 and we want it live by March",  # two facts
            "can we do a call next Tuesday at 3pm?",
            "sorry, the company is Harbour Lettings Ltd",  # another correction
        ],
        agent=agent,
        now=datetime(2026, 1, 14, 10, 0, tzinfo=london),
    )

    hello, need, intro, budget, email, correction, pricing, contact, meeting, company = decisions
    assert hello.memory.awaiting_field == "name"
    assert need.lead_changes == {"need": "a chatbot that books viewings"}
    assert need.memory.awaiting_field == "name"
    assert intro.lead_changes == {"name": "Priya", "company": "Harbour Lettings"}
    assert budget.lead_changes == {"budget": "GBP 4000"} and budget.invalid_fields == {}
    assert email.lead_changes == {"email": "priya@harbour-lettings.co.uk"}
    assert correction.lead_changes == {"email": "priya.shah@harbour-lettings.co.uk"}
    assert "updated your email" in correction.reply
    assert pricing.intent is Intent.PRICING and pricing.lead_changes == {}
    assert contact.lead_changes == {"phone": "+447700900321", "timeline": "by March"}
    assert contact.became_qualified
    assert meeting.meeting_request is not None
    assert meeting.meeting_request.start == datetime(2026, 1, 20, 15, 0, tzinfo=london)
    assert company.lead_changes == {"company": "Harbour Lettings Ltd"}
    assert company.memory.lead == {
        "name": "Priya",
        "email": "priya.shah@harbour-lettings.co.uk",
        "company": "Harbour Lettings Ltd",
        "need": "a chatbot that books viewings",
        "budget": "GBP 4000",
        "timeline": "by March",
        "phone": "+447700900321",
    }
    assert company.memory.turns == 10 and company.memory.qualified


@pytest.mark.parametrize(
    ("awaiting", "text"),
    [("company", "Kestrel"), ("name", "hey, rachel here"), ("budget", "price isn't an issue, we have 50k")],
)
def test_a_message_that_gave_a_field_is_information_whatever_its_words_alone_suggest(awaiting: str, text: str) -> None:
    decision = engine.respond(AGENT, ConversationMemory(greeted=True, awaiting_field=awaiting), text, NOW)

    assert decision.lead_changes
    assert decision.intent is Intent.PROVIDE_INFO
