"""The handlers run on every backend in turn: in memory (``adapters/memory.py``), SQLite, then PostgreSQL
(skipped, saying why, when none answers at AFO_TEST_POSTGRES_URL), with the fake ports of
``adapters/fakes.py`` (``afo_knowledge_ingest.testing.Kit``) and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.events import Envelope
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_knowledge_ingest.adapters.memory import memory_store
from afo_knowledge_ingest.adapters.store import sql_store
from afo_knowledge_ingest.adapters.tables import messaging
from afo_knowledge_ingest.testing import Kit
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, committed_events, migrated_database


@pytest.fixture(params=BACKENDS)
async def kit(request: pytest.FixtureRequest, tmp_path: Path,
              postgres_server: PostgresDatabases | str) -> AsyncIterator[Kit]:
    if request.param == "memory":
        memory = memory_store()

        async def memory_events() -> list[Envelope]:
            return list(memory.outbox)

        yield Kit(memory, memory_events, FixedClock())
        return
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_knowledge_ingest.migrations")

    async def outbox_events() -> list[Envelope]:
        return await committed_events(db, messaging)

    try:
        units = UnitOfWorkFactory(db, messaging, "knowledge-ingest", lambda: None)
        yield Kit(sql_store(units), outbox_events, FixedClock())
    finally:
        await db.dispose()
