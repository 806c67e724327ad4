"""What analytics reads of agent-runtime's own records, aggregated in the database so only small results come
back: funnel cells per (local day, channel, agent) from ``conversations`` (an index on tenant and start that holds
every column counted, so a range is read from it alone), reply latencies as a histogram of whole milliseconds
and unanswered questions with their counts from ``messages`` (partial indexes on tenant and time, holding only
replies and only unanswered ones). Every query is scoped to one tenant; a range is ``[start, end)``.
``bench/analytics.py`` measures them (docs/architecture.md, "Analytics")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from afo_agent_runtime.adapters.tables import agents, conversations, messages
from afo_agent_runtime.domain.analytics import AskedQuestion, FunnelCell


class local_day(FunctionElement[str]):
    """A timestamp's day as ``YYYY-MM-DD`` at a constant offset from UTC (whole seconds, a literal): SQLite stores
    UTC text, PostgreSQL a timestamptz. ``domain.analytics`` cuts a period where its zone's offset changes."""

    type = String()
    inherit_cache = True

    def __init__(self, moment: ColumnElement[Any], offset: timedelta) -> None:
        super().__init__(moment, literal_column(str(int(offset.total_seconds()))))


def _parts(element: local_day, compiler: SQLCompiler, **kw: Any) -> tuple[str, int]:
    moment, seconds = element.clauses.clauses
    return compiler.process(moment, **kw), int(seconds.name)


@compiles(local_day, "sqlite")
def _sqlite_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    moment, seconds = _parts(element, compiler, **kw)
    if seconds == 0:
        return f"substr({moment}, 1, 10)"  # the stored text's own first ten characters: no date parsing
    return f"strftime('%Y-%m-%d', {moment}, '{seconds:+d} seconds')"


@compiles(local_day, "postgresql")
def _postgres_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    moment, seconds = _parts(element, compiler, **kw)
    return f"to_char(({moment} AT TIME ZONE 'UTC') + interval '{seconds} seconds', 'YYYY-MM-DD')"


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def funnel(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                     channel: str | None, offset: timedelta = timedelta(0)) -> list[FunnelCell]:
        """Cells of the conversations started in ``[start, end)``, by their day at ``offset`` from UTC."""
        c = conversations.c
        day = local_day(c.created_at, offset)
        query = (select(day.label("day"), c.channel, c.agent_id, func.count().label("conversations"),
                        func.count(c.qualified_at).label("qualified"), func.count(c.booked_at).label("booked"),
                        func.count(c.handed_off_at).label("handed_off"))
                 .where(c.tenant_id == tenant_id, c.created_at >= start, c.created_at < end,
                        *_filters(c.agent_id, agent_id, c.channel, channel))
                 .group_by(day, c.channel, c.agent_id))
        return [FunnelCell(date.fromisoformat(r.day), r.channel, r.agent_id, r.conversations, r.qualified, r.booked,
                           r.handed_off) for r in await self._session.execute(query)]

    async def reply_latencies(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                              channel: str | None) -> list[tuple[float, int]]:
        """(milliseconds, how many replies took that long)."""
        m = messages.c
        query = (select(m.reply_ms, func.count())
                 .where(m.tenant_id == tenant_id, m.created_at >= start, m.created_at < end, m.reply_ms.is_not(None))
                 .group_by(m.reply_ms))
        query = self._of_conversations(query, tenant_id, agent_id, channel)
        return [(float(ms), n) for ms, n in await self._session.execute(query)]

    async def unanswered(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                         channel: str | None, limit: int) -> list[AskedQuestion]:
        m = messages.c
        # max() of a column keeps its type, so the time comes back aware and in UTC on both backends.
        asked, last = func.count().label("asked"), func.max(m.created_at).label("last_asked_at")
        query = (select(m.unanswered, asked, last)
                 .where(m.tenant_id == tenant_id, m.created_at >= start, m.created_at < end,
                        m.unanswered.is_not(None))
                 .group_by(m.unanswered)
                 .order_by(asked.desc(), last.desc(), m.unanswered)
                 .limit(limit))
        query = self._of_conversations(query, tenant_id, agent_id, channel)
        rows = await self._session.execute(query)
        return [AskedQuestion(r.unanswered, r.asked, r.last_asked_at) for r in rows]

    async def agent_names(self, tenant_id: str, agent_ids: Iterable[str]) -> dict[str, str]:
        """Each agent's name, deleted ones too (their conversations still count)."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        rows = await self._session.execute(
            select(agents.c.id, agents.c.spec).where(agents.c.tenant_id == tenant_id, agents.c.id.in_(ids)))
        return {r.id: str(r.spec.get("name") or r.id) for r in rows}

    @staticmethod
    def _of_conversations(query: Any, tenant_id: str, agent_id: str | None, channel: str | None) -> Any:
        """Messages of the tenant's conversations with that agent or on that channel, when filtered: the set of
        their ids (from ``ix_conversations_analytics`` alone) checked against the ids the partial indexes hold
        beside each reply (measured at 150k replies: a join looking up each reply's conversation took ~5 times
        as long, and without the ids in those indexes SQLite reads every reply's row)."""
        if agent_id is None and channel is None:
            return query
        c = conversations.c
        chosen = select(c.id).where(c.tenant_id == tenant_id, *_filters(c.agent_id, agent_id, c.channel, channel))
        return query.where(messages.c.conversation_id.in_(chosen))


def _filters(agent_column: Any, agent_id: str | None, channel_column: Any, channel: str | None
             ) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if agent_id is not None:
        found.append(agent_column == agent_id)
    if channel is not None:
        found.append(channel_column == channel)
    return found

