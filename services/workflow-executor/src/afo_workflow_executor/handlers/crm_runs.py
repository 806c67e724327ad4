"""The run record of a lead's CRM syncs, as a tenant reads it (``afo_common.rpcs.workflow_executor_crm``)."""

from __future__ import annotations

from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_crm import CrmSyncView, ListCrmSyncs, ProviderCallView
from afo_workflow_executor.domain.crm_records import CrmSyncRow, ProviderCallRow
from afo_workflow_executor.handlers.unit_of_work import Store


def sync_view(row: CrmSyncRow, calls: list[ProviderCallRow]) -> CrmSyncView:
    steps = [ProviderCallView(step=c.step, idempotency_key=c.idempotency_key, attempts=c.attempts, done=c.done,
                              http_status=c.http_status, error=c.error) for c in calls]
    return CrmSyncView.model_validate({
        "id": row.id, "lead_id": row.lead_id, "trigger": row.trigger, "provider": row.provider,
        "status": row.status, "action": row.action, "record_id": row.record_id, "url": row.url,
        "reason": row.reason, "http_status": row.http_status, "deliveries": row.deliveries, "steps": steps,
        "created_at": row.created_at, "updated_at": row.updated_at})


class CrmRuns:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self, request: ListCrmSyncs) -> Page[CrmSyncView]:
        """Newest first; a lead this service never heard of has none (whoever's it is)."""
        async with self._store.reading() as repos:
            rows = await repos.crm_syncs.page(request.tenant_id, request.lead_id, request.limit, request.cursor)
            calls = await repos.crm_syncs.calls(request.tenant_id, [r.id for r in rows])
        steps: dict[str, list[ProviderCallRow]] = {}
        for call in calls:
            steps.setdefault(call.sync_id, []).append(call)
        next_cursor = rows[-1].id if len(rows) == request.limit else None
        return Page[CrmSyncView](data=[sync_view(r, steps.get(r.id, [])) for r in rows], next_cursor=next_cursor)
