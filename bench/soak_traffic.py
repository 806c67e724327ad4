"""Steady mixed traffic: visitors, each chatting one conversation after another as a person on a page with the
chat widget does (its SSE stream open, the next message once the last was answered), every message taking its
turn from one pacer, so the platform is offered ``rate`` messages a second whatever the latencies.

Conversations, in the proportions of ``MIX``:
- lead: five turns giving every default qualification field → ``lead.qualified`` (a CRM sync, a webhook);
- knowledge: two questions of the corpus the tenant's document answers → grounded replies, citing it;
- booking: a name, email and phone, then a time → ``meeting.booked`` (a CRM sync, a webhook, the confirmation
  email and four reminders: 24 h and 1 h before, by email and SMS).
Each conversation is closed at its end (its analysis: one more CRM sync when it has a lead). A conversation once
begun is finished after ``stop()``: what was sent is always a whole conversation, so the expected counts are exact."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx

from bench.soak_client import Api, LiveStream
from bench.soak_ledger import BOOKING, KNOWLEDGE, LEAD, Conversation, Ledger, Message
from bench.soak_setup import SoakTenant

MIX = (LEAD, KNOWLEDGE, BOOKING, KNOWLEDGE, LEAD, KNOWLEDGE)
REPLY_WAIT_S = 60.0


class Pacer:
    """Hands out send times ``1/rate`` apart; a slot not taken in time is not made up later."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        at = max(self._next, now)
        self._next = at + self._interval
        await asyncio.sleep(at - now)


def script(kind: str, tenant: SoakTenant, number: int, label: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The lead's email (None for a question-only visitor), unique to the phase, and the turns: (purpose, text)."""
    email = f"dana.{label}.t{tenant.index}.c{number}@northwind.example"
    if kind == LEAD:
        return email, [(LEAD, text) for text in (
            "Hi there!", f"I'm Dana from Northwind Traders, you can reach me at {email}",
            "We need an assistant that answers questions on our website", "Our budget is about $20k",
            "We'd like to launch next quarter")]
    if kind == KNOWLEDGE:
        return None, [(KNOWLEDGE, tenant.next_question()), (KNOWLEDGE, tenant.next_question())]
    slot = tenant.next_slot()
    return email, [(LEAD, f"I'm Dana from Northwind Traders, email {email}"),
                   (LEAD, f"My phone number is +3361{number % 10**7:07d}"),
                   (BOOKING, f"Can we meet on {slot:%Y-%m-%d} at {slot:%H:%M}?")]


class Traffic:
    def __init__(self, api: Api, gateway: httpx.URL, tenants: list[SoakTenant], ledger: Ledger, rate: float,
                 visitors: int, label: str) -> None:
        self._api, self._tenants, self._ledger = api, tenants, ledger
        self._host, self._port = gateway.host, gateway.port or 80
        self._pacer = Pacer(rate)
        self._numbers = itertools.count()
        self._visitors = visitors
        self._label = label  # unique per phase: the Idempotency-Keys' prefix, part of each lead's email
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.unanswered_in_time = 0  # replies not seen within REPLY_WAIT_S (the audit decides if they were lost)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._visit()) for _ in range(self._visitors)]

    async def stop(self) -> None:
        """No new conversation; those under way are finished."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)

    async def _visit(self) -> None:
        while not self._stopping.is_set():
            number = next(self._numbers)
            tenant = self._tenants[number % len(self._tenants)]
            await self._converse(tenant, MIX[number // len(self._tenants) % len(MIX)], number)

    async def _converse(self, tenant: SoakTenant, kind: str, number: int) -> None:
        key = f"{self._label}-{number}"
        created = await self._api.call("POST", "/v1/conversations", tenant.auth, {"agent_id": tenant.agent_id},
                                       key=f"{key}-start")
        email, turns = script(kind, tenant, number, self._label)
        conversation = Conversation(created["id"], tenant, kind, email)
        self._ledger.started(conversation)
        stream = LiveStream(self._api, self._host, self._port, conversation, self._ledger)
        stream.start()
        try:
            await asyncio.wait_for(stream.connected.wait(), REPLY_WAIT_S)
            for turn, (purpose, text) in enumerate(turns):
                await self._pacer.wait()
                sent_at = time.monotonic()
                accepted = await self._api.call("POST", f"/v1/conversations/{conversation.id}/messages",
                                                tenant.auth, {"text": text}, key=f"{key}-{turn}")
                self._ledger.sent(Message(accepted["message_id"], conversation.id, purpose, sent_at))
                if not await self._ledger.reply(accepted["message_id"], REPLY_WAIT_S):
                    self.unanswered_in_time += 1
            if kind == BOOKING:
                await self._ledger.booking(conversation.id, REPLY_WAIT_S)
            await self._api.call("POST", f"/v1/conversations/{conversation.id}/close", tenant.auth,
                                 key=f"{key}-close")
            conversation.closed = True
        finally:
            await stream.stop()
