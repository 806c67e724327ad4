"""The repositories run on every backend in turn: in memory (``adapters/memory.py``), SQLite, then PostgreSQL
(skipped, saying why, when none answers at AFO_TEST_POSTGRES_URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, migrated_database
from afo_workflow_executor.adapters.memory import memory_store
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.handlers.unit_of_work import Store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(backend: str, tmp_path: Path, postgres_server: PostgresDatabases | str) -> AsyncIterator[Store]:
    if backend == "memory":
        yield memory_store()
        return
    db = await migrated_database(backend, tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield sql_store(UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None))
    finally:
        await db.dispose()
