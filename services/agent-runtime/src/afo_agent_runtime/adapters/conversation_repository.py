"""Queries on conversations, their messages and their lead. Every method is scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.tables import conversations, leads, messages
from afo_agent_runtime.domain.errors import AlreadyCreated


@dataclass(frozen=True)
class ConversationRow:
    id: str
    tenant_id: str
    agent_id: str
    agent_version: int
    channel: str
    contact: dict[str, Any]
    status: str
    lead_id: str | None
    memory: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime
    last_sequence: int = 0
    request_id: str | None = None
    idle_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    analysis: dict[str, Any] | None = None
    # The funnel's facts: when the lead first qualified, a meeting was first booked, a person was asked for.
    qualified_at: datetime | None = None
    booked_at: datetime | None = None
    handed_off_at: datetime | None = None


@dataclass(frozen=True)
class MessageRow:
    id: str
    conversation_id: str
    role: str
    text: str
    created_at: datetime
    in_reply_to: str | None = None
    intent: str | None = None
    engine: str | None = None
    citations: tuple[dict[str, Any], ...] = ()
    reply_ms: int | None = None  # a reply: from the lead's message accepted to this reply committed
    unanswered: str | None = None  # a reply that could not answer: the question, normalised


@dataclass(frozen=True)
class LeadRow:
    id: str
    tenant_id: str
    conversation_id: str
    agent_id: str
    fields: dict[str, str]
    missing_fields: list[str]
    qualified: bool
    opted_out: bool
    created_at: datetime
    updated_at: datetime
    summary: str | None = None


def _conversation(r: Any) -> ConversationRow:
    return ConversationRow(r.id, r.tenant_id, r.agent_id, r.agent_version, r.channel, r.contact, r.status,
                           r.lead_id, r.memory, r.revision, r.created_at, r.updated_at, r.last_sequence,
                           r.request_id, r.idle_at, r.closed_at, r.close_reason, r.analysis, r.qualified_at,
                           r.booked_at, r.handed_off_at)


def _message(r: Any) -> MessageRow:
    return MessageRow(r.id, r.conversation_id, r.role, r.text, r.created_at, r.in_reply_to, r.intent, r.engine,
                      tuple(r.citations), r.reply_ms, r.unanswered)


def _lead(r: Any) -> LeadRow:
    return LeadRow(r.id, r.tenant_id, r.conversation_id, r.agent_id, r.fields, r.missing_fields, r.qualified,
                   r.opted_out, r.created_at, r.updated_at, r.summary)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: ConversationRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has a conversation with the row's request id."""
        try:
            await self._session.execute(insert(conversations).values(**row.__dict__))
        except IntegrityError as exc:
            if row.request_id is None:
                raise
            raise AlreadyCreated("conversation", row.request_id) from exc

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationRow | None:
        result = await self._session.execute(
            select(conversations).where(
                conversations.c.tenant_id == tenant_id, conversations.c.id == conversation_id
            )
        )
        row = result.first()
        return _conversation(row) if row else None

    async def by_request(self, tenant_id: str, request_id: str) -> ConversationRow | None:
        result = await self._session.execute(
            select(conversations).where(
                conversations.c.tenant_id == tenant_id, conversations.c.request_id == request_id
            )
        )
        row = result.first()
        return _conversation(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None, agent_id: str | None
                   ) -> list[ConversationRow]:
        query = select(conversations).where(conversations.c.tenant_id == tenant_id)
        if agent_id:
            query = query.where(conversations.c.agent_id == agent_id)
        if before:
            query = query.where(conversations.c.id < before)
        result = await self._session.execute(query.order_by(conversations.c.id.desc()).limit(limit))
        return [_conversation(r) for r in result]

    async def messages(self, tenant_id: str, conversation_id: str, limit: int = 200) -> list[MessageRow]:
        """The last ``limit`` messages, oldest first."""
        result = await self._session.execute(
            select(messages)
            .where(messages.c.tenant_id == tenant_id, messages.c.conversation_id == conversation_id)
            .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            .limit(limit)
        )
        return [_message(r) for r in reversed(result.all())]

    async def reply_to(self, tenant_id: str, message_id: str) -> MessageRow | None:
        result = await self._session.execute(
            select(messages).where(messages.c.tenant_id == tenant_id, messages.c.in_reply_to == message_id)
        )
        row = result.first()
        return _message(row) if row else None

    async def close(self, tenant_id: str, conversation_id: str, reason: str, now: datetime,
                    idle_by: datetime | None = None) -> bool:
        """Ends the conversation unless it already ended (or, given ``idle_by``, is no longer idle by then: a
        message came since it was found); True for the one caller that ended it. The revision moves, so a
        turn that read the conversation before is retried on the closed state."""
        c = conversations.c
        query = update(conversations).where(c.tenant_id == tenant_id, c.id == conversation_id, c.closed_at.is_(None))
        if idle_by is not None:
            query = query.where(c.idle_at <= idle_by)
        result = await self._session.execute(
            query
            .values(closed_at=now, close_reason=reason, revision=c.revision + 1, updated_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def idle(self, now: datetime, limit: int) -> list[ConversationRow]:
        """Open conversations of every tenant whose idle time has come, oldest first (the scheduled check;
        each is then claimed with ``close``, so two replicas never end one twice)."""
        c = conversations.c
        result = await self._session.execute(
            select(conversations).where(c.closed_at.is_(None), c.idle_at <= now).order_by(c.idle_at).limit(limit)
        )
        return [_conversation(r) for r in result]

    async def save_analysis(self, tenant_id: str, conversation_id: str, analysis: dict[str, Any]) -> bool:
        """Stores the analysis unless one is stored; True for the one caller that stored it."""
        c = conversations.c
        result = await self._session.execute(
            update(conversations)
            .where(c.tenant_id == tenant_id, c.id == conversation_id, c.analysis.is_(None))
            .values(analysis=analysis)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, lead_id: str) -> LeadRow | None:
        result = await self._session.execute(
            select(leads).where(leads.c.tenant_id == tenant_id, leads.c.id == lead_id)
        )
        row = result.first()
        return _lead(row) if row else None

    async def for_conversation(self, tenant_id: str, conversation_id: str) -> LeadRow | None:
        result = await self._session.execute(
            select(leads).where(leads.c.tenant_id == tenant_id, leads.c.conversation_id == conversation_id)
        )
        row = result.first()
        return _lead(row) if row else None

    async def save_summary(self, tenant_id: str, lead_id: str, summary: str) -> None:
        await self._session.execute(
            update(leads).where(leads.c.tenant_id == tenant_id, leads.c.id == lead_id).values(summary=summary)
        )

    async def page(self, tenant_id: str, limit: int, before: str | None, qualified: bool | None) -> list[LeadRow]:
        query = select(leads).where(leads.c.tenant_id == tenant_id)
        if qualified is not None:
            query = query.where(leads.c.qualified == qualified)
        if before:
            query = query.where(leads.c.id < before)
        result = await self._session.execute(query.order_by(leads.c.id.desc()).limit(limit))
        return [_lead(r) for r in result]

