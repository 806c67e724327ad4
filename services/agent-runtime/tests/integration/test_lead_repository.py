from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.conversation_repository import LeadRepository, LeadRow
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_common.hot_sql import IntegrityError
from afo_common.ids import new_id

Tx = Callable[[], AbstractAsyncContextManager[AsyncSession]]
HotStore = Callable[[], AbstractAsyncContextManager[TurnStore]]
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def lead(tenant: str = "ten_a", qualified: bool = False, lead_id: str | None = None,
         conversation_id: str | None = None) -> LeadRow:
    return LeadRow(
        id=lead_id or new_id("lead"), tenant_id=tenant, conversation_id=conversation_id or new_id("conv"),
        agent_id="agt_1", fields={"email": "lee@example.com"}, missing_fields=["company", "budget"],
        qualified=qualified, opted_out=False, created_at=T0, updated_at=T0,
    )


async def insert(hot: HotStore, *rows: LeadRow) -> None:
    async with hot() as store:
        for row in rows:
            await store.save_lead(row, exists=False)


async def test_a_new_lead_is_inserted_and_found_by_id_and_conversation(tx: Tx, hot: HotStore) -> None:
    row = lead()
    await insert(hot, row)

    async with tx() as session:
        repo = LeadRepository(session)
        assert await repo.get("ten_a", row.id) == row
        assert await repo.for_conversation("ten_a", row.conversation_id) == row


async def test_an_existing_lead_is_updated_in_place(tx: Tx, hot: HotStore) -> None:
    row = lead()
    await insert(hot, row)
    later = T0 + timedelta(minutes=3)
    changed = replace(row, fields={"email": "lee@example.com", "company": "Acme", "budget": "10k"},
                      missing_fields=[], qualified=True, opted_out=True, updated_at=later,
                      created_at=T0 + timedelta(days=9), agent_id="agt_other")

    async with hot() as store:
        await store.save_lead(changed, exists=True)

    async with tx() as session:
        saved = await LeadRepository(session).get("ten_a", row.id)
    # What a turn learns changes; where the lead came from and when it was born do not.
    assert saved == replace(changed, created_at=T0, agent_id="agt_1")


async def test_another_tenant_sees_nothing_of_a_lead(tx: Tx, hot: HotStore) -> None:
    row = lead("ten_a", qualified=True)
    await insert(hot, row)

    async with tx() as session:
        repo = LeadRepository(session)
        assert await repo.get("ten_b", row.id) is None
        assert await repo.for_conversation("ten_b", row.conversation_id) is None
        assert await repo.page("ten_b", 10, None, None) == []
        assert await repo.page("ten_b", 10, None, True) == []


async def test_another_tenant_cannot_update_a_lead(tx: Tx, hot: HotStore) -> None:
    row = lead("ten_a")
    await insert(hot, row)

    async with hot() as store:
        await store.save_lead(replace(row, tenant_id="ten_b", qualified=True, fields={}), exists=True)

    async with tx() as session:
        assert await LeadRepository(session).get("ten_a", row.id) == row


async def test_a_conversation_has_one_lead_at_most(tx: Tx, hot: HotStore) -> None:
    row = lead()
    await insert(hot, row)

    with pytest.raises(IntegrityError):
        await insert(hot, lead(conversation_id=row.conversation_id))


async def test_leads_page_newest_first_by_cursor_and_filter_on_qualification(tx: Tx, hot: HotStore) -> None:
    ids = sorted(new_id("lead") for _ in range(5))
    rows = [lead(qualified=n in (1, 3), lead_id=i) for n, i in enumerate(ids)]
    await insert(hot, *rows, lead("ten_b", qualified=True))

    async with tx() as session:
        repo = LeadRepository(session)
        first = await repo.page("ten_a", 2, None, None)
        second = await repo.page("ten_a", 2, first[-1].id, None)
        last = await repo.page("ten_a", 2, second[-1].id, None)
        qualified = await repo.page("ten_a", 10, None, True)
        unqualified = await repo.page("ten_a", 10, None, False)

    assert [r.id for r in first + second + last] == ids[::-1] and len(last) == 1
    assert [r.id for r in qualified] == [ids[3], ids[1]]
    assert [r.id for r in unqualified] == [ids[4], ids[2], ids[0]]
