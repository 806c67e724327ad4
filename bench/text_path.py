"""Benchmark of the text path: many concurrent conversations through the public HTTP API with all six
services up, each conversation with its SSE stream open as a page with the chat widget has it, against
the raw nats-py JetStream round trip measured in the same run.

    uv run python -m bench.text_path [--rate 100] [--seconds 20] [--concurrency 64] [--conversations 200]

Prints two tables. Latency: messages/s sustained at full load, and p50/p95/p99 of time to first reply
delta and to completed reply, at a fixed offered rate and at full load; times run from the HTTP POST
leaving the client to the event arriving on the conversation's SSE stream, so they include the gateway,
its outbox, JetStream, agent-runtime, its commit and the gateway's fan-out. Cost: CPU milliseconds per
answered message for every process (each service, nats-server, the load generator), from /proc."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from afo_cli.services import SERVICES
from afo_testkit.platform import Platform, running_platform
from bench.cpu import CpuMeter, postgres_pids
from bench.raw_http import RawHttp
from bench.raw_sse import SseStream

TEXTS = ["Hi there", "I'm Dana from Acme Corp", "dana@acme.example", "We need a website assistant",
         "Budget around 15k", "Within three months", "What integrations do you have?"]


@dataclass
class Timings:
    sent: dict[str, float] = field(default_factory=dict)
    first_delta: dict[str, float] = field(default_factory=dict)
    completed: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)

    def on_event(self, kind: str, message_id: str) -> None:
        at = time.perf_counter()
        if kind == "reply.delta":
            self.first_delta.setdefault(message_id, at)
        elif kind == "reply.completed":
            self.completed.setdefault(message_id, at)
            if event := self.waiting.get(message_id):
                event.set()

    async def until_completed(self, message_id: str, timeout_s: float) -> None:
        if message_id in self.completed:
            return
        event = self.waiting.setdefault(message_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        self.waiting.pop(message_id, None)

    def latencies(self, ids: list[str]) -> tuple[list[float], list[float]]:
        first = [(self.first_delta[i] - self.sent[i]) * 1000 for i in ids if i in self.first_delta]
        done = [(self.completed[i] - self.sent[i]) * 1000 for i in ids if i in self.completed]
        return first, done


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"{q[49]:7.1f} {q[94]:7.1f} {q[98]:7.1f}"


async def setup_tenant(api: httpx.AsyncClient, conversations: int) -> tuple[str, dict[str, str], list[str]]:
    signup = (await api.post("/v1/signup", json={"email": f"bench+{time.time_ns()}@example.com",
                                                 "password": "bench-password-1", "company": "Bench"})).json()
    auth = {"Authorization": f"Bearer {signup['api_key']['secret']}"}
    agent = (await api.post("/v1/agents", headers=auth, json={"name": "Ava"})).json()
    await api.post(f"/v1/agents/{agent['id']}/publish", headers=auth)
    ids = [(await api.post("/v1/conversations", headers=auth, json={"agent_id": agent["id"]})).json()["id"]
           for _ in range(conversations)]
    return signup["tenant"]["id"], auth, ids


async def send(api: RawHttp, auth: dict[str, str], conversation_id: str, text: str,
               timings: Timings, ids: list[str]) -> None:
    started = time.perf_counter()
    status, body = await api.post(f"/v1/conversations/{conversation_id}/messages", auth, {"text": text})
    if status == 202:
        message_id = json.loads(body)["message_id"]
        timings.sent[message_id] = started
        ids.append(message_id)


async def fixed_rate(api: RawHttp, auth: dict[str, str], conversations: list[str], timings: Timings,
                     rate: float, seconds: float) -> list[str]:
    ids: list[str] = []
    tasks = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(
            send(api, auth, conversations[n % len(conversations)], TEXTS[n % len(TEXTS)], timings, ids)))
    await asyncio.gather(*tasks)
    return ids


async def full_load(api: RawHttp, auth: dict[str, str], conversations: list[str], timings: Timings,
                    concurrency: int, seconds: float) -> tuple[list[str], float]:
    """Closed loop: each worker owns a slice of conversations and sends its next message once the last
    one was answered, so the platform is kept busy without an unbounded backlog."""
    ids: list[str] = []
    deadline = time.perf_counter() + seconds

    async def worker(slot: int) -> None:
        n = 0
        mine = conversations[slot::concurrency] or conversations[:1]
        while time.perf_counter() < deadline:
            before = len(ids)
            await send(api, auth, mine[n % len(mine)], TEXTS[n % len(TEXTS)], timings, ids)
            if len(ids) > before:
                await timings.until_completed(ids[-1], timeout_s=30)
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    window = time.perf_counter() - started
    done = sum(1 for i in ids if i in timings.completed and timings.completed[i] - started <= window)
    return ids, done / window


async def jetstream_baseline(nats_url: str, rate: float, count: int, **connect: Any) -> list[float]:
    nc = await nats.connect(nats_url, **connect)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"]))
    received: dict[int, float] = {}
    sent: dict[int, float] = {}

    async def on_msg(msg: Msg) -> None:
        received[int(msg.data)] = time.perf_counter()
        await msg.ack()

    await js.subscribe("bench.rt", cb=on_msg, durable="bench", manual_ack=True)
    start = time.perf_counter()
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        sent[n] = time.perf_counter()
        await js.publish("bench.rt", str(n).encode())
    await asyncio.sleep(1.0)
    await js.delete_stream("BENCH")
    await nc.drain()
    return [(received[n] - sent[n]) * 1000 for n in sent if n in received]


async def fresh_postgres_databases(server_url: str) -> dict[str, str]:
    """One new database per service on the given PostgreSQL server, as production runs them."""
    import asyncpg  # only this option needs it

    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    env = {}
    try:
        for service in SERVICES:
            name = f"afo_bench_{service.replace('-', '_')}"
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
            env[f"AFO_{service.upper().replace('-', '_')}_DATABASE_URL"] = f"{server_url.rstrip('/')}/{name}"
    finally:
        await connection.close()
    return env


async def run(args: argparse.Namespace) -> None:
    env = await fresh_postgres_databases(args.postgres) if args.postgres else {}
    with tempfile.TemporaryDirectory(prefix="afo-bench-") as home:
        async with running_platform(Path(home), log_level="WARNING", environment=env) as platform:
            await measure(platform, args)


async def measure(platform: Platform, args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.concurrency + 50, max_keepalive_connections=args.concurrency + 50)
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60, limits=limits) as api:
        _tenant_id, auth, conversations = await setup_tenant(api, args.conversations)
    gateway = httpx.URL(platform.gateway_url)
    host, port = gateway.host, gateway.port or 80
    raw = RawHttp(host, port, args.concurrency + 50)
    timings = Timings()
    streams = [SseStream(host, port, f"/v1/conversations/{cid}/stream", auth, timings.on_event)
               for cid in conversations]
    for stream in streams:
        stream.start()
    await asyncio.wait_for(asyncio.gather(*(stream.connected.wait() for stream in streams)), timeout=60)
    admin = platform.nats_auth().connect_options()  # NATS is least-privilege: the bench observes as admin
    baseline = await jetstream_baseline(platform.nats_url, args.rate, int(args.rate * 5), **admin)
    await fixed_rate(raw, auth, conversations, timings, args.rate, 3)  # warm-up, not counted
    await asyncio.sleep(2)
    pids = {name: pid for name, pid in platform.pids.items() if pid is not None}
    pids |= {"nats-server": platform.nats_pid or 0, "load generator": os.getpid()}
    groups = {"postgresql server": postgres_pids()} if args.postgres else {}
    at_rate_cpu, loaded_cpu = CpuMeter(pids, groups), CpuMeter(pids, groups)
    at_rate_cpu.start()
    at_rate = await fixed_rate(raw, auth, conversations, timings, args.rate, args.seconds)
    await asyncio.sleep(3)
    at_rate_cpu.stop()
    loaded_cpu.start()
    loaded, throughput = await full_load(raw, auth, conversations, timings, args.concurrency, args.seconds)
    await asyncio.sleep(3)
    loaded_cpu.stop()
    for stream in streams:
        await stream.stop()
    await raw.close()

    rate_first, rate_done = timings.latencies(at_rate)
    load_first, load_done = timings.latencies(loaded)
    print()
    stores = "PostgreSQL" if args.postgres else "SQLite"
    print(f"text path, all six services, {args.conversations} conversations each with its SSE stream open, "
          f"embedded engine, {stores} stores")
    print(f"{'measure':48} {'count':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    print(f"{'raw nats-py JetStream publish -> consume':48} {len(baseline):6d} {percentiles(baseline)}")
    print(f"{f'first reply delta at {args.rate:g} msg/s':48} {len(rate_first):6d} {percentiles(rate_first)}")
    print(f"{f'completed reply at {args.rate:g} msg/s':48} {len(rate_done):6d} {percentiles(rate_done)}")
    print(f"{f'first reply delta at full load ({args.concurrency} in flight)':48} "
          f"{len(load_first):6d} {percentiles(load_first)}")
    print(f"{f'completed reply at full load ({args.concurrency} in flight)':48} "
          f"{len(load_done):6d} {percentiles(load_done)}")
    print(f"{'sustained messages/s at full load (answered)':48} {throughput:6.0f}")
    lost = len(at_rate) + len(loaded) - len(rate_done) - len(load_done)
    print(f"{'messages accepted but not answered':48} {lost:6d}")
    print()
    print(f"{'CPU ms per answered message':24} {f'at {args.rate:g} msg/s':>14} {'at full load':>14}")
    at_rate_ms, loaded_ms = at_rate_cpu.per_message_ms(len(rate_done)), loaded_cpu.per_message_ms(len(load_done))
    for name in [*pids, *groups]:
        if at_rate_ms[name] >= 0.05 or loaded_ms[name] >= 0.05:
            print(f"{name:24} {at_rate_ms[name]:14.2f} {loaded_ms[name]:14.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="offered messages/s for the latency phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--concurrency", type=int, default=64, help="messages in flight at full load")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="run every service on its own new database on this "
                        "server, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
