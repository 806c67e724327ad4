"""The inbox: processed event ids, recorded in the handler's transaction, pruned once old enough."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from afo_common.db import Database
from afo_common.messaging import inbox as inbox_module
from afo_common.messaging.inbox import prune_inbox, record_processed
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import SQL_BACKENDS, migrated_database


@pytest.fixture(params=SQL_BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_testkit.migrations")
    yield database
    await database.dispose()


async def stored_ids(db: Database) -> set[str]:
    async with db.session() as session:
        return set((await session.execute(select(messaging.inbox.c.event_id))).scalars())


async def test_ids_older_than_the_cutoff_are_pruned_and_recent_ones_kept(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "PRUNE_BATCH", 3)  # so the pruning goes through several batches
    now = datetime.now(UTC)
    async with db.write_lock(), db.session() as session, session.begin():
        await session.execute(messaging.inbox.insert(), [
            {"consumer": f"c{i % 2}", "event_id": f"old{i}", "processed_at": now - timedelta(days=8)}
            for i in range(7)
        ] + [{"consumer": "c0", "event_id": "recent", "processed_at": now - timedelta(hours=1)}])

    removed = await prune_inbox(db, messaging, now - timedelta(days=7))

    assert removed == 7
    assert await stored_ids(db) == {"recent"}


async def test_a_pruned_id_no_longer_counts_as_processed_but_a_kept_one_does(db: Database) -> None:
    uow = UnitOfWorkFactory(db, messaging, "test-svc", lambda: None)
    async with uow() as work:
        assert await record_processed(work, "c0", "evt_1")

    assert await prune_inbox(db, messaging, datetime.now(UTC) - timedelta(days=7)) == 0
    async with uow() as work:
        assert not await record_processed(work, "c0", "evt_1")
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(messaging.inbox))).scalar_one() == 1
