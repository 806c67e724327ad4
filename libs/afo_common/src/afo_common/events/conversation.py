"""Events of the conversation context (agent-runtime owns conversations, messages and leads)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import CONVERSATION

Channel = Literal["web", "api", "sms", "webhook", "voice"]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=120)


class ReplyRoute(BaseModel):
    """Where the agent's answer to a message also goes, outside the conversation's own stream: the lead's
    address on that channel (``to``) and the platform's (``sender``: the agent's number the lead wrote to).
    notifier sends it (SMS, or email for a lead reached first by email)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["sms", "email"]
    to: str = Field(max_length=254)
    sender: str | None = Field(default=None, max_length=254)


class Citation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    document_id: str
    title: str
    page: int | None = None
    # The sentences of the passage the answer rests on, and the passage itself.
    snippet: str | None = None
    chunk_id: str | None = None


@event("conversation.started", stream=CONVERSATION)
class ConversationStarted(Event):
    conversation_id: str
    agent_id: str
    agent_version: int
    channel: Channel
    contact: Contact


@event("conversation.message_received", stream=CONVERSATION)
class MessageReceived(Event):
    """A lead's message, from any channel. The gateway assigns message_id; agent-runtime dedupes on it."""

    conversation_id: str
    message_id: str
    channel: Channel
    text: str = Field(min_length=1, max_length=8000)
    sent_at: datetime
    # Position in the conversation, from 1 without gaps, given by the producer that accepted it: the
    # agent answers strictly in this order whatever order deliveries arrive in. None: no order asked.
    sequence: int | None = Field(default=None, ge=1)
    # Set by the channel that brought it when the answer must go back that way (an SMS: to its sender).
    reply_route: ReplyRoute | None = None
    # The API key (its id, never its secret) the message was posted with: secret or publishable; None for a
    # console user, an SMS, a call. What anomaly detection counts a key's messages by.
    key_id: str | None = None


@event("conversation.message_replied", stream=CONVERSATION)
class MessageReplied(Event):
    """The durable record of the agent's reply; its deltas went out earlier on ``afo.rt.…``."""

    conversation_id: str
    message_id: str
    in_reply_to: str
    text: str
    engine: Literal["embedded", "openai"]
    intent: str
    citations: list[Citation] = []
    first_delta_ms: float
    completed_ms: float
    # Where the reply must also be delivered (the answered message's route, or the opening message's).
    reply_route: ReplyRoute | None = None
    agent_id: str | None = None
    lead_id: str | None = None
    # The agent's model failed and the embedded engine answered instead (an error the lead did not see).
    fallback: bool = False


@event("conversation.turns_tallied", stream=CONVERSATION)
class TurnsTallied(Event):
    """An agent's turns in one window, counted in the turns' own transactions (``afo_common.tallies``): what
    anomaly detection learns messages per key and reply latency and errors from, without an event per turn to
    count. ``key_id``: the API key the messages came with (None: a console user, an SMS, a call). A window may
    be told in more than one event (a turn that committed as it closed): add them up."""

    agent_id: str
    key_id: str | None = None
    window_start: datetime
    window_s: int = Field(gt=0)
    messages: int = Field(ge=0)
    replies: int = Field(ge=0)
    # Time from the message's arrival to the completed reply, summed over ``replies``.
    reply_ms_total: float = Field(ge=0)
    # Replies the embedded engine gave because the agent's model failed (errors the lead did not see).
    fallbacks: int = Field(ge=0)


@event("conversation.opted_out", stream=CONVERSATION)
class ConversationOptedOut(Event):
    conversation_id: str
    lead_id: str | None
    channel: Channel


@event("handoff.requested", stream=CONVERSATION)
class HandoffRequested(Event):
    conversation_id: str
    agent_id: str
    lead_id: str | None
    reason: str


@event("lead.created", stream=CONVERSATION)
class LeadCreated(Event):
    lead_id: str
    conversation_id: str
    agent_id: str
    fields: dict[str, str]


@event("lead.updated", stream=CONVERSATION)
class LeadUpdated(Event):
    lead_id: str
    conversation_id: str
    fields: dict[str, str]
    changed: list[str]


@event("lead.qualified", stream=CONVERSATION)
class LeadQualified(Event):
    lead_id: str
    conversation_id: str
    agent_id: str
    fields: dict[str, str]


@event("meeting.requested", stream=CONVERSATION)
class MeetingRequested(Event):
    """The lead proposed a time; workflow-executor checks availability and books or proposes others."""

    request_id: str
    conversation_id: str
    agent_id: str
    lead_id: str | None
    start: datetime
    timezone: str
    text: str
    # A reschedule: the lead's booked meeting this one replaces, cancelled once the new time is booked.
    replaces_meeting_id: str | None = None


@event("meeting.cancel_requested", stream=CONVERSATION)
class MeetingCancelRequested(Event):
    """The lead asked in the conversation to cancel their meeting; workflow-executor cancels it."""

    request_id: str
    meeting_id: str
    conversation_id: str
    agent_id: str
    lead_id: str | None


Outcome = Literal["qualified", "booked", "handoff", "not_interested", "lost"]


@event("conversation.closed", stream=CONVERSATION)
class ConversationClosed(Event):
    conversation_id: str
    agent_id: str
    # ``idle``: no message for longer than the agent's idle timeout (found by a scheduled check).
    reason: Literal["closed", "opted_out", "idle"]


@event("conversation.analyzed", stream=CONVERSATION)
class ConversationAnalyzed(Event):
    """What a finished conversation came to; the CRM record receives the summary."""

    conversation_id: str
    agent_id: str
    lead_id: str | None
    summary: str = Field(max_length=2000)
    outcome: Outcome
    facts: dict[str, str]
    next_step: str | None = Field(default=None, max_length=500)
    engine: Literal["embedded", "openai"]
