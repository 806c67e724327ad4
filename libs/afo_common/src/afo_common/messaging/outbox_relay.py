"""The outbox relay: publishes committed events to JetStream with ``Nats-Msg-Id`` = event id (JetStream
drops a duplicate within the stream's window), then deletes them from the outbox.

Every row is settled on its own: an acknowledged row is deleted whatever happened to its neighbours; a
row that failed for a reason that may pass (NATS unreachable, the stream not provisioned yet, no ack in
time) counts an attempt and waits out a backoff, so it never holds back the rows behind it; a row that can
never be published (no stream captures its subject, larger than the server accepts) moves to the
outbox's dead letters with the reason. Order holds among rows published in one pass; a row retried later
lands after rows committed after it.

On PostgreSQL replicas share the table: a pass claims its rows with one statement that moves their
``next_attempt_at`` a lease ahead (picked with ``FOR UPDATE SKIP LOCKED``), so no other relay takes them,
and deletes the published ones with one more — two round trips, no transaction held while publishing. A
relay that dies holding a claim leaves its rows to the others when the lease ends. On SQLite one process
should own the file; where two share it (replicas in a test), both publish every row, JetStream keeps one
copy, and each settles a row only while it still holds the event it read: SQLite gives a deleted row's
``seq`` to the next one inserted, so by ``seq`` alone a slow relay would delete a newer event it never
published."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.errors import MaxPayloadError
from nats.js.errors import APIError, NoStreamResponseError

from afo_common.db import Database
from afo_common.events.streams import stream_for_subject
from afo_common.hot_sql import HotTransaction, Row, Sql
from afo_common.messaging.connection import NatsConnection
from afo_common.telemetry import (
    EVENTS_PUBLISHED,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_OLDEST_AGE_SECONDS,
    OUTBOX_PENDING,
)

log = logging.getLogger(__name__)

BATCH = 256
POLL_INTERVAL_S = 1.0
ACK_TIMEOUT_S = 5.0
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
MEASURE_INTERVAL_S = 1.0
MAX_ERROR_LENGTH = 500

CLAIM_LEASE_S = 30.0
DUE = Sql("SELECT seq, event_id, subject, payload, created_at, attempts FROM outbox "
          "WHERE next_attempt_at IS NULL OR next_attempt_at <= $1 ORDER BY seq LIMIT $2")
CLAIM = Sql(
    "UPDATE outbox SET next_attempt_at = $1 WHERE seq IN (SELECT seq FROM outbox "
    "WHERE next_attempt_at IS NULL OR next_attempt_at <= $2 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) "
    "RETURNING seq, event_id, subject, payload, created_at, attempts"
)
DELETE = Sql("DELETE FROM outbox WHERE seq = $1 AND event_id = $2")
# PostgreSQL only (an array parameter): SQLite deletes row by row in its transaction.
DELETE_MANY = Sql("DELETE FROM outbox WHERE seq = ANY($1::bigint[])")
RETRY = Sql("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 "
            "WHERE seq = $3 AND event_id = $4")
SET_ASIDE = Sql("INSERT INTO outbox_dead_letters (seq, event_id, subject, payload, created_at, attempts, reason, "
                "failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
BACKLOG = Sql("SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox")


def retry_delay(attempts: int) -> float:
    """Exponential backoff after ``attempts`` failed publishes of one row: 0.5 s, 1 s, 2 s, … 30 s."""
    return float(min(BACKOFF_BASE_S * 2 ** (attempts - 1), BACKOFF_MAX_S))


@dataclass
class PassOutcome:
    published: list[int] = field(default_factory=list)
    retry: dict[int, str] = field(default_factory=dict)
    dead: dict[int, str] = field(default_factory=dict)


class OutboxRelay:
    def __init__(self, db: Database, nats: NatsConnection, service: str) -> None:
        self._db = db
        self._nats = nats
        self._service = service
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._measured_at = float("-inf")

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._service}-outbox-relay")

    async def stop(self) -> None:
        """Publish what is left (within the drain budget), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.publish_pending() == BATCH:
                    pass
            except Exception:
                # A database hiccup: the rows stay in the outbox and the next pass retries.
                log.exception("outbox relay pass failed; retrying")
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_INTERVAL_S)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """One pass over the rows that are due: publish them and settle each; returns how many it took."""
        hot = self._db.hot
        try:
            if hot.dialect == "sqlite":
                async with hot.read() as tx:
                    rows = await tx.fetch(DUE, tx.time(datetime.now(UTC)), BATCH)
                outcome = await self._publish(rows)
                if rows:
                    async with hot.transaction() as tx:
                        await self._settle(tx, rows, outcome)
            else:
                now = datetime.now(UTC)
                async with hot.autocommit() as tx:
                    claimed = await tx.fetch(CLAIM, tx.time(now + timedelta(seconds=CLAIM_LEASE_S)),
                                             tx.time(now), BATCH)
                rows = sorted(claimed, key=lambda row: int(row["seq"]))
                outcome = await self._publish(rows)
                if outcome.retry or outcome.dead:
                    async with hot.transaction() as tx:
                        await self._settle(tx, rows, outcome)
                elif outcome.published:
                    async with hot.autocommit() as tx:
                        await tx.execute(DELETE_MANY, outcome.published)
                    EVENTS_PUBLISHED.labels(self._service).inc(len(outcome.published))
        finally:
            await self._measure()
        return len(rows)

    async def _publish(self, rows: Sequence[Row]) -> PassOutcome:
        outcome = PassOutcome()
        if not rows:
            return outcome
        js = self._nats.js
        max_payload = self._nats.client.max_payload
        pending: dict[int, asyncio.Future[Any]] = {}
        for row in rows:
            seq, subject, payload = row["seq"], row["subject"], bytes(row["payload"])
            if stream_for_subject(subject) is None:
                outcome.dead[seq] = f"no stream captures {subject}"
                continue
            if len(payload) > max_payload:
                outcome.dead[seq] = f"{len(payload)} bytes is over the server's limit of {max_payload}"
                continue
            try:
                pending[seq] = await js.publish_async(subject, payload, headers={"Nats-Msg-Id": row["event_id"]})
            except MaxPayloadError:
                outcome.dead[seq] = f"over the server's payload limit of {max_payload} bytes"
            except Exception as exc:
                outcome.retry[seq] = _describe(exc)
        if pending:
            await asyncio.wait(pending.values(), timeout=ACK_TIMEOUT_S)
        for seq, future in pending.items():
            if not future.done():
                future.cancel()  # releases nats-py's slot for it
                outcome.retry[seq] = f"no acknowledgement within {ACK_TIMEOUT_S:.0f} s"
            elif (error := future.exception()) is not None:
                outcome.retry[seq] = _describe(error)
            else:
                outcome.published.append(seq)
        return outcome

    async def _settle(self, tx: HotTransaction, rows: Sequence[Row], outcome: PassOutcome) -> None:
        by_seq = {row["seq"]: row for row in rows}
        if outcome.published:
            await tx.executemany(DELETE, [(seq, by_seq[seq]["event_id"]) for seq in outcome.published])
            EVENTS_PUBLISHED.labels(self._service).inc(len(outcome.published))
        now = datetime.now(UTC)
        if outcome.retry:
            await tx.executemany(RETRY, [
                (error[:MAX_ERROR_LENGTH],
                 tx.time(now + timedelta(seconds=retry_delay(by_seq[seq]["attempts"] + 1))), seq,
                 by_seq[seq]["event_id"])
                for seq, error in outcome.retry.items()
            ])
            log.warning("%d outbox events not published yet (retrying with backoff), first: %s",
                        len(outcome.retry), next(iter(outcome.retry.values())))
        if outcome.dead:
            await tx.executemany(SET_ASIDE, [
                (seq, by_seq[seq]["event_id"], by_seq[seq]["subject"], by_seq[seq]["payload"],
                 by_seq[seq]["created_at"], by_seq[seq]["attempts"] + 1, reason[:MAX_ERROR_LENGTH], tx.time(now))
                for seq, reason in outcome.dead.items()
            ])
            await tx.executemany(DELETE, [(seq, by_seq[seq]["event_id"]) for seq in outcome.dead])
            OUTBOX_DEAD_LETTERS.labels(self._service).inc(len(outcome.dead))
            for seq, reason in outcome.dead.items():
                log.error("outbox event %s can never be published, moved to outbox_dead_letters: %s",
                          by_seq[seq]["event_id"], reason)

    async def _measure(self) -> None:
        """The backlog from the table itself, so the gauges tell the truth while NATS is down."""
        if time.monotonic() - self._measured_at < MEASURE_INTERVAL_S:
            return
        self._measured_at = time.monotonic()
        try:
            async with self._db.hot.read() as tx:
                row = await tx.fetchrow(BACKLOG)
                pending = row["pending"] if row is not None else 0
                oldest = tx.read_time(row["oldest"]) if row is not None and row["oldest"] is not None else None
        except Exception:
            log.warning("could not measure the outbox backlog", exc_info=True)
            return
        OUTBOX_PENDING.labels(self._service).set(pending)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_AGE_SECONDS.labels(self._service).set(max(0.0, age))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NoStreamResponseError):
        return "no stream answered (not provisioned yet, or JetStream unavailable)"
    if isinstance(exc, APIError):
        return f"JetStream refused it: {exc.description or exc}"
    return f"{type(exc).__name__}: {exc}"
