"""Tallies on SQLite and PostgreSQL: additions to one key and window add up in one row; the closer sends each
window once it has been over for the grace, oldest first, and takes its row out in the same transaction; a late
addition to a sent window starts its row again and is sent in a second event, so nothing is lost; two closers at
once send a window once."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Float, Integer, MetaData

from afo_common.events.conversation import TurnsTallied
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.tallies import Counted, Tally, TallyCloser, tally_table
from afo_testkit.clock import FixedClock
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import SQL_BACKENDS, committed_events, migrated_database

T0 = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
TABLE = tally_table(MetaData(), "test_tallies", ("agent_id",), (("turns", Integer), ("ms", Float)))
TALLY = Tally.of(TABLE, window_s=60)


def tallied(counted: Counted) -> TurnsTallied:
    return TurnsTallied(agent_id=counted.keys["agent_id"], window_start=counted.window_start, window_s=60,
                        messages=int(counted.sums["turns"]), replies=0, reply_ms_total=counted.sums["ms"],
                        fallbacks=0)


@pytest.fixture(params=SQL_BACKENDS)
async def units(request: pytest.FixtureRequest, tmp_path: Path,
               postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_testkit.migrations")
    async with db.engine.begin() as connection:
        await connection.run_sync(TABLE.metadata.create_all)
    yield UnitOfWorkFactory(db, messaging, "test-svc", lambda: None)
    await db.dispose()


async def add(units: UnitOfWorkFactory, agent: str, at: datetime, ms: float) -> None:
    async with units.hot() as uow:
        await TALLY.add(uow.tx, "ten_a", (agent,), at, (1, ms))


async def sent(units: UnitOfWorkFactory) -> list[tuple[str, datetime, int, float]]:
    events = [TurnsTallied.model_validate(e.data) for e in await committed_events(units.db, messaging)]
    return [(e.agent_id, e.window_start, e.messages, e.reply_ms_total) for e in events]


def test_windows_are_aligned_to_the_epoch() -> None:
    assert TALLY.window(T0) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert TALLY.window(datetime(2026, 3, 2, 9, 0, 59, 999999, tzinfo=UTC)) == TALLY.window(T0)
    assert TALLY.window(datetime(2026, 3, 2, 9, 1, tzinfo=UTC)) == datetime(2026, 3, 2, 9, 1, tzinfo=UTC)


async def test_a_window_is_sent_once_after_its_grace_and_a_late_addition_in_a_second_event(
        units: UnitOfWorkFactory) -> None:
    clock = FixedClock(T0)
    close = TallyCloser(TALLY, units, tallied, grace_s=5, now=clock.now)
    window = TALLY.window(T0)
    await add(units, "agt_1", T0, 100.0)
    await add(units, "agt_1", T0 + timedelta(seconds=20), 50.5)
    await add(units, "agt_2", T0, 10.0)
    await add(units, "agt_1", T0 + timedelta(seconds=40), 7.0)  # the next window

    clock.at = window + timedelta(seconds=64)
    await close()
    assert await sent(units) == []
    clock.at = window + timedelta(seconds=66)
    await close()
    await close()
    first = await sent(units)
    assert sorted(first) == [("agt_1", window, 2, 150.5), ("agt_2", window, 1, 10.0)]

    await add(units, "agt_1", T0, 1.0)  # a turn that committed as its window was sent
    clock.at = window + timedelta(seconds=126)
    await close()
    later = (await sent(units))[len(first):]
    assert later == [("agt_1", window, 1, 1.0), ("agt_1", window + timedelta(seconds=60), 1, 7.0)]  # oldest first


async def test_two_closers_at_once_send_a_window_once(units: UnitOfWorkFactory) -> None:
    clock = FixedClock(T0 + timedelta(minutes=5))
    closers = [TallyCloser(TALLY, units, tallied, grace_s=5, now=clock.now) for _ in range(2)]
    for n in range(20):
        await add(units, f"agt_{n}", T0, 1.0)

    await asyncio.gather(*(close() for close in closers))

    assert sorted(agent for agent, *_ in await sent(units)) == sorted(f"agt_{n}" for n in range(20))
