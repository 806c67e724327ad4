"""workflow-executor as the composition root builds it: it migrates its own store, becomes ready, answers its
health RPC, consumes the lead's meeting requests and cancel requests, the CRM sync's events, the workflows'
trigger events and anomaly detection's (and nothing else), serves every calendar and meeting RPC, lists a
lead's CRM syncs and a tenant's anomalies over a real nats-server."""

from __future__ import annotations

import pytest

from afo_common.events.streams import ADVISORIES
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import Reply, RpcClient, RpcError
from afo_common.rpcs import workflow_executor as wx
from afo_common.rpcs.workflow_executor_anomalies import LIST_ANOMALIES, ListAnomalies
from afo_common.rpcs.workflow_executor_crm import LIST_CRM_SYNCS, ListCrmSyncs
from afo_common.service import Service
from afo_testkit.bare_service import BareServiceChecks
from afo_workflow_executor.app import build
from afo_workflow_executor.entrypoints.anomalies import COUNTED
from afo_workflow_executor.entrypoints.crm import CONSUMED
from afo_workflow_executor.entrypoints.subscribers import MEETING_CANCEL_REQUESTED, MEETING_REQUESTED
from afo_workflow_executor.entrypoints.workflows import TRIGGERED


class TestWorkflowExecutor(BareServiceChecks):
    service_name = "workflow-executor"
    build = staticmethod(build)

    async def test_it_subscribes_to_no_jetstream_consumer(self, running: Service, client: NatsConnection) -> None:
        """Replaces the bare check: the booking flow's, the CRM sync's and the workflows' consumers, each on its
        stream, and nothing else."""
        streams = [str(info.config.name) for info in await client.js.streams_info()]
        consumers = {(stream, c.name) for stream in streams for c in await client.js.consumers_info(stream)
                     if stream != ADVISORIES}  # where each consumer's MAX_DELIVERIES advisories are read
        booking = {(spec.stream, spec.durable) for spec in (MEETING_REQUESTED, MEETING_CANCEL_REQUESTED)}
        workflows = {(stream, durable) for durable, stream, _ in TRIGGERED}
        anomalies = {(stream, durable) for durable, stream, _ in COUNTED}
        assert consumers == {(stream, durable) for durable, stream, _ in CONSUMED} | booking | workflows | anomalies

    async def test_it_answers_its_calendar_and_meeting_rpcs(self, running: Service, client: NatsConnection) -> None:
        rpc = RpcClient(client, timeout_s=5.0)

        calendar = await rpc.call(wx.GET_CALENDAR, wx.AgentCalendarRef(tenant_id="t_1", agent_id="agt_1"))
        meetings = await rpc.call(wx.LIST_MEETINGS, wx.ListMeetings(tenant_id="t_1"))
        with pytest.raises(RpcError) as missing:
            await rpc.call(wx.GET_MEETING, wx.MeetingRef(tenant_id="t_1", meeting_id="mtg_unknown"))
        nowhere = calendar.settings.model_copy(update={"time_zone": "Nowhere/Land"})
        with pytest.raises(RpcError) as invalid:
            await rpc.call(wx.PUT_CALENDAR, wx.PutCalendar(tenant_id="t_1", agent_id="agt_1", settings=nowhere))

        assert calendar.is_default and meetings.data == []
        assert missing.value.code == "not_found"
        assert (invalid.value.code, invalid.value.message) == (
            "invalid", "unknown time zone 'Nowhere/Land'; use an IANA name such as 'America/New_York', or 'UTC'")

    async def test_it_lists_a_tenants_anomalies_over_nats(self, running: Service, client: NatsConnection) -> None:
        page = await RpcClient(client, timeout_s=5.0).call(LIST_ANOMALIES, ListAnomalies(tenant_id="ten_a",
                                                                                          status="open"))
        assert (page.data, page.next_cursor) == ([], None)

    async def test_it_lists_a_leads_crm_syncs_over_nats(self, running: Service, client: NatsConnection) -> None:
        page = await RpcClient(client, timeout_s=5.0).call(LIST_CRM_SYNCS, ListCrmSyncs(tenant_id="ten_a",
                                                                                        lead_id="lead_unknown"))
        assert (page.data, page.next_cursor) == ([], None)
        msg = await client.client.request(LIST_CRM_SYNCS.subject, b'{"tenant_id": "ten_a", "limit": 500}', timeout=5)
        reply = Reply.model_validate_json(msg.data)
        assert not reply.ok and reply.error is not None and reply.error.code == "invalid"
