"""Meetings in the conversation, pure: the calendar's answers (domain/meetings.py) and the lead's replies to
them in the embedded engine and the model's tools (pick an offered time, move, cancel)."""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine, Intent
from afo_agent_runtime.domain.meetings import booked, cancelled, failed
from afo_agent_runtime.domain.model_turn import ModelTurn
from afo_common.events.workflow import MeetingBooked, MeetingCancelled, MeetingFailed, SlotOffer

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=TZ)  # a Monday
AGENT = AgentSpec(name="Ava", timezone="America/New_York", qualification_fields=[])
WED = [datetime(2026, 12, 9, 10, 0, tzinfo=TZ), datetime(2026, 12, 9, 10, 30, tzinfo=TZ),
       datetime(2026, 12, 9, 11, 0, tzinfo=TZ)]
engine = EmbeddedEngine()


def booking(meeting_id: str = "mtg_1", start: datetime = WED[0], rescheduled_from: str | None = None) -> MeetingBooked:
    return MeetingBooked(meeting_id=meeting_id, request_id="mreq_1", conversation_id="conv_1", agent_id="agt_1",
                         lead_id=None, calendar_id="cal_1", provider="builtin", start=start,
                         end=start + timedelta(minutes=30), timezone="America/New_York",
                         rescheduled_from=rescheduled_from)


def cancellation(meeting_id: str = "mtg_1", by: str = "lead") -> MeetingCancelled:
    return MeetingCancelled(meeting_id=meeting_id, conversation_id="conv_1", agent_id="agt_1", lead_id=None,
                            by=by)  # type: ignore[arg-type]


def failure(**values: object) -> MeetingFailed:
    fields: dict[str, object] = {"request_id": "mreq_1", "conversation_id": "conv_1", "agent_id": "agt_1",
                                 "lead_id": None, "reason": "slot_taken", "detail": "taken",
                                 "timezone": "America/New_York"}
    return MeetingFailed.model_validate(fields | values)


def offered() -> ConversationMemory:
    alternatives = [SlotOffer(start=s, end=s + timedelta(minutes=30)) for s in WED]
    return failed(ConversationMemory(greeted=True), failure(alternatives=alternatives), "UTC").memory


def test_a_booking_is_confirmed_in_the_leads_time_and_lands_in_the_lead_fields() -> None:
    news = booked(ConversationMemory(), booking())

    assert news.reply == "You're booked! Your meeting is on Wednesday, Dec 9 at 10:00 AM (America/New_York)."
    assert news.lead_changes == {"meeting_id": "mtg_1", "meeting_start": WED[0].isoformat()}
    assert news.memory.meeting_id == "mtg_1" and news.memory.lead["meeting_id"] == "mtg_1"


def test_the_same_booking_twice_says_nothing_the_second_time() -> None:
    once = booked(ConversationMemory(), booking())
    again = booked(once.memory, booking())

    assert again.reply is None and not again.changed and again.memory == once.memory


def test_a_taken_time_offers_the_alternatives_and_keeps_them_for_the_next_turn() -> None:
    memory = offered()

    news = failed(ConversationMemory(), failure(alternatives=[SlotOffer(start=s, end=s) for s in WED]), "UTC")
    assert news.reply == ("That time is taken — I can offer Wednesday, Dec 9 at 10:00 AM, 10:30 AM or 11:00 AM "
                          "(America/New_York). Which suits you?")
    assert memory.offered_starts() == WED


def test_a_scheduling_link_is_passed_on_and_no_alternatives_means_the_team_follows_up() -> None:
    link = failed(offered(), failure(scheduling_url="https://calendly.example/s/abc"), "UTC")
    none = failed(ConversationMemory(), failure(reason="provider_error"), "UTC")

    assert link.reply == "You can pick the time that suits you here: https://calendly.example/s/abc"
    assert link.memory.offered_slots == ()
    assert none.reply is not None and "team will be in touch" in none.reply


def test_a_cancellation_drops_the_meeting_and_a_late_confirmation_of_it_is_ignored() -> None:
    # Reordered: the cancellation arrives before the booking it cancels.
    first = cancelled(ConversationMemory(), cancellation())
    late = booked(first.memory, booking())

    assert first.reply is not None and first.reply.startswith("Your meeting is cancelled")
    assert late.reply is None and late.memory.meeting_id is None and "meeting_id" not in late.memory.lead


def test_cancelling_the_booked_meeting_removes_it_from_the_lead_and_twice_is_once() -> None:
    with_meeting = booked(ConversationMemory(), booking()).memory
    news = cancelled(with_meeting, cancellation())
    again = cancelled(news.memory, cancellation())

    assert news.lead_removed == ("meeting_id", "meeting_start")
    assert news.memory.meeting_id is None and "meeting_id" not in news.memory.lead
    assert again.reply is None and not again.changed


def test_a_reschedule_in_either_order_ends_with_the_new_meeting_and_says_it_once() -> None:
    old = booked(ConversationMemory(), booking()).memory
    new = booking("mtg_2", WED[2], rescheduled_from="mtg_1")

    booked_first = booked(old, new)
    then_cancelled = cancelled(booked_first.memory, cancellation("mtg_1", by="rescheduled"))
    cancelled_first = cancelled(old, cancellation("mtg_1", by="rescheduled"))
    then_booked = booked(cancelled_first.memory, new)

    assert booked_first.reply is not None and "moved to Wednesday, Dec 9 at 11:00 AM" in booked_first.reply
    assert then_cancelled.reply is None and cancelled_first.reply is None
    for final in (then_cancelled.memory, then_booked.memory):
        assert final.meeting_id == "mtg_2" and final.lead["meeting_id"] == "mtg_2"


def test_the_lead_picks_an_offered_time_and_the_engine_asks_for_it() -> None:
    decision = engine.respond(AGENT, offered(), "the second one", NOW)

    assert decision.intent is Intent.SCHEDULING
    assert decision.meeting_request is not None and decision.meeting_request.start == WED[1]
    assert "Wednesday, Dec 9 at 10:30 AM" in decision.reply
    assert decision.memory.offered_slots == ()


def test_a_pick_while_a_field_is_awaited_books_the_time_and_is_not_read_as_the_fields_value() -> None:
    agent = AgentSpec(name="Ava", timezone="America/New_York", qualification_fields=["email"])
    memory = replace(offered(), awaiting_field="email")

    decision = engine.respond(agent, memory, "the third one", NOW)

    assert decision.meeting_request is not None and decision.meeting_request.start == WED[2]
    assert "@" not in decision.reply and "doesn't look right" not in decision.reply
    assert decision.memory.awaiting_field == "email"  # asked again, after the pick


def test_a_pick_that_matches_nothing_lists_the_times_again_and_asks_for_nothing() -> None:
    decision = engine.respond(AGENT, offered(), "the fifth one", NOW)

    assert decision.meeting_request is None
    assert "10:00 AM, 10:30 AM or 11:00 AM" in decision.reply
    assert decision.memory.offered_starts() == WED


def test_moving_a_booked_meeting_asks_for_the_new_time_replacing_it() -> None:
    memory = booked(ConversationMemory(greeted=True), booking()).memory

    decision = engine.respond(AGENT, memory, "can we move it to Thursday at 2pm", NOW)

    assert decision.meeting_request is not None
    assert decision.meeting_request.start == datetime(2026, 12, 10, 14, 0, tzinfo=TZ)
    assert decision.meeting_request.replaces_meeting_id == "mtg_1"
    assert "moving your meeting" in decision.reply


def test_asking_again_for_the_time_already_booked_says_so_and_asks_the_calendar_nothing() -> None:
    memory = booked(ConversationMemory(greeted=True), booking()).memory  # Wednesday 10:00 (NOW is a Monday)

    decision = engine.respond(AGENT, memory, "Can we meet Wednesday at 10am?", NOW)
    other = engine.respond(AGENT, memory, "Can we meet Wednesday at 11am?", NOW)

    assert decision.meeting_request is None
    assert "already booked for Wednesday, Dec 9 at 10:00 AM (America/New_York)" in decision.reply
    assert decision.memory.meeting_id == "mtg_1"
    assert other.meeting_request is not None and other.meeting_request.replaces_meeting_id == "mtg_1"


def test_cancelling_asks_for_the_booked_meeting_and_without_one_says_so() -> None:
    memory = booked(ConversationMemory(greeted=True), booking()).memory

    decision = engine.respond(AGENT, memory, "please cancel my meeting", NOW)
    none = engine.respond(AGENT, ConversationMemory(greeted=True), "please cancel my meeting", NOW)

    assert decision.cancel_meeting_id == "mtg_1" and not decision.opted_out
    assert none.cancel_meeting_id is None and "don't see a booked meeting" in none.reply


def test_the_models_tools_pick_offered_times_move_and_cancel() -> None:
    pick = ModelTurn(agent=AGENT, memory=offered(), text="yes the first", now=NOW)
    assert pick.request_meeting("the first one", None)["ok"] is True
    assert pick.meeting is not None and pick.meeting.start == WED[0]
    missed = ModelTurn(agent=AGENT, memory=offered(), text="the fifth", now=NOW)
    assert missed.request_meeting("the fifth one", None)["ok"] is False and missed.meeting is None
    assert "10:00 AM, 10:30 AM or 11:00 AM" in str(missed.context())

    memory = booked(ConversationMemory(), booking()).memory
    move = ModelTurn(agent=AGENT, memory=memory, text="move it to Thursday 2pm", now=NOW)
    move.request_meeting("Thursday at 2pm", None)
    cancel = ModelTurn(agent=AGENT, memory=memory, text="cancel my meeting", now=NOW)
    cancel.cancel_meeting()
    nothing = ModelTurn(agent=AGENT, memory=ConversationMemory(), text="cancel my meeting", now=NOW)

    assert move.meeting is not None and move.meeting.replaces_meeting_id == "mtg_1"
    assert cancel.decision("Cancelling it now.").cancel_meeting_id == "mtg_1"
    assert nothing.cancel_meeting()["ok"] is False and nothing.decision("None booked.").cancel_meeting_id is None
