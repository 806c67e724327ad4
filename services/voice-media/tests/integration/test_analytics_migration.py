"""voice-media's migration 0005 on SQLite and PostgreSQL: turns recorded before analytics get their latency
components as columns, read from their latency JSON (a component that did not happen stays NULL)."""

from datetime import UTC, datetime

from sqlalchemy import text

from afo_common.db import Database, migrate

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def when(moment: datetime, db: Database) -> object:
    """A timestamp as a plain statement binds it on each backend (SQLite keeps naive UTC text)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ") if db.url.startswith("sqlite") else moment


async def test_existing_voice_turns_get_their_latency_columns(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_voice_media.migrations", "0004")
        async with db.engine.begin() as conn:
            for idx, latency in ((0, '{"turn_decision_ms": 210.4, "endpoint_wait_ms": 192.0, "stt_final_ms": 380.6, '
                                     '"first_reply_delta_ms": 420.0, "first_tts_audio_ms": 610.2, '
                                     '"first_audio_out_ms": 640.5}'),
                                 (1, '{"turn_decision_ms": 200.0, "first_audio_out_ms": null}'), (2, None)):
                await conn.execute(text(
                    "INSERT INTO turns (call_id, idx, tenant_id, caller_text, interrupted, started_at, ended_at, "
                    "latency) VALUES ('call_1', :idx, 'ten_a', 'hello', false, :at, :at, :latency)"),
                    {"idx": idx, "at": when(T, db), "latency": latency})

        await migrate(db, "afo_voice_media.migrations")

        async with db.engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT idx, turn_decision_ms, stt_final_ms, first_reply_delta_ms, first_tts_audio_ms, "
                "first_audio_out_ms FROM turns ORDER BY idx"))).all()
        assert [tuple(r) for r in rows] == [(0, 210, 381, 420, 610, 640), (1, 200, None, None, None, None),
                                            (2, None, None, None, None, None)]
    finally:
        await db.dispose()
