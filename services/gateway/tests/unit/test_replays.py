"""Idempotency-Key records on both backends: the first response is kept, a retry with the same request
gets it back, the same key with another request is refused, and concurrent writers never both win."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from afo_common.db import Database
from afo_gateway.adapters.idempotency_repository import IdempotencyRepository, StoredResponse
from afo_gateway.adapters.tables import idempotency_records
from afo_gateway.domain.errors import Conflict, Invalid
from afo_gateway.handlers.replays import MAX_KEY_LENGTH, Replays

HASH_A = "a" * 64
HASH_B = "b" * 64
CREATED = StoredResponse(HASH_A, 201, b'{"id": "agt_1"}')


async def records(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(idempotency_records))).scalar_one())


async def test_an_unknown_key_has_no_stored_response(db: Database) -> None:
    assert await Replays(db).find("ten_1", "key-1", HASH_A) is None


async def test_the_same_key_and_request_get_the_stored_response(db: Database) -> None:
    replays = Replays(db)
    await replays.remember("ten_1", "key-1", CREATED)

    assert await replays.find("ten_1", "key-1", HASH_A) == CREATED


async def test_the_same_key_with_another_request_is_a_conflict(db: Database) -> None:
    replays = Replays(db)
    await replays.remember("ten_1", "key-1", CREATED)

    with pytest.raises(Conflict):
        await replays.find("ten_1", "key-1", HASH_B)


async def test_keys_are_scoped(db: Database) -> None:
    replays = Replays(db)
    await replays.remember("ten_1", "key-1", CREATED)

    assert await replays.find("ten_2", "key-1", HASH_B) is None


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY_LENGTH + 1)])
async def test_a_key_must_have_1_to_255_characters(db: Database, key: str) -> None:
    with pytest.raises(Invalid):
        await Replays(db).find("ten_1", key, HASH_A)


async def test_a_key_of_the_maximum_length_is_accepted(db: Database) -> None:
    key = "k" * MAX_KEY_LENGTH
    replays = Replays(db)
    await replays.remember("ten_1", key, CREATED)

    assert await replays.find("ten_1", key, HASH_A) == CREATED


async def test_a_second_remember_keeps_the_first_response(db: Database) -> None:
    replays = Replays(db)
    await replays.remember("ten_1", "key-1", CREATED)
    await replays.remember("ten_1", "key-1", StoredResponse(HASH_A, 409, b"{}"))

    assert await replays.find("ten_1", "key-1", HASH_A) == CREATED
    assert await records(db) == 1


async def test_concurrent_remembers_store_exactly_one_response(db: Database) -> None:
    replays = Replays(db)
    first, second = StoredResponse(HASH_A, 201, b'{"n": 1}'), StoredResponse(HASH_A, 201, b'{"n": 2}')

    await asyncio.gather(replays.remember("ten_1", "key-1", first), replays.remember("ten_1", "key-1", second))

    assert await replays.find("ten_1", "key-1", HASH_A) in (first, second)
    assert await records(db) == 1


async def test_concurrent_remembers_have_one_winner(db: Database) -> None:
    replays = Replays(db)
    outcomes = await asyncio.gather(
        replays.remember("ten_1", "key-1", StoredResponse(HASH_A, 201, b"1")),
        replays.remember("ten_1", "key-1", StoredResponse(HASH_A, 201, b"2")),
    )
    assert sorted(outcomes) == [False, True]
    assert await records(db) == 1


async def test_a_second_put_of_one_key_is_refused_by_the_database(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        await IdempotencyRepository(session).put("ten_1", "key-1", CREATED, now)
    with pytest.raises(IntegrityError):
        async with db.session() as session, session.begin():
            await IdempotencyRepository(session).put("ten_1", "key-1", StoredResponse(HASH_B, 500, b""), now)
    async with db.session() as session:
        assert await IdempotencyRepository(session).get("ten_1", "key-1") == CREATED
