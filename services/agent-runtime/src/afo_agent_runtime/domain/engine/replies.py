"""What the embedded agent says, in one of three registers chosen from its persona. No randomness."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from afo_agent_runtime.domain.agent import AgentSpec, FieldKind, QualificationField

FixedLine = Literal[
    "pricing",
    "unknown",
    "not_in_documents",
    "lookup_failed",
    "documents_after_handoff",
    "handoff",
    "handoff_transfer",
    "handoff_pending",
    "opted_out",
    "already_opted_out",
    "ask_day_and_time",
    "meeting_in_past",
    "offer_meeting",
    "meeting_follows",
    "anything_else",
    "cancel_requested",
    "no_meeting_to_cancel",
]


class Register(StrEnum):
    NEUTRAL = "neutral"
    FORMAL = "formal"
    WARM = "warm"


_REGISTER_WORDS = re.compile(
    r"\b(?P<formal>formal|professional|polite|courteous|corporate|respectful)\b|"
    r"\b(?P<warm>friendly|casual|warm|relaxed|cheerful|upbeat|playful|fun)\b",
    re.IGNORECASE,
)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NOUNS: dict[FieldKind, str] = {
    "email": "email",
    "phone": "phone number",
    "company": "company name",
    "need": "description",
    "budget": "budget",
    "timeline": "timeline",
    "name": "name",
    "text": "answer",
}

# Each phrase in the order (neutral, formal, warm).
_PHRASES: dict[str, tuple[str, str, str]] = {
    "greeting": (
        "Hi, I'm {name}, your {role}.",
        "Hello, my name is {name} and I am your {role}.",
        "Hi there! I'm {name}, your {role}.",
    ),
    "thanks": ("Thanks{to} — {things}.", "Thank you{to}. I have {things}.", "Thanks so much{to} — {things}!"),
    "read_back": (
        "Let me read that back: {spelled}. Is that right?",
        "Allow me to read that back: {spelled}. Is that correct?",
        "Let me read that back to be sure: {spelled}. Did I get it right?",
    ),
    "invalid": (
        "That {noun} doesn't look right — {reason}. Could you check it?",
        "I'm afraid that {noun} does not appear to be valid: {reason}. Could you please check it?",
        "Hmm, that {noun} doesn't look quite right — {reason}. Mind checking it?",
    ),
    "pricing": (
        "Pricing depends on your setup, so rather than guess a number I'll make sure the team sends you "
        "a tailored quote.",
        "Pricing depends on your requirements; rather than estimate, I will ensure the team sends you a "
        "tailored quote.",
        "Pricing really depends on your setup, so instead of guessing I'll get the team to send you a quote that fits!",
    ),
    "unknown": (
        "Good question — I don't have any documents to answer that from yet, so I won't guess. I can "
        "connect you with a person on the team if you'd like.",
        "That is a fair question. I do not yet have any documents to answer it from, so I would rather "
        "not guess; I can connect you with a member of the team if you wish.",
        "Great question! I don't have any documents to answer that from yet, so I won't guess — happy "
        "to connect you with someone on the team, though.",
    ),
    # The knowledge base has no answer, or could not be searched: say so, never guess, and offer a person
    # (a "yes" to the offer is a hand-off: engine.py).
    "not_in_documents": (
        "I couldn't find that in our documents — would you like me to connect you with someone from the team?",
        "I could not find that in our documents. Would you like me to connect you with a member of the team?",
        "Hmm, I couldn't find that in our documents — would you like me to connect you with someone from "
        "the team?",
    ),
    "lookup_failed": (
        "I can't look that up right now — would you like me to connect you with someone from the team?",
        "I am unable to look that up at the moment. Would you like me to connect you with a member of the "
        "team?",
        "Sorry, I can't look that up right now — would you like me to connect you with someone from the team?",
    ),
    "documents_after_handoff": (
        "I can't answer that from our documents — the person from the team picking this up will help with it.",
        "I am unable to answer that from our documents; the member of the team taking over will assist you "
        "with it.",
        "I can't answer that from our documents, but the person from the team picking this up will help!",
    ),
    "answer": (
        "From our documents: {answer}",
        "According to our documentation: {answer}",
        "Good question! From our documents: {answer}",
    ),
    "handoff": (
        "Of course — I'm passing this conversation to a person on the team, and they'll reply here shortly.",
        "Certainly. I am passing this conversation to a member of the team, who will reply here shortly.",
        "Of course! I'm handing you over to a person on the team — they'll reply here shortly.",
    ),
    "handoff_transfer": (
        "Of course — I'm putting you through to a person on the team now. One moment, please.",
        "Certainly. I am transferring your call to a member of the team now. One moment, please.",
        "Of course! I'm putting you through to someone on the team right now — one moment!",
    ),
    "handoff_pending": (
        "Thanks — a person from the team will pick this up here shortly.",
        "Thank you. A member of the team will respond here shortly.",
        "Thanks! Someone from the team will pick this up here shortly.",
    ),
    "opted_out": (
        "Understood — you've been opted out and won't receive any more messages from us.",
        "Understood. You have been opted out and will not receive any further messages from us.",
        "No problem — you've been opted out and won't hear from us again.",
    ),
    "already_opted_out": (
        "You've opted out, so you won't receive any more messages from us.",
        "You have opted out and will not receive any further messages from us.",
        "You've opted out, so you won't hear from us again.",
    ),
    "meeting": (
        "I've passed {when} ({zone}) on to the team as your preferred time.",
        "I have passed {when} ({zone}) on to the team as your preferred time.",
        "Done — I've passed {when} ({zone}) on to the team as your preferred time!",
    ),
    "ask_day_and_time": (
        "Happy to set up a call — what day and time work for you?",
        "I would be glad to arrange a call. Which day and time would suit you?",
        "I'd love to set up a call — what day and time work for you?",
    ),
    "ask_time": (
        "What time on {day} works for you?",
        "At what time on {day} would you be available?",
        "What time on {day} suits you?",
    ),
    "meeting_in_past": (
        "That time has already passed — what other day and time work for you?",
        "That time has already passed. Which other day and time would suit you?",
        "Oops, that time has already passed — what other day and time work for you?",
    ),
    "all_set": (
        "That's everything I need{to} — thank you.",
        "That is everything I need{to}; thank you.",
        "That's everything I need{to} — thank you so much!",
    ),
    "offer_meeting": (
        "Would you like to book a call with the team? Just tell me a day and time.",
        "Would you like to arrange a call with the team? Please let me know a day and time.",
        "Want to book a call with the team? Just tell me a day and time!",
    ),
    "meeting_follows": (
        "The team will be in touch about your meeting.",
        "The team will be in touch regarding your meeting.",
        "The team will be in touch about your meeting!",
    ),
    "picked": (
        "Great — I'm booking {when} ({zone}) for you now.",
        "Very good. I am booking {when} ({zone}) for you now.",
        "Great choice — booking {when} ({zone}) for you now!",
    ),
    "offer_again": (
        "I can offer {times} — which suits you?",
        "I am able to offer {times}. Which would suit you?",
        "I've got {times} — which one works for you?",
    ),
    "moving": (
        "I'm moving your meeting to {when} ({zone}); I'll confirm once it's booked.",
        "I am moving your meeting to {when} ({zone}) and will confirm once it is booked.",
        "On it — moving your meeting to {when} ({zone}); I'll confirm once it's booked!",
    ),
    "already_booked": (
        "You're already booked for {when} ({zone}).",
        "You are already booked for {when} ({zone}).",
        "Good news — you're already booked for {when} ({zone})!",
    ),
    "cancel_requested": (
        "I'm cancelling your meeting now; I'll confirm once it's done.",
        "I am cancelling your meeting now and will confirm once it is done.",
        "No problem — I'm cancelling your meeting now and will confirm once it's done.",
    ),
    "no_meeting_to_cancel": (
        "I don't see a booked meeting to cancel.",
        "I do not see a booked meeting to cancel.",
        "I don't see a booked meeting to cancel!",
    ),
    "anything_else": (
        "Is there anything else I can help with?",
        "Is there anything else I may assist you with?",
        "Anything else I can help with?",
    ),
}

_DEFAULT_QUESTIONS: dict[FieldKind, tuple[str, str, str]] = {
    "email": (
        "What's the best email to reach you at?",
        "May I have your email address?",
        "What's the best email for you?",
    ),
    "phone": (
        "What's the best phone number to reach you on?",
        "May I have a telephone number to reach you on?",
        "What's the best number to reach you on?",
    ),
    "company": (
        "Which company are you with?",
        "Which organisation do you represent?",
        "Which company are you with?",
    ),
    "need": (
        "What are you looking to get help with?",
        "Could you describe what you are looking to achieve?",
        "What are you hoping we can help you with?",
    ),
    "budget": (
        "Do you have a rough budget in mind?",
        "Do you have an approximate budget in mind?",
        "Do you have a rough budget in mind? A range is fine.",
    ),
    "timeline": (
        "When are you hoping to get started?",
        "What is your intended timeline?",
        "When are you hoping to get going?",
    ),
    "name": ("Who am I speaking with?", "May I have your name?", "What's your name?"),
    "text": (
        "Could you tell me your {label}?",
        "Could you please tell me your {label}?",
        "What's your {label}?",
    ),
}


def register_for(persona: str) -> Register:
    """The register named first in the persona ("formal", "friendly", ...), else neutral."""
    match = _REGISTER_WORDS.search(persona)
    if match is None:
        return Register.NEUTRAL
    return Register.FORMAL if match["formal"] else Register.WARM


def _joined(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe_day(day: date) -> str:
    return f"{_DAY_NAMES[day.weekday()]}, {_MONTH_ABBREVIATIONS[day.month - 1]} {day.day}"


def describe_start(start: datetime) -> str:
    hour = start.hour % 12 or 12
    return f"{describe_day(start.date())} at {hour}:{start.minute:02d} {'PM' if start.hour >= 12 else 'AM'}"


def describe_times(starts: Sequence[datetime]) -> str:
    """"Wed, Dec 9 at 10:00 AM, 10:30 AM or 11:00 AM": the day said once when all share it."""
    if not starts:
        return ""
    days = {s.date() for s in starts}
    if len(days) == 1:
        clocks = [f"{s.hour % 12 or 12}:{s.minute:02d} {'PM' if s.hour >= 12 else 'AM'}" for s in starts]
        head = f"{describe_day(starts[0].date())} at "
    else:
        clocks = [describe_start(s) for s in starts]
        head = ""
    listed = clocks[0] if len(clocks) == 1 else f"{', '.join(clocks[:-1])} or {clocks[-1]}"
    return head + listed


class Replies:
    def __init__(self, agent: AgentSpec) -> None:
        self._agent = agent
        self._register = register_for(agent.persona)
        self._index = (Register.NEUTRAL, Register.FORMAL, Register.WARM).index(self._register)

    def _say(self, key: str, **values: str) -> str:
        return _PHRASES[key][self._index].format(**values)

    def greeting(self) -> str:
        return self._agent.greeting or self._say("greeting", name=self._agent.name, role=self._agent.role)

    def question(self, field: QualificationField) -> str:
        if field.question:
            return field.question
        label = field.label or field.name.replace("_", " ")
        return _DEFAULT_QUESTIONS[field.kind][self._index].format(label=label)

    def thanks(self, new: Sequence[QualificationField], updated: Sequence[QualificationField], to: str | None) -> str:
        got = "noted" if self._register is Register.FORMAL else "got"
        things = [f"{got} {_joined([_possessive(f) for f in new])}"] if new else []
        things += [f"updated {_joined([_possessive(f) for f in updated])}"] if updated else []
        return self._say("thanks", to=f", {to}" if to else "", things=" and ".join(things))

    def read_back(self, spelled: Sequence[str]) -> str:
        return self._say("read_back", spelled="; ".join(spelled))

    def invalid(self, field: QualificationField, reason: str) -> str:
        return self._say("invalid", noun=field.label or _NOUNS[field.kind], reason=reason)

    def meeting(self, start: datetime, zone: str) -> str:
        return self._say("meeting", when=describe_start(start), zone=zone)

    def picked(self, start: datetime, zone: str) -> str:
        return self._say("picked", when=describe_start(start), zone=zone)

    def offer_again(self, starts: Sequence[datetime]) -> str:
        return self._say("offer_again", times=describe_times(starts))

    def moving(self, start: datetime, zone: str) -> str:
        return self._say("moving", when=describe_start(start), zone=zone)

    def already_booked(self, start: datetime, zone: str) -> str:
        return self._say("already_booked", when=describe_start(start), zone=zone)

    def ask_time(self, day: date) -> str:
        return self._say("ask_time", day=describe_day(day))

    def all_set(self, to: str | None) -> str:
        return self._say("all_set", to=f", {to}" if to else "")

    def answer(self, text: str) -> str:
        """Sentences quoted from the tenant's documents, with their citation markers."""
        return self._say("answer", answer=text)

    def line(self, key: FixedLine) -> str:
        return self._say(key)


def _possessive(field: QualificationField) -> str:
    if field.label:
        return f"your {field.label}"
    if field.kind == "need":
        return "what you need"
    return f"your {_NOUNS[field.kind] if field.kind != 'text' else field.name.replace('_', ' ')}"
