"""The outbox relay: publishes committed events to JetStream in commit order with ``Nats-Msg-Id`` = event
id (JetStream drops a duplicate within the stream's window), then deletes them from the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import delete, select

from afo_common.db import Database
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.tables import MessagingTables
from afo_common.telemetry import EVENTS_PUBLISHED, OUTBOX_PENDING

log = logging.getLogger(__name__)

BATCH = 256
POLL_INTERVAL_S = 1.0
ACK_TIMEOUT_S = 5.0


class OutboxRelay:
    def __init__(self, db: Database, tables: MessagingTables, nats: NatsConnection, service: str) -> None:
        self._db = db
        self._outbox = tables.outbox
        self._nats = nats
        self._service = service
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

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
                # NATS down or a database hiccup: the rows stay in the outbox and the next pass retries.
                log.exception("outbox relay pass failed; retrying")
                await asyncio.sleep(POLL_INTERVAL_S)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_INTERVAL_S)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """One pass: publish up to BATCH events, delete the acknowledged ones; returns how many."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(self._outbox.c.seq, self._outbox.c.event_id, self._outbox.c.subject,
                           self._outbox.c.payload)
                    .order_by(self._outbox.c.seq)
                    .limit(BATCH)
                )
            ).all()
        if not rows:
            OUTBOX_PENDING.labels(self._service).set(0)
            return 0
        js = self._nats.js
        futures = [
            await js.publish_async(row.subject, row.payload, headers={"Nats-Msg-Id": row.event_id})
            for row in rows
        ]
        results = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), timeout=ACK_TIMEOUT_S
        )
        # Delete only the acknowledged prefix: anything after a failure is published again on the next
        # pass (a duplicate JetStream drops), so the stream never misses an event and order holds.
        done: list[int] = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                break
            done.append(row.seq)
        if done:
            async with self._db.write_lock(), self._db.session() as session, session.begin():
                await session.execute(delete(self._outbox).where(self._outbox.c.seq.in_(done)))
            EVENTS_PUBLISHED.labels(self._service).inc(len(done))
        OUTBOX_PENDING.labels(self._service).set(len(rows) - len(done))
        if len(done) < len(rows):
            failure = next(r for r in results if isinstance(r, BaseException))
            raise RuntimeError(f"{len(rows) - len(done)} events not acknowledged: {failure!r}")
        return len(rows)
