"""Dead letters as operators see them and act on them. A dead letter is one message of the DEADLETTER stream,
published on ``dlq.afo.<service>.<stream>`` by the consumer that gave up on an event
(``afo_common.messaging.dead_letters``); its id here is its sequence in that stream: ``dlq_<sequence>``.

Replaying one publishes the event it carries again, as it was (same envelope, same event id), on its own subject:
- every consumer of that subject gets it again. One that handled it has the event id in its inbox and skips it
  (acknowledged as a duplicate); the one that gave up has none (its transaction rolled back with the failure),
  so it handles it as new. What keeps no inbox (the gateway's live feed) shows it once more.
- with a new ``Nats-Msg-Id`` (``replay-<id>``): the stream would drop the original's as a duplicate while the
  original is inside its duplicate window (ten minutes); and a second replay of the same dead letter in the
  window is dropped too.
- an event that fails again is a new dead letter (another sequence, so another id).
Each dead letter is replayed or discarded once (``ActionTaken``, who and when); asking again answers with that."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from afo_common.events.streams import stream_for_subject
from afo_gateway.domain.errors import DeadLetterSettled, Invalid

PREFIX = "dlq_"
_LETTER_ID = re.compile(r"^dlq_([1-9][0-9]{0,17})$")
_CURSOR = re.compile(r"^[1-9][0-9]{0,17}$")
REPLAY_HEADER = "Afo-Replay-Of"
Action = Literal["replayed", "discarded"]


class AlreadySettled(Exception):
    """Another request recorded an action on this dead letter first."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    sequence: int
    service: str
    stream: str
    consumer: str
    subject: str  # the event's own subject; "" when its message had left the stream before it was dead-lettered
    stream_seq: int
    num_delivered: int
    reason: str
    failed_at: datetime
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str | None:
        parts = self.subject.split(".")
        return parts[1] if len(parts) == 4 and parts[0] == "afo" else None

    @property
    def event(self) -> tuple[str | None, str | None]:
        """The CloudEvent's id and type, when the payload is one (a schema-invalid message may not be)."""
        try:
            envelope = json.loads(self.payload)
        except ValueError:
            return None, None
        if not isinstance(envelope, dict):
            return None, None
        event_id, kind = envelope.get("id"), envelope.get("type")
        return (event_id if isinstance(event_id, str) else None), (kind if isinstance(kind, str) else None)

    @property
    def text(self) -> str | None:
        """The payload as text, for a person to read; None when it is not UTF-8."""
        try:
            return self.payload.decode()
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class ActionTaken:
    id: str
    action: str  # Action
    actor: str  # the operator's user id
    at: datetime
    service: str
    stream: str
    consumer: str
    subject: str
    tenant_id: str | None
    event_id: str | None
    event_type: str | None
    reason: str
    num_delivered: int
    failed_at: datetime


@dataclass(frozen=True)
class Replay:
    subject: str
    payload: bytes
    headers: dict[str, str]


def letter_id(sequence: int) -> str:
    return f"{PREFIX}{sequence}"


def sequence_of(letter: str) -> int:
    found = _LETTER_ID.match(letter)
    if found is None:
        raise Invalid("a dead letter's id is dlq_ and its sequence in the DEADLETTER stream, such as dlq_42",
                      [{"loc": ["path", "letter_id"], "msg": "not a dead letter id", "type": "value_error"}])
    return int(found.group(1))


def after_cursor(cursor: str | None) -> int:
    """The sequence a page starts after: 0 for the first page, else the last one the previous page gave."""
    if cursor is None:
        return 0
    if not _CURSOR.match(cursor):
        raise Invalid("not a cursor this list gave", [{"loc": ["query", "cursor"], "msg": "not a cursor",
                                                       "type": "value_error"}])
    return int(cursor)


def action_taken(letter: DeadLetter, action: Action, actor: str, at: datetime) -> ActionTaken:
    event_id, event_type = letter.event
    return ActionTaken(id=letter.id, action=action, actor=actor, at=at, service=letter.service, stream=letter.stream,
                       consumer=letter.consumer, subject=letter.subject, tenant_id=letter.tenant_id,
                       event_id=event_id, event_type=event_type, reason=letter.reason,
                       num_delivered=letter.num_delivered, failed_at=letter.failed_at)


def replay_of(letter: DeadLetter) -> Replay:
    """What goes out again; DeadLetterSettled when there is nothing to send back to the stream it came from."""
    if not letter.subject or not letter.payload:
        raise DeadLetterSettled(f"{letter.id} carries no event to replay: its message had left the stream "
                                f"{letter.stream} before it was dead-lettered; discard it")
    if stream_for_subject(letter.subject) != letter.stream:
        raise DeadLetterSettled(f"{letter.id} came from {letter.stream}, which does not take {letter.subject}")
    headers = {k: v for k, v in letter.headers.items() if not k.lower().startswith("nats-")}
    headers["Nats-Msg-Id"] = f"replay-{letter.id}"
    headers[REPLAY_HEADER] = letter.id
    return Replay(letter.subject, letter.payload, headers)
