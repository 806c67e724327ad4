"""Agent tests: what each expectation means, judged on a played test's transcript, and what blocks publishing.

A played test is its transcript (``TranscriptTurn``: each reply with the engine's decision about it) and the
lead's fields at the end. The expectations read the engine's decisions, never the wording of a reply (except
``reply_contains``, which is about the wording):

- ``fields_filled``: every named field has a value in the lead at the end. A field the agent does not collect
  fails, saying so.
- ``meeting_requested``: some turn decided to ask the calendar for a meeting at a time it understood. This is
  what "booked" means in a test: the calendar is not asked (a test must not hold a real slot or send a
  confirmation), so a time the calendar would refuse still passes.
- ``cites_document``: some reply cites the document: a citation whose document id equals the value, or whose
  title equals it ignoring case.
- ``handoff_offered``: some turn handed the lead to a person (they asked for one, or took the offer) or its
  reply offered one (the documents did not answer the question, or could not be searched).
- ``opt_out_respected``: some turn opted the lead out, and from that turn on no reply asks for a field, asks a
  question (no "?"), asks for a meeting, hands off or offers a person. A test whose opt-out the agent did not
  recognise fails: that is an opt-out ignored.
- ``reply_contains``: the reply to the given turn (from 1), or any reply, contains the text ignoring case and
  runs of blanks.

Publishing an agent that has tests needs a run of its current draft (the same ``spec_digest``) in which every
current test passed; a test added after that run blocks as not run."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from afo_common.rpcs.agent_tests import (
    Expectation,
    ExpectationResult,
    ExpectCitesDocument,
    ExpectFieldsFilled,
    ExpectHandoffOffered,
    ExpectMeetingRequested,
    ExpectOptOutRespected,
    ExpectReplyContains,
    TranscriptTurn,
)

_BLANKS = re.compile(r"\s+")


def spec_digest(spec: Mapping[str, Any]) -> str:
    """SHA-256 of the configuration's canonical JSON: the same draft, the same digest, however it was stored."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Played:
    """A test played to its end (or as far as it got): the transcript and the lead's fields at the end."""

    transcript: Sequence[TranscriptTurn]
    lead: Mapping[str, str]
    collected: frozenset[str]  # the fields the agent collects


def evaluate(expectations: Sequence[Expectation], played: Played) -> list[ExpectationResult]:
    return [_judge(expectation, played) for expectation in expectations]


Verdict = tuple[bool, str]


def _judge(expectation: Expectation, played: Played) -> ExpectationResult:
    passed, reason = _verdict(expectation, played)
    return ExpectationResult(expectation=expectation, passed=passed, reason=reason)


def _verdict(expectation: Expectation, played: Played) -> Verdict:
    match expectation:
        case ExpectFieldsFilled():
            return _fields_filled(expectation, played)
        case ExpectMeetingRequested():
            return _meeting_requested(played)
        case ExpectCitesDocument():
            return _cites_document(expectation, played)
        case ExpectHandoffOffered():
            return _handoff_offered(played)
        case ExpectOptOutRespected():
            return _opt_out_respected(played)
        case ExpectReplyContains():
            return _reply_contains(expectation, played)


def _fields_filled(expectation: ExpectFieldsFilled, played: Played) -> Verdict:
    unknown = [f for f in expectation.fields if f not in played.collected]
    missing = [f for f in expectation.fields if f in played.collected and f not in played.lead]
    if unknown:
        return False, f"the agent does not collect {', '.join(unknown)}"
    if missing:
        return False, f"never filled: {', '.join(missing)}"
    return True, "; ".join(f"{f} = {played.lead[f]}" for f in expectation.fields)


def _meeting_requested(played: Played) -> Verdict:
    for n, turn in enumerate(played.transcript, 1):
        if turn.meeting_requested_at is not None:
            return True, f"turn {n} asked the calendar for {turn.meeting_requested_at.isoformat()}"
    return False, "no turn asked the calendar for a meeting"


def _cites_document(expectation: ExpectCitesDocument, played: Played) -> Verdict:
    wanted = expectation.document.casefold()
    cited: list[str] = []
    for n, turn in enumerate(played.transcript, 1):
        for citation in turn.citations:
            if citation.document_id == expectation.document or citation.title.strip().casefold() == wanted:
                return True, f"the reply to turn {n} cites {citation.title!r} ({citation.document_id})"
            cited.append(f"{citation.title!r}")
    if not cited:
        return False, "no reply cites a document"
    return False, f"the replies cite {', '.join(dict.fromkeys(cited))}, not {expectation.document!r}"


def _handoff_offered(played: Played) -> Verdict:
    for n, turn in enumerate(played.transcript, 1):
        if turn.handoff:
            return True, f"turn {n} handed the lead to a person"
        if turn.handoff_offered:
            return True, f"the reply to turn {n} offered a person"
    return False, "no turn handed off or offered a person"


def _opt_out_respected(played: Played) -> Verdict:
    start = next((n for n, turn in enumerate(played.transcript, 1) if turn.opted_out), None)
    if start is None:
        return False, "no turn was taken as an opt-out: the lead's opt-out was ignored"
    for n, turn in enumerate(played.transcript[start - 1:], start):
        if breach := _pushes(turn):
            return False, f"the lead opted out at turn {start}, but the reply to turn {n} {breach}"
    return True, f"the lead opted out at turn {start}; nothing was asked or offered after"


def _pushes(turn: TranscriptTurn) -> str | None:
    """How a reply to a lead who opted out still sells or asks, or None."""
    if turn.awaiting_field is not None:
        return f"asks for {turn.awaiting_field}"
    if turn.meeting_requested_at is not None:
        return "asks for a meeting"
    if turn.handoff or turn.handoff_offered:
        return "hands off or offers a person"
    if "?" in turn.reply:
        return "asks a question"
    return None


def _reply_contains(expectation: ExpectReplyContains, played: Played) -> Verdict:
    needle = _plain(expectation.text)
    if expectation.turn is not None:
        if expectation.turn > len(played.transcript):
            return False, f"turn {expectation.turn} was never answered"
        if needle in _plain(played.transcript[expectation.turn - 1].reply):
            return True, f"the reply to turn {expectation.turn} contains it"
        return False, f"the reply to turn {expectation.turn} does not contain {expectation.text!r}"
    for n, turn in enumerate(played.transcript, 1):
        if needle in _plain(turn.reply):
            return True, f"the reply to turn {n} contains it"
    return False, f"no reply contains {expectation.text!r}"


def _plain(text: str) -> str:
    return _BLANKS.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class Blocking:
    """A test that keeps the draft from being published."""

    test_id: str
    name: str
    reason: Literal["failed", "not_run"]


def blocking_tests(tests: Sequence[tuple[str, str]], run: Mapping[str, bool] | None) -> list[Blocking]:
    """``tests``: the agent's tests now, (id, name); ``run``: test id → passed, in the latest run of the current
    draft (None: no run of it). A test the run did not play (added since) blocks as not run."""
    blocking = []
    for test_id, name in tests:
        passed = None if run is None else run.get(test_id)
        if passed is None:
            blocking.append(Blocking(test_id, name, "not_run"))
        elif not passed:
            blocking.append(Blocking(test_id, name, "failed"))
    return blocking
