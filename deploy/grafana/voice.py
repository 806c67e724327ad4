"""AFO / Voice: calls in progress and how they end, and each voice turn's latency broken down by stage."""

from __future__ import annotations

from typing import Any

from panels import RATE, Layout, dashboard, stat, targets, timeseries

# The stages of a turn, in the order they happen after the caller stops speaking (afo_voice_media.metrics).
STAGES = ("endpoint_wait", "turn_decision", "stt_final", "first_reply_delta", "first_tts_audio", "first_audio_out")
TURN = "afo_voice_turn_seconds_bucket"


def _stage_quantile(q: float, stage: str) -> str:
    return f'histogram_quantile({q}, sum by (le) (rate({TURN}{{stage="{stage}"}}[{RATE}])))'


def build() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = [lay.row("Calls")]
    panels += [
        stat(lay, "Active calls", "sum(afo_calls_active)", "short", ((None, "blue"),)),
        stat(lay, "Calls ended (time range)", "sum(increase(afo_calls_ended_total[$__range]))", "short",
             ((None, "blue"),)),
        stat(lay, "Failed or dropped calls (time range)",
             'sum(increase(afo_calls_ended_total{outcome=~"failed|dropped"}[$__range]))', "short",
             ((None, "green"), (1, "orange"), (10, "red")),
             "Calls that ended because a provider failed or the media socket dropped."),
        stat(lay, "First audio out p95", _stage_quantile(0.95, "first_audio_out"), "s",
             ((None, "green"), (1.0, "orange"), (1.5, "red")),
             "From the end of the caller's speech to the first audio of the answer going out."),
        stat(lay, "Turn decision p95", _stage_quantile(0.95, "turn_decision"), "s",
             ((None, "green"), (0.6, "orange"), (1.0, "red")),
             "From the end of the caller's speech to deciding the turn is over (includes the end silence)."),
        stat(lay, "First reply delta p95 (voice turns)", _stage_quantile(0.95, "first_reply_delta"), "s",
             ((None, "green"), (0.8, "orange"), (1.2, "red"))),
        timeseries(lay, "Active calls", targets(("sum(afo_calls_active)", "active calls")), "short", w=12),
        timeseries(lay, "Calls ended / s by outcome",
                   targets((f"sum by (outcome) (rate(afo_calls_ended_total[{RATE}]))", "{{outcome}}")),
                   "ops", w=12, stack=True),
    ]
    panels.append(lay.row("Per-turn latency breakdown"))
    panels += [
        timeseries(lay, "p50 by stage (since the caller stopped speaking)",
                   targets(*[(_stage_quantile(0.5, stage), stage) for stage in STAGES]), "s", w=12,
                   description="Each stage is measured from the end of the caller's speech, so they nest: "
                   "endpoint wait < turn decision < stt final < first reply delta < first TTS audio "
                   "< first audio out."),
        timeseries(lay, "p95 by stage (since the caller stopped speaking)",
                   targets(*[(_stage_quantile(0.95, stage), stage) for stage in STAGES]), "s", w=12),
        timeseries(lay, "Voice turns / s",
                   targets((f'sum(rate(afo_voice_turn_seconds_count{{stage="turn_decision"}}[{RATE}]))', "turns")),
                   "ops", w=12),
        timeseries(lay, "Callers' audio shed (windows / s)",
                   targets((f"sum(rate(afo_voice_vad_windows_shed_total[{RATE}]))", "32 ms windows")), "ops", w=12,
                   description="Audio over a second behind that the media hub let through without voice-activity "
                   "inference: voice-media's CPU cannot keep up with its calls (its HPA's target of active calls "
                   "per pod is too high for the pods' cores)."),
    ]
    return dashboard(
        "afo-voice",
        "AFO / Voice",
        "Active calls, how calls end, and each voice turn's latency by stage (voice-media).",
        panels,
        variables=[],
    )
