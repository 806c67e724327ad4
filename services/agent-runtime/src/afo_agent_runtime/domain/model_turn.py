"""What a language model does during one turn through its tools — records the lead's details, asks for a
meeting, hands off, reads the tenant's documents — checked by the embedded engine's own field validators and
time parser, and ended by the transition both engines share (``domain.turn``). Each tool answers the model
with a result that tells it what happened and what to do next.

Documents: every passage a search shows the model is numbered for the whole turn ([1], [2], … then [3] for
the next search), with its title and page; the reply's citations are the passages whose numbers the final
text uses ("[2]", "[1, 3]", "[1][3]"), in the order of their numbers — a number never shown is dropped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine import FieldInvalid, Intent, classify, parse_meeting, validate_field
from afo_agent_runtime.domain.engine.answers import question_of
from afo_agent_runtime.domain.engine.offers import Chosen, Unmatched, choose_offer
from afo_agent_runtime.domain.engine.phone_region import phone_region_for
from afo_agent_runtime.domain.engine.replies import describe_times
from afo_agent_runtime.domain.engine.sentences import trim
from afo_agent_runtime.domain.knowledge import Passage, usable
from afo_agent_runtime.domain.turn import (
    ConversationMemory,
    MeetingRequest,
    TurnDecision,
    conclude,
    update_lead,
)
from afo_common.events.conversation import Citation

# Without a tool outcome the classifier's intent stands, unless it claims an action no tool carried out.
_CLASSIFIED_INTENTS = frozenset({Intent.GREETING, Intent.QUESTION, Intent.PRICING})
_DEFAULT_HANDOFF_REASON = "the assistant asked for a person to take over"
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
SNIPPET_CHARS = 300
SEARCH_FAILED = (
    "The search is unavailable right now. Tell the lead you can't look that up at the moment and offer to "
    "connect them with someone from the team; do not answer from memory."
)
NOTHING_FOUND = (
    "No passages found. Say you couldn't find that in the documents rather than guessing, and offer to "
    "connect the lead with someone from the team."
)
CITE = (
    "Answer only from these passages and cite each one you use by its number, as [1]. If they do not "
    "answer the question, say you don't know rather than guessing."
)


@dataclass
class ModelTurn:
    agent: AgentSpec
    memory: ConversationMemory
    text: str  # the lead's message
    now: datetime
    values: dict[str, str] = field(init=False, default_factory=dict)  # valid values given; the latest wins
    invalid: dict[str, str] = field(init=False, default_factory=dict)
    pending_day: date | None = field(init=False, default=None)
    meeting: MeetingRequest | None = field(init=False, default=None)
    handoff_reason: str | None = field(init=False, default=None)
    cancel_meeting_id: str | None = field(init=False, default=None)
    sources: dict[int, Passage] = field(init=False, default_factory=dict)  # the passages shown, by number
    searched: bool = field(init=False, default=False)  # a search of the documents answered this turn

    def __post_init__(self) -> None:
        self.pending_day = self.memory.pending_day()

    def record_lead(self, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            return {"error": "`fields` must be an object of field name to value"}
        kinds = {f.name: f.kind for f in self.agent.qualification_fields}
        region = phone_region_for(self.agent)
        accepted: dict[str, str] = {}
        invalid: dict[str, str] = {}
        for name, value in fields.items():
            if name not in kinds:
                invalid[name] = f"unknown field; the fields are: {', '.join(kinds)}"
                continue
            try:
                accepted[name] = validate_field(kinds[name], "" if value is None else str(value), region)
            except FieldInvalid as exc:
                invalid[name] = exc.reason
        self.values.update(accepted)
        for name in accepted:
            self.invalid.pop(name, None)
        # Unknown names are the model's mistake, not the lead's, so the decision does not report them.
        self.invalid.update({name: reason for name, reason in invalid.items() if name in kinds})
        advice = "Tell the lead what was wrong with each invalid value and ask again." if invalid else None
        still_missing = update_lead(self.agent, self.memory, self.values).missing
        return {"accepted": accepted, "invalid": invalid, "still_missing": still_missing, "advice": advice}

    def request_meeting(self, when: Any, note: Any) -> dict[str, Any]:
        """A time asked for — one of the offered times picked by position or clock ("the second one",
        "10:30") or any other — and, with a meeting booked, a move of that meeting."""
        tz = self.agent.tz()
        offered = self.memory.offered_starts()
        choice = choose_offer(str(when or ""), offered, self.now, tz)
        if isinstance(choice, Unmatched):
            times = describe_times([o.astimezone(tz) for o in offered])
            return {"ok": False, "error": f"that matches none of the offered times ({times}); ask which one"}
        if isinstance(choice, Chosen):
            return self._meeting_at(choice.start.astimezone(tz), note)
        wanted = parse_meeting(str(when or ""), self.now, tz, default_day=self.pending_day)
        if wanted.start is None:
            if wanted.day is not None and wanted.clock is None:
                self.pending_day = wanted.day
                problem = f"that gives a day ({wanted.day:%A %d %B}) but no time; ask what time suits them"
            elif wanted.in_past:
                problem = "that time has already passed; ask for a later day and time"
            else:
                problem = f"could not understand {when!r} as a time; ask the lead for a day and time"
            return {"ok": False, "error": problem}
        return self._meeting_at(wanted.start, note)

    def _meeting_at(self, start: datetime, note: Any) -> dict[str, Any]:
        self.pending_day = None
        words = self.text if not note else f"{self.text} (note: {note})"
        replaces = self.memory.meeting_id
        self.meeting = MeetingRequest(start=start, timezone=self.agent.timezone, text=words,
                                      replaces_meeting_id=replaces)
        readable = f"{start:%A %d %B %Y, %H:%M} ({self.agent.timezone})"
        result: dict[str, Any] = {"ok": True, "start": start.isoformat(), "readable": readable,
                                  "note": "Tell the lead you are booking it and will confirm once it is booked."}
        if replaces:
            result["moves_meeting"] = replaces
        return result

    def cancel_meeting(self) -> dict[str, Any]:
        if self.memory.meeting_id is None:
            return {"ok": False, "error": "the lead has no booked meeting; tell them so"}
        self.cancel_meeting_id = self.memory.meeting_id
        return {"ok": True, "note": "Tell the lead you are cancelling it and will confirm once it is done."}

    def context(self) -> str | None:
        """What the model must know about meetings before it answers: times on offer, the booked one."""
        tz = self.agent.tz()
        lines = []
        if offered := self.memory.offered_starts():
            lines.append(f"The calendar offered these free times (the requested one was taken): "
                         f"{describe_times([o.astimezone(tz) for o in offered])}. If the lead picks one, call "
                         f"request_meeting with it (\"the second one\" is fine).")
        if self.memory.meeting_id and self.memory.booked_start:
            start = datetime.fromisoformat(self.memory.booked_start).astimezone(tz)
            lines.append(f"The lead has a meeting booked for {start:%A %d %B %Y, %H:%M} ({self.agent.timezone}). "
                         "To move it call request_meeting with the new time; to cancel it call cancel_meeting.")
        return "\n".join(lines) or None

    def hand_off(self, reason: Any) -> dict[str, Any]:
        self.handoff_reason = str(reason or _DEFAULT_HANDOFF_REASON)
        return {"ok": True, "note": "A teammate will take over; tell the lead a person will follow up."}

    def search_result(self, passages: Sequence[Passage] | None) -> str:
        """What the model reads from a search: the passages numbered after those already shown, or that
        nothing was found, or (``None``) that the search failed."""
        if passages is None:
            return SEARCH_FAILED
        self.searched = True
        found = usable(passages, self.agent.knowledge_base_ids)
        if not found:
            return NOTHING_FOUND
        blocks = []
        for number, passage in enumerate(found, start=len(self.sources) + 1):
            self.sources[number] = passage
            page = f", page {passage.page}" if passage.page is not None else ""
            blocks.append(f"[{number}] {passage.title}{page}\n{passage.text}")
        return "\n\n".join([*blocks, CITE])

    def citations(self, reply: str) -> tuple[Citation, ...]:
        used = {int(n) for marker in _MARKER.finditer(reply) for n in marker.group(1).split(",")}
        return tuple(
            Citation(index=n, document_id=p.document_id, title=p.title, page=p.page,
                     snippet=trim(" ".join(p.text.split()), SNIPPET_CHARS), chunk_id=p.chunk_id)
            for n, p in sorted(self.sources.items()) if n in used
        )

    def decision(self, reply: str) -> TurnDecision:
        update = update_lead(self.agent, self.memory, self.values)
        citations = self.citations(reply)
        if self.meeting is not None or self.cancel_meeting_id is not None:
            intent = Intent.SCHEDULING
        elif self.handoff_reason is not None:
            intent = Intent.HUMAN
        elif update.changes:
            intent = Intent.PROVIDE_INFO
        else:
            classified = classify(self.text).intent
            intent = classified if classified in _CLASSIFIED_INTENTS else Intent.OTHER
        return conclude(
            self.memory,
            update,
            reply=reply,
            intent=intent,
            invalid=self.invalid,
            # The model's question is free text; only the embedded engine reads a bare answer by field.
            awaiting_field=None,
            pending_meeting_day=self.pending_day,
            meeting=self.meeting,
            handoff_reason=self.handoff_reason,
            citations=citations,
            cancel_meeting_id=self.cancel_meeting_id,
            # The model searched the documents and quotes none of them: it said it couldn't find it (as told).
            unanswered=(question_of(self.text) or self.text) if self.searched and not citations else None,
        )
