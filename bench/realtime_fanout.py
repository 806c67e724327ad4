"""Benchmark of the realtime API's fan-out: one gateway process, started as ``afo up`` starts it (its own
nats-server, its least-privilege NATS user, SQLite), with ``--clients`` WebSocket clients on ``GET /v1/realtime``
spread evenly over the tenants of a row, each on its tenant's secret key. The clients live in
``--client-processes`` processes of their own, so the load generator shares no event loop with the gateway.
Events (``conversation.message_received`` and ``conversation.message_replied`` in turn, a sentence each) are
published through JetStream, as services' outbox relays publish them, at ``--rate`` events/s to the tenants in
turn; so each event goes to clients/tenants clients, and the gateway writes rate * clients / tenants frames/s.

    uv run python -m bench.realtime_fanout [--clients 1000] [--tenants 100,20] [--rate 200] [--seconds 20]
        [--client-processes 2] [--compression deflate|none]

Latency is event-to-client: the event's CloudEvents ``time`` is set as it is published, and a client's receive
time minus it (wall clock, one machine) is counted for every event published in the measured window (after a
warm-up). Per row: frames/s the gateway had to write, frames delivered of those expected, p50/p95/p99, clients
the gateway closed (4008: did not keep up) or that failed to connect, and CPU (% of one core over the window)
of the gateway, nats-server and the client processes. The clients negotiate permessage-deflate by default, as
browsers do. On a busy 2-core machine the client processes compete with the gateway for the same cores."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived, MessageReplied
from afo_testkit.platform import Platform, running_platform
from bench.cpu import CpuMeter

TEXTS = ["Hi, I'm Dana from Northwind", "We need an assistant on our website", "Our budget is about $20k"]
_TIME = '"time":"'
CONNECTING = 8  # handshakes in flight per client process


@dataclass
class Part:
    """What one client process saw."""

    latencies_ms: list[float] = field(default_factory=list)
    connected: Counter[str] = field(default_factory=Counter)  # clients that got ``ready``, by secret key
    failed: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    cpu_s: float = 0.0


@dataclass
class Row:
    tenants: int
    clients: int
    published: int = 0
    expected: int = 0
    parts: list[Part] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    window_s: float = 0.0


def event_time_s(frame: str) -> float | None:
    at = frame.find(_TIME)
    if at < 0:
        return None
    start = at + len(_TIME)
    return datetime.fromisoformat(frame[start:frame.index('"', start)]).timestamp()


async def listen(ws: ClientConnection, window: tuple[float, float], part: Part) -> None:
    """Read until the connection ends; the latency of each event published within ``window`` (wall clock)."""
    try:
        async for frame in ws:
            received = time.time()
            sent = event_time_s(frame) if isinstance(frame, str) else None
            if sent is not None and window[0] <= sent < window[1]:
                part.latencies_ms.append((received - sent) * 1000)
    except ConnectionClosed:
        pass
    if ws.close_code is not None and ws.close_code not in (1000, 1001):
        part.closes[ws.close_code] += 1


def drive(url: str, secrets: list[str], compression: str, window: tuple[float, float], until: float) -> Part:
    """One client process: a WebSocket per secret key, open from now until ``until`` (wall clock)."""
    part = Part()

    async def clients() -> None:
        slots = asyncio.Semaphore(CONNECTING)
        opened: list[ClientConnection] = []

        async def open_one(secret: str) -> None:
            async with slots:
                try:
                    ws = await connect(url, additional_headers={"Authorization": f"Bearer {secret}"},
                                       compression=None if compression == "none" else "deflate",
                                       open_timeout=30, max_size=2**20)
                    await ws.recv()  # ready
                except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                    part.failed += 1
                    return
            opened.append(ws)
            part.connected[secret] += 1

        await asyncio.gather(*(open_one(secret) for secret in secrets))
        readers = [asyncio.create_task(listen(ws, window, part)) for ws in opened]
        started = time.process_time()
        await asyncio.sleep(max(0.0, until - time.time()))
        part.cpu_s = time.process_time() - started
        for ws in opened:
            with contextlib.suppress(Exception):
                await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)

    import uvloop  # the client processes' own loop, as fast as the gateway's

    uvloop.run(clients())
    return part


async def sign_up_tenants(api: httpx.AsyncClient, count: int) -> tuple[list[str], list[str]]:
    """``count`` tenants: their ids and secret keys."""
    ids, secrets = [], []
    for n in range(count):
        response = await api.post("/v1/signup", json={"email": f"bench+{n}.{time.time_ns()}@example.com",
                                                      "password": "bench-password-1", "company": f"Bench {n}"})
        response.raise_for_status()
        ids.append(response.json()["tenant"]["id"])
        secrets.append(response.json()["api_key"]["secret"])
    return ids, secrets


async def publish(platform: Platform, tenant_ids: list[str], rate: float, start: float,
                  window: tuple[float, float]) -> Counter[str]:
    """Events at ``rate``/s from ``start`` to the window's end (wall clock), to the tenants in turn; how many of
    each tenant's fell in the window."""
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    js = nc.jetstream()
    pending: list[asyncio.Task[Any]] = []
    in_window = Counter[str]()
    n = 0
    try:
        await asyncio.sleep(max(0.0, start - time.time()))
        while (at := start + n / rate) < window[1]:
            await asyncio.sleep(max(0.0, at - time.time()))
            tenant_id = tenant_ids[n % len(tenant_ids)]
            text = TEXTS[n % len(TEXTS)]
            event = (MessageReceived(conversation_id=f"conv_{n % 97}", message_id=f"msg_{n}", channel="api", text=text,
                                     sent_at=datetime.now(UTC)) if n % 2 == 0 else
                     MessageReplied(conversation_id=f"conv_{n % 97}", message_id=f"msg_{n}",
                                    in_reply_to=f"msg_{n - 1}", text=text, engine="embedded", intent="answer",
                                    first_delta_ms=10.0, completed_ms=30.0))
            envelope = envelope_for(event, tenant_id=tenant_id, source="bench")  # time: now
            if envelope.time.timestamp() >= window[0]:
                in_window[tenant_id] += 1
            pending.append(asyncio.create_task(js.publish(envelope.nats_subject, envelope.to_bytes())))
            n += 1
        await asyncio.gather(*pending)
    finally:
        await nc.close()
    return in_window


async def run_row(platform: Platform, tenant_ids: list[str], secrets: list[str], args: argparse.Namespace,
                  tenants: int) -> Row:
    row = Row(tenants, args.clients)
    keys = [secrets[n % tenants] for n in range(args.clients)]  # client n listens to tenant n % tenants
    url = platform.gateway_url.replace("http://", "ws://", 1) + "/v1/realtime"
    connect_s = 5.0 + args.clients / 150  # handshakes (each a key lookup and a subscription) before events flow
    start = time.time() + connect_s
    window = (start + args.warmup, start + args.warmup + args.seconds)
    until = window[1] + 3.0  # the last events' frames arrive
    processes = args.client_processes
    loop = asyncio.get_running_loop()
    pids = {"gateway": platform.pids["gateway"] or 0, "nats-server": platform.nats_pid or 0}
    meter = CpuMeter(pids)

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, window[0] - time.time()))
        meter.start()
        await asyncio.sleep(max(0.0, window[1] - time.time()))
        meter.stop()

    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        drivers = [loop.run_in_executor(pool, drive, url, keys[offset::processes], args.compression, window, until)
                   for offset in range(processes)]
        cpu = asyncio.create_task(measure_cpu())
        published = await publish(platform, tenant_ids[:tenants], args.rate, start, window)
        row.parts = list(await asyncio.gather(*drivers))
        await cpu
    row.published = sum(published.values())
    tenant_of = dict(zip(secrets, tenant_ids, strict=True))
    row.expected = sum(published[tenant_of[secret]] * count
                       for part in row.parts for secret, count in part.connected.items())
    row.window_s = window[1] - window[0]
    assert meter.used is not None
    row.cpu = {name: 100 * seconds / row.window_s for name, seconds in meter.used.items()}
    row.cpu["clients"] = 100 * sum(part.cpu_s for part in row.parts) / (until - window[0])
    return row


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{'n/a':>7} {'n/a':>7} {'n/a':>7}"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"{q[49]:7.1f} {q[94]:7.1f} {q[98]:7.1f}"


def report(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    print(f"realtime fan-out: one gateway process, {args.clients} WebSocket clients in {args.client_processes} "
          f"processes, {args.rate:g} events/s for {args.seconds:g} s, permessage-deflate {args.compression}")
    print(f"{'tenants':>7} {'clients/tenant':>14} {'frames/s':>9} {'delivered/expected':>19} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'p99 ms':>7} {'dropped':>7} {'failed':>6} {'gateway CPU%':>12} {'nats CPU%':>9} "
          f"{'clients CPU%':>12}")
    for row in rows:
        latencies = [ms for part in row.parts for ms in part.latencies_ms]
        dropped = sum(sum(part.closes.values()) for part in row.parts)
        failed = sum(part.failed for part in row.parts)
        frames_per_s = args.rate * row.clients / row.tenants
        print(f"{row.tenants:>7} {row.clients // row.tenants:>14} {frames_per_s:>9.0f} "
              f"{f'{len(latencies)}/{row.expected}':>19} {percentiles(latencies)} {dropped:>7} {failed:>6} "
              f"{row.cpu['gateway']:>12.0f} {row.cpu['nats-server']:>9.0f} {row.cpu['clients']:>12.0f}")
        codes = Counter[int]()
        for part in row.parts:
            codes.update(part.closes)
        if codes:
            print(f"{'':>7} close codes: {dict(codes)}")


async def run(args: argparse.Namespace) -> None:
    counts = sorted({int(t) for t in args.tenants.split(",")}, reverse=True)
    environment = {"AFO_RATE_LIMIT_SIGNUP_PER_IP": "100000/hour"}  # one address signs every tenant up
    with tempfile.TemporaryDirectory(prefix="afo-bench-realtime-") as home:
        async with running_platform(Path(home), services=("gateway",), log_level="WARNING",
                                    environment=environment) as platform:
            async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60) as api:
                tenant_ids, secrets = await sign_up_tenants(api, max(counts))
            rows = []
            for tenants in counts:
                rows.append(await run_row(platform, tenant_ids, secrets, args, tenants))
                await asyncio.sleep(2.0)  # the last row's connections are gone
    report(rows, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tenants", default="100,20", help="one row per count, the clients spread evenly over them")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s published, all tenants together")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of events before the window")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--compression", choices=("deflate", "none"), default="deflate")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
