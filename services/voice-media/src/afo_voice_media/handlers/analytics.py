"""``analytics.summary``: calls and per-turn voice latency of one tenant's period, aggregated by the repository
and put together by ``domain/analytics.py``. A read: no transaction, no event."""

from __future__ import annotations

from afo_common.messaging.store import SqlStore
from afo_common.rpcs.analytics import AnalyticsQuery, VoiceAnalytics
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.domain.analytics import concerns_calls, summarise


class CallAnalytics:
    def __init__(self, store: SqlStore[SqlRepositories]) -> None:
        self._store = store

    async def summary(self, request: AnalyticsQuery) -> VoiceAnalytics:
        if not concerns_calls(request):
            return summarise(0, 0, {})
        scope = (request.tenant_id, request.start, request.end, request.agent_id)
        async with self._store.reading() as repos:
            calls = await repos.analytics.calls(*scope)
            turns = await repos.analytics.turns(*scope)
            histograms = await repos.analytics.latencies(*scope)
        return summarise(calls, turns, histograms)
