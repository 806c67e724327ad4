"""What analytics reads of voice-media's records, aggregated in the database: calls created in a range, and the
latency of the turns started in it as one histogram (whole milliseconds → how many) per component, read from
the turns' component columns in the index on tenant and start (which holds them all). Every query is scoped to
one tenant; a range is ``[start, end)``; ``agent_id`` keeps the calls (and their turns) of one agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.rpcs.analytics import VOICE_COMPONENTS, VoiceComponent
from afo_voice_media.adapters.tables import calls, turns

Histograms = dict[VoiceComponent, list[tuple[float, int]]]


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def calls(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None) -> int:
        c = calls.c
        query = select(func.count()).where(c.tenant_id == tenant_id, c.created_at >= start, c.created_at < end)
        if agent_id is not None:
            query = query.where(c.agent_id == agent_id)
        return int((await self._session.execute(query)).scalar_one())

    async def turns(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None) -> int:
        query = self._turns(select(func.count()).select_from(turns), tenant_id, start, end, agent_id)
        return int((await self._session.execute(query)).scalar_one())

    async def latencies(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None) -> Histograms:
        """Every component's histogram, in one round trip (a UNION ALL of one GROUP BY per component)."""
        parts = []
        for name in VOICE_COMPONENTS:
            column = turns.c[f"{name}_ms"]
            part = select(literal(name).label("component"), column.label("ms"), func.count().label("n")) \
                .select_from(turns).where(column.is_not(None)).group_by(column)
            parts.append(self._turns(part, tenant_id, start, end, agent_id))
        found: Histograms = {name: [] for name in VOICE_COMPONENTS}
        for row in await self._session.execute(union_all(*parts)):
            found[row.component].append((float(row.ms), int(row.n)))
        return found

    @staticmethod
    def _turns(query: Any, tenant_id: str, start: datetime, end: datetime, agent_id: str | None) -> Any:
        t = turns.c
        query = query.where(t.tenant_id == tenant_id, t.started_at >= start, t.started_at < end)
        if agent_id is None:
            return query
        # The agent's calls as a set of ids, checked against the call id the index holds beside each turn.
        chosen = select(calls.c.id).where(calls.c.tenant_id == tenant_id, calls.c.agent_id == agent_id)
        return query.where(t.call_id.in_(chosen))
