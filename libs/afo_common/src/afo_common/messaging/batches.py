"""Group commit for consumers that count: the deliveries of one or more consumers handled together, one
transaction for the whole batch, so a handler that only adds to counters does one read and one write per
counter per batch instead of a transaction per event.

``Batcher`` is a consumer ``Handler`` like any other: every delivery still goes through ``ConsumerPolicy``
(schema check, ack, NAK with backoff, dead letter, metrics), which waits until the batch holding its delivery
has committed. Deliveries that arrive while a batch is being handled form the next batch: at a low rate each
event is a batch of one (no lingering, no latency added); under load the batches grow by themselves.

Rules:
- A batch's transaction writes the inbox rows of all its deliveries first; ``Batch.transaction`` yields the
  deliveries not seen before (``fresh``), and the others are settled as duplicates. A delivery twice in one
  batch (a redelivery queued behind the first) is fresh once.
- A batch that raises is handled again one delivery at a time, so one poisonous event fails (and is retried
  or dead-lettered by the policy) alone, never its batch-mates.
- Batches run one after another per ``Batcher`` (SQLite has one writer anyway); a batch holds at most
  ``max_batch`` deliveries, and what is in flight is bounded by the consumers' ``max_workers``.
- The handler runs outside any delivery's trace context: the batch is no one delivery's work."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.inbox import record_all_processed
from afo_common.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_BATCH = 256


@dataclass
class Batch:
    """Deliveries handled together, in arrival order."""

    deliveries: list[Delivery]
    _uow: UnitOfWorkFactory = field(repr=False)
    # Set by ``transaction``: the deliveries whose inbox row already existed.
    duplicates: list[Delivery] = field(default_factory=list, repr=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[tuple[UnitOfWork, list[Delivery]]]:
        """One unit of work for the batch, its inbox rows written first; yields it with the fresh deliveries."""
        async with self._uow() as uow:
            fresh, self.duplicates = await split_fresh(uow, self.deliveries)
            yield uow, fresh


async def split_fresh(uow: UnitOfWork, deliveries: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """(fresh, duplicates) after recording every delivery in the inbox."""
    recorded = await record_all_processed(uow, {(d.consumer, d.envelope.id) for d in deliveries})
    fresh: list[Delivery] = []
    duplicates: list[Delivery] = []
    for delivery in deliveries:
        key = (delivery.consumer, delivery.envelope.id)
        if key in recorded:
            recorded.discard(key)
            fresh.append(delivery)
        else:
            duplicates.append(delivery)
    return fresh, duplicates


BatchHandler = Callable[[Batch], Awaitable[None]]
Waiting = tuple[Delivery, "asyncio.Future[None]"]


class Batcher:
    """Gathers the deliveries handed to it (as a ``Handler``) and runs them through ``handler`` in batches."""

    def __init__(self, handler: BatchHandler, uow: UnitOfWorkFactory, *, max_batch: int = MAX_BATCH) -> None:
        self._handler = handler
        self._uow = uow
        self._max_batch = max_batch
        self._waiting: list[Waiting] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, delivery: Delivery) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="consumer-batches", context=contextvars.Context())
        await done

    async def _run(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch:]
            await self._settle(taken)

    async def _settle(self, taken: list[Waiting]) -> None:
        batch = Batch([delivery for delivery, _ in taken], self._uow)
        try:
            await self._handler(batch)
        except Exception as exc:
            if len(taken) > 1:
                for one in taken:
                    await self._settle([one])
                return
            _finish(taken[0][1], exc)
            return
        duplicates = {id(d) for d in batch.duplicates}
        for delivery, done in taken:
            _finish(done, DuplicateDelivery(delivery.envelope.id) if id(delivery) in duplicates else None)


def _finish(done: asyncio.Future[None], failure: BaseException | None) -> None:
    if done.done():
        return
    if failure is None:
        done.set_result(None)
    else:
        done.set_exception(failure)
