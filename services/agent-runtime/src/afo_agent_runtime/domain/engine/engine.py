"""The embedded conversation engine: one lead message in, one reply and what changed out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.engine.answers import AnswerPolicy, compose_answer, question_of, questions_in
from afo_agent_runtime.domain.engine.fields import Extraction, extract_fields
from afo_agent_runtime.domain.engine.intents import Intent, accepts, classify
from afo_agent_runtime.domain.engine.offers import Chosen, Unmatched, asks_to_cancel, asks_to_move, choose_offer
from afo_agent_runtime.domain.engine.phone_region import phone_region_for
from afo_agent_runtime.domain.engine.read_back import spoken_email, spoken_phone
from afo_agent_runtime.domain.engine.replies import FixedLine, Replies
from afo_agent_runtime.domain.engine.scheduling import parse_meeting
from afo_agent_runtime.domain.engine.text import clean
from afo_agent_runtime.domain.knowledge import Lookup, usable
from afo_agent_runtime.domain.turn import (
    ConversationMemory,
    MeetingRequest,
    TurnDecision,
    conclude,
    opt_out,
    update_lead,
)
from afo_common.events.conversation import Citation

_HANDOFF_REASON = "the lead asked to talk to a person"
_ACCEPTED_REASON = "the lead accepted the offer of a person after a question the documents did not answer"
# What the tenant's documents are searched for; prices are in the documents too.
KNOWLEDGE_INTENTS = frozenset({Intent.QUESTION, Intent.PRICING})
# A message read as one of these may still ask a question in a sentence of its own.
_ASIDE_INTENTS = frozenset({Intent.PROVIDE_INFO, Intent.GREETING, Intent.OTHER})
# Only an answer-like message may be read as a bare answer to the awaited question; "STOP" or
# "can I talk to a person" must not become a company name.
_ANSWER_INTENTS = frozenset({Intent.PROVIDE_INFO, Intent.OTHER})


@dataclass
class _Turn:
    """The reply being composed and the memory fields it changes."""

    parts: list[str] = field(default_factory=list)
    asked: bool = False  # a reply carries at most one question
    awaiting: str | None = None
    meeting: MeetingRequest | None = None
    pending_day: date | None = None
    citations: tuple[Citation, ...] = ()
    offered_handoff: bool = False
    cancel_meeting_id: str | None = None
    unanswered: str | None = None  # the question the reply says it cannot answer


class EmbeddedEngine:
    """Rule-based and deterministic: it needs no model, no key and no network.

    Questions are answered from the tenant's documents when the agent has knowledge bases: the caller asks
    ``knowledge_query`` whether to search, searches, and passes what it found to ``respond`` (which stays
    pure). ``answers`` holds the thresholds of the extractive answers (``answers.py``)."""

    def __init__(self, answers: AnswerPolicy | None = None) -> None:
        self._answers = answers or AnswerPolicy()

    def knowledge_query(self, agent: AgentSpec, memory: ConversationMemory, text: str) -> str | None:
        """What to search the agent's documents for before ``respond``, or None: only for a question (about
        price too, or asked beside information) of a lead who has not opted out, to an agent with knowledge
        bases."""
        if not agent.knowledge_base_ids or memory.opted_out:
            return None
        message = clean(text)
        return _question(message, classify(message).intent)

    def respond(self, agent: AgentSpec, memory: ConversationMemory, text: str, now: datetime,
                knowledge: Lookup | None = None, *, spoken: bool = False) -> TurnDecision:
        """Never raises for any `text`; raises ValueError only for a naive `now`. ``knowledge``: what the
        search ``knowledge_query`` asked for found (None: not searched, and questions are answered as
        without documents). ``spoken``: the lead is on a call, so an email or phone just heard is read back."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        message = clean(text)
        intent = classify(message).intent
        # The last reply offered a person; a bare "yes" takes the offer.
        accepted = memory.handoff_offered and intent is not Intent.OPT_OUT and accepts(message)
        if accepted:
            intent = Intent.HUMAN
        by_name = {f.name: f for f in agent.qualification_fields}
        # A pick among the offered times ("the third one"), a move or a cancel answers the meeting, not the
        # field the last reply asked for: it is not read as that field's (invalid) value.
        about_meetings = intent is not Intent.HUMAN and _about_meetings(agent, memory, message, now)
        awaiting = memory.awaiting_field if intent in _ANSWER_INTENTS and not about_meetings else None
        extraction = extract_fields(message, agent.qualification_fields, awaiting, phone_region_for(agent))
        intent = _informed(intent, extraction, message)
        update = update_lead(agent, memory, extraction.values)
        changes, missing = update.changes, update.missing
        replies = Replies(agent)

        if memory.opted_out or intent is Intent.OPT_OUT:
            line: FixedLine = "already_opted_out" if memory.opted_out else "opted_out"
            return opt_out(memory, update, reply=replies.line(line), intent=intent, invalid=extraction.invalid)

        turn = _Turn(pending_day=memory.pending_day())
        if about_meetings:
            intent = Intent.SCHEDULING
        if not memory.greeted:
            turn.parts.append(replies.greeting())
        lead_name = _lead_name(agent, update.lead)
        new = [by_name[n] for n in changes if n not in memory.lead]
        updated = [by_name[n] for n in changes if n in memory.lead]
        if changes:
            turn.parts.append(replies.thanks(new, updated, lead_name))
            heard = [_spelled(f.kind, update.lead[f.name]) for f in [*new, *updated] if f.kind in ("email", "phone")]
            if spoken and heard:
                turn.parts.append(replies.read_back(heard))
        self._answer(agent, memory, intent, message, now, turn, replies, knowledge, spoken)
        handoff_reason = (_ACCEPTED_REASON if accepted else _HANDOFF_REASON) if intent is Intent.HUMAN else None
        handed_off = memory.handoff_requested or handoff_reason is not None

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
            elif update.became_qualified:
                # The name was just used in the thanks; saying it twice in one reply reads oddly.
                turn.parts.append(replies.all_set(None if changes else lead_name))
                meeting_known = turn.meeting is not None or memory.meeting_start is not None
                if not turn.asked:
                    turn.parts.append(replies.line("meeting_follows" if meeting_known else "offer_meeting"))
        if not turn.parts:
            turn.parts.append(replies.line("anything_else"))

        return conclude(
            memory,
            update,
            reply=" ".join(turn.parts),
            intent=intent,
            invalid=extraction.invalid,
            awaiting_field=turn.awaiting,
            pending_meeting_day=turn.pending_day,
            meeting=turn.meeting,
            handoff_reason=handoff_reason,
            citations=turn.citations,
            handoff_offered=turn.offered_handoff,
            cancel_meeting_id=turn.cancel_meeting_id,
            unanswered=turn.unanswered,
        )

    def _answer(self, agent: AgentSpec, memory: ConversationMemory, intent: Intent, message: str, now: datetime,
                turn: _Turn, replies: Replies, knowledge: Lookup | None, spoken: bool) -> None:
        if intent is Intent.HUMAN:
            # On a call to an agent with a transfer number, the caller is put through (voice-media dials it).
            transfers = spoken and agent.voice.transfer_to is not None
            turn.parts.append(replies.line("handoff_transfer" if transfers else "handoff"))
        elif intent is Intent.SCHEDULING:
            if not _meetings(agent, memory, message, now, turn, replies):
                self._schedule(agent, message, now, turn, replies, replaces=memory.meeting_id,
                               booked=memory.booked_at())
        elif knowledge is not None and agent.knowledge_base_ids and (question := _question(message, intent)):
            self._from_documents(agent, memory, question, turn, replies, knowledge)
        elif intent is Intent.PRICING:
            turn.parts.append(replies.line("pricing"))
        elif intent is Intent.QUESTION:
            turn.parts.append(replies.line("unknown"))
            turn.unanswered = question_of(message) or message

    def _from_documents(self, agent: AgentSpec, memory: ConversationMemory, message: str, turn: _Turn,
                        replies: Replies, knowledge: Lookup) -> None:
        """Quote the documents, or say honestly that they were not found or not searchable and offer a
        person (unless one is already on the way); the offer is the reply's one question."""
        answer = None
        if not knowledge.failed:
            answer = compose_answer(message, usable(knowledge.passages, agent.knowledge_base_ids), self._answers)
        if answer is not None:
            turn.parts.append(replies.answer(answer.text))
            turn.citations = answer.citations
            return
        # The documents did not answer (a search that failed says nothing about them): a question to count.
        turn.unanswered = None if knowledge.failed else message
        if memory.handoff_requested:
            turn.parts.append(replies.line("documents_after_handoff"))
        else:
            turn.parts.append(replies.line("lookup_failed" if knowledge.failed else "not_in_documents"))
            turn.asked = turn.offered_handoff = True

    @staticmethod
    def _schedule(agent: AgentSpec, message: str, now: datetime, turn: _Turn, replies: Replies,
                  replaces: str | None = None, booked: datetime | None = None) -> None:
        """A time asked for; with a meeting booked, a move of that meeting — unless it is the time already
        booked (``booked``), which is said and not asked of the calendar again."""
        tz = agent.tz()
        wanted = parse_meeting(message, now, tz, default_day=turn.pending_day)
        if wanted.start is not None and replaces and booked == wanted.start:
            turn.pending_day = None
            turn.parts.append(replies.already_booked(wanted.start, agent.timezone))
            return
        if wanted.start is not None:
            turn.meeting = MeetingRequest(start=wanted.start, timezone=agent.timezone, text=message,
                                          replaces_meeting_id=replaces)
            turn.pending_day = None
            say = replies.moving if replaces else replies.meeting
            turn.parts.append(say(wanted.start, agent.timezone))
            return
        turn.asked = True
        if wanted.in_past:
            turn.parts.append(replies.line("meeting_in_past"))
        elif wanted.day is not None:
            turn.pending_day = wanted.day
            turn.parts.append(replies.ask_time(wanted.day))
        else:
            turn.parts.append(replies.line("ask_day_and_time"))


def _about_meetings(agent: AgentSpec, memory: ConversationMemory, message: str, now: datetime) -> bool:
    """Whether the message answers the times on offer, or asks to move or cancel the booked meeting."""
    if asks_to_cancel(message):
        return True
    if memory.meeting_id is not None and asks_to_move(message):
        return True
    return choose_offer(message, memory.offered_starts(), now, agent.tz()) is not None


def _meetings(agent: AgentSpec, memory: ConversationMemory, message: str, now: datetime, turn: _Turn,
              replies: Replies) -> bool:
    """A cancel, or a pick among the offered times (a missed pick lists them again); False: neither, the
    message is read as a time asked for."""
    tz = agent.tz()
    if asks_to_cancel(message):
        if memory.meeting_id is None:
            turn.parts.append(replies.line("no_meeting_to_cancel"))
        else:
            turn.cancel_meeting_id = memory.meeting_id
            turn.parts.append(replies.line("cancel_requested"))
        return True
    offered = memory.offered_starts()
    choice = choose_offer(message, offered, now, tz)
    if isinstance(choice, Chosen):
        start = choice.start.astimezone(tz)
        turn.meeting = MeetingRequest(start=start, timezone=agent.timezone, text=message,
                                      replaces_meeting_id=memory.meeting_id)
        turn.pending_day = None
        turn.parts.append(replies.picked(start, agent.timezone))
        return True
    if isinstance(choice, Unmatched):
        turn.parts.append(replies.offer_again([o.astimezone(tz) for o in offered]))
        turn.asked = True
        return True
    return False


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


def _question(message: str, intent: Intent) -> str | None:
    """What the lead asks that the documents may answer: a question (about price too), or the question
    asked beside information ("I'm Dana from Acme. Do you integrate with Salesforce?")."""
    if intent in KNOWLEDGE_INTENTS:
        return question_of(message) or None
    if intent in _ASIDE_INTENTS and (asked := questions_in(message)):
        return asked if classify(asked).intent in KNOWLEDGE_INTENTS else None
    return None


def _spelled(kind: str, value: str) -> str:
    return f"your email is {spoken_email(value)}" if kind == "email" else f"your number is {spoken_phone(value)}"


def _lead_name(agent: AgentSpec, lead: Mapping[str, str]) -> str | None:
    return next((lead[f.name] for f in agent.qualification_fields if f.kind == "name" and f.name in lead), None)
