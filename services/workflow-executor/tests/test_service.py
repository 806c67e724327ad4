"""workflow-executor as it runs: it migrates its own store, becomes ready, answers its health RPC, consumes the
CRM sync's durable consumers (and no other), and lists a lead's CRM syncs over a real nats-server."""

from __future__ import annotations

from afo_common.events.streams import ADVISORIES
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import Reply, RpcClient
from afo_common.rpcs.workflow_executor_crm import LIST_CRM_SYNCS, ListCrmSyncs
from afo_common.service import Service
from afo_testkit.bare_service import BareServiceChecks
from afo_workflow_executor.app import build
from afo_workflow_executor.entrypoints.crm import CONSUMED


class TestWorkflowExecutor(BareServiceChecks):
    service_name = "workflow-executor"
    build = staticmethod(build)

    async def test_it_subscribes_to_no_jetstream_consumer(self, running: Service, client: NatsConnection) -> None:
        """Replaces the bare check: the CRM sync's consumers, each on its stream, and nothing else."""
        streams = [str(info.config.name) for info in await client.js.streams_info()]
        consumers = {(stream, c.name) for stream in streams for c in await client.js.consumers_info(stream)
                     if stream != ADVISORIES}  # where each consumer's MAX_DELIVERIES advisories are read
        assert consumers == {(stream, durable) for durable, stream, _ in CONSUMED}

    async def test_it_lists_a_leads_crm_syncs_over_nats(self, running: Service, client: NatsConnection) -> None:
        page = await RpcClient(client, timeout_s=5.0).call(LIST_CRM_SYNCS, ListCrmSyncs(tenant_id="ten_a",
                                                                                        lead_id="lead_unknown"))
        assert (page.data, page.next_cursor) == ([], None)
        msg = await client.client.request(LIST_CRM_SYNCS.subject, b'{"tenant_id": "ten_a", "limit": 500}', timeout=5)
        reply = Reply.model_validate_json(msg.data)
        assert not reply.ok and reply.error is not None and reply.error.code == "invalid"
