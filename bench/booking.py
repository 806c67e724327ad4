"""Benchmark of the booking handler: ``meeting.requested`` → ``meeting.booked`` on one agent's calendar, on SQLite
and on PostgreSQL, and the race every booking store must win: many concurrent requests for one slot.

    uv run python -m bench.booking [--bookings 400] [--concurrency 1,8] [--racers 50] [--rounds 5]
                                   [--through-nats 200] [--from-message 100]
                                   [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]

The handler is called as its consumer calls it (a ``Delivery`` per request, its inbox row, its outbox event, one
transaction), with the store of ``afo_workflow_executor.app`` and no outside calendar, so times are the
handler's own: reads of the calendar and its bookings, the slot check, the booking with its cells, the commit.
NATS is not in them; ``--through-nats`` then measures the whole path on a running service: publish on JetStream,
consume, handle, outbox relay, ``meeting.booked`` received. ``--from-message`` measures what a lead waits for:
from its message leaving the client (``POST /v1/conversations/{id}/messages``, each in a new conversation) to
``meeting.booked`` on NATS, through the gateway, agent-runtime (the embedded engine reads "on <date> at
<time>" and emits ``meeting.requested``) and workflow-executor on the built-in calendar, each on SQLite.

Throughput: ``--bookings`` requests for distinct free slots of one calendar (one contended calendar: every
booking writes cells of the same calendar), ``--concurrency`` at a time (one run per value); bookings/s over
the run, p50/p95 of each request's handling (above one at a time, the wait for the store's writer included).
Race: ``--racers`` requests for the same slot at once, ``--rounds`` times on fresh slots; the double bookings
are the pairs of live bookings whose held times overlap, counted in the database after every run (must be 0)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
from nats.aio.msg import Msg
from sqlalchemy import and_, func, select

from afo_common.db import Database, migrate
from afo_common.events import envelope_for
from afo_common.events.conversation import MeetingRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import workflow_executor as wx
from afo_testkit.clock import FixedClock
from afo_testkit.platform import running_platform
from afo_testkit.postgres import PostgresDatabases, PostgresUnavailable
from afo_workflow_executor.adapters.no_external_calendars import NoExternalCalendars
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import bookings, messaging
from afo_workflow_executor.domain.calendar import CalendarSettings, TimeRange
from afo_workflow_executor.domain.records import CalendarRow
from afo_workflow_executor.handlers.booking import MeetingRequests
from afo_workflow_executor.handlers.views import settings_body

TENANT, AGENT = "t_bench", "agt_bench"
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
# Open every day around the clock, 15-minute meetings on a 15-minute grid, a year ahead: room for every request.
SETTINGS = CalendarSettings(time_zone="UTC", weekly={d: (TimeRange.parse("00:00-00:00"),) for d in
                                                       ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                            meeting_minutes=15, minimum_notice_minutes=0, horizon_days=365)


def slot(n: int) -> datetime:
    return NOW + timedelta(days=1, minutes=15 * n)


class Bench:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.units = UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None)
        self.store = sql_store(self.units)
        self.handler = MeetingRequests(self.store, FixedClock(NOW), NoExternalCalendars(), max_deliver=5)

    async def calendar(self) -> None:
        async with self.store() as uow:
            await uow.calendars.ensure(CalendarRow(new_id("cal"), TENANT, "agent", AGENT, SETTINGS, NOW, NOW))

    async def request(self, start: datetime) -> float:
        payload = MeetingRequested(request_id=new_id("req"), conversation_id="conv_bench", agent_id=AGENT,
                                   lead_id=None, start=start, timezone="UTC", text="bench")
        delivery = Delivery(envelope_for(payload, tenant_id=TENANT, source="agent-runtime"), payload, 1,
                            "workflow-executor-meeting-requested", self.units)
        began = time.perf_counter()
        await self.handler(delivery)
        return (time.perf_counter() - began) * 1000

    async def answers(self) -> dict[str, int]:
        async with self.db.session() as session:
            rows = await session.execute(select(messaging.outbox.c.subject, func.count())
                                         .group_by(messaging.outbox.c.subject))
            return {subject.rsplit(".", 1)[-1]: count for subject, count in rows.all()}

    async def doubles(self) -> int:
        """Pairs of live bookings of one calendar whose held times overlap: each is a double booking."""
        first, second = bookings.alias("first"), bookings.alias("second")
        async with self.db.session() as session:
            overlapping = await session.execute(
                select(func.count()).select_from(first).join(second, and_(
                    first.c.calendar_id == second.c.calendar_id, first.c.id < second.c.id,
                    first.c.held_from < second.c.held_until, second.c.held_from < first.c.held_until))
                .where(first.c.status == "booked", second.c.status == "booked"))
            return int(overlapping.scalar_one())


async def throughput(bench: Bench, count: int, concurrency: int, offset: int = 10_000
                     ) -> tuple[float, list[float]]:
    queue = list(range(offset, offset + count))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            latencies.append(await bench.request(slot(queue.pop())))

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - began), latencies


async def race(bench: Bench, racers: int, rounds: int, offset: int) -> tuple[int, int, int]:
    before = await bench.answers()
    for r in range(rounds):
        await asyncio.gather(*(bench.request(slot(offset + r * 4)) for _ in range(racers)))
    after = await bench.answers()
    booked = after.get("booked", 0) - before.get("booked", 0)
    failed = after.get("failed", 0) - before.get("failed", 0)
    return booked, failed, await bench.doubles()


async def through_nats(requests: int) -> list[float]:
    """The same request published on JetStream as agent-runtime publishes it, to a running workflow-executor (its
    own process, its SQLite store): milliseconds from the publish to ``meeting.booked`` arriving, one at a time.
    The gateway runs too: it is the vault workflow-executor asks whether the tenant has an outside calendar."""
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        async with running_platform(Path(home), services=("gateway", "workflow-executor"),
                                    supervise=False) as platform:
            nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
            answered: dict[str, asyncio.Future[float]] = {}

            async def on_answer(msg: Msg) -> None:
                request_id = json.loads(msg.data)["data"]["request_id"]
                if (waiting := answered.get(request_id)) is not None and not waiting.done():
                    if msg.subject.endswith(".failed"):  # every request asks a free slot: a failure is a bug
                        waiting.set_exception(RuntimeError(f"{request_id} failed: {msg.data[:300]!r}"))
                    else:
                        waiting.set_result(time.perf_counter())

            # Only the answers: the request itself travels on afo.<tenant>.meeting.requested.
            for answer in ("booked", "failed"):
                await nc.subscribe(f"afo.{TENANT}.meeting.{answer}", cb=on_answer)
            js = nc.jetstream()
            # The agent's calendar, open around the clock from now on (the service runs on the real clock).
            put = wx.PutCalendar(tenant_id=TENANT, agent_id=AGENT, settings=settings_body(SETTINGS))
            reply = await nc.request(wx.PUT_CALENDAR.subject, put.model_dump_json().encode(), timeout=10)
            assert json.loads(reply.data)["ok"], reply.data
            first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
            try:
                for n in range(requests + 10):  # the first ten warm the service up
                    payload = MeetingRequested(request_id=new_id("req"), conversation_id="conv_bench", agent_id=AGENT,
                                               lead_id=None, start=first + timedelta(minutes=15 * n), timezone="UTC",
                                               text="bench")
                    envelope = envelope_for(payload, tenant_id=TENANT, source="agent-runtime")
                    answered[payload.request_id] = asyncio.get_running_loop().create_future()
                    began = time.perf_counter()
                    await js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
                    arrived = await asyncio.wait_for(answered[payload.request_id], timeout=10)
                    if n >= 10:
                        latencies.append((arrived - began) * 1000)
            finally:
                await nc.drain()
    return latencies


async def from_message(requests: int) -> list[float]:
    """Milliseconds from a lead's message leaving the client to ``meeting.booked`` arriving, one at a time."""
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        services = ("gateway", "agent-runtime", "workflow-executor")
        async with (running_platform(Path(home), services=services, supervise=False) as platform,
                    httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as api):
            signup = await api.post("/v1/signup", json={"email": "bench@example.com", "password": "bench password 1",
                                                        "company": "Bench", "timezone": "UTC"})
            account = signup.raise_for_status().json()
            tenant, auth = account["tenant"]["id"], {"Authorization": f"Bearer {account['api_key']['secret']}"}
            agent = await api.post("/v1/agents", headers=auth, json={"name": "Ava", "timezone": "UTC"})
            agent_id = agent.raise_for_status().json()["id"]
            (await api.post(f"/v1/agents/{agent_id}/publish", headers=auth)).raise_for_status()
            calendar = await api.put(f"/v1/agents/{agent_id}/calendar", headers=auth, json=settings_body(SETTINGS)
                                     .model_dump(mode="json"))
            calendar.raise_for_status()
            nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
            booked: dict[str, asyncio.Future[float]] = {}

            async def on_answer(msg: Msg) -> None:
                data = json.loads(msg.data)["data"]
                if (waiting := booked.get(data["conversation_id"])) is not None and not waiting.done():
                    if msg.subject.endswith(".failed"):
                        waiting.set_exception(RuntimeError(f"failed: {msg.data[:300]!r}"))
                    else:
                        waiting.set_result(time.perf_counter())

            for answer in ("booked", "failed"):
                await nc.subscribe(f"afo.{tenant}.meeting.{answer}", cb=on_answer)
            first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
            try:
                for n in range(requests + 10):  # the first ten warm the services up
                    created = await api.post("/v1/conversations", headers=auth,
                                             json={"agent_id": agent_id, "channel": "api"})
                    conversation_id = created.raise_for_status().json()["id"]
                    at = first + timedelta(minutes=15 * n)
                    booked[conversation_id] = asyncio.get_running_loop().create_future()
                    began = time.perf_counter()
                    sent = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=auth,
                                          json={"text": f"Can we meet on {at:%Y-%m-%d} at {at:%H:%M}?"})
                    sent.raise_for_status()
                    arrived = await asyncio.wait_for(booked[conversation_id], timeout=10)
                    if n >= 10:
                        latencies.append((arrived - began) * 1000)
            finally:
                await nc.drain()
    return latencies


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run(url: str, label: str, args: argparse.Namespace) -> list[str]:
    db = Database(url)
    try:
        await migrate(db, "afo_workflow_executor.migrations")
        bench = Bench(db)
        await bench.calendar()
        await throughput(bench, 20, 1)  # warm up: connections, statements, caches
        measured, offset = [], 0
        for concurrency in args.concurrency:
            measured.append((concurrency, *await throughput(bench, args.bookings, concurrency, offset)))
            offset += args.bookings
        booked, failed, doubles = await race(bench, args.racers, args.rounds, offset=offset + 100)
    finally:
        await db.dispose()
    lines = [f"{label:<11} {concurrency:>4} {rate:9.1f} {p(latencies, 50):8.1f} {p(latencies, 95):8.1f}"
             for concurrency, rate, latencies in measured]
    return [*lines, f"{label:<11} race: {args.racers} requests for one slot x {args.rounds}: {booked} booked, "
                    f"{failed} failed (slot_taken), {doubles} double bookings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--concurrency", type=lambda text: [int(n) for n in text.split(",")], default=[1, 8],
                        help="requests handled at a time, one run each (comma-separated)")
    parser.add_argument("--racers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--through-nats", type=int, default=200, help="requests through a running service (0: none)")
    parser.add_argument("--from-message", type=int, default=100,
                        help="lead messages through the public API to meeting.booked (0: none)")
    parser.add_argument("--postgres", default=None, help="a database URL (default: a throwaway database on the "
                                                         "server at AFO_TEST_POSTGRES_URL, or the local one)")
    args = parser.parse_args()
    print(f"booking handler (meeting.requested -> meeting.booked): {args.bookings} bookings per run on one calendar")
    print(f"{'store':<11} {'conc':>4} {'booked/s':>9} {'p50 ms':>8} {'p95 ms':>8}")
    with tempfile.TemporaryDirectory() as home:
        for line in asyncio.run(run(f"sqlite+aiosqlite:///{Path(home) / 'bench.db'}", "SQLite", args)):
            print(line)
    servers: PostgresDatabases | None = None
    if args.postgres is None:
        try:
            servers = PostgresDatabases.open()
        except PostgresUnavailable as exc:
            print(f"PostgreSQL  skipped: {exc}")
    try:
        if args.postgres or servers is not None:
            url = args.postgres or asyncio.run(servers.create())  # type: ignore[union-attr]
            for line in asyncio.run(run(url, "PostgreSQL", args)):
                print(line)
    finally:
        if servers is not None:
            servers.close()
    if args.through_nats:
        latencies = asyncio.run(through_nats(args.through_nats))
        print(f"through NATS (publish meeting.requested -> meeting.booked received, one at a time, SQLite): "
              f"p50 {p(latencies, 50):.1f} ms, p95 {p(latencies, 95):.1f} ms over {len(latencies)} requests")
    if args.from_message:
        latencies = asyncio.run(from_message(args.from_message))
        print(f"from the lead's message (HTTP POST -> gateway -> agent-runtime -> workflow-executor -> meeting.booked, "
              f"built-in calendar, one at a time, SQLite): p50 {p(latencies, 50):.1f} ms, "
              f"p95 {p(latencies, 95):.1f} ms over {len(latencies)} messages")


if __name__ == "__main__":
    main()
