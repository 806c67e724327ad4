from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.conversation_repository import (
    ConversationRepository,
    ConversationRow,
    LeadRow,
    MessageRow,
)
from afo_agent_runtime.adapters.tables import messaging
from afo_agent_runtime.adapters.turn_store import StaleConversation, TurnState, TurnStore
from afo_common.hot_sql import IntegrityError
from afo_common.ids import new_id

Tx = Callable[[], AbstractAsyncContextManager[AsyncSession]]
HotStore = Callable[[], AbstractAsyncContextManager[TurnStore]]
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def conversation(tenant: str = "ten_a", agent_id: str = "agt_1", conversation_id: str | None = None
                 ) -> ConversationRow:
    return ConversationRow(
        id=conversation_id or new_id("conv"), tenant_id=tenant, agent_id=agent_id, agent_version=1, channel="web",
        contact={"name": "Lee", "email": None}, status="open", lead_id=None, memory={"lead": {}, "turns": 0},
        revision=0, created_at=T0, updated_at=T0,
    )


def user_message(conversation_id: str, text: str, at: datetime, message_id: str | None = None) -> MessageRow:
    return MessageRow(message_id or new_id("msg"), conversation_id, "user", text, at)


def reply(conversation_id: str, to: MessageRow, text: str = "Hello!") -> MessageRow:
    return MessageRow(new_id("msg"), conversation_id, "assistant", text, to.created_at + timedelta(seconds=1),
                      in_reply_to=to.id, intent="greeting", engine="embedded",
                      citations=({"index": 1, "document_id": "doc_1", "title": "Pricing", "page": 2},))


async def add(tx: Tx, *rows: ConversationRow) -> None:
    async with tx() as session:
        for row in rows:
            await ConversationRepository(session).add(row)


async def test_a_conversation_reads_back_as_written(tx: Tx) -> None:
    row = conversation()
    await add(tx, row)

    async with tx() as session:
        assert await ConversationRepository(session).get("ten_a", row.id) == row


async def test_another_tenant_sees_nothing_of_a_conversation(tx: Tx, hot: HotStore) -> None:
    row = conversation("ten_a")
    await add(tx, row)
    message = user_message(row.id, "hi", T0)
    async with hot() as store:
        await store.add_messages("ten_a", message)
        await store.add_messages("ten_a", reply(row.id, message))

    async with tx() as session:
        repo = ConversationRepository(session)
        assert await repo.get("ten_b", row.id) is None
        assert await repo.page("ten_b", 10, None, None) == []
        assert await repo.page("ten_b", 10, None, row.agent_id) == []
        assert await repo.messages("ten_b", row.id) == []
        assert await repo.reply_to("ten_b", message.id) is None
        assert await repo.reply_to("ten_a", message.id) is not None


async def test_another_tenant_cannot_write_a_conversations_state(tx: Tx, hot: HotStore) -> None:
    row = conversation("ten_a")
    await add(tx, row)

    with pytest.raises(StaleConversation):
        async with hot() as store:
            await store.save_turn_state(replace(row, tenant_id="ten_b"), memory={}, status="handed_off",
                                        lead_id=None, last_sequence=0, now=T0)

    async with tx() as session:
        assert await ConversationRepository(session).get("ten_a", row.id) == row


async def test_turn_state_is_saved_and_bumps_the_revision(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    later = T0 + timedelta(minutes=1)

    async with hot() as store:
        await store.save_turn_state(
            row, memory={"lead": {"email": "lee@example.com"}, "turns": 1}, status="open", lead_id="lead_1",
            last_sequence=3, now=later,
        )

    async with tx() as session:
        saved = await ConversationRepository(session).get("ten_a", row.id)
    async with hot() as store:
        answered = await store.last_sequence("ten_a", row.id)
        elsewhere = await store.last_sequence("ten_b", row.id)
    assert saved == replace(row, memory={"lead": {"email": "lee@example.com"}, "turns": 1}, lead_id="lead_1",
                            revision=1, updated_at=later, last_sequence=3)
    assert (answered, elsewhere) == (3, None)


async def test_a_turn_saved_on_a_stale_revision_is_refused(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    async with tx() as session:
        first_read = await ConversationRepository(session).get("ten_a", row.id)
    async with tx() as session:
        second_read = await ConversationRepository(session).get("ten_a", row.id)
    assert first_read is not None and second_read is not None

    async with hot() as store:
        await store.save_turn_state(first_read, memory={"turns": 1}, status="open", lead_id=None,
                                    last_sequence=1, now=T0)
    with pytest.raises(StaleConversation):
        async with hot() as store:
            await store.save_turn_state(second_read, memory={"turns": 99}, status="opted_out", lead_id=None,
                                        last_sequence=1, now=T0)

    async with tx() as session:
        final = await ConversationRepository(session).get("ten_a", row.id)
    assert final is not None and final.memory == {"turns": 1} and final.revision == 1 and final.status == "open"


async def test_conversations_page_newest_first_by_cursor_and_filter_by_agent(tx: Tx) -> None:
    ids = sorted(new_id("conv") for _ in range(5))
    rows = [conversation(agent_id="agt_1" if n % 2 == 0 else "agt_2", conversation_id=i) for n, i in enumerate(ids)]
    await add(tx, *rows, conversation("ten_b"))

    async with tx() as session:
        repo = ConversationRepository(session)
        first = await repo.page("ten_a", 3, None, None)
        rest = await repo.page("ten_a", 3, first[-1].id, None)
        agt_1 = await repo.page("ten_a", 10, None, "agt_1")
        agt_1_after = await repo.page("ten_a", 10, ids[4], "agt_1")

    assert [r.id for r in first] == ids[:1:-1] and [r.id for r in rest] == ids[1::-1]
    assert [r.id for r in agt_1] == [ids[4], ids[2], ids[0]]
    assert [r.id for r in agt_1_after] == [ids[2], ids[0]]


async def test_messages_come_back_oldest_first_limited_to_the_latest(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    written = [user_message(row.id, f"m{n}", T0 + timedelta(seconds=n)) for n in range(5)]
    async with hot() as store:
        await store.add_messages("ten_a", *reversed(written))

    async with tx() as session:
        repo = ConversationRepository(session)
        everything = await repo.messages("ten_a", row.id)
        latest = await repo.messages("ten_a", row.id, limit=2)
    async with hot() as store:
        recent = await store.recent_messages("ten_a", row.id, 2)
        elsewhere = await store.recent_messages("ten_b", row.id, 2)

    assert everything == written
    assert [m.text for m in latest] == ["m3", "m4"]
    assert recent == latest and elsewhere == []


async def test_a_reply_reads_back_with_its_citations(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    question = user_message(row.id, "price?", T0)
    answer = reply(row.id, question)
    async with hot() as store:
        await store.add_messages("ten_a", question, answer)

    async with tx() as session:
        repo = ConversationRepository(session)
        assert await repo.reply_to("ten_a", question.id) == answer
        assert await repo.reply_to("ten_a", answer.id) is None
        assert await repo.messages("ten_a", row.id) == [question, answer]


async def test_a_user_message_gets_one_reply_at_most(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    question = user_message(row.id, "hi", T0)
    async with hot() as store:
        await store.add_messages("ten_a", question)
        await store.add_messages("ten_a", reply(row.id, question, "first"))

    with pytest.raises(IntegrityError):
        async with hot() as store:
            await store.add_messages("ten_a", reply(row.id, question, "second"))

    async with tx() as session:
        repo = ConversationRepository(session)
        found = await repo.reply_to("ten_a", question.id)
        assert found is not None and found.text == "first"
        assert len(await repo.messages("ten_a", row.id)) == 2


async def test_user_messages_without_replies_do_not_collide(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)

    async with hot() as store:
        await store.add_messages("ten_a", *(user_message(row.id, f"m{n}", T0) for n in range(3)))

    async with tx() as session:
        assert len(await ConversationRepository(session).messages("ten_a", row.id)) == 3


async def test_a_turn_reads_its_conversation_lead_and_inbox_in_one_statement(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)
    lead = LeadRow(id="lead_1", tenant_id="ten_a", conversation_id=row.id, agent_id=row.agent_id,
                   fields={"email": "lee@example.com"}, missing_fields=["company"], qualified=False,
                   opted_out=False, created_at=T0, updated_at=T0)

    async with hot() as store:
        before = await store.turn_state("ten_a", row.id, "agent-runtime-message-received", "evt_1")
        await store.save_lead(lead, exists=False)
    async with tx() as session:
        await session.execute(messaging.inbox.insert().values(consumer="agent-runtime-message-received",
                                                              event_id="evt_1", processed_at=T0))
    async with hot() as store:
        after = await store.turn_state("ten_a", row.id, "agent-runtime-message-received", "evt_1")
        other_consumer = await store.turn_state("ten_a", row.id, "someone-else", "evt_1")
        other_tenant = await store.turn_state("ten_b", row.id, "agent-runtime-message-received", "evt_1")

    assert before == TurnState(row, None, already_processed=False)
    assert after == TurnState(row, lead, already_processed=True)
    assert other_consumer is not None and not other_consumer.already_processed
    assert other_tenant is None


async def test_a_conversation_ends_once_whoever_closes_it_and_its_turns_then_retry(tx: Tx, hot: HotStore) -> None:
    row = conversation()
    await add(tx, row)

    async with hot() as store:
        assert await store.close("ten_b", row.id, "opted_out", T0) is False  # another tenant's: untouched
        assert await store.close("ten_a", row.id, "opted_out", T0) is True
    async with tx() as session:
        assert await ConversationRepository(session).close("ten_a", row.id, "closed", T0 + timedelta(1)) is False
        stored = await ConversationRepository(session).get("ten_a", row.id)
    assert stored is not None and (stored.closed_at, stored.close_reason) == (T0, "opted_out")

    other = conversation()
    await add(tx, other)
    async with tx() as session:
        assert await ConversationRepository(session).close("ten_a", other.id, "closed", T0) is True
    # A turn that read the conversation before it was closed is refused (the close moved the revision).
    with pytest.raises(StaleConversation):
        async with hot() as store:
            await store.save_turn_state(other, memory={}, status="open", lead_id=None, last_sequence=0, now=T0)


async def test_idle_conversations_are_found_by_their_time_and_claimed_once(tx: Tx, hot: HotStore) -> None:
    soon, later, closed = conversation(), conversation(tenant="ten_b"), conversation()
    await add(tx, replace(soon, idle_at=T0 + timedelta(minutes=5)), replace(later, idle_at=T0 + timedelta(minutes=30)),
              replace(closed, idle_at=T0, closed_at=T0, close_reason="closed"))
    # A turn moves a conversation's idle time on.
    async with hot() as store:
        await store.save_turn_state(replace(later, idle_at=T0 + timedelta(minutes=30)), memory={}, status="open",
                                    lead_id=None, last_sequence=0, now=T0, idle_at=T0 + timedelta(minutes=40))
    at = T0 + timedelta(minutes=35)

    async with tx() as session:
        due = await ConversationRepository(session).idle(at, 10)
    assert [r.id for r in due] == [soon.id]
    async with tx() as session:
        repository = ConversationRepository(session)
        # Not idle by then (a message came since it was found): not ended.
        assert await repository.close("ten_b", later.id, "idle", at, idle_by=at) is False
        assert await repository.close("ten_a", soon.id, "idle", at, idle_by=at) is True
        assert await repository.close("ten_a", soon.id, "idle", at, idle_by=at) is False
        assert await repository.idle(at, 10) == []


async def test_an_analysis_is_stored_once(tx: Tx) -> None:
    row = conversation()
    await add(tx, row)
    first = {"summary": "Dana needs a booking system.", "outcome": "lost", "facts": {}, "next_step": None,
             "engine": "embedded"}

    async with tx() as session:
        repository = ConversationRepository(session)
        assert (await repository.get("ten_a", row.id)).analysis is None  # type: ignore[union-attr]
        assert await repository.save_analysis("ten_b", row.id, first) is False
        assert await repository.save_analysis("ten_a", row.id, first) is True
        assert await repository.save_analysis("ten_a", row.id, first | {"summary": "again"}) is False
        assert (await repository.get("ten_a", row.id)).analysis == first  # type: ignore[union-attr]
