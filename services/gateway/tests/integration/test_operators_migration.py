"""The gateway's migration 0010 on SQLite and PostgreSQL: ``dead_letter_actions`` made as ``adapters/tables.py``
declares it, and an operator a tenant had made before the role became the platform's is a member of that tenant
after it; the operations tenant's operators stay operators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, insert, inspect, select

from afo_common.db import Database, migrate
from afo_gateway.adapters.tables import dead_letter_actions, tenants, users
from afo_gateway.domain.access import PLATFORM_TENANT_ID
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def drift(connection: Connection) -> list[Any]:
    only = MetaData()
    dead_letter_actions.to_metadata(only)
    context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                           "include_name": lambda name, kind, _: kind != "table"
                                                           or name == "dead_letter_actions"})
    return list(compare_metadata(context, only))


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_operators_made_by_tenants_become_members_and_dead_letter_actions_exist(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_gateway.migrations", "0009")
        async with db.engine.begin() as connection:
            for tenant in ("ten_a", PLATFORM_TENANT_ID):
                await connection.execute(insert(tenants).values(id=tenant, name=tenant, timezone="UTC", created_at=AT))
            for user_id, tenant, role in (("usr_1", "ten_a", "operator"), ("usr_2", "ten_a", "owner"),
                                          ("usr_3", PLATFORM_TENANT_ID, "operator")):
                await connection.execute(insert(users).values(id=user_id, tenant_id=tenant, email=f"{user_id}@x.io",
                                                              password_hash="h", role=role, created_at=AT))
        await migrate(db, "afo_gateway.migrations", "0010")
        async with db.engine.connect() as connection:
            roles = dict((await connection.execute(select(users.c.id, users.c.role))).all())
            assert await connection.run_sync(drift) == []
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("dead_letter_actions")})
        assert columns == set(dead_letter_actions.c.keys())
        assert roles == {"usr_1": "member", "usr_2": "owner", "usr_3": "operator"}
    finally:
        await db.dispose()
