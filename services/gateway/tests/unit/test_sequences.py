"""Message positions per conversation: 1, 2, 3… without gaps, per tenant and conversation, and never the
same number twice even when two replicas record messages of one conversation at once."""

import asyncio

from afo_common.db import Database
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.sequence_repository import SequenceRepository
from afo_gateway.adapters.tables import messaging


async def next_in(uow: UnitOfWorkFactory, tenant_id: str, conversation_id: str) -> int:
    async with uow.hot() as work:
        return await SequenceRepository(work.tx).next(tenant_id, conversation_id)


async def test_positions_count_from_one_per_conversation_and_tenant(uow: UnitOfWorkFactory) -> None:
    taken = [await next_in(uow, "ten_a", "conv_1") for _ in range(3)]
    other_conversation = await next_in(uow, "ten_a", "conv_2")
    other_tenant = await next_in(uow, "ten_b", "conv_1")

    assert taken == [1, 2, 3]
    assert (other_conversation, other_tenant) == (1, 1)


async def test_a_rolled_back_message_leaves_no_gap(uow: UnitOfWorkFactory) -> None:
    await next_in(uow, "ten_a", "conv_1")
    try:
        async with uow.hot() as work:
            assert await SequenceRepository(work.tx).next("ten_a", "conv_1") == 2
            raise RuntimeError("the outbox write failed")
    except RuntimeError:
        pass

    assert await next_in(uow, "ten_a", "conv_1") == 2


async def test_concurrent_writers_never_share_a_position(db: Database) -> None:
    """40 transactions at once on separate connections (on PostgreSQL the row lock orders them)."""
    uow = UnitOfWorkFactory(db, messaging, "gateway", lambda: None)
    taken = await asyncio.gather(*(next_in(uow, "ten_a", "conv_1") for _ in range(40)))

    assert sorted(taken) == list(range(1, 41))
