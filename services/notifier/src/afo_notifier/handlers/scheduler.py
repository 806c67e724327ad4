"""The scheduler: sends what is due. Each poll claims the due rows in one transaction with a conditional
update (one scheduler wins a row, across replicas and restarts; the claim's owner is unique per poll), checks
the lead has not opted out since, sends (several at once), and records the outcomes with ``notification.sent`` /
``notification.failed`` in one transaction per poll.

A scheduler that stops between its claim and the outcome leaves the row ``sending``; once the claim's lease
runs out another takes it again: a notification is sent at least once, and exactly once unless a process dies
in the middle of a send."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from afo_common.clock import Clock
from afo_common.events.notification import NotificationFailed, NotificationSent
from afo_notifier.domain.channels import Channels, SendError
from afo_notifier.domain.planning import OPTED_OUT, mask
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.unit_of_work import Store


class Scheduler:
    def __init__(self, store: Store, channels: Channels, clock: Clock, owner: str, *, batch: int = 200,
                 concurrency: int = 20, lease: timedelta = timedelta(seconds=120)) -> None:
        self._store, self._channels, self._clock, self._owner = store, channels, clock, owner
        self._batch, self._lease = batch, lease
        self._slots = asyncio.Semaphore(concurrency)
        self._ticks = 0

    async def tick(self) -> int:
        """One poll; how many rows this scheduler claimed. Claims in one transaction, sends several at once,
        records every outcome (with its event) in one more."""
        now = self._clock.now()
        self._ticks += 1
        async with self._store() as uow:
            claimed = await uow.notifications.claim_due(now, f"{self._owner}.{self._ticks}", now + self._lease,
                                                        self._batch)
        if not claimed:
            return 0
        async with self._store.reading() as repos:
            opted_out = set()
            for lead in {(row.tenant_id, row.lead_id) for row in claimed if row.lead_id}:
                contact = await repos.contacts.get(*lead)
                if contact is not None and contact.opted_out:
                    opted_out.add(lead)
        outcomes = await asyncio.gather(*(
            self._send(row) if (row.tenant_id, row.lead_id) not in opted_out
            else _done(replace(row, status="skipped", error=OPTED_OUT), None) for row in claimed))
        async with self._store() as uow:
            for row, event in outcomes:
                await uow.notifications.finish(replace(row, claimed_until=None, updated_at=self._clock.now()))
                if event is not None:
                    await uow.emit(event, tenant_id=row.tenant_id)
        return len(claimed)

    async def _send(self, row: NotificationRow) -> Outcome:
        async with self._slots:
            try:
                sent = await self._channels.send(row)
            except SendError as exc:
                return (replace(row, status="failed", error=exc.reason, provider=exc.provider),
                        NotificationFailed(**self._fields(row), provider=exc.provider, error=exc.reason))
            now = self._clock.now()
            return (replace(row, status="sent", error=None, provider=sent.provider, provider_id=sent.provider_id,
                            sent_at=now),
                    NotificationSent(**self._fields(row), provider=sent.provider, sent_at=now))

    @staticmethod
    def _fields(row: NotificationRow) -> dict[str, Any]:
        return {"notification_id": row.id, "meeting_id": row.meeting_id, "lead_id": row.lead_id,
                "kind": row.kind, "channel": row.channel, "to": mask(row.channel, row.to)}


Outcome = tuple[NotificationRow, NotificationSent | NotificationFailed | None]


async def _done(row: NotificationRow, event: NotificationSent | NotificationFailed | None) -> Outcome:
    return row, event
