"""The tenant's audit log: ``GET /v1/audit`` (newest first, a page at a time) and ``GET /v1/audit/export`` (the
same entries as CSV). Owners, admins and secret keys; members get a 403."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from afo_common.rpcs.pages import Page
from afo_gateway.domain.audit import CSV_COLUMNS, AuditQuery, csv_row
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.handlers.audit import AuditPage

router = APIRouter(prefix="/v1/audit", tags=["audit log"])


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    actor: str = Field(description="the user's or API key's id")
    actor_name: str | None = Field(description="the user's email or the key's name; null when no longer known "
                                               "(a user removed since)")
    action: str = Field(examples=["agent.publish", "apikey.create", "user.role.admin"])
    target: str | None = Field(description="what was changed: its id (``agt_…:v3`` for a published version)")


def _iso_8601(value: object) -> object:
    # Pydantic reads a number as seconds since 1970; the parameter is documented (and meant) as ISO 8601.
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("an ISO 8601 date and time, such as 2026-12-01T00:00:00Z") from None
    return value


IsoDatetime = Annotated[datetime | None, BeforeValidator(_iso_8601)]


def audit_query(
    action: Annotated[str | None, Query(max_length=80, description="a prefix: `agent.` for every change to "
                                                                   "agents")] = None,
    actor: Annotated[str | None, Query(max_length=80, description="a user's or key's id")] = None,
    since: Annotated[IsoDatetime, Query(description="ISO 8601 with a zone; entries at or after")] = None,
    until: Annotated[IsoDatetime, Query(description="ISO 8601 with a zone; entries before")] = None,
) -> AuditQuery:
    return AuditQuery(action=action or None, actor=actor or None, since=since, until=until)


Filters = Annotated[AuditQuery, Depends(audit_query)]


def entries_out(page: AuditPage) -> list[AuditEntryOut]:
    return [AuditEntryOut(id=e.id, at=e.at, actor=e.actor, actor_name=page.names.get(e.actor), action=e.action,
                          target=e.target) for e in page.entries]


@router.get("", response_model=Page[AuditEntryOut])
async def list_audit(principal: CurrentPrincipal, gw: GatewayDep, filters: Filters, limit: Limit = 20,
                     cursor: Cursor = None) -> Page[AuditEntryOut]:
    """Who changed what in the tenant, newest first: keys, people and roles, integrations, plans, agents (create,
    update, publish, delete), workflows, knowledge bases and documents, webhook subscriptions, calendars."""
    page = await gw.audit.page(principal, filters, limit, cursor)
    return Page[AuditEntryOut](data=entries_out(page), next_cursor=page.next_cursor)


@router.get("/export", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
async def export_audit(principal: CurrentPrincipal, gw: GatewayDep, filters: Filters) -> StreamingResponse:
    """The entries the filters ask for as CSV (``at,actor,actor_name,action,target,id``), newest first,
    streamed; at most 100,000 rows (``EXPORT_MAX_ROWS``: narrow ``since``/``until`` for more)."""
    pages = await gw.audit.export(principal, filters)
    return StreamingResponse(_csv(pages), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


async def _csv(pages: AsyncIterator[AuditPage]) -> AsyncIterator[str]:
    yield _line(list(CSV_COLUMNS))
    async for page in pages:
        yield "".join(_line(csv_row(e.at, e.actor, page.names.get(e.actor), e.action, e.target, e.id))
                      for e in page.entries)


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()
