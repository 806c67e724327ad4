"""voice-media's domain metrics (the shared ones are in afo_common.telemetry). Names are the contract with
deploy/grafana and deploy/prometheus; labels stay low-cardinality (never a tenant or call id)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from afo_common.events.call import TurnLatency

SERVICE = "voice-media"
_TURN_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

# livesum: with several workers (prometheus_client's multi-process mode) /metrics sums the live workers' calls; a
# worker that died takes its calls (ended with it) out of the sum.
CALLS_ACTIVE = Gauge("afo_calls_active", "Calls in progress", ["service"], multiprocess_mode="livesum")
CALLS_ENDED = Counter("afo_calls_ended", "Calls ended, by how they ended (CallEnd)", ["service", "outcome"])
VOICE_TURN_SECONDS = Histogram(
    "afo_voice_turn_seconds",
    "Per voice turn, from the end of the caller's speech to each step of the answer (stage)",
    ["service", "stage"],
    buckets=_TURN_BUCKETS,
)
VAD_WINDOWS_SHED = Counter(
    "afo_voice_vad_windows_shed",
    "Windows of callers' audio the media hub let through without voice-activity inference, being over a second behind",
    ["service"],
)

# TurnLatency field -> stage label: the breakdown the voice dashboard stacks.
STAGES = {
    "endpoint_wait_ms": "endpoint_wait",
    "turn_decision_ms": "turn_decision",
    "stt_final_ms": "stt_final",
    "first_reply_delta_ms": "first_reply_delta",
    "first_tts_audio_ms": "first_tts_audio",
    "first_audio_out_ms": "first_audio_out",
}


def observe_turn(latency: TurnLatency) -> None:
    """One observation per stage that happened (a turn cut off before its audio has no later stages)."""
    for field, stage in STAGES.items():
        value = getattr(latency, field)
        if value is not None:
            VOICE_TURN_SECONDS.labels(SERVICE, stage).observe(max(0.0, value) / 1000.0)
