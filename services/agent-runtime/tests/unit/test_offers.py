"""The lead's pick among offered times, and asking to move or cancel a meeting (domain/engine/offers.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from afo_agent_runtime.domain.engine.offers import Chosen, Unmatched, asks_to_cancel, asks_to_move, choose_offer

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=TZ)  # a Monday
WED = [datetime(2026, 12, 9, 10, 0, tzinfo=TZ), datetime(2026, 12, 9, 10, 30, tzinfo=TZ),
       datetime(2026, 12, 9, 11, 0, tzinfo=TZ)]


@pytest.mark.parametrize(("text", "index"), [
    ("the second one", 1), ("2nd please", 1), ("yes the first", 0), ("Option 3", 2), ("#2", 1), ("2", 1),
    ("the last one", 2), ("10:30", 1), ("10:30am works", 1), ("Wednesday at 10:30", 1), ("11am is good", 2),
    ("let's do the third slot", 2),
])
def test_a_pick_names_one_offered_time(text: str, index: int) -> None:
    assert choose_offer(text, WED, NOW, TZ) == Chosen(WED[index])


@pytest.mark.parametrize("text", ["the fifth one", "option 7", "11:45", "yes", "Wednesday"])
def test_a_pick_that_matches_nothing_offered_is_unmatched(text: str) -> None:
    assert choose_offer(text, WED, NOW, TZ) == Unmatched()


def test_yes_takes_the_only_time_offered() -> None:
    assert choose_offer("Yes, thanks", WED[:1], NOW, TZ) == Chosen(WED[0])


@pytest.mark.parametrize("text", ["Thursday at 2pm instead", "what does it cost?", "my email is a@b.example",
                                  "First, what does it cost for three clinics?"])
def test_a_new_day_and_time_or_anything_else_is_not_a_pick(text: str) -> None:
    assert choose_offer(text, WED, NOW, TZ) is None


def test_nothing_offered_is_never_a_pick() -> None:
    assert choose_offer("the second one", [], NOW, TZ) is None


def test_offered_times_in_another_zone_are_matched_on_the_agents_clock() -> None:
    utc = [w.astimezone(ZoneInfo("UTC")) for w in WED]
    assert choose_offer("10:30", utc, NOW, TZ) == Chosen(utc[1])


@pytest.mark.parametrize(("text", "cancel", "move"), [
    ("please cancel my meeting", True, False),
    ("Can you cancel the call on Wednesday?", True, False),
    ("the demo is cancelled on my side", True, False),
    ("cancel", False, False),  # the carrier's opt-out keyword stays one
    ("can we move it to Thursday at 2pm", False, True),
    ("I need to reschedule", False, True),
    ("change the meeting to Friday 3pm", False, True),
    ("I'd like to book a meeting", False, False),
])
def test_cancel_and_move_are_told_apart(text: str, cancel: bool, move: bool) -> None:
    assert (asks_to_cancel(text), asks_to_move(text)) == (cancel, move)
