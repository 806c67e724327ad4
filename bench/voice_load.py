"""Load driver for the voice benchmark: N simultaneous phone calls through Twilio Media Streams against any
server that speaks the protocol, with the server process's CPU and memory measured from /proc.

    python -m bench.voice_load [--calls 10,50,100,150] [--duration 60] [--driver-processes 2]
        [--server "stock={python} bench/voice_stock.py --port {port}"] [--server "afo=platform"]
        [--server "afo-2w=platform workers=2"]
        [--url ws://host:port/twilio/media --pid PID] [--auth-token TOKEN] [--param KEY=VALUE]

Each ``--server NAME=COMMAND`` is started afresh for every call count (``{port}`` a free port, ``{python}``
this interpreter), measured, and stopped; or ``--url`` with ``--pid`` measures a server already running.
``platform`` is AFO's whole platform (``bench/voice_afo.py``) with voice-media as ``afo up`` runs it (one
process, SQLite); ``platform workers=N`` runs voice-media in N worker processes on a PostgreSQL database of its
own (``AFO_TEST_POSTGRES_URL``'s server), as an instance that uses N cores. By default: stock, then both.
Every call is ``afo_testkit.media_streams.MediaStreamCall``: 20 ms μ-law frames in real time, silence included.
Calls start ``--ramp`` s apart and then, until ``--duration`` s after the last one started, alternate an
espeak-ng sentence (2 to 3 s) with the agent's answer and a pause; every ``--barge-every``-th answer the caller
talks over the agent ``--barge-after`` s into it.

Per call count, one row: calls still connected at the end (held), the server's CPU (its process tree, % of
one core, averaged from the last call's start to the end) and peak RSS, turn latency p50/p95 (end of the
caller's speech → first agent audio frame) and the same minus ``--provider-ms`` (the fake providers' own
delays: what the platform adds), missed turns (no agent audio within ``--missed-after`` s), the worst silence
inside an agent answer played at real time (p95 of answers and max), barge-in reaction (caller's speech onset
→ ``clear``) p50/p95 with how many barge-ins got no clear, and the driver's own event-loop lag p99 — when it
is large, the driver was starved and the latencies are the driver's as much as the server's. At 150 calls
against a server answering in bursts, one driver process lagged 80 ms at p99 and read turn latency p95 160 ms
high; two lagged 5 ms: hence two by default."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import shlex
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from websockets.exceptions import InvalidHandshake

from afo_testkit.media_streams import CallEnded, MediaStreamCall, twilio_signature
from afo_testkit.postgres import PostgresUnavailable
from bench.cpu import cpu_seconds
from bench.voice_afo import afo_voice, platform_added_ms
from bench.voice_synth import INTERRUPTION, SENTENCES, caller_speech

ROOT = Path(__file__).resolve().parent.parent
STOCK = "stock={python} bench/voice_stock.py --port {port}"
AFO_PLATFORM = "platform"
AFO = f"afo={AFO_PLATFORM}"
AFO_TWO_WORKERS = f"afo-2w={AFO_PLATFORM} workers=2"


@dataclass
class Level:
    server: str
    calls: int
    held: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    gaps: list[float] = field(default_factory=list)
    barge_ins: list[float] = field(default_factory=list)
    barge_ins_uncleared: int = 0
    cpu_percent: float = 0.0
    platform_ms: list[float] = field(default_factory=list)
    model_ended: int = 0  # turns the turn-end model ended at the short pause
    stages: dict[str, list[float]] = field(default_factory=dict)  # the platform's share, stage by stage
    rss_mb: float = 0.0
    loop_lag: list[float] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: a server may run worker processes."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def tree_usage(pid: int) -> tuple[float, float]:
    """CPU seconds and resident MB of the process tree now."""
    cpu = rss_kb = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError):
            cpu += cpu_seconds(member)
            status = Path(f"/proc/{member}/status").read_text()
            rss_kb += float(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return cpu, rss_kb / 1024


async def sample_server(pid: int, level: Level, measure_from: float, until: float) -> None:
    """Peak RSS all along; average CPU between ``measure_from`` and ``until`` (monotonic times)."""
    start: tuple[float, float] | None = None
    while (now := time.monotonic()) < until:
        cpu, rss = tree_usage(pid)
        level.rss_mb = max(level.rss_mb, rss)
        if start is None and now >= measure_from:
            start = (now, cpu)
        elif start is not None:
            level.cpu_percent = (cpu - start[1]) / (now - start[0]) * 100
        await asyncio.sleep(1.0)


async def watch_loop_lag(level: Level, until: float) -> None:
    while time.monotonic() < until:
        asked = time.monotonic()
        await asyncio.sleep(0.05)
        level.loop_lag.append(time.monotonic() - asked - 0.05)


async def converse(call: MediaStreamCall, speech: list[bytes], interruption: bytes, until: float,
                   args: argparse.Namespace, rng: random.Random) -> None:
    answers = 0
    while time.monotonic() < until:
        await call.say(speech[rng.randrange(len(speech))])
        if await call.wait_for_reply(within=args.missed_after) is None:
            await call.silence(1.0)
            continue
        answers += 1
        if args.barge_every and answers % args.barge_every == 0:
            await call.silence(args.barge_after)
            if call.agent_playing:
                await call.say(interruption)
                await call.wait_for_reply(within=args.missed_after)
        await call.wait_for_agent_silence(quiet=0.3, within=30)
        await call.silence(rng.uniform(0.5, 1.5))


@dataclass(frozen=True)
class Target:
    """Where one call connects and as whom (a server that admits calls one by one gives each its own URL)."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    call_sid: str | None = None
    account_sid: str | None = None


def shared_target(url: str, args: argparse.Namespace) -> Target:
    signed = (("X-Twilio-Signature", twilio_signature(args.auth_token, url)),) if args.auth_token else ()
    return Target(url, signed)


async def one_call(target: Target, index: int, speech: list[bytes], interruption: bytes, until: float,
                   args: argparse.Namespace, level: Level) -> None:
    rng = random.Random(index)
    try:
        async with MediaStreamCall(target.url, call_sid=target.call_sid, account_sid=target.account_sid,
                                   custom_parameters={"bench_call": str(index), **dict(args.param)},
                                   headers=dict(target.headers)) as call:
            await call.silence(rng.uniform(0.2, 1.0))
            with contextlib.suppress(CallEnded):
                await converse(call, speech, interruption, until, args, rng)
            held = not call.ended
    except (OSError, TimeoutError, InvalidHandshake) as error:  # refused, reset, timed out, answered 403
        level.failed.append(f"call {index}: {error!r}")
        return
    level.held += held
    for turn in call.turns:
        if turn.latency is None or turn.latency > args.missed_after:
            level.missed += turn.ended is not None
        else:
            level.latencies.append(turn.latency)
        if turn.agent_playing_at_onset:
            if turn.barge_in_reaction is None:
                level.barge_ins_uncleared += 1
            else:
                level.barge_ins.append(turn.barge_in_reaction)
    level.gaps.extend(reply.worst_gap for reply in call.replies)


def merge(into: Level, part: Level) -> None:
    into.held += part.held
    into.failed += part.failed
    into.latencies += part.latencies
    into.missed += part.missed
    into.gaps += part.gaps
    into.barge_ins += part.barge_ins
    into.barge_ins_uncleared += part.barge_ins_uncleared
    into.loop_lag += part.loop_lag


def drive(targets: list[Target], indices: list[int], first_start: float, until: float,
          args: argparse.Namespace) -> Level:
    """One driver process: the calls ``indices``, call i starting at ``first_start + i * ramp`` (monotonic
    time, the same clock in every process of the machine)."""
    *speech, interruption = caller_speech([*SENTENCES, INTERRUPTION])
    part = Level("", len(indices))

    async def calls() -> None:
        lag = asyncio.create_task(watch_loop_lag(part, until))
        tasks = []
        for index in indices:
            await asyncio.sleep(max(0.0, first_start + args.ramp * index - time.monotonic()))
            tasks.append(asyncio.create_task(one_call(targets[index], index, speech, interruption, until, args,
                                                      part)))
        await asyncio.gather(*tasks)
        lag.cancel()

    asyncio.run(calls())
    return part


async def run_level(server: str, targets: list[Target], pid: int, calls: int, args: argparse.Namespace) -> Level:
    """``calls`` calls spread over ``--driver-processes`` processes, so the driver's own event loop stays
    ahead of 50 frames a second per call; the server sampled from here meanwhile."""
    level = Level(server, calls)
    first_start = time.monotonic() + 3.0  # the driver processes start and make their speech meanwhile
    last_start = first_start + args.ramp * (calls - 1)
    until = last_start + args.duration
    sampler = asyncio.create_task(sample_server(pid, level, last_start, until))
    loop = asyncio.get_running_loop()
    processes = min(args.driver_processes, calls)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = await asyncio.gather(*[
            loop.run_in_executor(pool, drive, targets, list(range(calls))[offset::processes], first_start, until,
                                 args)
            for offset in range(processes)])
    sampler.cancel()
    for part in parts:
        merge(level, part)
    return level


async def afo_level(name: str, workers: int, calls: int, args: argparse.Namespace) -> Level:
    """The platform started afresh for this level (``bench/voice_afo.py``), every call admitted through
    ``/twilio/voice``; afterwards each turn's platform-added latency read from its call's record."""
    with tempfile.TemporaryDirectory(prefix="afo-voice-bench-") as home:
        async with afo_voice(Path(home), workers) as afo:
            targets = [Target(t.url, (("X-Twilio-Signature", t.signature),), t.call_sid, t.account_sid)
                       for t in await afo.tickets(calls)]
            level = await run_level(name, targets, afo.pid, calls, args)
            await asyncio.sleep(2.0)  # the last turns and call ends are recorded
            records = await afo.turn_records()
            level.platform_ms = [platform_added_ms(latency) for latency in records]
            level.model_ended = sum(1 for latency in records if latency["endpoint_wait_ms"] < 640.0)
            level.stages = {
                "decision": [r["turn_decision_ms"] - r["endpoint_wait_ms"] for r in records],
                "stt": [r["stt_final_ms"] - r["turn_decision_ms"] - r["stt_provider_ms"] for r in records],
                "agent": [r["first_reply_delta_ms"] - r["stt_final_ms"] for r in records],
                "tts": [r["first_tts_audio_ms"] - r["first_reply_delta_ms"] - r["tts_provider_ms"] for r in records],
                "out": [r["first_audio_out_ms"] - r["first_tts_audio_ms"] for r in records]}
    return level


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def started_server(command: str, path: str) -> AsyncIterator[tuple[str, int]]:
    """Run ``command`` until the block ends; yields the media URL and the process id once the port answers."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command.format(port=port, python=sys.executable)), cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{command!r} exited with {process.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command!r} did not listen on {port} within 120 s")
            await asyncio.sleep(0.2)
        yield f"ws://127.0.0.1:{port}{path}", process.pid
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def header() -> str:
    return ("| server | calls | held | CPU avg | RSS peak | turns | latency p50 / p95 | added p50 / p95 | missed "
            "| worst gap p95 / max | barge-in p50 / p95 (no clear) | driver lag p99 |\n" + "|---" * 12 + "|")


def row(level: Level, provider_ms: float) -> str:
    ms = [1000 * value for value in level.latencies]
    gaps = [1000 * value for value in level.gaps]
    barge = [1000 * value for value in level.barge_ins]
    failed = f" ({len(level.failed)} failed)" if level.failed else ""
    return (f"| {level.server} | {level.calls} | {level.held}{failed} | {level.cpu_percent:.0f}% "
            f"| {level.rss_mb:.0f} MB | {len(ms) + level.missed} "
            f"| {percentile(ms, 50):.0f} / {percentile(ms, 95):.0f} ms "
            f"| {percentile(ms, 50) - provider_ms:.0f} / {percentile(ms, 95) - provider_ms:.0f} ms "
            f"| {level.missed} | {percentile(gaps, 95):.0f} / {max(gaps, default=float('nan')):.0f} ms "
            f"| {percentile(barge, 50):.0f} / {percentile(barge, 95):.0f} ms ({level.barge_ins_uncleared}) "
            f"| {1000 * percentile(level.loop_lag, 99):.0f} ms |")


async def run(args: argparse.Namespace) -> None:
    print(header(), flush=True)
    for calls in args.calls:
        levels = []
        if args.url:
            levels.append(await run_level("given", [shared_target(args.url, args)] * calls, args.pid, calls, args))
        for spec in [] if args.url else args.server or [STOCK, AFO, AFO_TWO_WORKERS]:
            name, command = spec.split("=", 1)
            if command.split()[0] == AFO_PLATFORM:
                options = dict(option.split("=", 1) for option in command.split()[1:])
                try:
                    levels.append(await afo_level(name, int(options.get("workers", 1)), calls, args))
                except PostgresUnavailable as exc:  # several workers need it; the other rows still run
                    print(f"  {name} at {calls} calls: not run: {exc}", file=sys.stderr, flush=True)
                continue
            async with started_server(command, args.path) as (url, pid):
                levels.append(await run_level(name, [shared_target(url, args)] * calls, pid, calls, args))
        for level in levels:
            print(row(level, args.provider_ms), flush=True)
            if level.platform_ms:
                platform = level.platform_ms
                print(f"  {level.server} at {level.calls} calls, from its turn records: platform-added "
                      f"{percentile(platform, 50):.0f} / {percentile(platform, 95):.0f} ms p50 / p95 over "
                      f"{len(platform)} turns (first audio out - endpoint silence - STT - TTS); "
                      f"{level.model_ended} of them ended by Smart Turn at the short pause", flush=True)
                print("  by stage, p50 / p95 ms: " + ", ".join(
                    f"{stage} {percentile(values, 50):.0f} / {percentile(values, 95):.0f}"
                    for stage, values in level.stages.items()), flush=True)
            for failure in level.failed[:3]:
                print(f"  {failure}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=lambda text: [int(n) for n in text.split(",")], default=[10, 50, 100, 150])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of conversation after the ramp")
    parser.add_argument("--ramp", type=float, default=0.2, help="seconds between two calls' starts")
    parser.add_argument("--server", action="append", help="NAME=COMMAND with {port} and {python}")
    parser.add_argument("--path", default="/twilio/media")
    parser.add_argument("--auth-token", help="sign each upgrade with X-Twilio-Signature, as Twilio does")
    parser.add_argument("--param", action="append", default=[], type=lambda text: tuple(text.split("=", 1)),
                        help="KEY=VALUE for the start message's customParameters (repeatable)")
    parser.add_argument("--url", help="a server already running (then --pid)")
    parser.add_argument("--pid", type=int, help="its process id, for CPU and RSS")
    parser.add_argument("--provider-ms", type=float, default=230.0, help="the fake providers' delays summed")
    parser.add_argument("--missed-after", type=float, default=5.0)
    parser.add_argument("--barge-every", type=int, default=3)
    parser.add_argument("--barge-after", type=float, default=0.8)
    parser.add_argument("--driver-processes", type=int, default=2, help="processes the calls are spread over")
    args = parser.parse_args()
    if args.url and args.pid is None:
        parser.error("--url needs --pid")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
