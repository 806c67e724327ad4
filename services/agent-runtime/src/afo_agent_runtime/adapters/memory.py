"""agent-runtime's repositories in memory: the same interface and answers as the database's
(``handlers/unit_of_work.py``), so a handler test runs in milliseconds. The handler tests run on both, so
this file drifting from ``agent_repository.py`` or ``conversation_repository.py`` fails a test.

Rows are copied in and out (a caller never holds a stored row's dicts) and times kept in UTC, as the
database gives them back. What a turn writes (messages, leads) is written here by ``MemoryTables``'
``add_messages`` and ``save_lead``, the ``TurnStore`` statements' counterparts, for tests to set up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from afo_agent_runtime.adapters.agent_repository import AgentRow, VersionRow
from afo_agent_runtime.adapters.channel_repository import NumberOwnerRow, NumberTaken
from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_agent_runtime.adapters.memory_agent_tests import AgentTestTables, MemoryAgentTests
from afo_agent_runtime.domain.analytics import AskedQuestion, FunnelCell
from afo_agent_runtime.domain.errors import AlreadyCreated
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_common.rpcs.agent_runtime import PublishedTests

Row = TypeVar("Row", AgentRow, VersionRow, ConversationRow, MessageRow, LeadRow)


@dataclass
class MemoryTables:
    agents: dict[str, AgentRow] = field(default_factory=dict)
    deleted_agents: set[str] = field(default_factory=set)
    # (agent id, version) -> (tenant id, version)
    versions: dict[tuple[str, int], tuple[str, VersionRow]] = field(default_factory=dict)
    conversations: dict[str, ConversationRow] = field(default_factory=dict)
    # message id -> (tenant id, message)
    messages: dict[str, tuple[str, MessageRow]] = field(default_factory=dict)
    leads: dict[str, LeadRow] = field(default_factory=dict)
    # number -> (tenant id, agent id, assigned at)
    numbers: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    # (tenant id, agent id, phone) -> conversation id
    contact_conversations: dict[tuple[str, str, str], str] = field(default_factory=dict)
    agent_tests: AgentTestTables = field(default_factory=AgentTestTables)

    def add_messages(self, tenant_id: str, *messages: MessageRow) -> None:
        for message in messages:
            if message.id in self.messages or (message.in_reply_to is not None and any(
                    m.in_reply_to == message.in_reply_to for _, m in self.messages.values())):
                raise ValueError(f"message {message.id} breaks a unique key")
            self.messages[message.id] = (tenant_id, _stored(message))

    def save_lead(self, lead: LeadRow, *, exists: bool) -> None:
        if exists:
            found = self.leads.get(lead.id)
            if found is not None and found.tenant_id == lead.tenant_id:
                self.leads[lead.id] = replace(found, fields=lead.fields, missing_fields=lead.missing_fields,
                                              qualified=lead.qualified, opted_out=lead.opted_out,
                                              updated_at=lead.updated_at)
                self.leads[lead.id] = _stored(self.leads[lead.id])
            return
        if lead.id in self.leads or any(row.conversation_id == lead.conversation_id for row in self.leads.values()):
            raise ValueError(f"lead {lead.id} breaks a unique key")
        self.leads[lead.id] = _stored(lead)


def _newest_first(rows: list[Row], key: Any, limit: int) -> list[Row]:
    return sorted(rows, key=key, reverse=True)[:limit]


class MemoryAgents:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: AgentRow) -> None:
        if row.request_id is not None and await self.by_request(row.tenant_id, row.request_id) is not None:
            raise AlreadyCreated("agent", row.request_id)
        self._t.agents[row.id] = _stored(replace(row, published_version=None))

    async def by_request(self, tenant_id: str, request_id: str) -> AgentRow | None:
        found = [r for r in self._t.agents.values() if r.tenant_id == tenant_id and r.request_id == request_id]
        return _stored(found[0]) if found else None

    def _live(self, tenant_id: str, agent_id: str) -> AgentRow | None:
        row = self._t.agents.get(agent_id)
        if row is None or row.tenant_id != tenant_id or agent_id in self._t.deleted_agents:
            return None
        return row

    async def get(self, tenant_id: str, agent_id: str) -> AgentRow | None:
        row = self._live(tenant_id, agent_id)
        return _stored(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[AgentRow]:
        rows = [r for r in self._t.agents.values() if self._live(tenant_id, r.id) and (not before or r.id < before)]
        return [_stored(r) for r in _newest_first(rows, lambda r: r.id, limit)]

    async def count(self, tenant_id: str) -> int:
        return sum(1 for r in self._t.agents.values() if self._live(tenant_id, r.id))

    def _change(self, tenant_id: str, agent_id: str, **values: Any) -> None:
        row = self._t.agents.get(agent_id)
        if row is not None and row.tenant_id == tenant_id:
            self._t.agents[agent_id] = _stored(replace(row, **values))

    async def save_spec(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime) -> None:
        self._change(tenant_id, agent_id, spec=spec, updated_at=now)

    async def mark_deleted(self, tenant_id: str, agent_id: str, now: datetime) -> None:
        row = self._t.agents.get(agent_id)
        if row is not None and row.tenant_id == tenant_id:
            self._t.deleted_agents.add(agent_id)
            self._change(tenant_id, agent_id, updated_at=now)

    async def publish(self, tenant_id: str, agent_id: str, spec: dict[str, Any], now: datetime,
                      tests: PublishedTests | None = None, test_run_id: str | None = None) -> int:
        version = max((v for a, v in self._t.versions if a == agent_id), default=0) + 1
        self._t.versions[(agent_id, version)] = (tenant_id, _stored(VersionRow(agent_id, version, spec, now, tests,
                                                                               test_run_id)))
        self._change(tenant_id, agent_id, published_version=version, updated_at=now)
        return version

    async def version(self, tenant_id: str, agent_id: str, version: int) -> VersionRow | None:
        found = self._t.versions.get((agent_id, version))
        return _stored(found[1]) if found is not None and found[0] == tenant_id else None

    async def versions(self, tenant_id: str, agent_id: str, limit: int, below: int | None) -> list[VersionRow]:
        rows = [v for (a, n), (t, v) in self._t.versions.items()
                if a == agent_id and t == tenant_id and (below is None or n < below)]
        return [_stored(v) for v in _newest_first(rows, lambda v: v.version, limit)]


class MemoryConversations:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: ConversationRow) -> None:
        if row.request_id is not None and await self.by_request(row.tenant_id, row.request_id) is not None:
            raise AlreadyCreated("conversation", row.request_id)
        self._t.conversations[row.id] = _stored(row)

    async def get(self, tenant_id: str, conversation_id: str) -> ConversationRow | None:
        row = self._t.conversations.get(conversation_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def by_request(self, tenant_id: str, request_id: str) -> ConversationRow | None:
        found = [r for r in self._t.conversations.values() if r.tenant_id == tenant_id and r.request_id == request_id]
        return _stored(found[0]) if found else None

    async def page(self, tenant_id: str, limit: int, before: str | None, agent_id: str | None
                   ) -> list[ConversationRow]:
        rows = [r for r in self._t.conversations.values() if r.tenant_id == tenant_id
                and (not agent_id or r.agent_id == agent_id) and (not before or r.id < before)]
        return [_stored(r) for r in _newest_first(rows, lambda r: r.id, limit)]

    async def messages(self, tenant_id: str, conversation_id: str, limit: int = 200) -> list[MessageRow]:
        rows = [m for t, m in self._t.messages.values() if t == tenant_id and m.conversation_id == conversation_id]
        return [_stored(m) for m in reversed(_newest_first(rows, lambda m: (m.created_at, m.id), limit))]

    async def reply_to(self, tenant_id: str, message_id: str) -> MessageRow | None:
        found = [m for t, m in self._t.messages.values() if t == tenant_id and m.in_reply_to == message_id]
        return _stored(found[0]) if found else None

    async def close(self, tenant_id: str, conversation_id: str, reason: str, now: datetime,
                    idle_by: datetime | None = None) -> bool:
        row = self._t.conversations.get(conversation_id)
        if row is None or row.tenant_id != tenant_id or row.closed_at is not None:
            return False
        if idle_by is not None and (row.idle_at is None or row.idle_at > idle_by):
            return False
        self._t.conversations[row.id] = _stored(replace(row, closed_at=now, close_reason=reason,
                                                        revision=row.revision + 1, updated_at=now))
        return True

    async def idle(self, now: datetime, limit: int) -> list[ConversationRow]:
        rows = [r for r in self._t.conversations.values()
                if r.closed_at is None and r.idle_at is not None and r.idle_at <= now]
        return [_stored(r) for r in sorted(rows, key=lambda r: (r.idle_at, r.id))[:limit]]

    async def save_analysis(self, tenant_id: str, conversation_id: str, analysis: dict[str, Any]) -> bool:
        row = self._t.conversations.get(conversation_id)
        if row is None or row.tenant_id != tenant_id or row.analysis is not None:
            return False
        self._t.conversations[row.id] = _stored(replace(row, analysis=analysis))
        return True


class MemoryLeads:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def get(self, tenant_id: str, lead_id: str) -> LeadRow | None:
        row = self._t.leads.get(lead_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def for_conversation(self, tenant_id: str, conversation_id: str) -> LeadRow | None:
        found = [r for r in self._t.leads.values() if r.tenant_id == tenant_id and r.conversation_id == conversation_id]
        return _stored(found[0]) if found else None

    async def save_summary(self, tenant_id: str, lead_id: str, summary: str) -> None:
        row = self._t.leads.get(lead_id)
        if row is not None and row.tenant_id == tenant_id:
            self._t.leads[lead_id] = _stored(replace(row, summary=summary))

    async def page(self, tenant_id: str, limit: int, before: str | None, qualified: bool | None) -> list[LeadRow]:
        rows = [r for r in self._t.leads.values() if r.tenant_id == tenant_id
                and (qualified is None or r.qualified == qualified) and (not before or r.id < before)]
        return [_stored(r) for r in _newest_first(rows, lambda r: r.id, limit)]


class MemoryChannels:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def numbers(self, tenant_id: str, agent_id: str) -> list[str]:
        held = [(at, n) for n, (t, a, at) in self._t.numbers.items() if (t, a) == (tenant_id, agent_id)]
        return [n for _, n in sorted(held)]

    async def replace_numbers(self, tenant_id: str, agent_id: str, numbers: list[str], now: datetime) -> None:
        for owner in await self.owners(numbers):
            if (owner.tenant_id, owner.agent_id) != (tenant_id, agent_id):
                raise NumberTaken(owner.number)
        for number in [n for n, (t, a, _) in self._t.numbers.items() if (t, a) == (tenant_id, agent_id)]:
            if number not in numbers:
                del self._t.numbers[number]
        for number in numbers:
            self._t.numbers.setdefault(number, (tenant_id, agent_id, now))

    async def owners(self, numbers: list[str]) -> list[NumberOwnerRow]:
        return [NumberOwnerRow(n, *self._t.numbers[n][:2]) for n in numbers if n in self._t.numbers]

    async def conversation_of(self, tenant_id: str, agent_id: str, phone: str) -> str | None:
        return self._t.contact_conversations.get((tenant_id, agent_id, phone))

    async def remember(self, tenant_id: str, agent_id: str, phone: str, conversation_id: str,
                       now: datetime) -> None:
        self._t.contact_conversations[(tenant_id, agent_id, phone)] = conversation_id

    async def add_lead(self, lead: LeadRow) -> None:
        self._t.save_lead(lead, exists=False)

    async def add_message(self, tenant_id: str, message: MessageRow) -> None:
        self._t.add_messages(tenant_id, message)


class MemoryAnalytics:
    """The database's aggregates (``analytics_repository.py``) computed over the rows in memory."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    def _conversations(self, tenant_id: str, agent_id: str | None, channel: str | None) -> dict[str, ConversationRow]:
        return {r.id: r for r in self._t.conversations.values() if r.tenant_id == tenant_id
                and (agent_id is None or r.agent_id == agent_id) and (channel is None or r.channel == channel)}

    def _messages(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                  channel: str | None) -> list[MessageRow]:
        of = self._conversations(tenant_id, agent_id, channel)
        return [m for t, m in self._t.messages.values()
                if t == tenant_id and start <= m.created_at < end and m.conversation_id in of]

    async def funnel(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                     channel: str | None, offset: timedelta = timedelta(0)) -> list[FunnelCell]:
        cells: dict[tuple[date, str, str], list[ConversationRow]] = {}
        for row in self._conversations(tenant_id, agent_id, channel).values():
            if start <= row.created_at < end:
                day = (row.created_at.astimezone(UTC) + offset).date()
                cells.setdefault((day, row.channel, row.agent_id), []).append(row)
        return [FunnelCell(day, ch, agent, len(rows), sum(r.qualified_at is not None for r in rows),
                           sum(r.booked_at is not None for r in rows), sum(r.handed_off_at is not None for r in rows))
                for (day, ch, agent), rows in cells.items()]

    async def reply_latencies(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                              channel: str | None) -> list[tuple[float, int]]:
        counted = Counter(m.reply_ms for m in self._messages(tenant_id, start, end, agent_id, channel)
                          if m.reply_ms is not None)
        return [(float(ms), n) for ms, n in counted.items()]

    async def unanswered(self, tenant_id: str, start: datetime, end: datetime, agent_id: str | None,
                         channel: str | None, limit: int) -> list[AskedQuestion]:
        asked: dict[str, list[datetime]] = {}
        for m in self._messages(tenant_id, start, end, agent_id, channel):
            if m.unanswered is not None:
                asked.setdefault(m.unanswered, []).append(m.created_at)
        found = [AskedQuestion(q, len(times), max(times)) for q, times in asked.items()]
        return sorted(found, key=lambda a: (-a.count, -a.last_asked_at.timestamp(), a.question))[:limit]

    async def agent_names(self, tenant_id: str, agent_ids: Iterable[str]) -> dict[str, str]:
        rows = [self._t.agents.get(i) for i in set(agent_ids)]
        return {r.id: str(r.spec.get("name") or r.id) for r in rows if r is not None and r.tenant_id == tenant_id}


class MemoryRepositories(Repositories):
    def __init__(self, tables: MemoryTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.agents = MemoryAgents(tables)
        self.agent_tests = MemoryAgentTests(tables.agent_tests)
        self.conversations = MemoryConversations(tables)
        self.leads = MemoryLeads(tables)
        self.channels = MemoryChannels(tables)
        self.analytics = MemoryAnalytics(tables)


def memory_store() -> MemoryStore[MemoryTables, MemoryRepositories]:
    store = MemoryStore(MemoryTables(), MemoryRepositories, "agent-runtime")
    _: Store = store  # mypy holds these repositories to the handlers' Protocols, as app.py the database's
    return store
