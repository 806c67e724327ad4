"""Calls and their turns on voice-media's database, every query scoped to the tenant (but the ticket lookup,
which is how an unauthenticated WebSocket finds its call and is checked by signature right after)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import Repositories
from afo_common.messaging.unit_of_work import Events
from afo_common.rpcs.analytics import VOICE_COMPONENTS
from afo_voice_media.adapters.analytics_repository import AnalyticsRepository
from afo_voice_media.adapters.limits_repository import CallLimitsRepository
from afo_voice_media.adapters.tables import calls, turns


@dataclass(frozen=True)
class CallRow:
    id: str
    tenant_id: str
    agent_id: str
    conversation_id: str
    transport: str
    direction: str
    caller: str | None
    called: str | None
    provider_call_id: str | None
    ticket_hash: str | None
    ticket_expires_at: datetime | None
    state: str
    provider_status: str | None
    end_reason: str | None
    greeting: str
    voice: dict[str, Any]
    hints: list[str]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    turns: int
    recording: str | None = None
    recording_bytes: int | None = None
    recording_s: float | None = None


@dataclass(frozen=True)
class TurnRow:
    call_id: str
    idx: int
    tenant_id: str
    caller_text: str
    agent_text: str | None
    heard_text: str | None
    interrupted: bool
    message_id: str | None
    started_at: datetime
    ended_at: datetime
    latency: dict[str, Any] | None


def _call(row: Any) -> CallRow:
    return CallRow(**row._mapping)


def latency_columns(latency: dict[str, Any] | None) -> dict[str, int | None]:
    """The latency's main components as the turn's columns (whole milliseconds; None where it did not happen)."""
    values = latency or {}
    return {f"{name}_ms": round(v) if isinstance(v := values.get(f"{name}_ms"), int | float) else None
            for name in VOICE_COMPONENTS}


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: CallRow) -> None:
        await self._session.execute(insert(calls).values(**row.__dict__))

    async def get(self, tenant_id: str, call_id: str) -> CallRow | None:
        found = (await self._session.execute(
            select(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id))).first()
        return _call(found) if found else None

    async def by_provider_id(self, tenant_id: str, provider_call_id: str) -> CallRow | None:
        found = (await self._session.execute(select(calls).where(
            calls.c.tenant_id == tenant_id, calls.c.provider_call_id == provider_call_id))).first()
        return _call(found) if found else None

    async def by_ticket(self, ticket_hash: str) -> CallRow | None:
        found = (await self._session.execute(select(calls).where(calls.c.ticket_hash == ticket_hash))).first()
        return _call(found) if found else None

    async def claim_ticket(self, call_id: str, now: datetime) -> bool:
        """The ticket is used once: True for the first media connection of an admitted call, False after."""
        result = await self._session.execute(
            update(calls).where(calls.c.id == call_id, calls.c.state == "admitted", calls.c.ticket_hash.is_not(None))
            .values(ticket_hash=None, ticket_expires_at=None, state="in_progress", started_at=now))
        return bool(getattr(result, "rowcount", 0))

    async def renew_ticket(self, call_id: str, ticket_hash: str, expires_at: datetime) -> None:
        """A ticket for a call admitted before (a retried webhook) or dialled and now answered."""
        await self._session.execute(
            update(calls).where(calls.c.id == call_id, calls.c.state.in_(("dialing", "admitted")))
            .values(ticket_hash=ticket_hash, ticket_expires_at=expires_at, state="admitted"))

    async def dialled(self, tenant_id: str, call_id: str, provider_call_id: str) -> None:
        await self._session.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id)
                                    .values(provider_call_id=provider_call_id))

    async def ended_unanswered(self, tenant_id: str, call_id: str, reason: str, now: datetime,
                               provider_status: str | None) -> bool:
        """Ends a call whose media never started (dialled, or admitted but never streamed); False when it had
        started or ended already."""
        result = await self._session.execute(
            update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id,
                                calls.c.state.in_(("dialing", "admitted")))
            .values(state="ended", end_reason=reason, ended_at=now, duration_s=0.0, ticket_hash=None,
                    ticket_expires_at=None, provider_status=provider_status or calls.c.provider_status))
        return bool(getattr(result, "rowcount", 0))

    async def ended(self, tenant_id: str, call_id: str, reason: str, now: datetime, duration_s: float,
                    turn_count: int) -> None:
        await self._session.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id).values(
            state="ended", end_reason=reason, ended_at=now, duration_s=duration_s, turns=turn_count,
            ticket_hash=None, ticket_expires_at=None))

    async def recorded(self, tenant_id: str, call_id: str, name: str, size: int, seconds: float) -> None:
        await self._session.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id)
                                    .values(recording=name, recording_bytes=size, recording_s=seconds))

    async def provider_status(self, tenant_id: str, call_id: str, status: str) -> None:
        await self._session.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id)
                                    .values(provider_status=status))

    async def page(self, tenant_id: str, limit: int, before: str | None, agent_id: str | None,
                   conversation_id: str | None = None) -> list[CallRow]:
        query = select(calls).where(calls.c.tenant_id == tenant_id)
        if agent_id is not None:
            query = query.where(calls.c.agent_id == agent_id)
        if conversation_id is not None:
            query = query.where(calls.c.conversation_id == conversation_id)
        if before is not None:
            query = query.where(calls.c.id < before)
        rows = (await self._session.execute(query.order_by(calls.c.id.desc()).limit(limit))).all()
        return [_call(r) for r in rows]

    async def add_turn(self, row: TurnRow) -> bool:
        """False when the turn was recorded before."""
        exists = (await self._session.execute(select(turns.c.idx).where(
            turns.c.call_id == row.call_id, turns.c.idx == row.idx))).first()
        if exists:
            return False
        await self._session.execute(insert(turns).values(**row.__dict__, **latency_columns(row.latency)))
        return True

    async def turns_of(self, tenant_id: str, call_id: str) -> list[TurnRow]:
        # The turn's own columns: the latency components beside them are copies kept for analytics.
        rows = (await self._session.execute(select(*(turns.c[name] for name in _TURN_COLUMNS)).where(
            turns.c.tenant_id == tenant_id, turns.c.call_id == call_id).order_by(turns.c.idx))).all()
        return [TurnRow(**r._mapping) for r in rows]


_TURN_COLUMNS = tuple(f.name for f in fields(TurnRow))


class SqlRepositories(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.calls = CallRepository(session)
        self.analytics = AnalyticsRepository(session)
        self.limits = CallLimitsRepository(session)
