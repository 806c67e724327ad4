"""Soak: an hour of mixed traffic compressed into a bounded run, on the whole platform, and the recovery times of
its chaos.

    uv run python -m bench.soak [--minutes 5] [--rate 5] [--tenants 3] [--chaos] [--kills 5] [--cluster]

All six services with their own nats-server (``--cluster``: a three-node JetStream cluster), on SQLite. Each tenant
(``bench/soak_setup.py``) has a published agent grounded on one document of the knowledge corpus, a calendar open
around the clock, a webhook subscription on a local receiver; the first tenant's CRM is a local HubSpot stand-in, the
others' the built-in lead store. Visitors (``bench/soak_traffic.py``) chat with their SSE streams open, at ``--rate``
messages a second in all: lead conversations that qualify, knowledge questions, conversations that book a meeting —
and so CRM syncs, the confirmation email, reminders and webhook deliveries follow. A busy tenant's hour, as the soak
counts it, is 150 conversations (≈ 475 messages, 50 qualified leads, 25 bookings): the defaults, 5 msg/s for
5 minutes, bring about an hour of three such tenants; ``--minutes 60`` twelve.

Every ``--sample`` seconds: RSS, open descriptors and CPU per service and nats-server, consumer lag, outbox age,
operations handled (``bench/soak_sampler.py``). At the end: memory at start (after ``--warmup``) / middle / end and
its fitted slope, descriptors, CPU ms per message; lag max and p95; throughput per service; and every count, sent
against done — each exact, read back from the platform (``bench/soak_audit.py``), with a ``lost:`` line.

``--chaos`` then keeps a steady chat (``--chaos-rate``) while each service is SIGKILLed in turn ``--kills`` times
(and, with ``--cluster``, the node leading the conversations' stream), and prints the recovery times
(``bench/soak_chaos.py``) and the same counts for the chaos phase. ``--minutes 0 --chaos`` runs the chaos alone."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.local_server import serving
from afo_testkit.platform import Platform, running_platform
from bench.soak_audit import Audit, Count
from bench.soak_chaos import Chaos
from bench.soak_client import Api
from bench.soak_ledger import Ledger
from bench.soak_report import counts_table, lag_lines, measured, process_table, recovery_table, throughput_table
from bench.soak_sampler import Sample, Sampler
from bench.soak_setup import HUBSPOT_TOKEN, SoakTenant, TimedReceiver, set_up_tenant
from bench.soak_traffic import Traffic

BUSY_TENANT_HOUR_MESSAGES = 475


@dataclass
class Context:
    platform: Platform
    client: httpx.AsyncClient
    tenants: list[SoakTenant]
    receiver: TimedReceiver
    hubspot: FakeHubSpot


@dataclass
class SoakResult:
    samples: list[Sample] = field(default_factory=list)
    counts: list[Count] = field(default_factory=list)
    chaos_counts: list[Count] = field(default_factory=list)
    recoveries: list[tuple[str, int, list[float], list[float], list[float], str]] = field(default_factory=list)


async def run(args: argparse.Namespace) -> SoakResult:
    result = SoakResult()
    with tempfile.TemporaryDirectory(prefix="afo-soak-") as scratch:
        home = Path(args.home or scratch)
        async with (running_platform(home, log_level="WARNING", nats_nodes=3 if args.cluster else 1,
                                     AFO_WEBHOOK_ALLOW_PRIVATE="1") as platform,
                    httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as client):
            receiver = TimedReceiver()
            async with serving(receiver.app()) as port, FakeHubSpot(secret=HUBSPOT_TOKEN) as hubspot:
                tenants = [await set_up_tenant(client, index, port, receiver, hubspot.base_url if index == 0 else None)
                           for index in range(args.tenants)]
                context = Context(platform, client, tenants, receiver, hubspot)
                nats_kind = "a 3-node cluster" if args.cluster else "one nats-server"
                say(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: platform up ({nats_kind}), {len(tenants)} tenants "
                    f"set up; load average {load()}")
                if args.minutes > 0:
                    await soak(context, args, result)
                if args.chaos:
                    await chaos(context, args, result)
    return result


async def soak(context: Context, args: argparse.Namespace, result: SoakResult) -> None:
    ledger = Ledger()
    api = Api(context.client, ledger)
    sampler = Sampler(context.platform, args.sample)
    traffic = Traffic(api, httpx.URL(context.platform.gateway_url), context.tenants, ledger, args.rate,
                      args.visitors, "soak")
    await sampler.start()
    traffic.start()
    await asyncio.sleep(args.minutes * 60)
    await traffic.stop()
    await sampler.stop()
    sent = len(ledger.messages)
    say(f"{datetime.now(UTC):%H:%M:%S} UTC: soak traffic done, {sent} messages in {len(ledger.conversations)} "
        f"conversations ({sent / BUSY_TENANT_HOUR_MESSAGES:.1f} busy-tenant hours); load average {load()}; "
        "counting what the platform recorded")
    audit = Audit(api, ledger, context.receiver.received, mail(context.platform), context.hubspot)
    result.samples = measured(sampler.samples, args.warmup)
    result.counts = await audit.settle(list(ledger.conversations.values()), args.settle)
    window = result.samples[-1].at - result.samples[0].at
    operations = sum(1 for m in ledger.messages.values()
                     if result.samples[0].at <= m.sent_at - sampler.started <= result.samples[-1].at)
    say(f"\nsoak: {args.minutes:g} min at {args.rate:g} msg/s offered ({sent / max(args.minutes * 60, 1e-9):.2f} "
        f"sent/s), {len(context.tenants)} tenants, {args.visitors} visitors; measured {window:.0f} s after a "
        f"{args.warmup:g} s warm-up, {operations} messages in it (an operation below = a message sent and answered)")
    say(*process_table(result.samples, operations), "", *lag_lines(result.samples), "",
        *throughput_table(result.samples), "", f"retried requests: {ledger.retries}; replies not seen within "
        f"the visitor's wait: {traffic.unanswered_in_time}; reply events seen more than once on a stream: "
        f"{sum(m.replies_seen > 1 for m in ledger.messages.values())}; knowledge replies citing the document: "
        f"{sum(m.cited for m in ledger.messages.values() if m.purpose == 'knowledge')} of "
        f"{sum(m.purpose == 'knowledge' for m in ledger.messages.values())}", *counts_table(result.counts))


async def chaos(context: Context, args: argparse.Namespace, result: SoakResult) -> None:
    ledger = Ledger()
    api = Api(context.client, ledger)
    traffic = Traffic(api, httpx.URL(context.platform.gateway_url), context.tenants, ledger, args.chaos_rate,
                      args.visitors, "chaos")
    traffic.start()
    await asyncio.sleep(5.0)  # a steady chat first
    started = time.monotonic()
    faults = Chaos(context.platform, ledger, context.receiver)
    await faults.run(args.kills, nats_node=args.cluster)
    await traffic.stop()
    result.recoveries = faults.rows()
    audit = Audit(api, ledger, context.receiver.received, mail(context.platform), context.hubspot)
    result.chaos_counts = await audit.settle(list(ledger.conversations.values()), args.settle)
    say(f"\nchaos: {args.kills} kills of each service (SIGKILL, the supervisor restarting it)"
        f"{' and of the conversations stream leader node' if args.cluster else ''}, one at a time, under "
        f"{args.chaos_rate:g} msg/s of chat; {time.monotonic() - started:.0f} s, {len(ledger.messages)} messages; "
        f"load average {load()}", *recovery_table(result.recoveries),
        f"retried requests: {ledger.retries}", *counts_table(result.chaos_counts))


def mail(platform: Platform) -> list[tuple[str, list[str], Any]]:
    """The sink's own list, not a copy: the audit counts again while mail is still arriving."""
    return platform.smtp_sink.received if platform.smtp_sink is not None else []


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def say(*lines: str) -> None:
    print("\n".join(lines), flush=True)


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--minutes", type=float, default=5.0, help="length of the soak's traffic (0: none)")
    parse.add_argument("--rate", type=float, default=5.0, help="messages a second offered, all tenants together")
    parse.add_argument("--tenants", type=int, default=3)
    parse.add_argument("--visitors", type=int, default=16, help="conversations under way at once")
    parse.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parse.add_argument("--warmup", type=float, default=30.0, help="seconds of traffic before the start's sample")
    parse.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the counts to complete")
    parse.add_argument("--chaos", action="store_true", help="then kill each service in turn and time recoveries")
    parse.add_argument("--kills", type=int, default=5, help="kills of each service in the chaos phase")
    parse.add_argument("--chaos-rate", type=float, default=3.0, help="messages a second during the chaos phase")
    parse.add_argument("--cluster", action="store_true", help="a 3-node JetStream cluster; chaos kills a node too")
    parse.add_argument("--home", help="run the platform in this folder and keep it (logs, databases) afterwards; "
                                      "a temporary one by default")
    return parse


def main() -> None:
    asyncio.run(run(parser().parse_args()))


if __name__ == "__main__":
    main()
