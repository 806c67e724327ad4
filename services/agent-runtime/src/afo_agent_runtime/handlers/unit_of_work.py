"""What agent-runtime's handlers need of storage: one Protocol per repository, the repositories together
(``Repositories``, for reads), the unit of work (the same plus ``emit``/``after_commit``) and the store that
opens both. ``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the
handler tests run on both. (A turn's own statements are ``adapters/turn_store.py``, on the driver itself.)"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from afo_agent_runtime.adapters.agent_repository import AgentRow, VersionRow
from afo_agent_runtime.adapters.agent_test_repository import AgentTestRow, AgentTestRunRow, Verdicts
from afo_agent_runtime.adapters.channel_repository import NumberOwnerRow
from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.domain.analytics import AskedQuestion, FunnelCell
from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_common.rpcs.agent_runtime import PublishedTests


class Agents(Protocol):
    async def add(self, row: AgentRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has an agent with the row's request id."""
        ...

    async def by_request(self, tenant_id: str, request_id: str) -> AgentRow | None: ...

    async def get(self, tenant_id: str, agent_id: str) -> AgentRow | None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[AgentRow]: ...

    async def count(self, tenant_id: str) -> int: ...

    async def save_spec(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime) -> None: ...

    async def mark_deleted(self, tenant_id: str, agent_id: str, now: datetime) -> None: ...

    async def publish(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime,
                      tests: PublishedTests | None = None, test_run_id: str | None = None) -> int:
        """The next version; ``tests``: "passed" or "overridden" when the agent has tests."""
        ...

    async def version(self, tenant_id: str, agent_id: str, version: int) -> VersionRow | None: ...

    async def versions(self, tenant_id: str, agent_id: str, limit: int, below: int | None) -> list[VersionRow]: ...


class AgentTests(Protocol):
    """An agent's tests (oldest first) and its runs (newest first); every method scoped to tenant and agent."""

    async def add(self, row: AgentTestRow) -> None:
        """Raises ``AlreadyCreated`` when the tenant has a test with the row's request id."""
        ...

    async def by_request(self, tenant_id: str, request_id: str) -> AgentTestRow | None: ...

    async def count(self, tenant_id: str, agent_id: str) -> int: ...

    async def page(self, tenant_id: str, agent_id: str, limit: int, after: str | None) -> list[AgentTestRow]: ...

    async def delete(self, tenant_id: str, agent_id: str, test_id: str) -> bool: ...

    async def add_run(self, row: AgentTestRunRow, keep: int) -> None:
        """Records the run and drops the agent's runs older than its ``keep`` newest."""
        ...

    async def runs(self, tenant_id: str, agent_id: str, limit: int, before: str | None) -> list[AgentTestRunRow]:
        """Without their results (``results`` empty)."""
        ...

    async def run(self, tenant_id: str, agent_id: str, run_id: str) -> AgentTestRunRow | None: ...

    async def latest_verdicts(self, tenant_id: str, agent_id: str, spec_digest: str) -> Verdicts | None:
        """The newest run of the agent against the configuration with this digest."""
        ...


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


class Analytics(Protocol):
    """Aggregates over one tenant's records in ``[start, end)``, filtered by agent and channel when given."""

    async def funnel(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                     channel: str | None, offset: timedelta = timedelta(0)) -> list[FunnelCell]:
        """Conversations started in the range, counted per (day at ``offset`` from UTC, channel, agent) with their
        outcomes."""
        ...

    async def reply_latencies(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                              channel: str | None) -> list[tuple[float, int]]:
        """Replies made in the range: (milliseconds, how many), in any order."""
        ...

    async def unanswered(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                         channel: str | None, limit: int) -> list[AskedQuestion]:
        """The questions replies in the range could not answer: most asked first, then asked last, then by
        text."""
        ...

    async def agent_names(self, tenant_id: str, agent_ids: Iterable[str]) -> dict[str, str]: ...


class Repositories(Protocol):
    @property
    def agents(self) -> Agents: ...

    @property
    def agent_tests(self) -> AgentTests: ...

    @property
    def conversations(self) -> Conversations: ...

    @property
    def leads(self) -> Leads: ...

    @property
    def channels(self) -> Channels: ...

    @property
    def analytics(self) -> Analytics: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it) and after-commit
    callbacks."""


Store = GenericStore[UnitOfWork, Repositories]
