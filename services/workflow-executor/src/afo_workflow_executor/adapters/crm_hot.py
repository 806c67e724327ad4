"""The CRM lead projection's read and write for lead.created / lead.updated, on the database driver itself
(``afo_common.hot_sql``): those events come with most chat turns, and through SQLAlchemy their transaction
(inbox row, select, upsert, commit) was most of workflow-executor's time on the text path. The columns and
their encodings are SQLAlchemy's (``adapters/tables.py``), so either side reads what the other wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from afo_common.hot_sql import HotTransaction, Sql
from afo_common.messaging.consumer import Delivery
from afo_workflow_executor.domain.crm_leads import LeadRecord

_COLUMNS = ("conversation_id", "agent_id", "fields", "fields_at", "qualified", "summary", "outcome", "next_step",
            "analyzed_at", "meeting_id", "meeting_start", "meeting_at", "created_at", "updated_at")
_TIMES = {"fields_at", "analyzed_at", "meeting_start", "meeting_at", "created_at", "updated_at"}
GET = Sql(f"SELECT {', '.join(_COLUMNS)} FROM crm_leads WHERE tenant_id = $1 AND id = $2")
UPDATE = Sql(f"UPDATE crm_leads SET {', '.join(f'{c} = ${n}' for n, c in enumerate(_COLUMNS, 1))} "
             f"WHERE tenant_id = ${len(_COLUMNS) + 1} AND id = ${len(_COLUMNS) + 2}")
INSERT = Sql(f"INSERT INTO crm_leads ({', '.join(_COLUMNS)}, tenant_id, id) "
             f"VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 3))})")


class HotCrmLeads:
    def __init__(self, tx: HotTransaction) -> None:
        self._tx = tx

    async def get(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        row = await self._tx.fetchrow(GET, tenant_id, lead_id)
        if row is None:
            return None
        values: dict[str, Any] = {c: row[c] for c in _COLUMNS}
        for column in _TIMES:
            if values[column] is not None:
                values[column] = self._tx.read_time(values[column])
        values["fields"] = dict(self._tx.read_json(values["fields"]))
        values["qualified"] = bool(values["qualified"])
        return LeadRecord(id=lead_id, tenant_id=tenant_id, **values)

    async def save(self, row: LeadRecord) -> None:
        params = [getattr(row, c) for c in _COLUMNS]
        for n, column in enumerate(_COLUMNS):
            if column in _TIMES and params[n] is not None:
                params[n] = self._tx.time(params[n])
            elif column == "fields":
                params[n] = self._tx.json(params[n])
        if not await self._tx.execute(UPDATE, *params, row.tenant_id, row.id):
            await self._tx.execute(INSERT, *params, row.tenant_id, row.id)


class HotProjection:
    """What ``CrmSync`` projects lead events with: ``crm_leads`` in the delivery's own hot transaction (its
    inbox row written first)."""

    def __init__(self, crm_leads: HotCrmLeads) -> None:
        self.crm_leads = crm_leads


@asynccontextmanager
async def hot_projecting(delivery: Delivery) -> AsyncIterator[HotProjection]:
    async with delivery.hot_transaction() as uow:
        yield HotProjection(HotCrmLeads(uow.tx))
