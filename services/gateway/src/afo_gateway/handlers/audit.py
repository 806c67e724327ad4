"""The tenant's audit log: who changed what. The gateway's own changes (keys, people, integrations, plans…) are
recorded in their own transactions by their handlers; ``AuditTrail.changed`` records the changes the gateway
asks another service to make over RPC (agents, workflows, knowledge bases, webhook subscriptions). Owners and
admins read the log page by page (``page``) or export it (``export``); so may a secret key (an integrator
feeding a SIEM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from afo_common.clock import Clock
from afo_gateway.adapters.accounts_repository import AuditEntry
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.audit import EXPORT_MAX_ROWS, EXPORT_PAGE_ROWS, AuditQuery
from afo_gateway.handlers.unit_of_work import Store


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    names: dict[str, str]          # actor id → email or key name, where still known
    next_cursor: str | None


class AuditTrail:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def changed(self, principal: Principal, action: str, target: str | None) -> None:
        """Records a change another service made at the principal's request, once that service answered that it
        made it. Its own transaction, after the owner's: a crash between the owner's answer and this record
        loses the line (the change stands, unaudited) — the trade-off ``agent.publish.override`` makes too; a
        record before the call would log changes that then failed."""
        async with self._store() as uow:
            await uow.audit.record(principal.tenant_id, principal.subject_id, action, target, self._clock.now())

    async def page(self, principal: Principal, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        require(principal, Permission.READ_AUDIT)
        async with self._store.reading() as repos:
            entries = await repos.audit.page(principal.tenant_id, query, limit, cursor)
            names = await repos.audit.actor_names(principal.tenant_id, sorted({e.actor for e in entries}))
        return AuditPage(entries, names, entries[-1].id if len(entries) == limit else None)

    async def export(self, principal: Principal, query: AuditQuery) -> AsyncIterator[AuditPage]:
        """The entries ``query`` asks for, newest first, a page of the database at a time, at most
        ``EXPORT_MAX_ROWS`` in all. The permission is checked before the first page is asked for."""
        require(principal, Permission.READ_AUDIT)
        return self._pages(principal, query)

    async def _pages(self, principal: Principal, query: AuditQuery) -> AsyncIterator[AuditPage]:
        cursor: str | None = None
        left = EXPORT_MAX_ROWS
        while left > 0:
            page = await self.page(principal, query, min(EXPORT_PAGE_ROWS, left), cursor)
            if page.entries:
                yield page
            left -= len(page.entries)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
