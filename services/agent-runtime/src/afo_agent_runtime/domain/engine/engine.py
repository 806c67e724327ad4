"""The embedded conversation engine: one lead message in, one reply and what changed out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine.fields import Extraction, extract_fields
from afo_agent_runtime.domain.engine.intents import Intent, classify
from afo_agent_runtime.domain.engine.phone_region import phone_region_for
from afo_agent_runtime.domain.engine.replies import FixedLine, Replies
from afo_agent_runtime.domain.engine.scheduling import parse_meeting
from afo_agent_runtime.domain.engine.text import clean

_T = TypeVar("_T")
_HANDOFF_REASON = "the lead asked to talk to a person"
# Only an answer-like message may be read as a bare answer to the awaited question; "STOP" or
# "can I talk to a person" must not become a company name.
_ANSWER_INTENTS = frozenset({Intent.PROVIDE_INFO, Intent.OTHER})


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
        )


def _typed(data: Mapping[str, Any], key: str, kind: type[_T], default: _T) -> _T:
    value = data.get(key, default)
    # type() rather than isinstance(): True must not pass for an int.
    if type(value) is not kind:
        raise ValueError(f"memory.{key} must be {kind.__name__}")
    return value


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


@dataclass
class _Turn:
    """The reply being composed and the memory fields it changes."""

    parts: list[str] = field(default_factory=list)
    asked: bool = False  # a reply carries at most one question
    awaiting: str | None = None
    meeting: MeetingRequest | None = None
    pending_day: date | None = None


class EmbeddedEngine:
    """Rule-based and deterministic: it needs no model, no key and no network."""

    def respond(self, agent: AgentSpec, memory: ConversationMemory, text: str, now: datetime) -> TurnDecision:
        """Never raises for any `text`; raises ValueError only for a naive `now`."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        message = clean(text)
        intent = classify(message).intent
        by_name = {f.name: f for f in agent.qualification_fields}
        awaiting = memory.awaiting_field if intent in _ANSWER_INTENTS else None
        extraction = extract_fields(message, agent.qualification_fields, awaiting, phone_region_for(agent))
        intent = _informed(intent, extraction, message)
        changes = {
            name: extraction.values[name]
            for name in by_name
            if name in extraction.values and memory.lead.get(name) != extraction.values[name]
        }
        lead = memory.lead | changes
        missing = [f.name for f in agent.qualification_fields if f.required and f.name not in lead]
        replies = Replies(agent)
        decision = partial(
            TurnDecision,
            intent=intent,
            lead_changes=changes,
            invalid_fields=extraction.invalid,
            missing_fields=missing,
        )

        if memory.opted_out or intent is Intent.OPT_OUT:
            line: FixedLine = "already_opted_out" if memory.opted_out else "opted_out"
            return decision(
                reply=replies.line(line),
                memory=replace(memory, lead=lead, awaiting_field=None, opted_out=True, turns=memory.turns + 1),
                # Qualifying a lead who just opted out would start follow-ups they declined.
                became_qualified=False,
                meeting_request=None,
                handoff_reason=None,
                opted_out=not memory.opted_out,
            )

        turn = _Turn(pending_day=_iso_date(memory.pending_meeting_day))
        if not memory.greeted:
            turn.parts.append(replies.greeting())
        lead_name = _lead_name(agent, lead)
        new = [by_name[n] for n in changes if n not in memory.lead]
        updated = [by_name[n] for n in changes if n in memory.lead]
        if changes:
            turn.parts.append(replies.thanks(new, updated, lead_name))
        self._answer(agent, intent, message, now, turn, replies)
        handoff_reason = _HANDOFF_REASON if intent is Intent.HUMAN else None
        handed_off = memory.handoff_requested or handoff_reason is not None
        became_qualified = not memory.qualified and not missing

        if handed_off:
            # The person taking over asks what is still missing; the engine stops asking.
            if not turn.parts:
                turn.parts.append(replies.line("handoff_pending"))
        else:
            invalid = next((n for n in extraction.invalid if n in by_name), None)
            if invalid is not None and not turn.asked:
                turn.parts.append(replies.invalid(by_name[invalid], extraction.invalid[invalid]))
                turn.asked, turn.awaiting = True, invalid
            if missing and not turn.asked:
                turn.awaiting = missing[0]
                turn.parts.append(replies.question(by_name[missing[0]]))
            elif became_qualified:
                # The name was just used in the thanks; saying it twice in one reply reads oddly.
                turn.parts.append(replies.all_set(None if changes else lead_name))
                meeting_known = turn.meeting is not None or memory.meeting_start is not None
                if not turn.asked:
                    turn.parts.append(replies.line("meeting_follows" if meeting_known else "offer_meeting"))
        if not turn.parts:
            turn.parts.append(replies.line("anything_else"))

        return decision(
            reply=" ".join(turn.parts),
            memory=replace(
                memory,
                lead=lead,
                awaiting_field=turn.awaiting,
                greeted=True,
                qualified=memory.qualified or not missing,
                handoff_requested=handed_off,
                turns=memory.turns + 1,
                pending_meeting_day=turn.pending_day.isoformat() if turn.pending_day else None,
                meeting_start=turn.meeting.start.isoformat() if turn.meeting else memory.meeting_start,
            ),
            became_qualified=became_qualified,
            meeting_request=turn.meeting,
            handoff_reason=handoff_reason,
            opted_out=False,
        )

    def _answer(
        self, agent: AgentSpec, intent: Intent, message: str, now: datetime, turn: _Turn, replies: Replies
    ) -> None:
        if intent is Intent.HUMAN:
            turn.parts.append(replies.line("handoff"))
        elif intent is Intent.SCHEDULING:
            self._schedule(agent, message, now, turn, replies)
        elif intent is Intent.PRICING:
            turn.parts.append(replies.line("pricing"))
        elif intent is Intent.QUESTION:
            turn.parts.append(replies.line("unknown"))

    @staticmethod
    def _schedule(agent: AgentSpec, message: str, now: datetime, turn: _Turn, replies: Replies) -> None:
        tz = agent.tz()
        wanted = parse_meeting(message, now, tz, default_day=turn.pending_day)
        if wanted.start is not None:
            turn.meeting = MeetingRequest(start=wanted.start, timezone=agent.timezone, text=message)
            turn.pending_day = None
            turn.parts.append(replies.meeting(wanted.start, agent.timezone))
            return
        turn.asked = True
        if wanted.in_past:
            turn.parts.append(replies.line("meeting_in_past"))
        elif wanted.day is not None:
            turn.pending_day = wanted.day
            turn.parts.append(replies.ask_time(wanted.day))
        else:
            turn.parts.append(replies.line("ask_day_and_time"))


def _informed(intent: Intent, extraction: Extraction, message: str) -> Intent:
    """The intent, seen with what the message turned out to give.

    A message that filled a field is information even when its words alone read as small talk ("Acme",
    "hey, rachel here"); a stated budget is not a question about price ("price isn't an issue, we have
    50k"), nor a statement opening with "what" a question ("what we're after is …"), unless it asks one.
    """
    gave = bool(extraction.values or extraction.invalid)
    if gave and intent in (Intent.OTHER, Intent.GREETING):
        return Intent.PROVIDE_INFO
    if gave and intent in (Intent.PRICING, Intent.QUESTION) and not message.endswith("?"):
        return Intent.PROVIDE_INFO
    return intent


def _lead_name(agent: AgentSpec, lead: Mapping[str, str]) -> str | None:
    return next((lead[f.name] for f in agent.qualification_fields if f.kind == "name" and f.name in lead), None)


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
