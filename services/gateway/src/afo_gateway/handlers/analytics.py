"""The analytics summary (``GET /v1/analytics/summary``): each number from the service that owns its facts —
agent-runtime (funnel, containment, reply latency, unanswered questions) and voice-media (calls, voice latency)
asked at once — merged by ``domain/analytics.py``. The gateway reads no other service's records.

voice-media not answering (down, or too slow) leaves its part empty and says so in ``unavailable``: the funnel
still stands. agent-runtime not answering is the request's failure (503/504), as for any of its reads."""

from __future__ import annotations

import asyncio

from afo_common.clock import Clock
from afo_common.events.conversation import Channel
from afo_common.rpcs.analytics import (
    CONVERSATION_SUMMARY,
    VOICE_SUMMARY,
    AnalyticsQuery,
    Granularity,
    VoiceAnalytics,
)
from afo_common.time_zones import UnknownTimeZone, zone_named
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.analytics import AnalyticsSummary, merge, period
from afo_gateway.domain.errors import Invalid, Unavailable, UpstreamTimeout
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store


class Analytics:
    def __init__(self, owners: Owners, clock: Clock, store: Store) -> None:
        self._owners = owners
        self._clock = clock
        self._store = store

    async def summary(self, principal: Principal, start: str | None, end: str | None, agent_id: str | None,
                      channel: Channel | None, granularity: Granularity,
                      time_zone: str | None = None) -> AnalyticsSummary:
        """``time_zone``: whose days the period and its series are made of; the tenant's when not given."""
        require(principal, Permission.READ)
        zone_name = time_zone or await self._tenant_time_zone(principal)
        try:
            zone = zone_named(zone_name)
        except UnknownTimeZone as exc:
            raise Invalid(str(exc), [{"loc": ["query", "tz"], "msg": str(exc), "type": "value_error"}]) from None
        since, until = period(start, end, self._clock.now(), zone)
        query = AnalyticsQuery(tenant_id=principal.tenant_id, start=since, end=until, agent_id=agent_id,
                               channel=channel, granularity=granularity, time_zone=zone_name)
        conversations, voice = await asyncio.gather(self._owners.call(CONVERSATION_SUMMARY, query),
                                                    self._voice(query))
        return merge(query, conversations, voice)

    async def _tenant_time_zone(self, principal: Principal) -> str:
        async with self._store.reading() as repos:
            tenant = await repos.accounts.tenant(principal.tenant_id)
        return tenant.timezone if tenant is not None else "UTC"

    async def _voice(self, query: AnalyticsQuery) -> VoiceAnalytics | None:
        try:
            return await self._owners.call(VOICE_SUMMARY, query)
        except (Unavailable, UpstreamTimeout):
            return None
