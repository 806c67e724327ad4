"""``analytics.summary`` of voice-media on SQLite and PostgreSQL: calls created in the period and the latency of
their turns per component (written as a call records a turn: the components copied from its latency into
columns), filtered by agent; another channel or another tenant finds nothing."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from afo_common.events.call import TurnLatency
from afo_common.ids import new_id
from afo_common.messaging.store import SqlStore
from afo_common.rpcs.analytics import VOICE_COMPONENTS, AnalyticsQuery
from afo_voice_media.adapters.call_repository import CallRow, SqlRepositories, TurnRow
from afo_voice_media.handlers.analytics import CallAnalytics

Store = SqlStore[SqlRepositories]
TENANT, OTHER = "ten_voice", "ten_other"
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def query(tenant_id: str = TENANT, **more: Any) -> AnalyticsQuery:
    return AnalyticsQuery.model_validate({"tenant_id": tenant_id, "start": MONDAY, "end": MONDAY + timedelta(days=7),
                                          **more})


async def call(store: Store, at: datetime, agent_id: str = "agt_a", tenant_id: str = TENANT,
               latencies: Sequence[TurnLatency] = ()) -> str:
    row = CallRow(id=new_id("call"), tenant_id=tenant_id, agent_id=agent_id, conversation_id=new_id("conv"),
                  transport="twilio", direction="inbound", caller=None, called="+14155550100", provider_call_id=None,
                  ticket_hash=None, ticket_expires_at=None, state="ended", provider_status=None, end_reason=None,
                  greeting="Hi", voice={}, hints=[], created_at=at, started_at=at, ended_at=None, duration_s=None,
                  turns=len(latencies))
    async with store() as uow:
        await uow.calls.add(row)
        for idx, latency in enumerate(latencies):
            turn_at = at + timedelta(seconds=10 * idx)
            await uow.calls.add_turn(TurnRow(row.id, idx, tenant_id, "hello", "hi", None, False, new_id("msg"),
                                             turn_at, turn_at, latency.model_dump(mode="json")))
    return row.id


def latency(out_ms: float, stt_ms: float | None = 300.0) -> TurnLatency:
    return TurnLatency(turn_decision_ms=200.0, endpoint_wait_ms=192.0, stt_final_ms=stt_ms,
                       first_reply_delta_ms=out_ms - 250, first_tts_audio_ms=out_ms - 40, first_audio_out_ms=out_ms)


async def test_calls_and_the_latency_of_their_turns_per_component(store: Store) -> None:
    await call(store, MONDAY + timedelta(hours=9), latencies=[latency(600.4), latency(700.0), latency(650.0)])
    await call(store, MONDAY + timedelta(days=3), latencies=[latency(900.0, stt_ms=None), latency(1800.0)])
    await call(store, MONDAY + timedelta(days=8), latencies=[latency(5000.0)])  # after the period

    found = await CallAnalytics(store).summary(query())

    assert (found.calls, found.turns) == (2, 5)
    by = {c.component: c for c in found.latency}
    assert [c.component for c in found.latency] == list(VOICE_COMPONENTS)
    assert (by["first_audio_out"].count, by["first_audio_out"].p50_ms, by["first_audio_out"].p95_ms) == (
        5, 700.0, 1800.0)
    assert (by["stt_final"].count, by["stt_final"].p50_ms) == (4, 300.0)  # a turn without a final is not timed
    assert by["turn_decision"].p95_ms == 200.0 and by["first_tts_audio"].p50_ms == 660.0


async def test_one_agent_another_channel_and_another_tenant(store: Store) -> None:
    await call(store, MONDAY, agent_id="agt_a", latencies=[latency(600.0)])
    await call(store, MONDAY, agent_id="agt_b", latencies=[latency(900.0), latency(950.0)])
    await call(store, MONDAY, tenant_id=OTHER, latencies=[latency(100.0)])
    analytics = CallAnalytics(store)

    agent_b = await analytics.summary(query(agent_id="agt_b"))
    voice = await analytics.summary(query(channel="voice"))
    chat = await analytics.summary(query(channel="web"))
    other = await analytics.summary(query(tenant_id=OTHER, agent_id="agt_b"))

    assert (agent_b.calls, agent_b.turns, agent_b.latency[-1].p50_ms) == (1, 2, 900.0)
    assert (voice.calls, voice.turns) == (2, 3)
    assert (chat.calls, chat.turns, [c.count for c in chat.latency]) == (0, 0, [0] * len(VOICE_COMPONENTS))
    assert (other.calls, other.turns) == (0, 0)


async def test_an_empty_period_has_no_percentiles(store: Store) -> None:
    found = await CallAnalytics(store).summary(query())

    assert (found.calls, found.turns) == (0, 0)
    assert all(c.count == 0 and c.p50_ms is None and c.p95_ms is None for c in found.latency)


async def test_a_calls_turns_read_back_as_they_were_recorded(store: Store) -> None:
    call_id = await call(store, MONDAY, latencies=[latency(700.0), latency(900.0, stt_ms=None)])

    async with store.reading() as repos:
        turns = await repos.calls.turns_of(TENANT, call_id)

    assert [(t.idx, t.caller_text, t.latency) for t in turns] == [
        (0, "hello", latency(700.0).model_dump(mode="json")),
        (1, "hello", latency(900.0, stt_ms=None).model_dump(mode="json"))]
