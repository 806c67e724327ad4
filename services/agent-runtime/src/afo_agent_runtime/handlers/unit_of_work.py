"""What agent-runtime's handlers need of storage: one Protocol per repository, the repositories together
(``Repositories``, for reads), the unit of work (the same plus ``emit``/``after_commit``) and the store that
opens both. ``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the
handler tests run on both. (A turn's own statements are ``adapters/turn_store.py``, on the driver itself.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from afo_agent_runtime.adapters.agent_repository import AgentRow, VersionRow
from afo_agent_runtime.adapters.channel_repository import NumberOwnerRow
from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events


class Agents(Protocol):
    async def add(self, row: AgentRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has an agent with the row's request id."""
        ...

    async def by_request(self, tenant_id: str, request_id: str) -> AgentRow | None: ...

    async def get(self, tenant_id: str, agent_id: str) -> AgentRow | None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[AgentRow]: ...

    async def save_spec(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime) -> None: ...

    async def mark_deleted(self, tenant_id: str, agent_id: str, now: datetime) -> None: ...

    async def publish(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime) -> int: ...

    async def version(self, tenant_id: str, agent_id: str, version: int) -> VersionRow | None: ...

    async def versions(self, tenant_id: str, agent_id: str, limit: int, below: int | None) -> list[VersionRow]: ...


class Conversations(Protocol):
    async def add(self, row: ConversationRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has a conversation with the row's request id."""
        ...

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationRow | None: ...

    async def by_request(self, tenant_id: str, request_id: str) -> ConversationRow | None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None, agent_id: str | None
                   ) -> list[ConversationRow]: ...

    async def messages(self, tenant_id: str, conversation_id: str, limit: int = 200) -> list[MessageRow]: ...

    async def reply_to(self, tenant_id: str, message_id: str) -> MessageRow | None: ...

    async def close(self, tenant_id: str, conversation_id: str, reason: str, now: datetime,
                    idle_by: datetime | None = None) -> bool:
        """Ends it unless it already ended (or, given ``idle_by``, is no longer idle by then): True for the
        one caller that ended it."""
        ...

    async def idle(self, now: datetime, limit: int) -> list[ConversationRow]:
        """Open conversations of every tenant whose idle time has come, oldest first."""
        ...

    async def save_analysis(self, tenant_id: str, conversation_id: str, analysis: dict[str, Any]) -> bool:
        """Stores it unless one is stored: True for the one caller that stored it."""
        ...


class Leads(Protocol):
    async def get(self, tenant_id: str, lead_id: str) -> LeadRow | None: ...

    async def for_conversation(self, tenant_id: str, conversation_id: str) -> LeadRow | None: ...

    async def save_summary(self, tenant_id: str, lead_id: str, summary: str) -> None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None, qualified: bool | None
                   ) -> list[LeadRow]: ...


class Channels(Protocol):
    async def numbers(self, tenant_id: str, agent_id: str) -> list[str]: ...

    async def replace_numbers(self, tenant_id: str, agent_id: str, numbers: list[str], now: datetime) -> None:
        """Raises ``NumberTaken`` when another agent (of any tenant) holds one of ``numbers``."""
        ...

    async def owners(self, numbers: list[str]) -> list[NumberOwnerRow]:
        """Across tenants: who holds each of ``numbers`` that is held."""
        ...

    async def conversation_of(self, tenant_id: str, agent_id: str, phone: str) -> str | None: ...

    async def remember(self, tenant_id: str, agent_id: str, phone: str, conversation_id: str,
                       now: datetime) -> None: ...

    async def add_lead(self, lead: LeadRow) -> None: ...

    async def add_message(self, tenant_id: str, message: MessageRow) -> None: ...


class Repositories(Protocol):
    @property
    def agents(self) -> Agents: ...

    @property
    def conversations(self) -> Conversations: ...

    @property
    def leads(self) -> Leads: ...

    @property
    def channels(self) -> Channels: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it) and after-commit
    callbacks."""


Store = GenericStore[UnitOfWork, Repositories]
