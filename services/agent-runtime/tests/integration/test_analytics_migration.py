"""Migration 0007 on SQLite and PostgreSQL: conversations recorded before analytics get their funnel facts from
what was recorded then — a qualified lead, a handed-off status, the first booking's message — so the first
Monday after an upgrade already counts them."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from afo_common.db import Database, migrate

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def when(moment: datetime, db: Database) -> object:
    """A timestamp as a plain statement binds it on each backend (SQLite keeps naive UTC text)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ") if db.url.startswith("sqlite") else moment


async def test_existing_conversations_get_their_facts(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_agent_runtime.migrations", "0006")
        conversation = ("INSERT INTO conversations (id, tenant_id, agent_id, agent_version, channel, contact, status, "
                        "memory, revision, created_at, updated_at) VALUES (:id, 'ten_a', 'agt_a', 1, 'web', '{}', "
                        ":status, '{}', 1, :at, :updated)")
        async with db.engine.begin() as conn:
            for cid, status in (("conv_q", "open"), ("conv_h", "handed_off"), ("conv_b", "open"), ("conv_n", "open")):
                await conn.execute(text(conversation), {"id": cid, "status": status, "at": when(T, db),
                                                        "updated": when(T + timedelta(hours=2), db)})
            for lid, cid, qualified in (("lead_q", "conv_q", True), ("lead_n", "conv_n", False)):
                await conn.execute(text(
                    "INSERT INTO leads (id, tenant_id, conversation_id, agent_id, fields, missing_fields, qualified, "
                    "opted_out, created_at, updated_at) VALUES (:id, 'ten_a', :cid, 'agt_a', '{}', '[]', :q, false, "
                    ":at, :updated)"), {"id": lid, "cid": cid, "q": qualified, "at": when(T, db),
                                        "updated": when(T + timedelta(hours=1), db)})
            for mid, minutes in (("msg_b2", 50), ("msg_b1", 40)):
                await conn.execute(text(
                    "INSERT INTO messages (id, tenant_id, conversation_id, role, text, intent, citations, created_at) "
                    "VALUES (:id, 'ten_a', 'conv_b', 'assistant', 'booked', 'meeting_booked', '[]', :at)"),
                    {"id": mid, "at": when(T + timedelta(minutes=minutes), db)})

        await migrate(db, "afo_agent_runtime.migrations")

        async with db.engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, qualified_at IS NOT NULL, booked_at IS NOT NULL, handed_off_at IS NOT NULL "
                "FROM conversations ORDER BY id"))).all()
            booked_at = (await conn.execute(text("SELECT booked_at FROM conversations WHERE id = 'conv_b'"))).scalar()
        assert [tuple(r) for r in rows] == [("conv_b", False, True, False), ("conv_h", False, False, True),
                                            ("conv_n", False, False, False), ("conv_q", True, False, False)]
        assert str(booked_at).startswith("2026-03-02 09:40")
    finally:
        await db.dispose()
