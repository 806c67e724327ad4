"""voice-media's part of the Monday numbers: how many calls, and how long each part of a turn's answer took —
p50 and p95, nearest-rank over whole milliseconds, per component, from the end of the caller's speech
(``TurnLatency``). A period is when a call was created or a turn started; calls are the voice channel, so
a query for another channel has nothing here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from afo_common.percentiles import count, percentile
from afo_common.rpcs.analytics import VOICE_COMPONENTS, AnalyticsQuery, ComponentLatency, VoiceAnalytics, VoiceComponent

VOICE_CHANNEL = "voice"


def concerns_calls(query: AnalyticsQuery) -> bool:
    return query.channel is None or query.channel == VOICE_CHANNEL


def summarise(calls: int, turns: int, histograms: Mapping[VoiceComponent, Sequence[tuple[float, int]]]
              ) -> VoiceAnalytics:
    latency = []
    for name in VOICE_COMPONENTS:
        histogram = histograms.get(name, ())
        latency.append(ComponentLatency(component=name, count=count(histogram), p50_ms=percentile(histogram, 0.5),
                                        p95_ms=percentile(histogram, 0.95)))
    return VoiceAnalytics(calls=calls, turns=turns, latency=latency)
