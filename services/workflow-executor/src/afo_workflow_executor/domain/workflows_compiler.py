"""The embedded workflow compiler: an instruction in plain English → ``WorkflowSpec``, deterministically, for
the grammar ``docs/workflows.md`` documents; every word it did not understand reported with its place.

Rules:
- An instruction is ``[when|if|whenever|once|after|as soon as] <trigger> [<conditions>] [,] <actions>``; actions
  are joined by ``,``, ``and``, ``then``, ``and then``, ``after that``.
- Reading is left to right without guessing: at each place the phrases of the grammar are tried, longest
  first; a word none of them takes is *unrecognized* (small words — a, an, the, is, to, of, and — never are;
  they carry no meaning alone). An instruction with any unrecognized word, or without a trigger or an
  action, compiles to nothing: ``Refused`` with the words (and their offsets) and the parts missing.
- Amounts: ``10k``, ``$10,000``, ``10 thousand``, ``1.5m``; durations: ``1 hour``, ``an hour``, ``30 minutes``,
  ``2 days``, ``half an hour``. Text to send is quoted: ``text me saying "call them now"``.
- "me" is the workflow's notification contact (``notify``), "the lead"/"them" the lead; a phone in E.164
  (``+15551234567``) or an email address stands for itself.
- A condition's field is the event's when the trigger's event has it (``meeting.failed``'s ``reason``), else
  the lead's; string values compare without case, so they are kept lower-case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from afo_common.rpcs.workflow_executor_workflows import Trigger, WorkflowSpec
from afo_workflow_executor.domain.workflows_text import (
    MULTIPLIER_WORDS,
    ONE,
    UNITS,
    Token,
    amount,
    tokens,
    whole,
)

STOP = frozenset({"a", "an", "the", "is", "are", "to", "of", "and", "please"})
LEAD_INS = ("as soon as", "each time", "every time", "whenever", "when", "if", "once", "after", "on")
JOINERS = ("and then", "after that", "and also", "then", "and", "also", ",", ";", ".")

_MEETING = "meeting|demo|call|appointment|booking|consultation"
# (pattern, trigger): each element a word, alternatives with |, optional when ending in ?
TRIGGERS: tuple[tuple[str, Trigger], ...] = (
    ("a|an|the? new? lead is|gets|becomes|was|has? been? qualified", "lead.qualified"),
    ("a|an|the? lead qualifies", "lead.qualified"),
    ("a|the? qualified lead comes|arrives? in?", "lead.qualified"),
    ("a|an|the? new? lead is|gets|was created|captured|added", "lead.created"),
    ("a|an|the? new? lead comes|arrives|signs? in|up?", "lead.created"),
    ("a|an|the? new lead", "lead.created"),
    (f"a|an|the? {_MEETING} is|gets|was|has? been? booked|scheduled", "meeting.booked"),
    (f"someone|somebody books|schedules a|an|the? {_MEETING}", "meeting.booked"),
    (f"a|the? lead books|schedules a|an|the? {_MEETING}", "meeting.booked"),
    (f"a|the? {_MEETING} fails|failed", "meeting.failed"),
    (f"a|the? {_MEETING} cannot|can't|couldn't be? booked|scheduled", "meeting.failed"),
    (f"a|the? {_MEETING} is|gets|was cancelled|canceled", "meeting.cancelled"),
    (f"a|the|someone|somebody? lead? cancels a|an|the|their? {_MEETING}", "meeting.cancelled"),
    ("a|the? conversation|chat is|gets|was closed|ended|finished", "conversation.closed"),
    ("a|the? conversation|chat ends|closes|finishes", "conversation.closed"),
    ("a|the? conversation|chat is|gets|was analyzed|analysed", "conversation.analyzed"),
    ("a|the? crm sync|push|update? fails|failed", "crm.failed"),
    ("syncing|sync to|with? the? crm fails|failed", "crm.failed"),
)

EVENT_FIELDS: dict[str, frozenset[str]] = {
    "meeting.failed": frozenset({"reason", "detail"}),
    "meeting.cancelled": frozenset({"by"}),
    "conversation.closed": frozenset({"reason"}),
    "conversation.analyzed": frozenset({"outcome", "summary", "next_step"}),
    "crm.failed": frozenset({"provider", "reason", "status", "attempts"}),
    "meeting.booked": frozenset({"provider", "timezone"}),
}
LEAD_FIELDS: dict[str, str] = {
    "budget": "budget", "company": "company", "company name": "company", "email": "email",
    "email address": "email", "e-mail": "email", "phone": "phone", "phone number": "phone", "name": "name",
    "industry": "industry", "team size": "team_size", "company size": "team_size", "employees": "team_size",
    "timeline": "timeline", "country": "country", "role": "role", "job title": "role", "title": "role",
    "source": "source", "revenue": "revenue", "annual revenue": "revenue", "need": "need", "interest": "interest",
    "website": "website", "city": "city",
}
COMPARATORS: tuple[tuple[str, str], ...] = (
    ("not equal to", "ne"), ("is not", "ne"), ("isn't", "ne"), ("other than", "ne"), ("not", "ne"), ("!=", "ne"),
    ("greater than", "gt"), ("more than", "gt"), ("higher than", "gt"), ("bigger than", "gt"),
    ("larger than", "gt"), ("over", "gt"), ("above", "gt"), ("exceeding", "gt"), ("exceeds", "gt"), (">", "gt"),
    ("at least", "gte"), ("no less than", "gte"), ("minimum", "gte"), (">=", "gte"),
    ("less than", "lt"), ("lower than", "lt"), ("smaller than", "lt"), ("under", "lt"), ("below", "lt"),
    ("<", "lt"), ("at most", "lte"), ("up to", "lte"), ("no more than", "lte"), ("maximum", "lte"), ("<=", "lte"),
    ("containing", "contains"), ("contains", "contains"), ("including", "contains"), ("includes", "contains"),
    ("mentioning", "contains"), ("mentions", "contains"),
    ("is equal to", "eq"), ("equal to", "eq"), ("equals", "eq"), ("is", "eq"), ("of", "eq"), ("=", "eq"),
)
WIDENERS = {("or", "more"): "gte", ("or", "above"): "gte", ("or", "higher"): "gte", ("and", "above"): "gte",
            ("and", "up"): "gte", ("or", "less"): "lte", ("or", "below"): "lte", ("or", "lower"): "lte",
            ("and", "below"): "lte"}
CONDITION_LEADS = ("that has", "who has", "with", "whose", "where", "having", "has", "and")
LEAD = frozenset({"lead", "them", "him", "her", "the lead", "the contact", "contact", "customer", "prospect"})
CRM_NAMES = "crm|hubspot|salesforce|pipedrive"


@dataclass(frozen=True)
class Unrecognized:
    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Refused:
    unrecognized: tuple[Unrecognized, ...]
    missing: tuple[str, ...]  # "trigger", "action", or why the steps do not hold together

    def words(self) -> list[str]:
        return [u.word for u in self.unrecognized]


@dataclass
class _Reader:
    toks: list[Token]
    i: int = 0
    unknown: list[Unrecognized] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.i >= len(self.toks)

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def phrase(self, pattern: str, at: int | None = None) -> int | None:
        """Where the pattern ends when it matches at ``at`` (default: here); None when it does not."""
        j = self.i if at is None else at
        for element in pattern.split():
            optional = element.endswith("?") and len(element) > 1
            choices = element.rstrip("?").split("|") if optional else element.split("|")
            tok = self.toks[j] if j < len(self.toks) else None
            if tok is not None and tok.kind in ("word", "sep", "symbol") and tok.low in choices:
                j += 1
            elif not optional:
                return None
        return j

    def longest(self, patterns: tuple[str, ...]) -> tuple[str, int] | None:
        best: tuple[str, int] | None = None
        for pattern in patterns:
            end = self.phrase(pattern)
            if end is not None and end > self.i and (best is None or end > best[1]):
                best = (pattern, end)
        return best

    def skip(self) -> None:
        tok = self.toks[self.i]
        if not (tok.kind in ("word", "sep") and tok.low in STOP | {",", ";", ".", ":", "!", "?"}):
            self.unknown.append(Unrecognized(tok.text, tok.start, tok.end))
        self.i += 1


def compile_instruction(text: str) -> WorkflowSpec | Refused:
    reader = _Reader(tokens(text))
    if (lead_in := reader.longest(LEAD_INS)) is not None:
        reader.i = lead_in[1]
    trigger = _trigger(reader)
    conditions = _conditions(reader, trigger) if trigger else []
    actions = _actions(reader)
    missing = tuple(name for name, have in (("trigger", trigger), ("action", actions)) if not have)
    if reader.unknown or missing:
        return Refused(tuple(reader.unknown), missing)
    try:
        return WorkflowSpec.model_validate({"trigger": trigger, "conditions": conditions, "actions": actions})
    except ValidationError as exc:
        return Refused((), tuple(str(e["msg"]) for e in exc.errors()))


def _trigger(r: _Reader) -> Trigger | None:
    while not r.done:
        best: tuple[Trigger, int] | None = None
        for pattern, trigger in TRIGGERS:
            end = r.phrase(pattern)
            if end is not None and end > r.i and (best is None or end > best[1]):
                best = (trigger, end)
        if best is not None:
            r.i = best[1]
            return best[0]
        tok = r.peek()
        if tok is None or tok.low in (",", ";") or _action_at(r) is not None:
            return None
        r.skip()
    return None


# -- conditions ----------------------------------------------------------------------------------------------
def _conditions(r: _Reader, trigger: Trigger) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while not r.done:
        lead = r.longest(CONDITION_LEADS)
        if lead is None or (lead[0] == "and" and _action_at(r, lead[1]) is not None):
            break
        start = r.i
        r.i = lead[1]
        if (r.phrase("a|an|the|their|its|his|her") or 0) > r.i:
            r.i += 1
        condition = _condition(r, trigger)
        if condition is None:
            r.i = start
            break
        found.append(condition)
    return found


def _field(r: _Reader, trigger: Trigger) -> str | None:
    event = EVENT_FIELDS.get(trigger, frozenset())
    for size in (2, 1):
        words = [t for t in r.toks[r.i:r.i + size] if t.kind == "word"]
        if len(words) != size:
            continue
        name = " ".join(t.low for t in words)
        if name.replace(" ", "_") in event:
            r.i += size
            return f"event.{name.replace(' ', '_')}"
        if name in LEAD_FIELDS:
            r.i += size
            return f"lead.{LEAD_FIELDS[name]}"
    tok = r.peek()
    # Any other single word is a field when a comparator follows it ("with seats over 10").
    if tok is not None and tok.kind == "word" and tok.low not in STOP and _comparator(r, r.i + 1) is not None:
        r.i += 1
        return f"lead.{tok.low.replace('-', '_').replace(chr(39), '')}"
    return None


def _comparator(r: _Reader, at: int) -> tuple[str, int] | None:
    for words, op in COMPARATORS:
        end = r.phrase(words, at)
        if end is not None:
            if op == "eq" and words in ("of", "is"):  # "of at least", "is over": the comparator after it
                after = _comparator(r, end)
                if after is not None and after[0] != "eq":
                    return after
            return op, end
    return None


def _condition(r: _Reader, trigger: Trigger) -> dict[str, Any] | None:
    name = _field(r, trigger)
    if name is None:
        return None
    compared = _comparator(r, r.i)
    tok = r.peek()
    if compared is None and (tok is None or tok.low in (",", ";", "then") or _action_at(r) is not None
                             or (tok.low == "and" and _action_at(r, r.i + 1) is not None)):
        return {"field": name, "op": "exists"}
    op = "eq"
    if compared is not None:
        op, r.i = compared
    known = len(r.unknown)
    value = _value(r, numeric=op in ("gt", "gte", "lt", "lte"))
    if value is None:
        if compared is not None and len(r.unknown) == known:  # "budget over, text me": no value after "over"
            said = r.toks[r.i - 1]
            r.unknown.append(Unrecognized(said.text, said.start, said.end))
        return {"field": name, "op": "exists"}  # with words reported, the instruction is refused anyway
    for (first, second), widened in WIDENERS.items():
        if op in ("eq", "gt", "lt") and r.phrase(f"{first} {second}") is not None:
            op = widened
            r.i += 2
    return {"field": name, "op": op, "value": value}


def _value(r: _Reader, *, numeric: bool) -> Any:
    tok = r.peek()
    if tok is None:
        return None
    number = amount(tok)
    if number is not None:
        r.i += 1
        nxt = r.peek()
        if nxt is not None and nxt.kind == "word" and nxt.low in MULTIPLIER_WORDS:
            number *= MULTIPLIER_WORDS[nxt.low]
            r.i += 1
        if (nxt := r.peek()) is not None and nxt.low in ("dollars", "usd", "eur", "euros"):
            r.i += 1
        return whole(number)
    if tok.kind == "quote":
        r.i += 1
        return tok.text
    words: list[Token] = []
    while (tok := r.peek()) is not None and tok.kind == "word" and tok.low not in ("and", "then", "or"):
        if _action_at(r) is not None:
            break
        words.append(tok)
        r.i += 1
    if not words:
        return None
    if numeric:
        r.unknown.extend(Unrecognized(t.text, t.start, t.end) for t in words)
        return None
    return " ".join(t.low for t in words)


# -- actions -------------------------------------------------------------------------------------------------
Action = dict[str, Any]
Parser = Callable[[_Reader], Action | None]


def _actions(r: _Reader) -> list[Action]:
    found: list[Action] = []
    while not r.done:
        joiner = r.longest(JOINERS)
        if joiner is not None:
            r.i = joiner[1]
            continue
        parsed = _action_at(r, commit=True)
        if parsed is None:
            r.skip()
            continue
        action, r.i = parsed
        delay = r.i
        if (end := r.phrase("in")) is not None and end > r.i:  # "text me in 5 minutes": a wait before it
            r.i = end
            seconds = _duration(r)
            if seconds is not None:
                found.append({"type": "wait", "seconds": seconds})
            else:
                r.i = delay
        found.append(action)
    return found


def _action_at(r: _Reader, at: int | None = None, *, commit: bool = False) -> tuple[Action, int] | None:
    """The action that starts at ``at`` (default: here) and where it ends; the reader is left where it was.
    With ``commit``, the words a started action found it could not take are kept as unrecognized."""
    here, known = r.i, len(r.unknown)
    r.i = here if at is None else at
    try:
        for parse in (_wait, _webhook, _sms, _email, _crm, _book, _handoff):
            start = r.i
            action = parse(r)
            if action is not None:
                return action, r.i
            r.i = start
        return None
    finally:
        r.i = here
        if not commit:
            del r.unknown[known:]


def _webhook(r: _Reader) -> Action | None:
    end = r.phrase("send|post|fire|trigger|call|hit|ping|notify|invoke a|an|the? webhook|request? to|at|on?")
    if end is None:
        return None
    tok = r.toks[end] if end < len(r.toks) else None
    if tok is None or tok.kind != "url":
        return None
    r.i = end + 1
    if not tok.low.startswith(("http://", "https://")):
        r.unknown.append(Unrecognized(tok.text, tok.start, tok.end))
        return {"type": "call_webhook", "url": "https://refused.invalid"}
    return {"type": "call_webhook", "url": tok.text}


def _recipient(r: _Reader) -> str | None:
    tok = r.peek()
    if tok is None:
        return None
    if tok.kind in ("phone", "email"):
        r.i += 1
        return tok.text
    if tok.low in ("me", "us"):
        r.i += 1
        return "me"
    end = r.phrase("the|this|that? lead|contact|customer|prospect")
    if end is not None and end > r.i:
        r.i = end
        return "lead"
    if tok.low in ("them", "him", "her"):
        r.i += 1
        return "lead"
    return None


def _body(r: _Reader) -> str | None:
    end = r.phrase("saying|that|with|reading|:? says? the? message|text? :?")
    j = r.i if end is None else end
    tok = r.toks[j] if j < len(r.toks) else None
    if tok is not None and tok.kind == "quote":
        r.i = j + 1
        return tok.text
    return None


def _by(r: _Reader, channel: str, kind: str) -> Action | None:
    """"let me know by text", "notify the lead by email", "alert me via SMS"."""
    end = r.phrase("let|notify|alert|tell|ping|inform|warn")
    if end is None:
        return None
    r.i = end
    to = _recipient(r)
    if to is None:
        return None
    end = r.phrase(f"know? by|via|with|over an|a? {channel}")
    if end is None or end == r.i:
        return None
    r.i = end
    return {"type": kind, "to": to, "body": _body(r)}


def _sms(r: _Reader) -> Action | None:
    start = r.i
    if (by := _by(r, "text|sms|texts|message", "send_sms")) is not None:
        return by
    r.i = start
    end = r.phrase("text|sms|message")
    if end is not None:
        r.i = end
        to = _recipient(r)
        if to is None:
            return None
        return {"type": "send_sms", "to": to, "body": _body(r)}
    return _send(r, "sms|text", "send_sms")


def _send(r: _Reader, things: str, kind: str) -> Action | None:
    end = r.phrase("send|shoot|drop")
    if end is None:
        return None
    r.i = end
    to = _recipient(r)
    end = r.phrase(f"a|an? follow-up|followup|quick|short|reminder|confirmation|thank-you? {things} message?")
    if end is None or end == r.i:
        return None
    r.i = end
    if to is None:
        end = r.phrase("to")
        if end is None:
            return None
        r.i = end
        to = _recipient(r)
        if to is None:
            return None
    action = {"type": kind, "to": to, "body": _body(r)}
    return action


def _email(r: _Reader) -> Action | None:
    start = r.i
    if (by := _by(r, "email|e-mail|mail", "send_email")) is not None:
        return by
    r.i = start
    end = r.phrase("email|e-mail|mail")
    if end is not None:
        r.i = end
        to = _recipient(r)
        if to is None:
            return None
        return {"type": "send_email", "to": to, "body": _body(r)}
    return _send(r, "email|e-mail|mail", "send_email")


def _crm(r: _Reader) -> Action | None:
    end = r.phrase(f"sync|update|upsert the? {CRM_NAMES}")
    if end is not None:
        r.i = end
        return {"type": "sync_crm"}
    end = r.phrase("sync|push|send|add|copy|save|put|create|upsert")
    if end is None:
        return None
    r.i = end
    end = r.phrase("the|this? lead|leads|contact|it|them|him|her|record?")
    r.i = end if end is not None else r.i
    end = r.phrase(f"to|into|in|with|on the? {CRM_NAMES}")
    if end is None:
        return None
    r.i = end
    return {"type": "sync_crm"}


def _book(r: _Reader) -> Action | None:
    end = r.phrase(f"book|schedule|arrange|set|propose up? them|it? a|an|the? intro|discovery|sales? {_MEETING}?")
    if end is None or end == r.i:
        return None
    words = [t.low for t in r.toks[r.i:end] if t.low in _MEETING.split("|")]
    if r.toks[r.i].low in ("set",) and not words:
        return None
    r.i = end
    end = r.phrase("with the? lead|them")
    r.i = end if end is not None else r.i
    calendar = None
    end = r.phrase("on|in the?")
    if end is not None and end > r.i:
        names: list[str] = []
        j = end
        while j < len(r.toks) and r.toks[j].kind == "word" and r.toks[j].low != "calendar" and len(names) < 3:
            names.append(r.toks[j].low.removesuffix("'s"))
            j += 1
        if names and j < len(r.toks) and r.toks[j].low == "calendar":
            calendar, r.i = " ".join(names), j + 1
    return {"type": "book_meeting", "title": words[-1] if words else None, "calendar": calendar}


def _handoff(r: _Reader) -> Action | None:
    start = r.i
    end = r.phrase("hand|handoff|hand-off|escalate|transfer|pass|route")
    if end is None:
        return None
    r.i = end
    end = r.phrase("the|this? conversation|chat|lead|it|them")
    r.i = end if end is not None else r.i
    turned = r.phrase("off|over")
    r.i = turned if turned is not None else r.i
    to = r.phrase("to a|an|the? human|person|agent|sales|rep|someone|manager|team|operator|colleague? team?")
    if to is not None:
        r.i = to
    if r.toks[start].low == "hand" and turned is None and to is None:
        return None
    return {"type": "handoff", "reason": _body(r)}


def _duration(r: _Reader) -> int | None:
    tok, nxt = r.peek(), r.peek(1)
    if tok is None or nxt is None:
        return None
    if tok.low == "half" and r.phrase("half an|a hour") is not None:
        r.i += 3
        return 1800
    count = amount(tok) if tok.kind == "number" else ONE.get(tok.low)
    if count is None or nxt.low not in UNITS:
        return None
    r.i += 2
    return int(count * UNITS[nxt.low])


def _wait(r: _Reader) -> Action | None:
    start = r.i
    end = r.phrase("wait|pause|delay|after for?")
    if end is not None:
        r.i = end
        seconds = _duration(r)
        if seconds is None:
            if r.toks[start].low == "after" or (tok := r.peek()) is None:
                return None
            r.unknown.append(Unrecognized(tok.text, tok.start, tok.end))  # "wait forever": the wait is meant
            r.i += 1
            return {"type": "wait", "seconds": 1}
        end = r.phrase("later|more")
        r.i = end if end is not None else r.i
        return {"type": "wait", "seconds": seconds}
    seconds = _duration(r)
    if seconds is not None and (end := r.phrase("later")) is not None:
        r.i = end
        return {"type": "wait", "seconds": seconds}
    return None
