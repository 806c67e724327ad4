"""The analytics summary (``GET /v1/analytics/summary``): each number from the service that owns its facts —
agent-runtime (funnel, containment, reply latency, unanswered questions) and voice-media (calls, voice latency)
asked at once — merged by ``domain/analytics.py``. The gateway reads no other service's records.

voice-media not answering (down, or too slow) leaves its part empty and says so in ``unavailable``: the funnel
still stands. agent-runtime not answering is the request's failure (503/504), as for any of its reads."""

from __future__ import annotations

import asyncio
from datetime import UTC

from afo_common.clock import Clock
from afo_common.events.conversation import Channel
from afo_common.rpcs.analytics import (
    CONVERSATION_SUMMARY,
    VOICE_SUMMARY,
    AnalyticsQuery,
    Granularity,
    VoiceAnalytics,
)
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.analytics import AnalyticsSummary, merge, period
from afo_gateway.domain.errors import Unavailable, UpstreamTimeout
from afo_gateway.handlers.owners import Owners


class Analytics:
    def __init__(self, owners: Owners, clock: Clock) -> None:
        self._owners = owners
        self._clock = clock

    async def summary(self, principal: Principal, start: str | None, end: str | None, agent_id: str | None,
                      channel: Channel | None, granularity: Granularity) -> AnalyticsSummary:
        require(principal, Permission.READ)
        since, until = period(start, end, self._clock.now().astimezone(UTC).date())
        query = AnalyticsQuery(tenant_id=principal.tenant_id, start=since, end=until, agent_id=agent_id,
                               channel=channel, granularity=granularity)
        conversations, voice = await asyncio.gather(self._owners.call(CONVERSATION_SUMMARY, query),
                                                    self._voice(query))
        return merge(query, conversations, voice)

    async def _voice(self, query: AnalyticsQuery) -> VoiceAnalytics | None:
        try:
            return await self._owners.call(VOICE_SUMMARY, query)
        except (Unavailable, UpstreamTimeout):
            return None
