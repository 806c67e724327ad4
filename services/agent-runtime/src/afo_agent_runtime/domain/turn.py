"""A conversation's memory, and what one turn does to it — the same transition whichever engine decided
the turn, the embedded rules or a language model:

- the lead takes the valid values given this turn, in the agent's field order; a value equal to the one
  already known is not a change;
- the required fields still missing are counted after that, and the lead qualifies on the first turn
  that leaves none missing, never again, and never on a turn that opts the lead out;
- the turn is counted, the lead is greeted, a hand-off once asked for stays asked for, and the last
  meeting asked for is remembered until another is;
- an offer of a person (made when the documents did not answer) stands for the next turn only.

The engines decide the reply, the intent, which values are valid and what was asked; this module turns
that into the ``TurnDecision`` the caller records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from afo_agent_runtime.domain.agent import AgentSpec
from afo_common.events.conversation import Citation

if TYPE_CHECKING:
    # Only a type here: the engine package imports this module, so a runtime import would be circular.
    from afo_agent_runtime.domain.engine.intents import Intent

_T = TypeVar("_T")


@dataclass(frozen=True)
class ConversationMemory:
    """What the engine carries between turns; the caller stores it as JSON."""

    lead: dict[str, str] = field(default_factory=dict)  # field name -> normalised value
    awaiting_field: str | None = None
    greeted: bool = False
    qualified: bool = False
    opted_out: bool = False
    handoff_requested: bool = False
    turns: int = 0
    pending_meeting_day: str | None = None  # ISO date the lead named without a time, until a time comes
    meeting_start: str | None = None  # ISO datetime of the last meeting the lead asked for
    handoff_offered: bool = False  # the last reply offered a person: a "yes" now hands off
    # Free times the calendar offered back after a failed booking (ISO datetimes, earliest first): the
    # lead's next words may pick one ("the second one", "10:30").
    offered_slots: tuple[str, ...] = ()
    meeting_id: str | None = None  # the lead's booked meeting, once the calendar confirmed it
    booked_start: str | None = None  # its start (ISO)
    # Meetings known to be cancelled: a confirmation that arrives after its cancellation is not announced.
    cancelled_meetings: tuple[str, ...] = ()

    def pending_day(self) -> date | None:
        """The day the lead named without a time, while it is a readable date."""
        try:
            return date.fromisoformat(self.pending_meeting_day) if self.pending_meeting_day else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            "lead": dict(self.lead),
            "awaiting_field": self.awaiting_field,
            "greeted": self.greeted,
            "qualified": self.qualified,
            "opted_out": self.opted_out,
            "handoff_requested": self.handoff_requested,
            "turns": self.turns,
            "pending_meeting_day": self.pending_meeting_day,
            "meeting_start": self.meeting_start,
            "handoff_offered": self.handoff_offered,
            "offered_slots": list(self.offered_slots),
            "meeting_id": self.meeting_id,
            "booked_start": self.booked_start,
            "cancelled_meetings": list(self.cancelled_meetings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversationMemory:
        """Missing keys take their defaults and unknown keys are ignored; a wrong type raises ValueError."""
        lead = data.get("lead") or {}
        if not isinstance(lead, dict) or not all(isinstance(v, str) for v in lead.values()):
            raise ValueError("memory.lead must map field names to strings")
        return cls(
            lead=dict(lead),
            awaiting_field=_optional(data, "awaiting_field", str),
            greeted=_typed(data, "greeted", bool, False),
            qualified=_typed(data, "qualified", bool, False),
            opted_out=_typed(data, "opted_out", bool, False),
            handoff_requested=_typed(data, "handoff_requested", bool, False),
            turns=_typed(data, "turns", int, 0),
            pending_meeting_day=_optional(data, "pending_meeting_day", str),
            meeting_start=_optional(data, "meeting_start", str),
            handoff_offered=_typed(data, "handoff_offered", bool, False),
            offered_slots=_strings(data, "offered_slots"),
            meeting_id=_optional(data, "meeting_id", str),
            booked_start=_optional(data, "booked_start", str),
            cancelled_meetings=_strings(data, "cancelled_meetings"),
        )

    def booked_at(self) -> datetime | None:
        """The booked meeting's start when it is a readable aware datetime."""
        try:
            start = datetime.fromisoformat(self.booked_start) if self.booked_start else None
        except ValueError:
            return None
        return start if start is not None and start.tzinfo is not None else None

    def offered_starts(self) -> list[datetime]:
        """The offered slots that are readable aware datetimes, in the order offered."""
        starts = []
        for slot in self.offered_slots:
            try:
                start = datetime.fromisoformat(slot)
            except ValueError:
                continue
            if start.tzinfo is not None:
                starts.append(start)
        return starts


def _typed(data: Mapping[str, Any], key: str, kind: type[_T], default: _T) -> _T:
    value = data.get(key, default)
    # type() rather than isinstance(): True must not pass for an int.
    if type(value) is not kind:
        raise ValueError(f"memory.{key} must be {kind.__name__}")
    return value


def _strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"memory.{key} must be a list of strings")
    return tuple(value)


def _optional(data: Mapping[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"memory.{key} must be {kind.__name__} or null")
    return value


@dataclass(frozen=True)
class MeetingRequest:
    start: datetime  # aware, in the agent's time zone
    timezone: str
    text: str  # the lead's words, for the person confirming the booking
    # A reschedule: the booked meeting this one replaces (cancelled once the new time is booked).
    replaces_meeting_id: str | None = None


@dataclass(frozen=True)
class TurnDecision:
    reply: str
    intent: Intent
    memory: ConversationMemory  # the updated memory
    lead_changes: dict[str, str]  # fields newly set or changed this turn
    invalid_fields: dict[str, str]  # field -> reason
    missing_fields: list[str]  # required fields still missing after this turn
    became_qualified: bool  # True only on the turn all required fields became valid
    meeting_request: MeetingRequest | None
    handoff_reason: str | None
    opted_out: bool  # True only on the turn the lead opted out
    citations: tuple[Citation, ...] = ()  # the documents the reply quotes, numbered as its [n] markers
    cancel_meeting_id: str | None = None  # the lead asked to cancel this booked meeting
    # The lead's question the reply could not answer from the documents (it said so): counted by analytics.
    unanswered: str | None = None


@dataclass(frozen=True)
class LeadUpdate:
    """The lead once this turn's valid values are in, known before the reply is composed."""

    lead: dict[str, str]
    changes: dict[str, str]
    missing: list[str]
    became_qualified: bool


def update_lead(agent: AgentSpec, memory: ConversationMemory, values: Mapping[str, str]) -> LeadUpdate:
    """``values``: field name -> valid, normalised value; names the agent does not collect are ignored."""
    changes = {
        f.name: values[f.name]
        for f in agent.qualification_fields
        if f.name in values and memory.lead.get(f.name) != values[f.name]
    }
    lead = memory.lead | changes
    missing = [f.name for f in agent.qualification_fields if f.required and f.name not in lead]
    return LeadUpdate(lead, changes, missing, became_qualified=not memory.qualified and not missing)


def conclude(
    memory: ConversationMemory,
    update: LeadUpdate,
    *,
    reply: str,
    intent: Intent,
    invalid: Mapping[str, str],
    awaiting_field: str | None,
    pending_meeting_day: date | None,
    meeting: MeetingRequest | None,
    handoff_reason: str | None,
    citations: tuple[Citation, ...] = (),
    handoff_offered: bool = False,
    cancel_meeting_id: str | None = None,
    unanswered: str | None = None,
) -> TurnDecision:
    """A turn in which the lead did not opt out. Asking for a time (a pick among the offered ones or
    another) ends the offer."""
    return TurnDecision(
        reply=reply,
        intent=intent,
        memory=replace(
            memory,
            lead=update.lead,
            awaiting_field=awaiting_field,
            greeted=True,
            qualified=memory.qualified or not update.missing,
            handoff_requested=memory.handoff_requested or handoff_reason is not None,
            turns=memory.turns + 1,
            pending_meeting_day=pending_meeting_day.isoformat() if pending_meeting_day else None,
            meeting_start=meeting.start.isoformat() if meeting else memory.meeting_start,
            handoff_offered=handoff_offered,
            offered_slots=() if meeting is not None else memory.offered_slots,
        ),
        lead_changes=update.changes,
        invalid_fields=dict(invalid),
        missing_fields=update.missing,
        became_qualified=update.became_qualified,
        meeting_request=meeting,
        handoff_reason=handoff_reason,
        opted_out=False,
        citations=citations,
        cancel_meeting_id=cancel_meeting_id,
        unanswered=unanswered,
    )


def opt_out(
    memory: ConversationMemory, update: LeadUpdate, *, reply: str, intent: Intent, invalid: Mapping[str, str]
) -> TurnDecision:
    """A turn from a lead who opts out now or did before: what they gave is kept and nothing more is asked."""
    return TurnDecision(
        reply=reply,
        intent=intent,
        memory=replace(memory, lead=update.lead, awaiting_field=None, opted_out=True, turns=memory.turns + 1,
                       handoff_offered=False),
        lead_changes=update.changes,
        invalid_fields=dict(invalid),
        missing_fields=update.missing,
        # Qualifying a lead who just opted out would start follow-ups they declined.
        became_qualified=False,
        meeting_request=None,
        handoff_reason=None,
        opted_out=not memory.opted_out,
    )
