"""What each agent-test expectation means, judged on transcripts written by hand (pass and fail for each), the
contract's bounds on a test, the draft's digest, and which tests block publishing."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from afo_agent_runtime.domain.agent_tests import Blocking, Played, blocking_tests, evaluate, spec_digest
from afo_common.events.conversation import Citation
from afo_common.rpcs.agent_tests import (
    MAX_TURN_CHARS,
    MAX_TURNS,
    AgentTestSpec,
    Expectation,
    ExpectCitesDocument,
    ExpectFieldsFilled,
    ExpectHandoffOffered,
    ExpectMeetingRequested,
    ExpectOptOutRespected,
    ExpectReplyContains,
    TranscriptTurn,
)

WHEN = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
PRICING = Citation(index=1, document_id="doc_pricing", title="Pricing guide", page=2)


def turn(reply: str = "Thanks.", **decided: object) -> TranscriptTurn:
    return TranscriptTurn.model_validate({"user": "hi", "reply": reply, "intent": "other", "engine": "embedded",
                                          **decided})


def played(*turns: TranscriptTurn, lead: dict[str, str] | None = None,
           collected: tuple[str, ...] = ("name", "email", "budget")) -> Played:
    return Played(list(turns), lead or {}, frozenset(collected))


def verdict(expectation: Expectation, test: Played) -> tuple[bool, str]:
    (result,) = evaluate([expectation], test)
    assert result.expectation == expectation
    return result.passed, result.reason


def test_fields_filled_passes_when_every_named_field_has_a_value_at_the_end() -> None:
    test = played(turn(), lead={"name": "Dana", "email": "dana@acme.io"})

    assert verdict(ExpectFieldsFilled(fields=["name", "email"]), test) == (True, "name = Dana; email = dana@acme.io")


def test_fields_filled_fails_naming_what_was_never_filled_or_is_not_collected() -> None:
    test = played(turn(), lead={"name": "Dana"})

    assert verdict(ExpectFieldsFilled(fields=["name", "budget"]), test) == (False, "never filled: budget")
    assert verdict(ExpectFieldsFilled(fields=["team_size"]), test) == (False, "the agent does not collect team_size")


def test_meeting_requested_passes_on_the_turn_that_asked_the_calendar() -> None:
    test = played(turn(), turn(meeting_requested_at=WHEN))

    assert verdict(ExpectMeetingRequested(), test) == (True, "turn 2 asked the calendar for 2026-03-03T15:00:00+00:00")


def test_meeting_requested_fails_when_no_turn_asked_for_a_time() -> None:
    test = played(turn("Happy to set up a call — what day and time work for you?", awaiting_field=None))

    assert verdict(ExpectMeetingRequested(), test) == (False, "no turn asked the calendar for a meeting")


@pytest.mark.parametrize("document", ["doc_pricing", "Pricing guide", "  pricing GUIDE "])
def test_cites_document_passes_by_id_or_by_title_ignoring_case(document: str) -> None:
    test = played(turn(), turn("From our documents: $49 a month [1].", citations=[PRICING]))

    passed, reason = verdict(ExpectCitesDocument(document=document), test)

    assert passed and reason == "the reply to turn 2 cites 'Pricing guide' (doc_pricing)"


def test_cites_document_fails_saying_what_was_cited_instead_or_that_nothing_was() -> None:
    assert verdict(ExpectCitesDocument(document="Security whitepaper"), played(turn(citations=[PRICING]))) == (
        False, "the replies cite 'Pricing guide', not 'Security whitepaper'")
    assert verdict(ExpectCitesDocument(document="doc_pricing"), played(turn())) == (False, "no reply cites a document")


def test_handoff_offered_passes_on_a_hand_off_or_an_offer_of_a_person() -> None:
    assert verdict(ExpectHandoffOffered(), played(turn(), turn(handoff=True))) == (
        True, "turn 2 handed the lead to a person")
    assert verdict(ExpectHandoffOffered(), played(turn(handoff_offered=True))) == (
        True, "the reply to turn 1 offered a person")


def test_handoff_offered_fails_when_no_person_was_offered() -> None:
    assert verdict(ExpectHandoffOffered(), played(turn(), turn())) == (False, "no turn handed off or offered a person")


def test_opt_out_respected_passes_when_nothing_is_asked_or_offered_from_the_opt_out_on() -> None:
    test = played(turn("What's your email?", awaiting_field="email"),
                  turn("Understood — you've been opted out.", opted_out=True),
                  turn("You've opted out, so you won't receive any more messages from us."))

    assert verdict(ExpectOptOutRespected(), test) == (
        True, "the lead opted out at turn 2; nothing was asked or offered after")


@pytest.mark.parametrize(("after", "breach"), [
    ({"awaiting_field": "budget"}, "asks for budget"),
    ({"meeting_requested_at": WHEN}, "asks for a meeting"),
    ({"handoff_offered": True}, "hands off or offers a person"),
    ({"handoff": True}, "hands off or offers a person"),
    ({"reply": "Can I tell you about our Pro plan?"}, "asks a question"),
])
def test_opt_out_respected_fails_on_any_reply_that_still_sells_or_asks(after: dict[str, object], breach: str) -> None:
    reply = str(after.pop("reply", "Noted."))
    test = played(turn("Understood — you've been opted out.", opted_out=True), turn(reply, **after))

    assert verdict(ExpectOptOutRespected(), test) == (False, f"the lead opted out at turn 1, but the reply to turn 2 "
                                                       f"{breach}")


def test_opt_out_respected_fails_when_the_agent_never_took_the_opt_out() -> None:
    test = played(turn("Sure — what's your budget?", awaiting_field="budget"))

    assert verdict(ExpectOptOutRespected(), test) == (False, "no turn was taken as an opt-out: the lead's opt-out was "
                                                       "ignored")


def test_reply_contains_looks_in_any_reply_or_the_one_named_ignoring_case_and_blanks() -> None:
    test = played(turn("Hi, I'm Ava."), turn("Our Pro   plan costs $99."))

    assert verdict(ExpectReplyContains(text="pro plan"), test) == (True, "the reply to turn 2 contains it")
    assert verdict(ExpectReplyContains(text="I'M AVA", turn=1), test) == (True, "the reply to turn 1 contains it")
    assert verdict(ExpectReplyContains(text="pro plan", turn=1), test) == (
        False, "the reply to turn 1 does not contain 'pro plan'")
    assert verdict(ExpectReplyContains(text="refund"), test) == (False, "no reply contains 'refund'")


def test_reply_contains_a_turn_never_reached_fails() -> None:
    assert verdict(ExpectReplyContains(text="hi", turn=3), played(turn())) == (False, "turn 3 was never answered")


def test_expectations_are_judged_in_order_each_with_its_reason() -> None:
    results = evaluate([ExpectMeetingRequested(), ExpectHandoffOffered()], played(turn(handoff=True)))

    assert [(r.expectation.type, r.passed) for r in results] == [("meeting_requested", False),
                                                                 ("handoff_offered", True)]


def test_a_test_is_bounded_and_its_expectations_typed() -> None:
    ok = AgentTestSpec.model_validate({"name": "books", "turns": ["hi"], "expectations": [
        {"type": "meeting_requested"}, {"type": "reply_contains", "text": "Ava", "turn": 1}]})
    assert ok.channel == "text" and isinstance(ok.expectations[1], ExpectReplyContains)
    bad = [
        {"name": "t", "turns": [], "expectations": [{"type": "handoff_offered"}]},
        {"name": "t", "turns": ["x"] * (MAX_TURNS + 1), "expectations": [{"type": "handoff_offered"}]},
        {"name": "t", "turns": ["x" * (MAX_TURN_CHARS + 1)], "expectations": [{"type": "handoff_offered"}]},
        {"name": "t", "turns": ["hi"], "expectations": []},
        {"name": "t", "turns": ["hi"], "expectations": [{"type": "sells_hard"}]},
        {"name": "t", "turns": ["hi"], "expectations": [{"type": "fields_filled", "fields": []}]},
        {"name": "t", "turns": ["hi"], "expectations": [{"type": "fields_filled", "fields": ["Not A Field"]}]},
        {"name": "t", "turns": ["hi"], "expectations": [{"type": "reply_contains", "text": "x", "turn": 2}]},
        {"name": "", "turns": ["hi"], "expectations": [{"type": "handoff_offered"}]},
        {"name": "t", "channel": "fax", "turns": ["hi"], "expectations": [{"type": "handoff_offered"}]},
    ]
    for body in bad:
        with pytest.raises(ValidationError):
            AgentTestSpec.model_validate(body)
    with pytest.raises(ValidationError):
        TypeAdapter(Expectation).validate_python({"type": "meeting_requested", "extra": 1})


def test_the_digest_is_the_same_for_the_same_configuration_in_any_key_order() -> None:
    assert spec_digest({"name": "Ava", "goals": ["a"]}) == spec_digest({"goals": ["a"], "name": "Ava"})
    assert spec_digest({"name": "Ava"}) != spec_digest({"name": "Bea"})
    assert len(spec_digest({})) == 64


def test_publishing_is_blocked_by_failed_tests_and_tests_not_run_on_this_draft() -> None:
    tests = [("tst_1", "asks price"), ("tst_2", "books"), ("tst_3", "new one")]

    assert blocking_tests(tests, {"tst_1": True, "tst_2": False}) == [
        Blocking("tst_2", "books", "failed"), Blocking("tst_3", "new one", "not_run")]
    assert blocking_tests(tests, None) == [Blocking(i, n, "not_run") for i, n in tests]
    assert blocking_tests(tests[:1], {"tst_1": True, "tst_gone": False}) == []
