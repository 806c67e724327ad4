"""The actions of an instruction (``docs/workflows.md``, "actions" of the grammar): each parser takes the words
of one action where the reader stands, or leaves them; ``actions`` reads them all to the end, joined by
``,``/``and``/``then``, and notes every word none of them takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from afo_workflow_executor.domain.workflows_text import ONE, UNITS, Reader, Unrecognized, amount

JOINERS = ("and then", "after that", "and also", "then", "and", "also", ",", ";", ".")
MEETING = "meeting|demo|call|appointment|booking|consultation"
CRM_NAMES = "crm|hubspot|salesforce|pipedrive"

Action = dict[str, Any]
Parser = Callable[[Reader], Action | None]


def actions(r: Reader) -> list[Action]:
    found: list[Action] = []
    while not r.done:
        joiner = r.longest(JOINERS)
        if joiner is not None:
            r.i = joiner[1]
            continue
        parsed = action_at(r, commit=True)
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


def action_at(r: Reader, at: int | None = None, *, commit: bool = False) -> tuple[Action, int] | None:
    """The action that starts at ``at`` (default: here) and where it ends; the reader is left where it was.
    With ``commit``, the words a started action found it could not take are kept as unrecognized."""
    here, known = r.i, len(r.unknown)
    r.i = here if at is None else at
    try:
        for parse in (_wait, _remind, _webhook, _sms, _email, _crm, _book, _handoff):
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


def _remind(r: Reader) -> Action | None:
    """"remind the lead (of the meeting)", "send (the lead) the reminders": the meeting's own reminders, not a
    message of the tenant's ("remind me" is not one)."""
    end = r.phrase("remind the|this? lead|leads|them|attendee|attendees")
    if end is None:
        end = r.phrase("send the|a? lead|them? the|a? meeting? reminder|reminders")
    if end is None:
        return None
    r.i = end
    for tail in ("to the? lead|leads|them|attendee|attendees", "of|about|for the|their? meeting|booking|appointment"):
        end = r.phrase(tail)
        r.i = end if end is not None else r.i
    return {"type": "remind"}


def _webhook(r: Reader) -> Action | None:
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


def _recipient(r: Reader) -> str | None:
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


def _body(r: Reader) -> str | None:
    end = r.phrase("saying|that|with|reading|:? says? the? message|text? :?")
    j = r.i if end is None else end
    tok = r.toks[j] if j < len(r.toks) else None
    if tok is not None and tok.kind == "quote":
        r.i = j + 1
        return tok.text
    return None


def _by(r: Reader, channel: str, kind: str) -> Action | None:
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


def _sms(r: Reader) -> Action | None:
    return _message(r, "text|sms|texts|message", "text|sms|message", "sms|text", "send_sms")


def _message(r: Reader, by_words: str, words: str, things: str, kind: str,
             finish: Callable[[Reader, Action], Action] | None = None) -> Action | None:
    """An SMS or email step, said any of three ways: "by <words>" after the step, "<words> <recipient> …", or
    "send <recipient> a <things>". ``finish`` reads what may follow the last two (an email's subject)."""
    start = r.i
    if (by := _by(r, by_words, kind)) is not None:
        return by
    r.i = start
    end = r.phrase(words)
    if end is not None:
        r.i = end
        to = _recipient(r)
        if to is None:
            return None
        action: Action | None = {"type": kind, "to": to, "body": _body(r)}
    else:
        action = _send(r, things, kind)
    return finish(r, action) if finish is not None and action is not None else action


def _send(r: Reader, things: str, kind: str) -> Action | None:
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
    return {"type": kind, "to": to, "body": _body(r)}


def _email(r: Reader) -> Action | None:
    return _message(r, "email|e-mail|mail", "email|e-mail|mail", "email|e-mail|mail", "send_email", _with_subject)


def _with_subject(r: Reader, action: Action) -> Action:
    """``… with subject "Welcome"`` (before or after the text to send)."""
    end = r.phrase("with|and? the|a? subject|title|titled :?")
    tok = r.toks[end] if end is not None and end > r.i and end < len(r.toks) else None
    if tok is not None and tok.kind == "quote":
        r.i = end + 1 if end is not None else r.i
        action["subject"] = tok.text
        if action.get("body") is None:
            action["body"] = _body(r)
    return action


def _crm(r: Reader) -> Action | None:
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


def _book(r: Reader) -> Action | None:
    end = r.phrase(f"book|schedule|arrange|set|propose up? them|it? a|an|the? intro|discovery|sales? {MEETING}?")
    if end is None or end == r.i:
        return None
    words = [t.low for t in r.toks[r.i:end] if t.low in MEETING.split("|")]
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


def _handoff(r: Reader) -> Action | None:
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


def _duration(r: Reader) -> int | None:
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


def _wait(r: Reader) -> Action | None:
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
