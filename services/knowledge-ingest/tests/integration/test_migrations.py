"""knowledge-ingest's migrations on SQLite and PostgreSQL: head is reached, a second run is a no-op, the
schema is the one ``adapters/tables.py`` declares, and the unique sha256 per knowledge base holds."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect
from sqlalchemy.exc import IntegrityError

from afo_common.db import Database, migrate
from afo_knowledge_ingest.adapters.tables import documents, metadata
from afo_testkit.clock import T0
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server


def drift(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata))


def names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def row(doc_id: str) -> dict[str, Any]:
    return {"id": doc_id, "tenant_id": "t", "knowledge_base_id": "kb", "name": "n", "media_type": "text/plain",
            "size_bytes": 1, "sha256": "a" * 64, "blob": "b", "status": "queued", "chunks_total": 0,
            "chunks_done": 0, "attempts": 0, "created_at": T0, "updated_at": T0}


async def test_migrations_reach_head_match_the_tables_and_keep_one_document_per_content(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_knowledge_ingest.migrations")
        await migrate(db, "afo_knowledge_ingest.migrations")
        async with db.engine.connect() as connection:
            assert {"knowledge_bases", "documents", "chunks"} <= await connection.run_sync(names)
            assert await connection.run_sync(drift) == []
        async with db.engine.begin() as connection:
            await connection.execute(insert(documents).values(**row("doc_1")))
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as connection:
                await connection.execute(insert(documents).values(**row("doc_2")))
    finally:
        await db.dispose()
