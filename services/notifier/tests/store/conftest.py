"""The store and the handlers over it run on every backend in turn: in memory, SQLite, then PostgreSQL
(skipped, saying why, when none answers at AFO_TEST_POSTGRES_URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_notifier.adapters.memory import memory_store
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging
from afo_notifier.handlers.unit_of_work import Store
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, migrated_database


@dataclass
class Backend:
    store: Store
    units: UnitOfWorkFactory | None  # None in memory

    def reopen(self) -> Store:
        """A second store on the same database (another replica, or the same one after a restart)."""
        if self.units is None:
            return self.store
        return cast(Store, sql_store(UnitOfWorkFactory(self.units.db, messaging, "notifier", lambda: None)))


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend(memory_store(), None)
        return
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_notifier.migrations")
    units = UnitOfWorkFactory(db, messaging, "notifier", lambda: None)
    try:
        yield Backend(cast(Store, sql_store(units)), units)
    finally:
        await db.dispose()
