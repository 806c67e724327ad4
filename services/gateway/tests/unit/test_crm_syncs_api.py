"""``GET /v1/leads/{id}/crm-syncs`` against stand-ins for agent-runtime and workflow-executor on a real NATS: the
run record passed through typed, another tenant's lead a 404 (asked of agent-runtime first), workflow-executor
not answering a 503."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import encode_error, encode_result
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_crm import LIST_CRM_SYNCS, CrmSyncView, ListCrmSyncs, ProviderCallView

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def lead_view(tenant_id: str, lead_id: str) -> ar.LeadView:
    return ar.LeadView.model_validate({
        "id": lead_id, "conversation_id": "conv_1", "agent_id": "agt_1", "fields": {"email": "lee@example.com"},
        "missing_fields": [], "qualified": True, "opted_out": False, "created_at": NOW, "updated_at": NOW})


def run(lead_id: str) -> CrmSyncView:
    step = ProviderCallView(step="contact", idempotency_key="k" * 40, attempts=2, done=True, http_status=201,
                            error=None)
    return CrmSyncView(id="crs_1", lead_id=lead_id, trigger="lead.qualified", provider="hubspot", status="synced",
                       action="created", record_id="101", url="https://app.hubspot.com/contacts/1/record/0-1/101",
                       reason=None, http_status=201, deliveries=1, steps=[step], created_at=NOW, updated_at=NOW)


async def test_a_leads_crm_syncs_as_the_owner_reads_them(gateways: Any, connection: NatsConnection) -> None:
    asked: list[ListCrmSyncs] = []
    owner_tenant: list[str] = []

    async def agent_runtime(msg: Msg) -> None:
        ref = ar.LeadRef.model_validate_json(msg.data)
        known = ref.tenant_id == owner_tenant[0] and ref.lead_id == "lead_1"
        await msg.respond(encode_result(lead_view(ref.tenant_id, ref.lead_id)) if known
                          else encode_error("not_found", f"lead {ref.lead_id} not found"))

    async def workflow_executor(msg: Msg) -> None:
        request = ListCrmSyncs.model_validate_json(msg.data)
        asked.append(request)
        await msg.respond(encode_result(Page[CrmSyncView](data=[run(request.lead_id)])))

    service = await gateways.start()
    client = await gateways.client(service)
    owner, stranger = await gateways.sign_up(client), await gateways.sign_up(client)
    owner_tenant.append(owner.tenant_id)
    await connection.client.subscribe(ar.GET_LEAD.subject, cb=agent_runtime)

    unavailable = await client.get("/v1/leads/lead_1/crm-syncs", headers=owner.auth)
    assert unavailable.status_code == 503, unavailable.text  # workflow-executor is not answering yet

    await connection.client.subscribe(LIST_CRM_SYNCS.subject, cb=workflow_executor)
    answered = await client.get("/v1/leads/lead_1/crm-syncs?limit=5", headers=owner.auth)
    assert answered.status_code == 200, answered.text
    assert answered.json()["data"][0]["steps"][0] == {"step": "contact", "idempotency_key": "k" * 40, "attempts": 2,
                                                      "done": True, "http_status": 201, "error": None}
    assert [(a.tenant_id, a.lead_id, a.limit) for a in asked] == [(owner.tenant_id, "lead_1", 5)]

    other = await client.get("/v1/leads/lead_1/crm-syncs", headers=stranger.auth)
    assert other.status_code == 404 and len(asked) == 1  # never asked workflow-executor for another's lead
