"""The load a chaos test keeps up while it breaks the platform, each part counted so the test can say afterwards
that nothing was lost and nothing happened twice: conversations chatting without pause with their live streams
open, some asking the tenant's knowledge base, and leads who qualify, book a meeting a few minutes ahead and are
reminded of it, every step of theirs sent to a webhook endpoint. Everything goes through the load balancer in
front of the gateways (``afo_testkit.load_balancer``), so a dead gateway is one the client does not notice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats

from afo_common.events.streams import DEAD_LETTER
from afo_common.messaging.connection import server_urls
from afo_common.messaging.dead_letters import DeadLetter
from afo_testkit.platform import Platform
from tests.e2e.journey import Tenant, agent_reminding_soon, conversation, eventually, sign_up

# A conversation's detail holds its last 200 messages: each chat stays below 100 questions and their replies.
MAX_MESSAGES = 90
STREAM_LOST = (httpx.TransportError, httpx.TimeoutException)
# Time a lead has to qualify and book, under the faults, before its reminder is due.
BOOKING_MARGIN = timedelta(seconds=40)
PHONE = "+33612345678"


async def ask(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, text: str, key: str) -> str:
    """One message, its id; sent again with the same Idempotency-Key while the first try is still running
    somewhere (409), so it is one message however many tries it takes."""
    while True:
        response = await api.post(f"/v1/conversations/{conversation_id}/messages", json={"text": text},
                                  headers={**tenant.auth, "Idempotency-Key": key})
        if response.status_code == 409:
            await asyncio.sleep(0.2)
            continue
        assert response.status_code == 202, response.text
        message_id: str = response.json()["message_id"]
        return message_id


async def reply_to(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, message_id: str,
                   within_s: float = 60.0) -> dict[str, Any]:
    """The assistant's reply to ``message_id``, once it is recorded."""
    def replied(body: dict[str, Any]) -> bool:
        return any(m["in_reply_to"] == message_id for m in body["messages"])

    body = await eventually(api, tenant, f"/v1/conversations/{conversation_id}", replied, within_s=within_s)
    [reply] = [m for m in body["messages"] if m["in_reply_to"] == message_id]
    return dict(reply)


@dataclass
class Chat:
    """A conversation asking a question a second or so, without waiting for the answers (a minute and a half
    of questions before it reaches ``MAX_MESSAGES``)."""

    api: httpx.AsyncClient
    tenant: Tenant
    conversation_id: str
    question: Callable[[int], str]
    sent: list[str] = field(default_factory=list)
    sent_at: dict[str, datetime] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event, pause_s: float = 1.0) -> None:
        """Questions until ``stop``, keeping the last of ``MAX_MESSAGES`` for a question after the faults (a slow
        machine can take the faults longer than the chat lasts)."""
        while len(self.sent) < MAX_MESSAGES - 1 and not stop.is_set():
            await self.send()
            await asyncio.sleep(pause_s)

    async def send(self) -> None:
        """The next question, once it went through (not while ``run`` goes on: they would number alike)."""
        n, at = len(self.sent), datetime.now(UTC)
        message_id = await ask(self.api, self.tenant, self.conversation_id, self.question(n),
                               f"{self.conversation_id}-{n}")
        self.sent.append(message_id)
        self.sent_at[message_id] = at

    async def detail(self) -> dict[str, Any]:
        """The conversation once every message sent is answered (AssertionError saying what is missing)."""
        def answered(body: dict[str, Any]) -> bool:
            return set(self.sent) <= {m["in_reply_to"] for m in body["messages"] if m["role"] == "assistant"}

        try:
            body: dict[str, Any] = await eventually(self.api, self.tenant, f"/v1/conversations/{self.conversation_id}",
                                                    answered, within_s=60.0)
        except AssertionError:
            last = (await self.api.get(f"/v1/conversations/{self.conversation_id}", headers=self.tenant.auth)).json()
            asked = {m["id"] for m in last["messages"] if m["role"] == "user"}
            replied = {m["in_reply_to"] for m in last["messages"] if m["role"] == "assistant"}
            raise AssertionError(f"{self.conversation_id}: sent {len(self.sent)}, recorded {len(asked)}, replied "
                                 f"{len(replied)}; not recorded {sorted(set(self.sent) - asked)}, not answered "
                                 f"{sorted(set(self.sent) - replied)}") from None
        return body


class LiveStream:
    """A conversation's server-sent events as a page keeps them: opened again (on whichever gateway the load
    balancer picks) whenever the connection ends; the replies it carried, by the message they answer."""

    def __init__(self, api: httpx.AsyncClient, tenant: Tenant, conversation_id: str) -> None:
        self.replies: list[str] = []
        self.connections = 0
        self._task = asyncio.create_task(self._follow(api, tenant, f"/v1/conversations/{conversation_id}/stream"))

    async def _follow(self, api: httpx.AsyncClient, tenant: Tenant, path: str) -> None:
        timeout = httpx.Timeout(10.0, read=None)
        while True:
            with contextlib.suppress(*STREAM_LOST):
                async with api.stream("GET", path, headers=tenant.auth, timeout=timeout) as response:
                    if response.status_code == 200:
                        self.connections += 1
                        await self._read(response)
            await asyncio.sleep(0.1)

    async def _read(self, response: httpx.Response) -> None:
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "reply.completed":
                self.replies.append(json.loads(line.removeprefix("data: "))["in_reply_to"])

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass(frozen=True)
class Booking:
    """A lead who qualified and booked; the reminder the agent's offset makes due a minute or two later."""

    tenant: Tenant
    conversation_id: str
    email: str
    start: datetime
    send_at: datetime


async def lead_who_books(api: httpx.AsyncClient, webhook_url: str, number: int) -> Booking:
    """A tenant of its own (so the leads' meetings never compete for a time), its steps sent to ``webhook_url``;
    its lead qualifies in three turns and books a time six to eleven minutes ahead, with a reminder due
    ``BOOKING_MARGIN`` to a minute more after the agent was made."""
    tenant = await sign_up(api, company=f"Chaos {number}")
    created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth,
                             json={"url": webhook_url, "events": ["lead.qualified", "meeting.booked"]})
    assert created.status_code == 201, created.text
    soon = await agent_reminding_soon(api, tenant, BOOKING_MARGIN)
    agent_id, start = soon.agent_id, soon.start
    conversation_id = await conversation(api, tenant, agent_id)
    email = f"dana+{number}@northwind.example"
    turns = [f"I'm Dana from Northwind Traders, email {email}", f"My phone number is {PHONE}",
             "We need an assistant that answers questions on our website", f"Can we meet at {start:%H:%M}?"]
    for n, text in enumerate(turns):
        message_id = await ask(api, tenant, conversation_id, text, f"{conversation_id}-{n}")
        await reply_to(api, tenant, conversation_id, message_id)
    return Booking(tenant, conversation_id, email, start, soon.send_at)


async def dead_letters(platform: Platform) -> list[DeadLetter]:
    """Every dead letter the platform's services wrote."""
    client = await nats.connect(server_urls(platform.nats_url), **platform.nats_auth().connect_options())
    try:
        js = client.jetstream()
        state = (await js.stream_info(DEAD_LETTER)).state
        letters: list[DeadLetter] = []
        for sequence in range(state.first_seq, state.last_seq + 1) if state.messages else ():
            with contextlib.suppress(nats.js.errors.NotFoundError):  # a gap: nothing was ever there
                message = await js.get_msg(DEAD_LETTER, sequence)
                letters.append(DeadLetter.model_validate_json(message.data or b""))
        return letters
    finally:
        await client.close()


async def kill_and_wait_back(platform: Platform, service: str, within_s: float = 90.0) -> None:
    """SIGKILL ``service``'s (first) process; back when the supervisor has started it again and it is ready."""
    before = platform.pids[service]
    platform.kill(service, signal.SIGKILL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while platform.pids[service] in (None, before):
        assert loop.time() < deadline, f"{service} was not started again within {within_s:.0f} s"
        await asyncio.sleep(0.1)
    await platform.wait_ready(service, max(1.0, deadline - loop.time()))
