"""Real-time notices of a conversation: core NATS, latency-critical, not durable, on
``afo.rt.<tenant>.<conversation>.<kind>`` (the durable record of the turn is the JetStream event).

agent-runtime publishes them; the gateway relays them to SSE streams and ``?wait=true`` callers. The kind
travels in the subject, so a relay needs no parsing: it forwards the bytes as the SSE event's data."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel

from afo_common.events.conversation import Citation
from afo_common.rpcs.agent_runtime import LeadView
from afo_common.subjects import REALTIME_PREFIX, realtime_subject

NoticeKind = Literal["reply.delta", "reply.completed", "lead.updated", "handoff", "meeting.booked",
                     "meeting.failed", "meeting.cancelled"]
KINDS: tuple[NoticeKind, ...] = ("reply.delta", "reply.completed", "lead.updated", "handoff", "meeting.booked",
                                 "meeting.failed", "meeting.cancelled")
_BY_TOKEN: dict[str, NoticeKind] = {kind.replace(".", "_"): kind for kind in KINDS}


class Notice(BaseModel):
    kind: ClassVar[NoticeKind]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


class ReplyDelta(Notice):
    """Part of a reply while it is being produced: ``index`` counts from 0 within the reply."""

    kind: ClassVar[NoticeKind] = "reply.delta"
    type: Literal["reply.delta"] = "reply.delta"
    message_id: str
    in_reply_to: str
    index: int
    text: str


class ReplyCompleted(Notice):
    """The whole reply, once it is committed; ``lead`` as it stands after the turn."""

    kind: ClassVar[NoticeKind] = "reply.completed"
    type: Literal["reply.completed"] = "reply.completed"
    message_id: str
    in_reply_to: str
    text: str
    intent: str | None = None
    engine: str | None = None
    citations: list[Citation] = []
    lead: LeadView | None = None


class LeadUpdated(Notice):
    kind: ClassVar[NoticeKind] = "lead.updated"
    type: Literal["lead.updated"] = "lead.updated"
    lead: LeadView


class Handoff(Notice):
    kind: ClassVar[NoticeKind] = "handoff"
    type: Literal["handoff"] = "handoff"
    reason: str


class MeetingBookedNotice(Notice):
    """The lead's meeting is booked; ``message_id`` is the agent's message that says so."""

    kind: ClassVar[NoticeKind] = "meeting.booked"
    type: Literal["meeting.booked"] = "meeting.booked"
    meeting_id: str
    start: datetime
    end: datetime
    timezone: str
    message_id: str | None = None


class MeetingFailedNotice(Notice):
    """The time asked for could not be booked: the free times offered instead, or a scheduling link."""

    kind: ClassVar[NoticeKind] = "meeting.failed"
    type: Literal["meeting.failed"] = "meeting.failed"
    reason: str
    alternatives: list[datetime] = []
    scheduling_url: str | None = None
    message_id: str | None = None


class MeetingCancelledNotice(Notice):
    kind: ClassVar[NoticeKind] = "meeting.cancelled"
    type: Literal["meeting.cancelled"] = "meeting.cancelled"
    meeting_id: str
    by: str
    message_id: str | None = None


def notice_subject(tenant_id: str, conversation_id: str, notice: Notice) -> str:
    return realtime_subject(tenant_id, conversation_id, notice.kind.replace(".", "_"))


def parse_subject(subject: str) -> tuple[str, str, NoticeKind] | None:
    """(tenant, conversation, kind) of a real-time subject, or None for anything else."""
    prefix, _, rest = subject.partition(REALTIME_PREFIX + ".")
    parts = rest.split(".")
    if prefix or len(parts) != 3 or parts[2] not in _BY_TOKEN:
        return None
    return parts[0], parts[1], _BY_TOKEN[parts[2]]


def parse_reply_completed(data: bytes) -> ReplyCompleted:
    return ReplyCompleted.model_validate_json(data)
