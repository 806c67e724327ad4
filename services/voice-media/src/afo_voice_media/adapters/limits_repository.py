"""Queries on voice-media's copy of each tenant's call limits, and on what its calls use of them
(``domain/call_limits.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import insert_with_conflicts
from afo_voice_media.adapters.tables import calls, tenant_call_limits
from afo_voice_media.domain.call_limits import RINGING_AT_MOST, STALE_AFTER, CallLimits


class CallLimitsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of(self, tenant_id: str) -> CallLimits | None:
        query = select(tenant_call_limits).where(tenant_call_limits.c.tenant_id == tenant_id)
        row = (await self._session.execute(query)).first()
        return CallLimits(row.plan, row.concurrent_calls, row.voice_minutes_per_month, row.revision) if row else None

    async def keep(self, tenant_id: str, limits: CallLimits, now: datetime) -> bool:
        """Keeps ``limits`` unless a newer revision is kept already (events may arrive out of order)."""
        values = {"plan": limits.plan, "concurrent_calls": limits.concurrent_calls,
                  "voice_minutes_per_month": limits.voice_minutes_per_month, "revision": limits.revision,
                  "updated_at": now}
        statement = insert_with_conflicts(self._session, tenant_call_limits).values(tenant_id=tenant_id, **values)
        result = await self._session.execute(statement.on_conflict_do_update(
            index_elements=["tenant_id"], set_=values,
            where=tenant_call_limits.c.revision < statement.excluded.revision))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def active_calls(self, tenant_id: str, now: datetime) -> int:
        """The tenant's calls that may still carry audio (``domain/call_limits.py``)."""
        query = select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant_id, or_(
            and_(calls.c.state == "in_progress", calls.c.started_at > now - STALE_AFTER),
            and_(calls.c.state == "admitted", calls.c.ticket_expires_at > now),
            and_(calls.c.state == "dialing", calls.c.created_at > now - RINGING_AT_MOST)))
        return int((await self._session.execute(query)).scalar_one())

    async def seconds_since(self, tenant_id: str, since: datetime) -> float:
        """The durations of the tenant's calls that ended at or after ``since``."""
        query = select(func.coalesce(func.sum(calls.c.duration_s), 0.0)).where(
            calls.c.tenant_id == tenant_id, calls.c.state == "ended", calls.c.ended_at >= since)
        return float((await self._session.execute(query)).scalar_one())
