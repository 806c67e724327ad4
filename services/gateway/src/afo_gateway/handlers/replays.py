"""Idempotency-Key: a write runs once per key. The key is reserved (an insert) before the write runs; a
concurrent duplicate waits a bounded time for the first to finish and then gets its response, or a 409; a
failure (an exception or a 5xx) gives the key back so a retry runs again; a record lives 24 hours. A running
request renews its reservation's lease, so the key of one whose process died frees within a lease (15 s).

The caller authorizes before it gets here: a replay is a response, and responses go only to callers who
may make the request (see ``entrypoints/http/idempotency.py``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from afo_common.clock import Clock
from afo_gateway.domain.errors import Conflict, IdempotencyInProgress
from afo_gateway.domain.idempotency import KeyHeld, Record, Scope, check_key
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)
POLL_S = (0.02, 0.05, 0.1, 0.2, 0.5)


@dataclass(frozen=True)
class Produced:
    status_code: int
    body: bytes
    # What a replay answers: the body itself, or a copy without the secret it showed once.
    kept: bytes


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    replayed: bool


class Replays:
    def __init__(self, store: Store, *, ttl_s: float, wait_s: float, lease_s: float, clock: Clock) -> None:
        self._store = store
        self._ttl = timedelta(seconds=ttl_s)
        self._wait_s = wait_s
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock

    async def run(self, scope: Scope, key: str, request_hash: str,
                  produce: Callable[[], Awaitable[Produced]]) -> Answer:
        check_key(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        polls = 0
        while not await self._reserve_or_give_back(scope, key, request_hash):
            record = await self._get(scope, key)
            if record is not None and record.request_hash != request_hash:
                raise Conflict("this Idempotency-Key was already used with a different request")
            if record is not None and record.status_code is not None:
                return Answer(record.status_code, record.body, replayed=True)
            # Still running elsewhere, or given back a moment ago and free for the next reservation.
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise IdempotencyInProgress("a request with this Idempotency-Key is still being handled; "
                                            "retry it", retry_after_s=1)
            await asyncio.sleep(min(POLL_S[min(polls, len(POLL_S) - 1)], remaining))
            polls += 1
        return await self._produce(scope, key, produce)

    async def purge(self) -> None:
        async with self._store() as uow:
            purged = await uow.idempotency.purge(self._clock.now())
        log.info("purged %d expired idempotency records", purged)

    async def _produce(self, scope: Scope, key: str, produce: Callable[[], Awaitable[Produced]]) -> Answer:
        keeping = asyncio.create_task(self._keep(scope, key))
        try:
            produced = await produce()
        except BaseException:
            keeping.cancel()
            # Shielded: a cancelled request still gives its key back.
            await asyncio.shield(self._release(scope, key))
            raise
        keeping.cancel()
        if produced.status_code >= 500:
            await self._release(scope, key)
        else:
            async with self._store() as uow:
                await uow.idempotency.finish(scope, key, produced.status_code, produced.kept)
        return Answer(produced.status_code, produced.body, replayed=False)

    async def _reserve_or_give_back(self, scope: Scope, key: str, request_hash: str) -> bool:
        # A request cancelled (its client gone) while the reservation commits would otherwise leave the
        # key held until the lease runs out, and every retry would get a 409 meanwhile.
        reserving = asyncio.ensure_future(self._reserve(scope, key, request_hash))
        try:
            return await asyncio.shield(reserving)
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back_once_reserved(reserving, scope, key))
            raise

    async def _give_back_once_reserved(self, reserving: asyncio.Future[bool], scope: Scope, key: str) -> None:
        if await reserving:
            await self._release(scope, key)

    async def _reserve(self, scope: Scope, key: str, request_hash: str) -> bool:
        now = self._clock.now()
        try:
            async with self._store() as uow:
                await uow.idempotency.reserve(scope, key, request_hash, now, now + self._lease, now + self._ttl)
        except KeyHeld:
            return False
        return True

    async def _get(self, scope: Scope, key: str) -> Record | None:
        async with self._store.reading() as repos:
            return await repos.idempotency.get(scope, key, self._clock.now())

    async def _keep(self, scope: Scope, key: str) -> None:
        """Renews the reservation while its request runs: a short lease then frees, soon after, the key of a
        request whose process died, and never that of a slow one still running (a renewal that lands after the
        finish or the release changes nothing)."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                async with self._store() as uow:
                    await uow.idempotency.renew(scope, key, self._clock.now() + self._lease)
            except Exception:  # the store down a moment: the next turn tries again, the lease has two left
                log.warning("could not renew an idempotency reservation", exc_info=True)

    async def _release(self, scope: Scope, key: str) -> None:
        async with self._store() as uow:
            await uow.idempotency.release(scope, key)
