"""What the soak sent and what came back, with the times (``time.monotonic()``) a client saw each: every message
and its reply, every conversation with its lead and its booking. The audit compares it with what the platform
recorded; the chaos phase reads recovery times from it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.soak_setup import SoakTenant

LEAD, KNOWLEDGE, BOOKING = "lead", "knowledge", "booking"


@dataclass
class Message:
    id: str
    conversation_id: str
    purpose: str  # LEAD, KNOWLEDGE (a question of the corpus) or BOOKING (the turn that asks for a time)
    sent_at: float
    answered_at: float | None = None
    cited: bool = False
    replies_seen: int = 0  # reply.completed events about it on the stream (a catch-up read is not counted)


@dataclass
class Conversation:
    id: str
    tenant: SoakTenant
    kind: str
    email: str | None = None
    messages: list[str] = field(default_factory=list)
    lead_id: str | None = None
    meeting_id: str | None = None
    booked_at: float | None = None
    closed: bool = False


@dataclass
class Ledger:
    messages: dict[str, Message] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    retries: int = 0  # requests sent again after a transport error, a 5xx, 409 or 429
    _replied: dict[str, asyncio.Event] = field(default_factory=dict)
    _booked: dict[str, asyncio.Event] = field(default_factory=dict)
    # Replies that came on the stream before the POST that sent their message had answered.
    _early: dict[str, list[tuple[float, bool, str | None, bool]]] = field(default_factory=dict)

    def started(self, conversation: Conversation) -> None:
        self.conversations[conversation.id] = conversation

    def sent(self, message: Message) -> None:
        self.messages[message.id] = message
        self.conversations[message.conversation_id].messages.append(message.id)
        for at, cited, lead_id, live in self._early.pop(message.id, []):
            self.replied(message.id, at, cited=cited, lead_id=lead_id, live=live)

    def replied(self, in_reply_to: str, at: float, *, cited: bool, lead_id: str | None, live: bool) -> None:
        message = self.messages.get(in_reply_to)
        if message is None:  # not known yet, or the agent's own message about a booking (kept, never claimed)
            self._early.setdefault(in_reply_to, []).append((at, cited, lead_id, live))
            return
        message.replies_seen += live
        if message.answered_at is None:
            message.answered_at, message.cited = at, cited
        if lead_id is not None:
            self.conversations[message.conversation_id].lead_id = lead_id
        if event := self._replied.get(in_reply_to):
            event.set()

    def booked(self, conversation_id: str, meeting_id: str, at: float) -> None:
        conversation = self.conversations.get(conversation_id)
        if conversation is None or conversation.booked_at is not None:
            return
        conversation.meeting_id, conversation.booked_at = meeting_id, at
        if event := self._booked.get(conversation_id):
            event.set()

    async def reply(self, message_id: str, timeout_s: float) -> bool:
        """Waits for the message's reply, up to ``timeout_s``; whether it came."""
        if self.messages[message_id].answered_at is not None:
            return True
        event = self._replied.setdefault(message_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        self._replied.pop(message_id, None)
        return self.messages[message_id].answered_at is not None

    async def booking(self, conversation_id: str, timeout_s: float) -> bool:
        if self.conversations[conversation_id].booked_at is not None:
            return True
        event = self._booked.setdefault(conversation_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        self._booked.pop(conversation_id, None)
        return self.conversations[conversation_id].booked_at is not None

    def first_answer(self, after: float, holds: Callable[[Message], bool] = lambda _m: True) -> float | None:
        """When the first reply came to a message sent at or after ``after`` (None: none yet)."""
        times = [m.answered_at for m in self.messages.values()
                 if m.sent_at >= after and m.answered_at is not None and holds(m)]
        return min(times, default=None)

    def first_booking(self, after: float) -> float | None:
        """When the first meeting was booked that was asked for at or after ``after``."""
        times = [c.booked_at for c in self.conversations.values() if c.booked_at is not None
                 and any(self.messages[m].purpose == BOOKING and self.messages[m].sent_at >= after
                         for m in c.messages)]
        return min(times, default=None)

    def last_sent(self, conversation_id: str) -> float:
        return max(self.messages[m].sent_at for m in self.conversations[conversation_id].messages)
