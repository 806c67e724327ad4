"""Queries for the channels outside chat: the agents' phone numbers, each lead phone's latest conversation
with an agent, and the lead and messages an inbound source's submission starts a conversation with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.conversation_repository import LeadRow, MessageRow
from afo_agent_runtime.adapters.tables import contact_conversations, leads, messages, phone_numbers


class NumberTaken(Exception):
    """The number belongs to another agent (of this tenant or any other)."""

    def __init__(self, number: str) -> None:
        super().__init__(f"{number} is already assigned to another agent")
        self.number = number


@dataclass(frozen=True)
class NumberOwnerRow:
    number: str
    tenant_id: str
    agent_id: str


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def numbers(self, tenant_id: str, agent_id: str) -> list[str]:
        result = await self._session.execute(
            select(phone_numbers.c.number)
            .where(phone_numbers.c.tenant_id == tenant_id, phone_numbers.c.agent_id == agent_id)
            .order_by(phone_numbers.c.created_at, phone_numbers.c.number))
        return [r.number for r in result]

    async def replace_numbers(self, tenant_id: str, agent_id: str, numbers: list[str], now: datetime) -> None:
        """The agent's numbers become exactly ``numbers``; raises ``NumberTaken`` for one another agent holds
        (the primary key decides a race)."""
        held = await self.owners(numbers)
        for owner in held:
            if (owner.tenant_id, owner.agent_id) != (tenant_id, agent_id):
                raise NumberTaken(owner.number)
        await self._session.execute(delete(phone_numbers).where(
            phone_numbers.c.tenant_id == tenant_id, phone_numbers.c.agent_id == agent_id,
            phone_numbers.c.number.not_in(numbers)))
        kept = {o.number for o in held}
        for number in numbers:
            if number in kept:
                continue
            try:
                async with self._session.begin_nested():
                    await self._session.execute(insert(phone_numbers).values(
                        number=number, tenant_id=tenant_id, agent_id=agent_id, created_at=now))
            except IntegrityError as exc:
                raise NumberTaken(number) from exc

    async def owners(self, numbers: list[str]) -> list[NumberOwnerRow]:
        if not numbers:
            return []
        result = await self._session.execute(select(phone_numbers).where(phone_numbers.c.number.in_(numbers)))
        return [NumberOwnerRow(r.number, r.tenant_id, r.agent_id) for r in result]

    async def conversation_of(self, tenant_id: str, agent_id: str, phone: str) -> str | None:
        result = await self._session.execute(select(contact_conversations.c.conversation_id).where(
            contact_conversations.c.tenant_id == tenant_id, contact_conversations.c.agent_id == agent_id,
            contact_conversations.c.phone == phone))
        row = result.first()
        return row.conversation_id if row else None

    async def remember(self, tenant_id: str, agent_id: str, phone: str, conversation_id: str,
                       now: datetime) -> None:
        keys = (contact_conversations.c.tenant_id == tenant_id, contact_conversations.c.agent_id == agent_id,
                contact_conversations.c.phone == phone)
        changed = await self._session.execute(
            update(contact_conversations).where(*keys).values(conversation_id=conversation_id, updated_at=now))
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            await self._session.execute(insert(contact_conversations).values(
                tenant_id=tenant_id, agent_id=agent_id, phone=phone, conversation_id=conversation_id,
                updated_at=now))

    async def add_lead(self, lead: LeadRow) -> None:
        await self._session.execute(insert(leads).values(**lead.__dict__))

    async def add_message(self, tenant_id: str, message: MessageRow) -> None:
        await self._session.execute(insert(messages).values(
            id=message.id, tenant_id=tenant_id, conversation_id=message.conversation_id, role=message.role,
            text=message.text, in_reply_to=message.in_reply_to, intent=message.intent, engine=message.engine,
            citations=list(message.citations), created_at=message.created_at, reply_ms=message.reply_ms,
            unanswered=message.unanswered))
