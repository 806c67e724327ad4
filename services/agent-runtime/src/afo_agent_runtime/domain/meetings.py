"""What the calendar's answers do to a conversation: ``meeting.booked``, ``meeting.failed`` and
``meeting.cancelled`` turned into the agent's message to the lead and the memory and lead fields they change.

Rules (the events come on separate consumers, so in any order, and any of them more than once):
- booked: the meeting becomes the lead's (``meeting_id``, ``meeting_start`` in its fields) and the offer of
  other times ends; a reschedule (``rescheduled_from``) marks the earlier meeting cancelled. A booking
  already known, or of a meeting already known cancelled (its cancellation overtook it), changes nothing
  and says nothing.
- failed: the lead is told why, and offered the free times (kept, so their next words may pick one) or the
  scheduling link; with neither, that the team will follow up.
- cancelled: the meeting is marked cancelled (so a late confirmation is ignored); the lead's current
  meeting is dropped from its fields. A cancellation because the lead's new time was booked says nothing
  (the confirmation does); a second cancellation of one meeting changes nothing.
Times are said in the event's time zone (the agent's, which the request carried)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from afo_agent_runtime.domain.engine.replies import describe_start, describe_times
from afo_agent_runtime.domain.turn import ConversationMemory
from afo_common.events.workflow import MeetingBooked, MeetingCancelled, MeetingFailed

MEETING_FIELDS = ("meeting_id", "meeting_start")
_WHY = {
    "slot_taken": "That time is taken",
    "outside_hours": "That time is outside our hours",
    "too_soon": "That time is a little too soon",
    "beyond_horizon": "That time is too far ahead",
}


@dataclass(frozen=True)
class MeetingNews:
    memory: ConversationMemory
    reply: str | None  # what the agent tells the lead; None: nothing to say
    lead_changes: dict[str, str] = field(default_factory=dict)
    lead_removed: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.reply is not None or bool(self.lead_changes or self.lead_removed)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def booked(memory: ConversationMemory, event: MeetingBooked) -> MeetingNews:
    if event.meeting_id in memory.cancelled_meetings or event.meeting_id == memory.meeting_id:
        return MeetingNews(memory, None)
    tz = _zone(event.timezone, "UTC")
    cancelled = memory.cancelled_meetings
    if event.rescheduled_from and event.rescheduled_from not in cancelled:
        cancelled = (*cancelled, event.rescheduled_from)
    start = event.start.isoformat()
    changes = {"meeting_id": event.meeting_id, "meeting_start": start}
    updated = replace(memory, meeting_id=event.meeting_id, booked_start=start, offered_slots=(),
                      cancelled_meetings=cancelled, lead=memory.lead | changes)
    when = f"{describe_start(event.start.astimezone(tz))} ({tz.key})"
    reply = (f"You're all set — your meeting is moved to {when}." if event.rescheduled_from
             else f"You're booked! Your meeting is on {when}.")
    return MeetingNews(updated, reply, changes)


def failed(memory: ConversationMemory, event: MeetingFailed, agent_timezone: str) -> MeetingNews:
    tz = _zone(event.timezone, agent_timezone)
    why = _WHY.get(event.reason, "I couldn't book that time")
    if event.scheduling_url:
        reply = f"You can pick the time that suits you here: {event.scheduling_url}"
        return MeetingNews(replace(memory, offered_slots=()), reply)
    if event.alternatives:
        starts = [slot.start.astimezone(tz) for slot in event.alternatives]
        reply = f"{why} — I can offer {describe_times(starts)} ({tz.key}). Which suits you?"
        return MeetingNews(replace(memory, offered_slots=tuple(s.isoformat() for s in starts)), reply)
    if event.reason in _WHY:
        reply = f"{why}, and I have no free times to offer just now — someone from the team will be in touch."
    else:
        reply = "I couldn't book the meeting just now — someone from the team will be in touch to arrange it."
    return MeetingNews(replace(memory, offered_slots=()), reply)


def cancelled(memory: ConversationMemory, event: MeetingCancelled) -> MeetingNews:
    if event.meeting_id in memory.cancelled_meetings:
        return MeetingNews(memory, None)
    updated = replace(memory, cancelled_meetings=(*memory.cancelled_meetings, event.meeting_id))
    current = memory.meeting_id == event.meeting_id
    removed: tuple[str, ...] = ()
    if current:
        lead = {k: v for k, v in memory.lead.items() if k not in MEETING_FIELDS}
        removed = tuple(k for k in MEETING_FIELDS if k in memory.lead)
        updated = replace(updated, meeting_id=None, booked_start=None, lead=lead)
    if event.by == "rescheduled":
        return MeetingNews(updated, None, lead_removed=removed)
    reply = "Your meeting is cancelled." if event.by == "lead" else \
        "Your meeting has been cancelled by the team."
    if current:
        reply += " If you'd like another time, just tell me a day and time."
    return MeetingNews(updated, reply, lead_removed=removed)
