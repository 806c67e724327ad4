"""Idempotency-Key records on every backend (``conftest.py``: in memory, SQLite, PostgreSQL): a key is
reserved before the write runs, a retry gets the stored response, the same key with another request is
refused, concurrent duplicates run the write once, a failure gives the key back, and records expire after
their time to live."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

import pytest

from afo_common.clock import SystemClock
from afo_gateway.domain.errors import Conflict, IdempotencyInProgress, Invalid, Unavailable
from afo_gateway.domain.idempotency import MAX_KEY_LENGTH, Scope
from afo_gateway.handlers.replays import Answer, Produced, Replays
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import FixedClock

HASH_A = "a" * 64
HASH_B = "b" * 64
SCOPE = Scope("ten_1", "secret_key:key_1", "POST", "/v1/agents")
DAY_S = 86_400.0


class Clock(FixedClock):
    def advance_s(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))


class Write:
    """A write that counts its runs and answers what it is told."""

    def __init__(self, status_code: int = 201, body: bytes = b'{"id":"agt_1"}', kept: bytes | None = None) -> None:
        self.runs = 0
        self.status_code = status_code
        self.body = body
        self.kept = body if kept is None else kept
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def __call__(self) -> Produced:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return Produced(self.status_code, self.body, self.kept)


def replays(store: Store, clock: Clock | None = None, wait_s: float = 2.0) -> Replays:
    return Replays(store, ttl_s=DAY_S, wait_s=wait_s, lease_s=180.0, clock=clock or Clock())


async def held(store: Store, key: str = "key-1") -> bool:
    """Whether a record (running or finished) holds the key."""
    async with store.reading() as repos:
        return await repos.idempotency.get(SCOPE, key, Clock().now()) is not None


async def test_the_first_request_runs_and_a_retry_gets_what_it_kept(store: Store) -> None:
    write = Write(kept=b'{"id":"agt_1","secret":null}')
    handler = replays(store)

    first = await handler.run(SCOPE, "key-1", HASH_A, write)
    again = await handler.run(SCOPE, "key-1", HASH_A, write)

    assert first == Answer(201, b'{"id":"agt_1"}', replayed=False)
    assert again == Answer(201, b'{"id":"agt_1","secret":null}', replayed=True)
    assert write.runs == 1


async def test_the_same_key_with_another_request_is_a_conflict(store: Store) -> None:
    handler = replays(store)
    await handler.run(SCOPE, "key-1", HASH_A, Write())

    with pytest.raises(Conflict):
        await handler.run(SCOPE, "key-1", HASH_B, Write())


@pytest.mark.parametrize("other", [
    Scope("ten_2", "secret_key:key_1", "POST", "/v1/agents"),
    Scope("ten_1", "secret_key:key_2", "POST", "/v1/agents"),
    Scope("ten_1", "user:usr_1", "POST", "/v1/agents"),
    Scope("ten_1", "secret_key:key_1", "POST", "/v1/api-keys"),
    Scope("ten_1", "secret_key:key_1", "PUT", "/v1/agents"),
])
async def test_a_key_is_scoped_to_tenant_principal_method_and_route(store: Store, other: Scope) -> None:
    handler = replays(store)
    await handler.run(SCOPE, "key-1", HASH_A, Write())
    write = Write(body=b"{}")

    answer = await handler.run(other, "key-1", HASH_B, write)

    assert (answer.replayed, write.runs) == (False, 1)


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY_LENGTH + 1)])
async def test_a_key_must_have_1_to_255_characters(store: Store, key: str) -> None:
    with pytest.raises(Invalid):
        await replays(store).run(SCOPE, key, HASH_A, Write())


async def test_a_key_of_the_maximum_length_is_accepted(store: Store) -> None:
    handler = replays(store)
    key = "k" * MAX_KEY_LENGTH
    await handler.run(SCOPE, key, HASH_A, Write())

    assert (await handler.run(SCOPE, key, HASH_A, Write())).replayed


async def test_concurrent_duplicates_run_the_write_once_and_get_its_response(store: Store) -> None:
    handler = replays(store)
    write = Write()
    write.release.clear()
    first = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, write))
    duplicates = [asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, write)) for _ in range(3)]
    await write.started.wait()
    await asyncio.sleep(0.2)  # the duplicates find the key reserved and wait
    assert write.runs == 1
    write.release.set()

    answers = await asyncio.gather(first, *duplicates)

    assert write.runs == 1
    assert sorted(a.replayed for a in answers) == [False, True, True, True]
    assert {(a.status_code, a.body) for a in answers} == {(201, b'{"id":"agt_1"}')}
    assert await held(store)


async def test_a_duplicate_that_waits_too_long_is_told_the_key_is_in_progress(store: Store) -> None:
    handler = replays(store, wait_s=0.3)
    write = Write()
    write.release.clear()
    first = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, write))
    await write.started.wait()

    with pytest.raises(IdempotencyInProgress) as raised:
        await handler.run(SCOPE, "key-1", HASH_A, write)

    assert raised.value.status == 409
    assert raised.value.headers == {"Retry-After": "1"}
    write.release.set()
    await first


async def test_an_exception_gives_the_key_back_so_a_retry_runs(store: Store) -> None:
    handler = replays(store)

    async def failing() -> Produced:
        raise Unavailable("agent-runtime is not answering")

    with pytest.raises(Unavailable):
        await handler.run(SCOPE, "key-1", HASH_A, failing)
    assert not await held(store)
    write = Write()

    assert (await handler.run(SCOPE, "key-1", HASH_A, write)).replayed is False
    assert write.runs == 1


async def test_a_server_error_is_answered_but_not_kept(store: Store) -> None:
    handler = replays(store)

    broken = await handler.run(SCOPE, "key-1", HASH_A, Write(503, b'{"status":503}'))
    retried = await handler.run(SCOPE, "key-1", HASH_A, Write())

    assert broken == Answer(503, b'{"status":503}', replayed=False)
    assert retried == Answer(201, b'{"id":"agt_1"}', replayed=False)


async def test_a_duplicate_waiting_on_a_failing_request_runs_the_write_itself(store: Store) -> None:
    handler = replays(store)
    started, gate = asyncio.Event(), asyncio.Event()

    async def failing() -> Produced:
        started.set()
        await gate.wait()
        raise Unavailable("down")

    first = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, failing))
    await started.wait()
    write = Write()
    duplicate = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, write))
    await asyncio.sleep(0.05)
    gate.set()

    with pytest.raises(Unavailable):
        await first
    assert (await duplicate).replayed is False
    assert write.runs == 1


async def test_a_cancelled_request_gives_the_key_back(store: Store) -> None:
    handler = replays(store)
    write = Write()
    write.release.clear()
    first = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, write))
    await write.started.wait()

    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    assert not await held(store)


class SlowAcknowledgement:
    """A store whose first commit lands in the database before the caller hears back, as when the reply
    to COMMIT is still on the wire: ``committed`` is set in between, and the answer waits for ``answer``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.committed = asyncio.Event()
        self.answer = asyncio.Event()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Any]:
        async with self._store() as uow:
            yield uow
        if not self.committed.is_set():
            self.committed.set()
            await self.answer.wait()

    def reading(self) -> Any:
        return self._store.reading()


async def test_a_request_cancelled_after_its_reservation_committed_gives_the_key_back(store: Store) -> None:
    slow = SlowAcknowledgement(store)
    write = Write()
    first = asyncio.create_task(replays(cast(Store, slow)).run(SCOPE, "key-1", HASH_A, write))
    await slow.committed.wait()
    assert await held(store)

    first.cancel()
    await asyncio.sleep(0.01)
    slow.answer.set()
    with pytest.raises(asyncio.CancelledError):
        await first

    assert not await held(store)
    assert write.runs == 0


async def test_an_expired_key_may_be_used_again(store: Store) -> None:
    clock = Clock()
    handler = replays(store, clock)
    await handler.run(SCOPE, "key-1", HASH_A, Write())
    clock.advance_s(DAY_S - 1)
    assert (await handler.run(SCOPE, "key-1", HASH_A, Write())).replayed

    clock.advance_s(1)
    write = Write(body=b'{"id":"agt_2"}')
    answer = await handler.run(SCOPE, "key-1", HASH_B, write)

    assert answer == Answer(201, b'{"id":"agt_2"}', replayed=False)
    assert write.runs == 1


async def test_a_reservation_abandoned_by_a_dead_process_is_taken_over_after_its_lease(store: Store) -> None:
    clock = Clock()
    # What a process killed in the middle of a write leaves behind: a reservation nobody will finish.
    now = clock.now()
    async with store() as uow:
        await uow.idempotency.reserve(SCOPE, "key-1", HASH_A, now, now + timedelta(seconds=180),
                                      now + timedelta(days=1))
    with pytest.raises(IdempotencyInProgress):
        await replays(store, clock, wait_s=0.1).run(SCOPE, "key-1", HASH_A, Write())

    clock.advance_s(181)
    write = Write()
    answer = await replays(store, clock).run(SCOPE, "key-1", HASH_A, write)

    assert (answer.replayed, write.runs) == (False, 1)


async def test_purge_removes_expired_records_only(store: Store) -> None:
    clock = Clock()
    handler = replays(store, clock)
    await handler.run(SCOPE, "old", HASH_A, Write())
    clock.advance_s(DAY_S / 2)
    await handler.run(SCOPE, "new", HASH_A, Write())
    clock.advance_s(DAY_S / 2)

    async with store() as uow:
        assert await uow.idempotency.purge(clock.now()) == 1  # "old" only

    await handler.run(SCOPE, "newer", HASH_A, Write())
    clock.advance_s(DAY_S / 2)
    await handler.purge()

    async with store() as uow:
        assert await uow.idempotency.purge(clock.now()) == 0
    assert not await held(store, "new")  # purged
    assert await held(store, "newer")  # still live, so kept


async def test_a_request_slower_than_the_lease_keeps_its_key_by_renewing_it(store: Store) -> None:
    # A lease long enough that a renewal due every third of it is not late on a loaded machine.
    handler = Replays(store, ttl_s=DAY_S, wait_s=2.0, lease_s=1.0, clock=SystemClock())
    slow = Write()
    slow.release.clear()
    first = asyncio.create_task(handler.run(SCOPE, "key-1", HASH_A, slow))
    await slow.started.wait()
    await asyncio.sleep(2.0)  # two leases

    duplicate = Write()
    with pytest.raises(IdempotencyInProgress):
        await Replays(store, ttl_s=DAY_S, wait_s=0.1, lease_s=1.0, clock=SystemClock()).run(
            SCOPE, "key-1", HASH_A, duplicate)
    slow.release.set()

    assert (await first).replayed is False
    assert (slow.runs, duplicate.runs) == (1, 0)
