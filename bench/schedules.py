"""Benchmark of JetStream's own message schedules (ADR-51, nats-server 2.12+) as the reminder timer notifier
did not choose: how late a scheduled message fires, whether a cancelled one stays silent, and whether one due
while the server is down fires after it restarts — the figures to set beside ``bench.reminders`` (the due index
notifier polls).

    uv run python -m bench.schedules [--reminders 600] [--window 60] [--cancel 0.1]

A stream with ``allow_msg_schedules`` holds one schedule per reminder, published on ``sched.<n>`` with
``Nats-Schedule: @at <instant>`` and ``Nats-Schedule-Target: fire.<n>`` (the instants spread evenly over the next
``--window`` seconds); a fraction ``--cancel`` of them is cancelled by purging their subject before they are
due. An ordered consumer on ``fire.>`` notes each arrival; lateness is its arrival minus its instant (the
server's timer and the consumer's delivery; no database, no send). A second run stops nats-server while a
batch comes due and starts it again on the same store."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from afo_testkit.nats import nats_server

STREAM = "SCHED"


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def at(instant: datetime) -> str:
    return "@at " + instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def create_stream(client: Client) -> None:
    # nats-py's StreamConfig has no allow_msg_schedules: the stream is created through the JetStream API itself.
    config = {"name": STREAM, "subjects": ["sched.>", "fire.>"], "storage": "file", "allow_msg_schedules": True,
              "allow_rollup_hdrs": True}
    reply = await client.request(f"$JS.API.STREAM.CREATE.{STREAM}", json.dumps(config).encode(), timeout=5)
    answer = json.loads(reply.data)
    if "error" in answer:
        raise RuntimeError(f"stream not created: {answer['error']}")


async def schedule(js: JetStreamContext, count: int, window_s: float, first: datetime) -> dict[int, datetime]:
    due: dict[int, datetime] = {}
    for n in range(count):
        due[n] = first + timedelta(seconds=window_s * n / count)
        await js.publish(f"sched.{n}", b"Reminder: your meeting is in 1 hour.",
                         headers={"Nats-Schedule": at(due[n]), "Nats-Schedule-Target": f"fire.{n}"})
    return due


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[int, datetime] = {}
        self.count: Counter[int] = Counter()

    async def on(self, msg: Msg) -> None:
        n = int(msg.subject.rsplit(".", 1)[1])
        self.at.setdefault(n, datetime.now(UTC))
        self.count[n] += 1


async def timing(work: Path, count: int, window_s: float, cancel: float) -> str:
    async with nats_server(work) as server:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await create_stream(client)
        arrivals = Arrivals()
        await js.subscribe("fire.>", cb=arrivals.on, ordered_consumer=True)
        due = await schedule(js, count, window_s, datetime.now(UTC) + timedelta(seconds=2))
        cancelled = set(range(0, count, round(1 / cancel))) if cancel else set()
        for n in cancelled:
            await js.purge_stream(STREAM, subject=f"sched.{n}")
        await asyncio.sleep(window_s + 5)
        await client.drain()
    fired = [n for n in arrivals.at if n not in cancelled]
    late = [(arrivals.at[n] - due[n]).total_seconds() for n in fired]
    dupes = sum(c - 1 for c in arrivals.count.values())
    leaked = len(cancelled & set(arrivals.at))
    return (f"{'timer':<9} {count:>6} {len(cancelled):>6} {len(fired):>6} {leaked:>7} {dupes:>6} "
            f"{pct(late, 50) * 1000:>8.0f} {pct(late, 95) * 1000:>8.0f} {max(late) * 1000:>8.0f}")


async def restart(work: Path, count: int) -> str:
    """``count`` schedules due 2-4 s from now; the server is down from 1 s to 6 s, then restarted on its store."""
    async with nats_server(work) as server:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await create_stream(client)
        due = await schedule(js, count, 2.0, datetime.now(UTC) + timedelta(seconds=2))
        await client.drain()
    await asyncio.sleep(5.0)
    async with nats_server(work) as server:  # the same store directory: the schedules survive in the stream
        up = datetime.now(UTC)
        client = await nats.connect(server.url)
        js = client.jetstream()
        arrivals = Arrivals()
        await js.subscribe("fire.>", cb=arrivals.on, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        await asyncio.sleep(5.0)
        await client.drain()
    after_up = [(arrivals.at[n] - max(due[n], up)).total_seconds() for n in arrivals.at]
    dupes = sum(c - 1 for c in arrivals.count.values())
    tail = f"{pct(after_up, 50) * 1000:>8.0f} {pct(after_up, 95) * 1000:>8.0f}" if after_up else f"{'-':>8} {'-':>8}"
    return f"{'restart':<9} {count:>6} {0:>6} {len(arrivals.at):>6} {0:>7} {dupes:>6} {tail} {'':>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=600)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the instants are spread over")
    parser.add_argument("--cancel", type=float, default=0.1, help="fraction cancelled before due")
    args = parser.parse_args()
    print(f"JetStream message schedules: {args.reminders} due over {args.window:.0f} s "
          "(lateness = arrival - instant; restart: arrival - max(instant, server up))")
    print(f"{'run':<9} {'due':>6} {'cancel':>6} {'fired':>6} {'leaked':>7} {'dupes':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'max ms':>8}")
    with tempfile.TemporaryDirectory() as home:
        print(asyncio.run(timing(Path(home) / "timing", args.reminders, args.window, args.cancel)), flush=True)
    with tempfile.TemporaryDirectory() as home:
        print(asyncio.run(restart(Path(home), 100)), flush=True)


if __name__ == "__main__":
    main()
