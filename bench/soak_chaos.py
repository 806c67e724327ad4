"""Recovery times under steady chat: each service SIGKILLed in turn (the platform's supervisor restarts it), ``kills``
rounds, and on a cluster the node leading the conversations' stream killed too (then started again). For each kill,
seconds from the kill to: the service ready again (a new process answering ``/readyz``; for a NATS node, another
node leading the stream), the first answered message sent after the kill, and the service's own work done again for
something asked after the kill — a cited reply (knowledge-ingest), a booking (workflow-executor), a webhook
delivered (notifier). Services are killed one at a time, each once it has recovered, so the supervisor's restart
delay stays its first (0.5 s) or second (1 s) step: it doubles per crash within a minute and gives up at five."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from afo_cli.services import SERVICES
from afo_common.events.streams import CONVERSATION
from afo_testkit.cluster import stream_leader
from afo_testkit.platform import Platform
from bench.soak_ledger import KNOWLEDGE, Ledger
from bench.soak_setup import TimedReceiver

WAIT_S = 90.0
POLL_S = 0.05
OWN_WORK = {"knowledge-ingest": "a cited reply to a question", "workflow-executor": "a booking",
            "notifier": "a webhook delivered", "gateway": "a reply seen on the stream",
            "agent-runtime": "a reply", "nats node": "a reply"}


@dataclass
class Recovery:
    ready: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    kills: int = 0


class Chaos:
    def __init__(self, platform: Platform, ledger: Ledger, receiver: TimedReceiver) -> None:
        self._platform, self._ledger, self._receiver = platform, ledger, receiver
        self.recoveries: dict[str, Recovery] = {}

    async def run(self, rounds: int, nats_node: bool, settle_s: float = 2.0) -> None:
        for _ in range(rounds):
            for service in SERVICES:
                await self._kill_service(service)
                await asyncio.sleep(settle_s)
            if nats_node:
                await self._kill_nats_leader()
                await asyncio.sleep(settle_s)

    def rows(self) -> list[tuple[str, int, list[float], list[float], list[float], str]]:
        return [(name, r.kills, r.ready, r.answered, r.own, OWN_WORK.get(name, "-"))
                for name, r in self.recoveries.items()]

    async def _kill_service(self, service: str) -> None:
        recovery = self.recoveries.setdefault(service, Recovery())
        old = self._platform.pids[service]
        url = self._platform.urls[service]
        killed = time.monotonic()
        self._platform.kill(service, signal.SIGKILL)
        recovery.kills += 1
        async with httpx.AsyncClient(timeout=1.0) as client:
            ready = await until_ready(lambda: self._answers_ready(client, service, old, url), killed)
        own = self._own_work(service, killed)
        answered, done = await asyncio.gather(until(lambda: self._ledger.first_answer(killed), killed),
                                              until(own, killed))
        for values, value in ((recovery.ready, ready), (recovery.answered, answered), (recovery.own, done)):
            if value is not None:
                values.append(value)

    async def _answers_ready(self, client: httpx.AsyncClient, service: str, old: int | None, url: str) -> bool:
        pid = self._platform.pids[service]
        if pid is None or pid == old:
            return False
        with contextlib.suppress(httpx.HTTPError):
            return (await client.get(f"{url}/readyz")).status_code == 200
        return False

    def _own_work(self, service: str, killed: float) -> Callable[[], float | None]:
        if service == "knowledge-ingest":
            return lambda: self._ledger.first_answer(killed, lambda m: m.purpose == KNOWLEDGE and m.cited)
        if service == "workflow-executor":
            return lambda: self._ledger.first_booking(killed)
        if service == "notifier":
            return lambda: self._first_webhook(killed)
        if service in ("gateway", "agent-runtime"):
            return lambda: self._ledger.first_answer(killed)
        return lambda: None

    def _first_webhook(self, killed: float) -> float | None:
        """The first webhook to arrive for an event a message sent after the kill caused (the conversation's last
        message: the fifth turn qualifies the lead, the third asks for the meeting)."""
        times = []
        for received in list(self._receiver.received):
            conversation_id = received.envelope["data"].get("conversation_id")
            if conversation_id in self._ledger.conversations and self._ledger.last_sent(conversation_id) >= killed:
                times.append(self._receiver.arrived[received.headers.get("webhook-id", "")])
        return min(times, default=None)

    async def _kill_nats_leader(self) -> None:
        recovery = self.recoveries.setdefault("nats node", Recovery())
        leader = await stream_leader(self._platform, CONVERSATION)
        [node] = [server for server in self._platform.nats_servers if server.name == leader]
        killed = time.monotonic()
        await node.kill(signal.SIGKILL)
        recovery.kills += 1
        await stream_leader(self._platform, CONVERSATION, other_than=leader)
        recovery.ready.append(time.monotonic() - killed)
        answered = await until(lambda: self._ledger.first_answer(killed), killed)
        if answered is not None:
            recovery.answered.append(answered)
            recovery.own.append(answered)
        await node.start()


async def until(found: Callable[[], float | None], since: float) -> float | None:
    """Seconds from ``since`` to the time ``found`` reports; None when it reports none within ``WAIT_S``."""
    while time.monotonic() - since < WAIT_S:
        if (at := found()) is not None:
            return at - since
        await asyncio.sleep(0.2)
    return None


async def until_ready(probe: Callable[[], Awaitable[bool]], since: float) -> float | None:
    """Seconds from ``since`` to the first time ``probe`` holds; None past ``WAIT_S``."""
    while time.monotonic() - since < WAIT_S:
        if await probe():
            return time.monotonic() - since
        await asyncio.sleep(POLL_S)
    return None
