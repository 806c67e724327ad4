from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.agent_repository import AgentRepository, AgentRow, VersionRow
from afo_common.ids import new_id

Tx = Callable[[], AbstractAsyncContextManager[AsyncSession]]
T0 = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def agent(tenant: str = "ten_a", name: str = "Ava", at: datetime = T0, agent_id: str | None = None) -> AgentRow:
    return AgentRow(agent_id or new_id("agt"), tenant, spec(name), None, at, at)


def spec(name: str) -> dict[str, Any]:
    return {"name": name, "persona": {"tone": "warm"}, "qualification_fields": [{"name": "email"}]}


async def add(tx: Tx, *rows: AgentRow) -> None:
    async with tx() as session:
        for row in rows:
            await AgentRepository(session).add(row)


async def test_an_agent_reads_back_as_written(tx: Tx) -> None:
    row = agent()
    await add(tx, row)

    async with tx() as session:
        found = await AgentRepository(session).get("ten_a", row.id)

    assert found == row
    assert found is not None and found.created_at.utcoffset() == timedelta(0)


async def test_timestamps_keep_their_instant_whatever_the_offset_they_were_written_in(tx: Tx) -> None:
    paris = datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    row = agent(at=paris)
    await add(tx, row)

    async with tx() as session:
        found = await AgentRepository(session).get("ten_a", row.id)

    assert found is not None
    assert found.created_at == paris
    assert found.created_at.utcoffset() == timedelta(0)


async def test_another_tenant_sees_nothing_of_an_agent(tx: Tx) -> None:
    row = agent("ten_a")
    await add(tx, row)
    async with tx() as session:
        await AgentRepository(session).publish("ten_a", row.id, row.spec, T0)

    async with tx() as session:
        repo = AgentRepository(session)
        assert await repo.get("ten_b", row.id) is None
        assert await repo.page("ten_b", 10, None) == []
        assert await repo.version("ten_b", row.id, 1) is None
        assert await repo.versions("ten_b", row.id, 10, None) == []
        assert await repo.version("ten_a", row.id, 1) is not None


async def test_another_tenant_cannot_change_or_delete_an_agent(tx: Tx) -> None:
    row = agent("ten_a")
    await add(tx, row)

    async with tx() as session:
        repo = AgentRepository(session)
        await repo.save_spec("ten_b", row.id, spec("Mallory"), T0 + timedelta(hours=1))
        await repo.mark_deleted("ten_b", row.id, T0 + timedelta(hours=1))

    async with tx() as session:
        assert await AgentRepository(session).get("ten_a", row.id) == row


async def test_a_spec_change_and_a_deletion_are_saved(tx: Tx) -> None:
    kept, gone = agent(name="Kept"), agent(name="Gone")
    await add(tx, kept, gone)
    later = T0 + timedelta(minutes=5)

    async with tx() as session:
        repo = AgentRepository(session)
        await repo.save_spec("ten_a", kept.id, spec("Renamed"), later)
        await repo.mark_deleted("ten_a", gone.id, later)

    async with tx() as session:
        repo = AgentRepository(session)
        changed = await repo.get("ten_a", kept.id)
        assert changed is not None and changed.spec == spec("Renamed") and changed.updated_at == later
        assert changed.created_at == T0
        assert await repo.get("ten_a", gone.id) is None
        assert [r.id for r in await repo.page("ten_a", 10, None)] == [kept.id]


async def test_publishing_makes_increasing_versions_that_later_edits_do_not_touch(tx: Tx) -> None:
    row = agent(name="v1")
    await add(tx, row)

    versions = []
    for n, name in enumerate(["v1", "v2", "v3"]):
        at = T0 + timedelta(minutes=n)
        async with tx() as session:
            repo = AgentRepository(session)
            await repo.save_spec("ten_a", row.id, spec(name), at)
            versions.append(await repo.publish("ten_a", row.id, spec(name), at))
    async with tx() as session:
        await AgentRepository(session).save_spec("ten_a", row.id, spec("draft"), T0 + timedelta(hours=1))

    assert versions == [1, 2, 3]
    async with tx() as session:
        repo = AgentRepository(session)
        current = await repo.get("ten_a", row.id)
        assert current is not None and current.published_version == 3 and current.spec == spec("draft")
        assert await repo.version("ten_a", row.id, 1) == VersionRow(row.id, 1, spec("v1"), T0)
        assert await repo.version("ten_a", row.id, 2) == VersionRow(row.id, 2, spec("v2"), T0 + timedelta(minutes=1))
        assert await repo.version("ten_a", row.id, 4) is None


async def test_versions_are_numbered_per_agent(tx: Tx) -> None:
    first, second = agent(), agent()
    await add(tx, first, second)

    async with tx() as session:
        repo = AgentRepository(session)
        assert await repo.publish("ten_a", first.id, first.spec, T0) == 1
        assert await repo.publish("ten_a", first.id, first.spec, T0) == 2
        assert await repo.publish("ten_a", second.id, second.spec, T0) == 1


async def test_versions_page_newest_first_below_a_cursor(tx: Tx) -> None:
    row = agent()
    await add(tx, row)
    async with tx() as session:
        for _ in range(5):
            await AgentRepository(session).publish("ten_a", row.id, row.spec, T0)

    async with tx() as session:
        repo = AgentRepository(session)
        first = await repo.versions("ten_a", row.id, 2, None)
        second = await repo.versions("ten_a", row.id, 2, first[-1].version)
        last = await repo.versions("ten_a", row.id, 2, second[-1].version)

    assert [[v.version for v in page] for page in (first, second, last)] == [[5, 4], [3, 2], [1]]


async def test_agents_page_newest_first_by_cursor_within_the_tenant(tx: Tx) -> None:
    ids = sorted(new_id("agt") for _ in range(5))
    await add(tx, *(agent("ten_a", agent_id=i) for i in ids), agent("ten_b"), agent("ten_b"))

    async with tx() as session:
        repo = AgentRepository(session)
        first = await repo.page("ten_a", 2, None)
        second = await repo.page("ten_a", 2, first[-1].id)
        last = await repo.page("ten_a", 2, second[-1].id)
        after_last = await repo.page("ten_a", 2, last[-1].id)

    assert [r.id for r in first + second + last] == ids[::-1]
    assert [len(first), len(second), len(last), len(after_last)] == [2, 2, 1, 0]
    assert {r.tenant_id for r in first + second + last} == {"ten_a"}
