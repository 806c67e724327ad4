"""voice-media's domain metrics: a call counted while it runs and by how it ended, each turn's stages observed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from prometheus_client import REGISTRY

from afo_common.events.call import CallEnd, TurnLatency
from afo_voice_media.adapters.call_repository import CallRow
from afo_voice_media.domain.speech import SpeechError
from afo_voice_media.handlers.call_runner import CallRunner
from afo_voice_media.handlers.call_session import CallContext
from afo_voice_media.metrics import observe_turn


def value(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, {"service": "voice-media", **labels}) or 0.0


def test_a_turn_is_observed_at_each_stage_it_reached() -> None:
    before = {stage: value("afo_voice_turn_seconds_count", stage=stage)
              for stage in ("turn_decision", "stt_final", "first_audio_out")}

    # Cut off before any audio went out: no first_audio_out.
    observe_turn(TurnLatency(turn_decision_ms=420.0, endpoint_wait_ms=300.0, stt_final_ms=350.0))

    assert value("afo_voice_turn_seconds_count", stage="turn_decision") == before["turn_decision"] + 1
    assert value("afo_voice_turn_seconds_count", stage="stt_final") == before["stt_final"] + 1
    assert value("afo_voice_turn_seconds_count", stage="first_audio_out") == before["first_audio_out"]


class _Engines:
    async def for_call(self, tenant_id: str, voice: dict[str, Any]) -> Any:
        raise SpeechError("no speech provider answers")


class _Calls:
    def __init__(self) -> None:
        self.ended_with: list[CallEnd] = []

    async def ended(self, call: CallContext, reason: CallEnd, seconds: float, turns: int) -> None:
        self.ended_with.append(reason)


async def test_a_call_is_active_while_it_runs_and_counted_by_how_it_ended() -> None:
    row = CallRow(id="call_1", tenant_id="ten_1", agent_id="agt_1", conversation_id="conv_1", transport="twilio",
                  direction="inbound", caller=None, called="+14155550100", provider_call_id="CA1", ticket_hash=None,
                  ticket_expires_at=None, state="live", provider_status=None, end_reason=None, greeting="Hi",
                  voice={}, hints=[], created_at=datetime.now(UTC), started_at=None, ended_at=None, duration_s=None,
                  turns=0)
    calls = _Calls()
    runner = CallRunner(cast(Any, calls), cast(Any, None), cast(Any, _Engines()), cast(Any, None), cast(Any, None))
    active, failed = value("afo_calls_active"), value("afo_calls_ended_total", outcome="failed")

    assert await runner.run(row, cast(Any, None), cast(Any, None)) == "failed"

    assert calls.ended_with == ["failed"]
    assert value("afo_calls_ended_total", outcome="failed") == failed + 1
    assert value("afo_calls_active") == active
