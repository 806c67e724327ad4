"""What ``analytics.summary`` costs when it aggregates on read: agent-runtime's and voice-media's handlers over their
real repositories on SQLite (and PostgreSQL with ``--postgres``), with one tenant's history seeded in bulk.

    uv run python -m bench.analytics [--conversations 50000] [--calls 5000] [--runs 15]
                                     [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Seeded: ``--conversations`` conversations of the measured tenant over 180 days (5 agents, 4 channels; 40 %
qualified, 15 % booked, 10 % handed off), three replies each with a latency, one in twenty replies leaving a
question unanswered (300 distinct questions, a few asked far more than the rest), and as many conversations
of another tenant beside them; ``--calls`` calls with ten turns each. Each query is the whole summary (every
repository query of the RPC, not the NATS hop), run ``--runs`` times after one warm-up; prints the rows the
tenant has and the milliseconds p50/p95 per query."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from afo_agent_runtime.adapters.store import sql_store
from afo_agent_runtime.adapters.tables import conversations, messages
from afo_agent_runtime.adapters.tables import messaging as agent_messaging
from afo_agent_runtime.handlers.analytics import AnalyticsHandlers
from afo_common.db import Database, migrate
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.analytics import AnalyticsQuery
from afo_voice_media.adapters.call_repository import SqlRepositories as VoiceRepositories
from afo_voice_media.adapters.tables import calls, turns
from afo_voice_media.adapters.tables import messaging as voice_messaging
from afo_voice_media.handlers.analytics import CallAnalytics

TENANT, NOISE = "ten_bench", "ten_noise"
END = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 180
AGENTS = [f"agt_{n}" for n in range(5)]
CHANNELS = ["web", "api", "sms", "voice"]
BATCH = 5_000


def _at(rng: random.Random) -> datetime:
    return END - timedelta(seconds=rng.uniform(0, DAYS * 86_400))


def _conversation_rows(tenant_id: str, count: int, rng: random.Random) -> tuple[list[dict[str, Any]],
                                                                                list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    questions = [f"question number {n} about the product" for n in range(300)]
    for n in range(count):
        started = _at(rng)
        later = started + timedelta(minutes=rng.uniform(1, 600))
        cid = f"conv_{tenant_id}_{n}"
        rows.append({"id": cid, "tenant_id": tenant_id, "agent_id": rng.choice(AGENTS), "agent_version": 1,
                     "channel": rng.choice(CHANNELS), "contact": {}, "status": "open", "lead_id": None, "memory": {},
                     "revision": 1, "created_at": started, "updated_at": later, "last_sequence": 3,
                     "qualified_at": later if rng.random() < 0.4 else None,
                     "booked_at": later if rng.random() < 0.15 else None,
                     "handed_off_at": later if rng.random() < 0.1 else None})
        for turn in range(3):
            asked = questions[min(int(rng.paretovariate(1.2)) - 1, 299)] if rng.random() < 0.05 else None
            replies.append({"id": f"msg_{cid}_{turn}", "tenant_id": tenant_id, "conversation_id": cid,
                            "role": "assistant", "text": "…", "in_reply_to": f"msg_{cid}_{turn}_in",
                            "intent": "question", "engine": "embedded", "citations": [],
                            "created_at": started + timedelta(seconds=30 * turn),
                            "reply_ms": int(rng.lognormvariate(3.5, 0.6)), "unanswered": asked})
    return rows, replies


def _call_rows(count: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    spoken: list[dict[str, Any]] = []
    for n in range(count):
        started = _at(rng)
        call_id = f"call_{n}"
        rows.append({"id": call_id, "tenant_id": TENANT, "agent_id": rng.choice(AGENTS), "conversation_id": f"c{n}",
                     "transport": "twilio", "direction": "inbound", "caller": None, "called": "+14155550100",
                     "provider_call_id": None, "ticket_hash": None, "ticket_expires_at": None, "state": "ended",
                     "provider_status": None, "end_reason": "completed", "greeting": "Hi", "voice": {}, "hints": [],
                     "created_at": started, "started_at": started, "ended_at": started, "duration_s": 60.0,
                     "turns": 10})
        for idx in range(10):
            out = rng.lognormvariate(6.5, 0.25)
            at = started + timedelta(seconds=6 * idx)
            spoken.append({"call_id": call_id, "idx": idx, "tenant_id": TENANT, "caller_text": "…", "agent_text": "…",
                           "heard_text": None, "interrupted": False, "message_id": None, "started_at": at,
                           "ended_at": at, "latency": None, "turn_decision_ms": round(out * 0.3),
                           "stt_final_ms": round(out * 0.45), "first_reply_delta_ms": round(out * 0.6),
                           "first_tts_audio_ms": round(out * 0.9), "first_audio_out_ms": round(out)})
    return rows, spoken


async def _bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for first in range(0, len(rows), BATCH):
        async with db.session() as session, session.begin():
            await session.execute(insert(table), rows[first:first + BATCH])


async def _measure(run: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    await run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _query(days: int, **more: Any) -> AnalyticsQuery:
    return AnalyticsQuery.model_validate({"tenant_id": TENANT, "start": END - timedelta(days=days), "end": END,
                                          **more})


async def _admin(url: str, *statements: str) -> None:
    admin = Database(make_url(url).render_as_string(hide_password=False))
    try:
        async with admin.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await autocommit.execute(text(statement))
    finally:
        await admin.dispose()


def _pg_name(name: str) -> str:
    return f"afo_bench_{name.replace('-', '_')}"


async def _database(url: str | None, name: str, tmp: Path) -> Database:
    if url is None:
        return Database(f"sqlite+aiosqlite:///{tmp / name}.db")
    database = _pg_name(name)
    await _admin(url, f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}"')
    return Database(make_url(url).set(database=database).render_as_string(hide_password=False))


async def bench(url: str | None, backend: str, args: argparse.Namespace) -> list[tuple[str, ...]]:
    rng = random.Random(15)
    found: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        agent_db = await _database(url, "agent-runtime", Path(tmp))
        voice_db = await _database(url, "voice-media", Path(tmp))
        try:
            await migrate(agent_db, "afo_agent_runtime.migrations")
            await migrate(voice_db, "afo_voice_media.migrations")
            for tenant in (TENANT, NOISE):
                rows, replies = _conversation_rows(tenant, args.conversations, rng)
                await _bulk(agent_db, conversations, rows)
                await _bulk(agent_db, messages, replies)
            call_rows, turn_rows = _call_rows(args.calls, rng)
            await _bulk(voice_db, calls, call_rows)
            await _bulk(voice_db, turns, turn_rows)
            if url is not None:
                for db in (agent_db, voice_db):
                    async with db.engine.connect() as connection:
                        await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(
                            text("VACUUM ANALYZE"))
            agent = AnalyticsHandlers(sql_store(UnitOfWorkFactory(agent_db, agent_messaging, "agent-runtime",
                                                                  lambda: None)))
            voice = CallAnalytics(SqlStore(UnitOfWorkFactory(voice_db, voice_messaging, "voice-media", lambda: None),
                                           VoiceRepositories))
            cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("agent-runtime, 30 days by day", lambda: agent.summary(_query(30))),
                ("agent-runtime, 180 days by week", lambda: agent.summary(_query(180, granularity="week"))),
                ("agent-runtime, 366 days by day", lambda: agent.summary(_query(366))),
                ("agent-runtime, 180 days, one agent", lambda: agent.summary(_query(180, agent_id=AGENTS[0]))),
                ("agent-runtime, 180 days, one channel", lambda: agent.summary(_query(180, channel="web"))),
                ("voice-media, 30 days", lambda: voice.summary(_query(30))),
                ("voice-media, 180 days", lambda: voice.summary(_query(180))),
                ("voice-media, 180 days, one agent", lambda: voice.summary(_query(180, agent_id=AGENTS[0]))),
            ]
            sizes = {"agent-runtime": f"{args.conversations:,} conv / {3 * args.conversations:,} replies",
                     "voice-media": f"{args.calls:,} calls / {10 * args.calls:,} turns"}
            for label, run in cases:
                p50, p95 = await _measure(run, args.runs)
                found.append((backend, sizes[label.split(",")[0]], label, f"{p50:.1f}", f"{p95:.1f}"))
        finally:
            await agent_db.dispose()
            await voice_db.dispose()
            if url is not None:
                names = (_pg_name("agent-runtime"), _pg_name("voice-media"))
                await _admin(url, *(f'DROP DATABASE IF EXISTS "{name}"' for name in names))
    return found


def _table(rows: list[tuple[str, ...]]) -> str:
    header = ("backend", "tenant's rows (x2 with the other tenant's)", "query", "ms p50", "ms p95")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", help="also on this PostgreSQL server (databases afo_bench_* are made)")
    args = parser.parse_args()
    rows = await bench(None, "sqlite", args)
    if args.postgres:
        rows += await bench(args.postgres, "postgres", args)
    print(_table(rows))


if __name__ == "__main__":
    asyncio.run(main())
