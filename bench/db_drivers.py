"""What a transaction of the hot path costs through SQLAlchemy's asyncio layer and through the drivers alone
(afo_common.hot_sql), on SQLite and PostgreSQL: the measurement behind running the statements every
message takes on the drivers.

    uv run python -m bench.db_drivers [--transactions 2000] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]

Each transaction is an insert, an update and a select, then a commit. Prints CPU and wall milliseconds per
transaction for each path."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import Column, Integer, String, Table, insert, select, update

from afo_common.db import Database, new_metadata
from afo_common.hot_sql import Sql

metadata = new_metadata()
rows = Table("bench_rows", metadata, Column("id", Integer, primary_key=True), Column("conv", String(40)),
             Column("v", String(200)))
INSERT = Sql("INSERT INTO bench_rows (id, conv, v) VALUES ($1, $2, $3)")
UPDATE = Sql("UPDATE bench_rows SET v = $1 WHERE id = $2")
SELECT = Sql("SELECT v FROM bench_rows WHERE conv = $1 LIMIT 1")


async def through_sqlalchemy(db: Database, n: int) -> None:
    async with db.write_lock(), db.session() as session, session.begin():
        await session.execute(insert(rows).values(id=n, conv=f"c{n % 50}", v="x" * 100))
        await session.execute(update(rows).where(rows.c.id == n).values(v="y"))
        (await session.execute(select(rows.c.v).where(rows.c.conv == "c1").limit(1))).first()


async def through_the_driver(db: Database, n: int) -> None:
    async with db.hot.transaction() as tx:
        await tx.execute(INSERT, n, f"c{n % 50}", "x" * 100)
        await tx.execute(UPDATE, "y", n)
        await tx.fetchrow(SELECT, "c1")


async def measure(db: Database, run: Callable[[Database, int], Awaitable[None]], first: int, count: int
                  ) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(first, first + count):
        await run(db, n)
    return (time.process_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count


async def bench(url: str, label: str, count: int) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
        await measure(db, through_the_driver, 10_000_000, 100)  # warm both paths up, not counted
        await measure(db, through_sqlalchemy, 20_000_000, 100)
        for name, run, first in (("SQLAlchemy asyncio", through_sqlalchemy, 0),
                                 ("driver (afo_common.hot_sql)", through_the_driver, count)):
            cpu_ms, wall_ms = await measure(db, run, first, count)
            print(f"{label:12} {name:30} {cpu_ms:8.3f} {wall_ms:8.3f}")
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
    finally:
        await db.dispose()


async def run(args: argparse.Namespace) -> None:
    print(f"{'store':12} {'path':30} {'CPU ms':>8} {'wall ms':>8}   (per transaction: insert, update, select, commit)")
    with tempfile.TemporaryDirectory(prefix="afo-bench-db-") as home:
        await bench(f"sqlite+aiosqlite:///{Path(home) / 'bench.db'}", "SQLite", args.transactions)
    if args.postgres:
        await bench(f"{args.postgres.rstrip('/')}/postgres", "PostgreSQL", args.transactions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", help="also on this server, e.g. "
                        "postgresql+asyncpg://postgres@127.0.0.1:5432")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
