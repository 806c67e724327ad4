"""workflow-executor as the composition root builds it: it migrates its own store, becomes ready, answers its
health RPC, consumes the lead's meeting requests and cancel requests, and serves every calendar and meeting RPC."""

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs import workflow_executor as wx
from afo_common.service import Service
from afo_testkit.bare_service import BareServiceChecks
from afo_workflow_executor.app import build


class TestWorkflowExecutor(BareServiceChecks):
    service_name = "workflow-executor"
    build = staticmethod(build)
    # It consumes from its first capability on: checked below instead.
    test_it_subscribes_to_no_jetstream_consumer = None  # type: ignore[assignment]

    async def test_it_consumes_meeting_requests_and_cancel_requests(self, running: Service,
                                                                     client: NatsConnection) -> None:
        consumers = {stream: sorted(c.name for c in await client.js.consumers_info(stream))
                     for stream in ("CONVERSATION", "WORKFLOW")}

        assert consumers == {"CONVERSATION": ["workflow-executor-meeting-cancel-requested",
                                              "workflow-executor-meeting-requested"], "WORKFLOW": []}

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
        assert (invalid.value.code, invalid.value.message) == ("invalid", "unknown time zone 'Nowhere/Land'")
