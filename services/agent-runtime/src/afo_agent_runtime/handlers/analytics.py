"""``analytics.summary``: the funnel, containment, reply latency and unanswered questions of one tenant's period,
aggregated by the repository and put together by ``domain/analytics.py``. A read: no transaction, no event."""

from __future__ import annotations

from afo_agent_runtime.domain.analytics import summarise
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.rpcs.analytics import UNANSWERED_LIMIT, AnalyticsQuery, ConversationAnalytics
from afo_common.time_zones import offset_spans


class AnalyticsHandlers:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def summary(self, request: AnalyticsQuery) -> ConversationAnalytics:
        scope = (request.tenant_id, request.start, request.end, request.agent_id, request.channel)
        async with self._store.reading() as repos:
            # The period's days are its time zone's: counted piece by piece where the zone's offset changes.
            cells = [cell for start, end, offset in offset_spans(request.start, request.end, request.zone)
                     for cell in await repos.analytics.funnel(request.tenant_id, start, end, request.agent_id,
                                                              request.channel, offset)]
            latencies = await repos.analytics.reply_latencies(*scope)
            asked = await repos.analytics.unanswered(*scope, UNANSWERED_LIMIT)
            names = await repos.analytics.agent_names(request.tenant_id, {c.agent_id for c in cells})
        return summarise(request, cells, latencies, asked, names)
