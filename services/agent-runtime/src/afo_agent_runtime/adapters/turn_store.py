"""What a turn reads and writes, on the database driver itself (``afo_common.hot_sql``): every message runs
these statements, so they skip SQLAlchemy's execution layer. The tables are SQLAlchemy's
(``adapters/tables.py``); every statement is scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, LeadRow, MessageRow
from afo_common.hot_sql import HotTransaction, Row, Sql


@dataclass(frozen=True)
class TurnState:
    conversation: ConversationRow
    lead: LeadRow | None
    already_processed: bool


class StaleConversation(Exception):
    """Another turn of this conversation committed first; the caller retries on fresh state."""


_CONVERSATION = ("c.id, c.tenant_id, c.agent_id, c.agent_version, c.channel, c.contact, c.status, c.lead_id, "
                 "c.memory, c.revision, c.created_at, c.updated_at, c.last_sequence, c.request_id, c.idle_at, "
                 "c.closed_at, c.close_reason, c.qualified_at, c.booked_at, c.handed_off_at")
_LEAD = ("l.id AS l_id, l.tenant_id AS l_tenant_id, l.conversation_id AS l_conversation_id, "
         "l.agent_id AS l_agent_id, l.fields AS l_fields, l.missing_fields AS l_missing_fields, "
         "l.qualified AS l_qualified, l.opted_out AS l_opted_out, l.created_at AS l_created_at, "
         "l.updated_at AS l_updated_at, l.summary AS l_summary")
TURN_STATE = Sql(
    f"SELECT {_CONVERSATION}, {_LEAD}, "
    "EXISTS (SELECT 1 FROM inbox WHERE inbox.consumer = $1 AND inbox.event_id = $2) AS already_processed "
    "FROM conversations c LEFT JOIN leads l ON l.conversation_id = c.id AND l.tenant_id = $3 "
    "WHERE c.tenant_id = $4 AND c.id = $5"
)
LAST_SEQUENCE = Sql("SELECT last_sequence FROM conversations WHERE tenant_id = $1 AND id = $2")
RECENT_MESSAGES = Sql(
    "SELECT id, conversation_id, role, text, created_at, in_reply_to, intent, engine, citations FROM messages "
    "WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
)
ADD_MESSAGE = Sql(
    "INSERT INTO messages (id, tenant_id, conversation_id, role, text, in_reply_to, intent, engine, citations, "
    "created_at, reply_ms, unanswered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
ADD_LEAD = Sql(
    "INSERT INTO leads (id, tenant_id, conversation_id, agent_id, fields, missing_fields, qualified, opted_out, "
    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
UPDATE_LEAD = Sql(
    "UPDATE leads SET fields = $1, missing_fields = $2, qualified = $3, opted_out = $4, updated_at = $5 "
    "WHERE tenant_id = $6 AND id = $7"
)
# Optimistic concurrency: written only if nobody wrote since the turn read the conversation. The funnel's facts
# keep the first time they happened (NULL: nothing happened this turn).
SAVE_TURN = Sql(
    "UPDATE conversations SET memory = $1, status = $2, lead_id = $3, revision = $4, last_sequence = $5, "
    "updated_at = $6, idle_at = $7, qualified_at = COALESCE(qualified_at, $8), "
    "booked_at = COALESCE(booked_at, $9), handed_off_at = COALESCE(handed_off_at, $10) "
    "WHERE tenant_id = $11 AND id = $12 AND revision = $13"
)
# Ends a conversation once: only the first of the closers (an opt-out, the close RPC, the idle check) sets it.
CLOSE = Sql(
    "UPDATE conversations SET closed_at = $1, close_reason = $2 WHERE tenant_id = $3 AND id = $4 "
    "AND closed_at IS NULL"
)


class TurnStore:
    def __init__(self, tx: HotTransaction) -> None:
        self._tx = tx

    async def turn_state(self, tenant_id: str, conversation_id: str, consumer: str, event_id: str
                         ) -> TurnState | None:
        """Everything a turn reads, in one statement: the conversation, its lead, and whether this event
        was already processed (the inbox)."""
        row = await self._tx.fetchrow(TURN_STATE, consumer, event_id, tenant_id, tenant_id, conversation_id)
        if row is None:
            return None
        lead = self._lead(row) if row["l_id"] is not None else None
        return TurnState(self._conversation(row), lead, bool(row["already_processed"]))

    async def last_sequence(self, tenant_id: str, conversation_id: str) -> int | None:
        row = await self._tx.fetchrow(LAST_SEQUENCE, tenant_id, conversation_id)
        return int(row["last_sequence"]) if row is not None else None

    async def recent_messages(self, tenant_id: str, conversation_id: str, limit: int) -> list[MessageRow]:
        """The last ``limit`` messages, oldest first."""
        rows = await self._tx.fetch(RECENT_MESSAGES, tenant_id, conversation_id, limit)
        tx = self._tx
        return [MessageRow(r["id"], r["conversation_id"], r["role"], r["text"], tx.read_time(r["created_at"]),
                           r["in_reply_to"], r["intent"], r["engine"], tuple(tx.read_json(r["citations"])))
                for r in reversed(rows)]

    async def add_messages(self, tenant_id: str, *messages: MessageRow) -> None:
        tx = self._tx
        await tx.executemany(ADD_MESSAGE, [
            (m.id, tenant_id, m.conversation_id, m.role, m.text, m.in_reply_to, m.intent, m.engine,
             tx.json(list(m.citations)), tx.time(m.created_at), m.reply_ms, m.unanswered)
            for m in messages
        ])

    async def save_lead(self, lead: LeadRow, *, exists: bool) -> None:
        tx = self._tx
        if exists:
            await tx.execute(UPDATE_LEAD, tx.json(lead.fields), tx.json(lead.missing_fields), lead.qualified,
                             lead.opted_out, tx.time(lead.updated_at), lead.tenant_id, lead.id)
            return
        await tx.execute(ADD_LEAD, lead.id, lead.tenant_id, lead.conversation_id, lead.agent_id, tx.json(lead.fields),
                         tx.json(lead.missing_fields), lead.qualified, lead.opted_out, tx.time(lead.created_at),
                         tx.time(lead.updated_at))

    async def save_turn_state(self, row: ConversationRow, *, memory: dict[str, Any], status: str,
                              lead_id: str | None, last_sequence: int, now: datetime,
                              idle_at: datetime | None = None, qualified: bool = False, booked: bool = False,
                              handed_off: bool = False) -> None:
        """Write the state a turn produced, only if nobody else wrote since ``row`` was read. ``idle_at``:
        when the conversation ends for want of a message (None keeps the one it has). ``qualified``,
        ``booked``, ``handed_off``: this happened now (kept only the first time)."""
        tx = self._tx
        idle = idle_at or row.idle_at
        at = tx.time(now)
        changed = await tx.execute(SAVE_TURN, tx.json(memory), status, lead_id, row.revision + 1, last_sequence,
                                   at, tx.time(idle) if idle else None, at if qualified else None,
                                   at if booked else None, at if handed_off else None, row.tenant_id, row.id,
                                   row.revision)
        if changed != 1:
            raise StaleConversation(row.id)

    async def close(self, tenant_id: str, conversation_id: str, reason: str, now: datetime) -> bool:
        """True when this call ended the conversation (it had not ended)."""
        tx = self._tx
        return await tx.execute(CLOSE, tx.time(now), reason, tenant_id, conversation_id) == 1

    def _conversation(self, r: Row) -> ConversationRow:
        tx = self._tx
        return ConversationRow(r["id"], r["tenant_id"], r["agent_id"], r["agent_version"], r["channel"],
                               tx.read_json(r["contact"]), r["status"], r["lead_id"], tx.read_json(r["memory"]),
                               r["revision"], tx.read_time(r["created_at"]), tx.read_time(r["updated_at"]),
                               r["last_sequence"], r["request_id"], _maybe_time(tx, r["idle_at"]),
                               _maybe_time(tx, r["closed_at"]), r["close_reason"], None,
                               _maybe_time(tx, r["qualified_at"]), _maybe_time(tx, r["booked_at"]),
                               _maybe_time(tx, r["handed_off_at"]))

    def _lead(self, r: Row) -> LeadRow:
        tx = self._tx
        return LeadRow(r["l_id"], r["l_tenant_id"], r["l_conversation_id"], r["l_agent_id"],
                       tx.read_json(r["l_fields"]), tx.read_json(r["l_missing_fields"]), bool(r["l_qualified"]),
                       bool(r["l_opted_out"]), tx.read_time(r["l_created_at"]), tx.read_time(r["l_updated_at"]),
                       r["l_summary"])


def _maybe_time(tx: HotTransaction, value: Any) -> datetime | None:
    return tx.read_time(value) if value is not None else None
