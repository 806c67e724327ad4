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

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from afo_common.rpcs.workflow_executor_workflows import Trigger, WorkflowSpec
from afo_workflow_executor.domain.workflows_actions import MEETING, action_at, actions
from afo_workflow_executor.domain.workflows_text import (
    MULTIPLIER_WORDS,
    STOP,
    Reader,
    Token,
    Unrecognized,
    amount,
    tokens,
    whole,
)

LEAD_INS = ("as soon as", "each time", "every time", "whenever", "when", "if", "once", "after", "on")

TRIGGERS: tuple[tuple[str, Trigger], ...] = (
    ("a|an|the? new? lead is|gets|becomes|was|has? been? qualified", "lead.qualified"),
    ("a|an|the? lead qualifies", "lead.qualified"),
    ("a|the? qualified lead comes|arrives? in?", "lead.qualified"),
    ("a|an|the? new? lead is|gets|was created|captured|added", "lead.created"),
    ("a|an|the? new? lead comes|arrives|signs? in|up?", "lead.created"),
    ("a|an|the? new lead", "lead.created"),
    (f"a|an|the? {MEETING} is|gets|was|has? been? booked|scheduled", "meeting.booked"),
    (f"someone|somebody books|schedules a|an|the? {MEETING}", "meeting.booked"),
    (f"a|the? lead books|schedules a|an|the? {MEETING}", "meeting.booked"),
    (f"a|the? {MEETING} fails|failed", "meeting.failed"),
    (f"a|the? {MEETING} cannot|can't|couldn't be? booked|scheduled", "meeting.failed"),
    (f"a|the? {MEETING} is|gets|was cancelled|canceled", "meeting.cancelled"),
    (f"a|the|someone|somebody? lead? cancels a|an|the|their? {MEETING}", "meeting.cancelled"),
    ("a|the? conversation|chat is|gets|was closed|ended|finished", "conversation.closed"),
    ("a|the? conversation|chat ends|closes|finishes", "conversation.closed"),
    ("a|the? conversation|chat is|gets|was analyzed|analysed", "conversation.analyzed"),
    ("a|the? crm sync|push|update? fails|failed", "crm.failed"),
    ("syncing|sync to|with? the? crm fails|failed", "crm.failed"),
    ("an|a|the? anomaly is|gets|was|has? been? detected|found|spotted|flagged", "anomaly.detected"),
    ("an|a|the? anomaly occurs|happens|appears", "anomaly.detected"),
    ("anomalies are|get|were|have? been? detected|found|spotted|flagged", "anomaly.detected"),
)

EVENT_FIELDS: dict[str, frozenset[str]] = {
    "meeting.failed": frozenset({"reason", "detail"}),
    "meeting.cancelled": frozenset({"by"}),
    "conversation.closed": frozenset({"reason"}),
    "conversation.analyzed": frozenset({"outcome", "summary", "next_step"}),
    "crm.failed": frozenset({"provider", "reason", "status", "attempts"}),
    "meeting.booked": frozenset({"provider", "timezone"}),
    "anomaly.detected": frozenset({"signal", "severity", "scope", "direction", "observed", "deviation"}),
}
LEAD_FIELDS: dict[str, str] = {
    "budget": "budget", "company": "company", "company name": "company", "email": "email",
    "email address": "email", "e-mail": "email", "phone": "phone", "phone number": "phone", "name": "name",
    "industry": "industry", "team size": "team_size", "company size": "team_size", "employees": "team_size",
    "timeline": "timeline", "country": "country", "role": "role", "job title": "role", "title": "role",
    "source": "source", "revenue": "revenue", "annual revenue": "revenue", "need": "need", "interest": "interest",
    "website": "website", "city": "city", "outcome": "outcome",
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
CONDITION_LEADS = ("that has", "who has", "with", "whose", "where", "having", "has", "and has", "and with",
                   "and whose", "and")

@dataclass(frozen=True)
class Refused:
    unrecognized: tuple[Unrecognized, ...]
    missing: tuple[str, ...]  # "trigger", "action", or why the steps do not hold together

    def words(self) -> list[str]:
        return [u.word for u in self.unrecognized]


def compile_instruction(text: str) -> WorkflowSpec | Refused:
    reader = Reader(tokens(text))
    if (lead_in := reader.longest(LEAD_INS)) is not None:
        reader.i = lead_in[1]
    trigger = _trigger(reader)
    conditions = _conditions(reader, trigger) if trigger else []
    found = actions(reader)
    missing = tuple(name for name, have in (("trigger", trigger), ("action", found)) if not have)
    if reader.unknown or missing:
        return Refused(tuple(reader.unknown), missing)
    try:
        return WorkflowSpec.model_validate({"trigger": trigger, "conditions": conditions, "actions": found})
    except ValidationError as exc:
        return Refused((), tuple(str(e["msg"]) for e in exc.errors()))


def _trigger(r: Reader) -> Trigger | None:
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
        if tok is None or tok.low in (",", ";") or action_at(r) is not None:
            return None
        r.skip()
    return None


# -- conditions ----------------------------------------------------------------------------------------------
def _conditions(r: Reader, trigger: Trigger) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while not r.done:
        lead = r.longest(CONDITION_LEADS)
        if lead is None or (lead[0] == "and" and action_at(r, lead[1]) is not None):
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


def _field(r: Reader, trigger: Trigger) -> str | None:
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


def _comparator(r: Reader, at: int) -> tuple[str, int] | None:
    for words, op in COMPARATORS:
        end = r.phrase(words, at)
        if end is not None:
            if op == "eq" and words in ("of", "is"):  # "of at least", "is over": the comparator after it
                after = _comparator(r, end)
                if after is not None and after[0] != "eq":
                    return after
            return op, end
    return None


def _condition(r: Reader, trigger: Trigger) -> dict[str, Any] | None:
    name = _field(r, trigger)
    if name is None:
        return None
    compared = _comparator(r, r.i)
    tok = r.peek()
    if compared is None and (tok is None or tok.low in (",", ";", "then") or action_at(r) is not None
                             or (tok.low == "and" and action_at(r, r.i + 1) is not None)):
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


def _value(r: Reader, *, numeric: bool) -> Any:
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
        if action_at(r) is not None:
            break
        words.append(tok)
        r.i += 1
    if not words:
        return None
    if numeric:
        r.unknown.extend(Unrecognized(t.text, t.start, t.end) for t in words)
        return None
    return " ".join(t.low for t in words)
