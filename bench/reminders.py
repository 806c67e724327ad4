"""Benchmark of reminder firing: how late each reminder leaves after its ``send_at``, with N reminders due across
a minute, on SQLite and on PostgreSQL.

    uv run python -m bench.reminders [--reminders 600] [--window 60] [--schedulers 1,2]
                                     [--postgres postgresql+asyncpg://…]

The store is notifier's own (migrated, ``afo_notifier.adapters.store``) and the scheduler the one the service
runs (``handlers.scheduler.Scheduler``, polled every ``--interval`` s as ``AFO_SCHEDULER_INTERVAL_S``, 0.2 s by
default) on the machine's clock; the channel is the SMS sink (nothing leaves the process), so the lateness is
the poll interval, the due-index read, the claim and the outcome's write with its outbox event. ``--reminders``
rows are scheduled with ``send_at`` spread evenly over the next ``--window`` seconds; a reminder's lateness is
the instant the channel was asked to send it minus its ``send_at``. With two schedulers (two replicas on one
database) each reminder must still be sent once: the sends are counted (``dupes`` must be 0)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from afo_common.clock import SystemClock
from afo_common.db import Database, migrate
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging
from afo_notifier.domain.channels import Sent
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.scheduler import Scheduler
from afo_testkit.postgres import PostgresDatabases, PostgresUnavailable


class Timed:
    """The sink channel, noting when each notification was handed to it."""

    def __init__(self) -> None:
        self.lateness_s: list[float] = []
        self.sends: Counter[str] = Counter()

    async def send(self, row: NotificationRow) -> Sent:
        self.lateness_s.append((datetime.now(UTC) - row.send_at).total_seconds())
        self.sends[row.id] += 1
        return Sent("sink", None)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def run(url: str, label: str, reminders: int, window_s: float, schedulers: int, interval_s: float) -> str:
    db = Database(url)
    await migrate(db, "afo_notifier.migrations")
    units = UnitOfWorkFactory(db, messaging, "notifier", lambda: None)
    store, clock, channel = sql_store(units), SystemClock(), Timed()
    start = clock.now() + timedelta(seconds=2)
    async with store() as uow:
        for n in range(reminders):
            send_at = start + timedelta(seconds=window_s * n / reminders)
            await uow.notifications.add(NotificationRow(
                id=new_id("ntf"), tenant_id=f"ten_{n % 10}", meeting_id=f"mtg_{n}", lead_id=None, kind="reminder",
                channel="sms", to="+33612345678", subject=None, body="Reminder: your meeting is in 1 hour.",
                ics=None, send_at=send_at, status="scheduled", error=None, provider=None, provider_id=None,
                claimed_by=None, claimed_until=None, sent_at=None, created_at=start, updated_at=start))
    replicas = [Scheduler(sql_store(UnitOfWorkFactory(db, messaging, "notifier", lambda: None)), channel, clock,
                          f"sch_{i}") for i in range(schedulers)]
    end = start + timedelta(seconds=window_s + 5)

    async def poll(scheduler: Scheduler) -> None:
        while clock.now() < end and sum(channel.sends.values()) < reminders:
            await scheduler.tick()
            await asyncio.sleep(interval_s)

    await asyncio.gather(*(poll(s) for s in replicas))
    await db.dispose()
    late = channel.lateness_s
    dupes = sum(count - 1 for count in channel.sends.values())
    return (f"{label:<11} {schedulers:>5} {reminders:>6} {len(channel.sends):>6} {dupes:>6} "
            f"{pct(late, 50) * 1000:>8.0f} {pct(late, 95) * 1000:>8.0f} {max(late) * 1000:>8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=600)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the send times are spread over")
    parser.add_argument("--schedulers", default="1,2", help="scheduler replicas on one database, one run each")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls of the due index")
    parser.add_argument("--postgres", default=None, help="a database URL (default: a throwaway database on the "
                                                         "server at AFO_TEST_POSTGRES_URL, or the local one)")
    args = parser.parse_args()
    counts = [int(c) for c in args.schedulers.split(",")]
    print(f"reminder lateness (sent - send_at), {args.reminders} reminders due over {args.window:.0f} s, "
          f"poll every {args.interval} s")
    print(f"{'store':<11} {'sched':>5} {'due':>6} {'sent':>6} {'dupes':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for count in counts:
        with tempfile.TemporaryDirectory() as home:
            url = f"sqlite+aiosqlite:///{Path(home) / 'bench.db'}"
            print(asyncio.run(run(url, "SQLite", args.reminders, args.window, count, args.interval)), flush=True)
    servers: PostgresDatabases | None = None
    if args.postgres is None:
        try:
            servers = PostgresDatabases.open()
        except PostgresUnavailable as exc:
            print(f"PostgreSQL  skipped: {exc}")
    try:
        for count in counts:
            if args.postgres or servers is not None:
                url = args.postgres or asyncio.run(servers.create())  # type: ignore[union-attr]
                print(asyncio.run(run(url, "PostgreSQL", args.reminders, args.window, count, args.interval)),
                      flush=True)
    finally:
        if servers is not None:
            servers.close()


if __name__ == "__main__":
    main()
