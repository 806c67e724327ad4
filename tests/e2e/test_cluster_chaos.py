"""The whole platform on a three-node JetStream cluster (``afo up --cluster``: every stream replicated on each
node), two gateways behind a load balancer and two agent-runtimes, under steady mixed load — conversations
chatting without pause with their live streams open, half of them asking the tenant's knowledge base, and leads
who qualify, book a meeting, are synced to the built-in CRM, reminded by email and SMS, each step sent to a
webhook endpoint — while it is broken: each service SIGKILLed in turn and started again by the supervisor, then
the node leading the conversations' stream killed and restarted; or that node paused past its heartbeats
(SIGSTOP, then SIGCONT: it wakes up believing it still leads). Afterwards every count is exact: each message
recorded and answered once, each lead's meeting booked once, synced to the CRM once per change, confirmed and
reminded once per channel, each webhook event delivered once; and no dead letter.

``make test`` runs a bounded slice (the gateway, agent-runtime and notifier killed, then the leader node);
``make chaos`` (and ``make test-long``) every service, and the pause."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_cli.services import SERVICES
from afo_common.events.streams import CONVERSATION
from afo_testkit.cluster import stream_leader
from afo_testkit.load_balancer import balanced_client
from afo_testkit.local_server import serving
from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.webhook_receiver import Receiver
from tests.e2e.chaos import (
    Booking,
    Chat,
    LiveStream,
    dead_letters,
    kill_and_wait_back,
    lead_who_books,
)
from tests.e2e.journey import Tenant, conversation, eventually, published_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PRICING = b"""# Pricing

The Growth plan costs $199 per month and includes five agents.
The Scale plan costs $499 per month and includes unlimited agents and phone numbers.
"""
REPLICATED = ("gateway", "agent-runtime")
# The bounded slice: the replicated services (one of two processes) and the one that sends what is counted.
SOME_SERVICES = ("gateway", "agent-runtime", "notifier")
SERVING_S = 2.0  # how long the platform serves between two faults
WAIT_S = 150.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory,
                   postgres_server: PostgresDatabases | str) -> AsyncIterator[Platform]:
    """The services with two processes keep their data in PostgreSQL, as replicas do in production, when one
    answers (else both processes share the SQLite file)."""
    env = {"AFO_WEBHOOK_ALLOW_PRIVATE": "1", "AFO_RATE_LIMIT_SIGNUP_PER_IP": "100000/hour"}
    if not isinstance(postgres_server, str):
        for service in REPLICATED:
            variable = f"AFO_{service.upper().replace('-', '_')}_DATABASE_URL"
            env[variable] = await postgres_server.migrated(f"afo_{service.replace('-', '_')}.migrations")
    async with running_platform(tmp_path_factory.mktemp("platform"), nats_nodes=3, environment=env) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The API through a load balancer in front of the gateway and a second one; agent-runtime has a second
    process too."""
    gateway, _ = [await platform.start_replica(service) for service in REPLICATED]
    async with balanced_client([platform.gateway_url, gateway.url]) as client:
        yield client


async def knowledgeable_agent(api: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await api.post("/v1/knowledge-bases", headers=tenant.auth, json={"name": "Pricing"})
    assert created.status_code == 201, created.text
    kb_id = created.json()["id"]
    uploaded = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth,
                              files={"file": ("pricing.md", PRICING, "text/markdown")})
    assert uploaded.status_code in (200, 202), uploaded.text
    await eventually(api, tenant, f"/v1/knowledge-bases/{kb_id}/documents/{uploaded.json()['id']}",
                     lambda document: document["status"] == "ready", within_s=90.0)
    return await published_agent(api, tenant, knowledge_base_ids=[kb_id])


def faults(platform: Platform, fault: str) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """What breaks, in turn: services killed and started again (some, or every one), then the conversations'
    stream leader killed; or, for the pause, that leader paused only."""
    def service_killed(service: str) -> Callable[[], Awaitable[None]]:
        return lambda: kill_and_wait_back(platform, service)

    async def leader_fails() -> None:
        leader = await stream_leader(platform, CONVERSATION)
        [node] = [server for server in platform.nats_servers if server.name == leader]
        await node.kill(signal.SIGSTOP if fault == "pause" else signal.SIGKILL)
        await stream_leader(platform, CONVERSATION, other_than=leader)  # another node took over
        await asyncio.sleep(SERVING_S)  # and served for a while
        if fault == "pause":
            await node.kill(signal.SIGCONT)
        else:
            await node.start()

    killed = {"kill": SOME_SERVICES, "kill-each": SERVICES, "pause": ()}[fault]
    return [*[(service, service_killed(service)) for service in killed], ("nats leader", leader_fails)]


# 85 s on a quiet machine; on a loaded one whose cores are slow the checks that follow the faults took past the
# default 300 s. pytest-timeout is here to stop a hang, not to time the platform (bench/soak.py does).
@pytest.mark.timeout(900)
@pytest.mark.parametrize("fault", ["kill", pytest.param("kill-each", marks=pytest.mark.long),
                                   pytest.param("pause", marks=pytest.mark.long)])
async def test_the_platform_under_load_loses_and_duplicates_nothing_while_its_parts_fail(
        platform: Platform, api: httpx.AsyncClient, fault: str) -> None:
    receiver = Receiver()
    # The platform serves every fault of this module, and each numbers its leads from 0: count this one's mail.
    assert platform.smtp_sink is not None
    mailed_before = len(platform.smtp_sink.received)
    async with serving(receiver.app()) as port:
        knowing, plain = await sign_up(api, "Knowing"), await sign_up(api, "Plain")
        knowing_agent, plain_agent = await knowledgeable_agent(api, knowing), await published_agent(api, plain)
        chats = [Chat(api, knowing, await conversation(api, knowing, knowing_agent),
                      lambda n: f"Question {n}: how much does the Growth plan cost?") for _ in range(2)]
        chats += [Chat(api, plain, await conversation(api, plain, plain_agent),
                       lambda n: f"Question {n}: what do you offer?") for _ in range(2)]
        streams = [LiveStream(api, chat.tenant, chat.conversation_id) for chat in chats]
        stop = asyncio.Event()
        chatting = [asyncio.create_task(chat.run(stop)) for chat in chats]
        booking: list[asyncio.Task[Booking]] = []
        recovered_at = datetime.now(UTC)

        for number, (_, breaks) in enumerate(faults(platform, fault)):
            booking.append(asyncio.create_task(lead_who_books(api, f"http://127.0.0.1:{port}/afo", number)))
            await asyncio.sleep(SERVING_S)
            await breaks()
            recovered_at = datetime.now(UTC)
            await asyncio.sleep(SERVING_S)
        stop.set()
        await asyncio.gather(*chatting)
        # Each chat's last question goes after the last fault, whatever the chats managed while the faults lasted.
        async with asyncio.timeout(WAIT_S):
            await asyncio.gather(*(chat.send() for chat in chats))
        bookings = await asyncio.gather(*booking)
        details = [await chat.detail() for chat in chats]
        await asyncio.sleep(1.0)  # the last replies' notices reach the live streams
        for live in streams:
            await live.close()

        await asyncio.gather(*(booked(api, one) for one in bookings))
        async with asyncio.timeout(WAIT_S):
            await receiver.wait_for(2 * len(bookings))
        await asyncio.sleep(1.0)  # a duplicate, were one sent, would arrive now

    for chat, body in zip(chats, details, strict=True):
        assert len(chat.sent) >= 3, f"too few messages went through: {len(chat.sent)}"
        asked = [m["id"] for m in body["messages"] if m["role"] == "user"]
        replies = [m["in_reply_to"] for m in body["messages"] if m["role"] == "assistant"]
        assert sorted(asked) == sorted(chat.sent)  # each message recorded once
        assert sorted(replies) == sorted(chat.sent)  # and answered once

    # The live streams carried no reply twice, those on the killed gateway came back on the other, and each carried
    # every reply to a message sent once the last fault was over.
    for chat, live in zip(chats, streams, strict=True):
        assert not [m for m, n in Counter(live.replies).items() if n > 1], "a reply came twice on a live stream"
        late = {m for m, at in chat.sent_at.items() if at > recovered_at}
        assert late and late <= set(live.replies), f"{len(late - set(live.replies))} replies missing from the stream"
    if fault != "pause":  # a gateway was killed
        assert any(live.connections >= 2 for live in streams)

    # The knowledge base answered after the last fault (after knowledge-ingest's restart, when it was killed).
    for body in details[:2]:
        cited = [m for m in body["messages"] if m["role"] == "assistant" and m["citations"]]
        assert cited and datetime.fromisoformat(cited[-1]["created_at"]) > recovered_at

    webhooks = Counter((r.envelope["tenantid"], r.envelope["id"], r.envelope["type"]) for r in receiver.received)
    assert [key for key, n in webhooks.items() if n > 1] == [], "a webhook event was delivered twice"
    for one in bookings:
        assert sorted(kind for tenant, _, kind in webhooks if tenant == one.tenant.id) == [
            "afo.lead.qualified.v1", "afo.meeting.booked.v1"]
    sink = platform.smtp_sink
    assert sink is not None
    mailed = Counter(recipient for _, recipients, _ in sink.received[mailed_before:] for recipient in recipients)
    for one in bookings:
        assert mailed[one.email] == 2, f"{one.email}: {mailed[one.email]} emails, not a confirmation and a reminder"

    letters = await dead_letters(platform)
    assert letters == [], "\n".join(f"{d.service} {d.subject}: {d.reason}" for d in letters)


async def booked(api: httpx.AsyncClient, one: Booking) -> None:
    """The lead's meeting booked once, synced to the CRM once for each change, confirmed by email and reminded by
    email and SMS once each — once the reminder was due."""
    tenant = one.tenant
    meetings = (await api.get("/v1/meetings", headers=tenant.auth)).json()["data"]
    assert [datetime.fromisoformat(m["start"]) for m in meetings] == [one.start], meetings
    [meeting] = meetings
    runs = await eventually(api, tenant, f"/v1/leads/{meeting['lead_id']}/crm-syncs",
                            lambda body: len([r for r in body["data"] if r["status"] == "synced"]) >= 2,
                            within_s=WAIT_S)
    assert sorted((r["trigger"], r["status"]) for r in runs["data"]) == [
        ("lead.qualified", "synced"), ("meeting.booked", "synced")], runs

    def all_sent(body: dict[str, Any]) -> bool:
        return len(body["data"]) >= 3 and all(r["status"] == "sent" for r in body["data"])

    notifications = await eventually(api, tenant, "/v1/notifications", all_sent, params={"meeting_id": meeting["id"]},
                                     within_s=WAIT_S)
    rows = sorted((r["kind"], r["channel"]) for r in notifications["data"])
    assert rows == [("confirmation", "email"), ("reminder", "email"), ("reminder", "sms")], rows
    reminder = next(r for r in notifications["data"] if r["kind"] == "reminder")
    assert datetime.fromisoformat(reminder["send_at"]) == one.send_at
