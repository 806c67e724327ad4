"""The outbox, its dead letters and the inbox, added to each service's own metadata (each service owns
its database)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, text

from afo_common.db import UtcDateTime


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    outbox_dead_letters: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # SQLite only autoincrements an INTEGER primary key; PostgreSQL gets a BIGSERIAL.
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(40), nullable=False, unique=True),
        Column("subject", String(255), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        # Failed publish attempts; a row that failed waits until next_attempt_at (backoff) so it never
        # holds back the rows behind it.
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("next_attempt_at", UtcDateTime(), nullable=True),
        Column("last_error", String(500), nullable=True),
    )
    # Rows that can never be published (no stream captures the subject, larger than the server accepts):
    # kept with the reason for an operator, out of the relay's way.
    outbox_dead_letters = Table(
        "outbox_dead_letters",
        metadata,
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
        Column("event_id", String(40), nullable=False),
        Column("subject", String(255), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("reason", String(500), nullable=False),
        Column("failed_at", UtcDateTime(), nullable=False),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(120), primary_key=True),
        Column("event_id", String(40), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        Index("ix_inbox_processed_at", "processed_at"),
    )
    return MessagingTables(outbox=outbox, outbox_dead_letters=outbox_dead_letters, inbox=inbox)
