"""Meetings booked on agents' calendars (owned by workflow-executor): list, read, the iCalendar invitation,
cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor import MeetingStatus, MeetingView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.idempotency import Reply, Write

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])

MeetingId = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("", response_model=Page[MeetingView])
async def list_meetings(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                        agent_id: Filter = None, lead_id: Filter = None,
                        status: Annotated[MeetingStatus | None, Query()] = None) -> Page[MeetingView]:
    """Newest first."""
    return await gw.meetings.meetings(principal, limit, cursor, agent_id, lead_id, status)


@router.get("/{meeting_id}", response_model=MeetingView)
async def get_meeting(meeting_id: MeetingId, principal: CurrentPrincipal, gw: GatewayDep) -> MeetingView:
    return await gw.meetings.meeting(principal, meeting_id)


@router.get("/{meeting_id}/invite.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}, "description": "the iCalendar invitation"}})
async def meeting_invite(meeting_id: MeetingId, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    """``METHOD:REQUEST`` while booked; ``METHOD:CANCEL`` once cancelled (same UID, so a calendar that holds
    the event removes it)."""
    invite = await gw.meetings.invite(principal, meeting_id)
    return Response(invite.ics, media_type="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{invite.filename}"'})


@router.post("/{meeting_id}/cancel", response_model=MeetingView)
async def cancel_meeting(meeting_id: MeetingId, write: Write, gw: GatewayDep) -> Response:
    """Frees the meeting's time (and cancels the outside calendar's event); ``meeting.cancelled`` with
    ``by: tenant`` follows. Cancelling a cancelled meeting answers it unchanged."""

    async def produce() -> Reply:
        return Reply(200, await gw.meetings.cancel(write.principal, meeting_id))

    return await write.run(produce)
