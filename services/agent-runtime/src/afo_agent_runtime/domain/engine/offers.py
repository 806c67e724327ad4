"""The lead's answer to offered times, and asking to move or cancel a booked meeting.

Rules:
- With times on offer, an ordinal picks one: "the second one", "2nd", "option 2", "#2", "the last one",
  or a bare "2" (an ordinal without "the" or "one" only in a short answer: "First, what does it cost?" is
  no pick); "yes"/"ok"/"sure" alone picks the only one offered ("yes the first" is the ordinal).
- A clock time ("10:30", "half past ten" is not read) picks the offered time at that clock; with a day
  ("Wednesday at 10:30") the day must match too; a day alone picks the only offered time on that day.
- Words that try to choose but match nothing offered ("the fifth one", "11:45" with none at 11:45) are
  ``Unmatched``: the caller lists the times again. A whole new day and time is not a choice: it is a new
  request, read as any other.
- "cancel my meeting / the call / the appointment / the booking / the demo" asks to cancel; a bare "cancel"
  stays the carrier's opt-out keyword. "move / reschedule / change / push" with a meeting word or "it" and a
  time asks to move it; any new time asked while a meeting is booked moves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from afo_agent_runtime.domain.engine.scheduling import named_day, parse_meeting
from afo_agent_runtime.domain.engine.text import clean

_ORDINALS = {"first": 0, "1st": 0, "one": 0, "second": 1, "2nd": 1, "two": 1, "third": 2, "3rd": 2, "three": 2,
             "fourth": 3, "4th": 3, "four": 3, "fifth": 4, "5th": 4, "five": 4}
_ORDINAL = re.compile(
    r"\b(?P<the>the\s+)?(?P<word>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
    r"(?P<noun>\s+(?:one|option|slot|time))?"
    r"|\b(?:option|slot|number|no\.?|#)\s*(?P<number>\d)\b|^#?(?P<bare>\d)[.!]?$"
)
# "First, what does it cost?" is no pick: a bare ordinal counts only in a short answer.
_SHORT_ANSWER_WORDS = 4
_YES = re.compile(r"^(?:yes|yeah|yep|yup|ok|okay|sure|sounds good|perfect|great|that works|works for me)"
                  r"(?:[,.! ]+(?:please|thanks|thank you))?[.!]?$")
_MEETING_WORD = r"(?:meeting|call|appointment|booking|demo|session|slot)"
_CANCEL = re.compile(rf"\bcancel(?:l?ing)?\b.*\b{_MEETING_WORD}\b|\b{_MEETING_WORD}\b.*\bcancel(?:l?ed)?\b|"
                     r"\bcall it off\b")
_MOVE = re.compile(rf"\b(?:move|reschedule|change|push|shift|bump)\b.*\b(?:it|{_MEETING_WORD})\b|"
                   r"\breschedule\b")


@dataclass(frozen=True)
class Chosen:
    start: datetime


@dataclass(frozen=True)
class Unmatched:
    """Words that try to choose among the offered times and match none of them."""


Choice = Chosen | Unmatched | None


def choose_offer(text: str, offered: list[datetime], now: datetime, tz: ZoneInfo) -> Choice:
    """Which offered time the lead picks; ``Unmatched`` when they try and miss; None when the message is
    not a choice (a question, new information, a whole new day and time)."""
    if not offered:
        return None
    message = clean(text).lower().strip()
    match = _ORDINAL.search(message)
    if match and match["word"] and not (match["the"] or match["noun"]) and len(message.split()) > _SHORT_ANSWER_WORDS:
        match = None
    if match:
        if match["word"] == "last":
            return Chosen(offered[-1])
        position = _ORDINALS[match["word"]] if match["word"] else int(match["number"] or match["bare"]) - 1
        return Chosen(offered[position]) if 0 <= position < len(offered) else Unmatched()
    if _YES.match(message):
        return Chosen(offered[0]) if len(offered) == 1 else Unmatched()
    clock = parse_meeting(message, now, tz).clock
    day = named_day(message, now, tz)
    local = [start.astimezone(tz) for start in offered]
    if clock is not None:
        hits = [o for o, at in zip(offered, local, strict=True)
                if (at.hour, at.minute) == (clock.hour, clock.minute) and (day is None or at.date() == day)]
        if len(hits) == 1:
            return Chosen(hits[0])
        # A whole day and time that was not offered is a new request; a bare clock time is a missed pick.
        return None if day is not None and not hits else Unmatched()
    if day is not None:
        hits = [o for o, at in zip(offered, local, strict=True) if at.date() == day]
        return Chosen(hits[0]) if len(hits) == 1 else Unmatched()
    return None


def asks_to_cancel(text: str) -> bool:
    return _CANCEL.search(clean(text).lower()) is not None


def asks_to_move(text: str) -> bool:
    return _MOVE.search(clean(text).lower()) is not None
