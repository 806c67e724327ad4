"""What the agents did: the overview, conversations (live), calls, leads and meetings.

List pages render their table as a part that htmx fetches again when the live feed (console.js, from
``/v1/realtime``) says something of that kind happened, so the lists move as conversations do."""

from __future__ import annotations

from fastapi import Request, Response

from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer
from afo_gateway.domain.access import Permission
from afo_gateway.domain.errors import Unavailable
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
PAGE = 50


@router.get("")
async def overview(request: Request, viewer: CurrentViewer) -> Response:
    if not viewer.principal.can(Permission.READ) and viewer.principal.can(Permission.VIEW_PLATFORM):
        return redirect(request, "/console/admin/health")  # an operator: the platform is theirs, no tenant is
    gw = gateway(request)
    agents = await gw.catalog.agents(viewer.principal, 100, None)
    conversations = await gw.catalog.conversations(viewer.principal, 10, None, None)
    return render(request, "overview.html", agents=agents.data, conversations=conversations.data,
                  agent_names={a.id: a.spec["name"] for a in agents.data})


@router.get("/conversations")
async def conversations(request: Request, viewer: CurrentViewer, agent_id: str | None = None,
                        cursor: str | None = None) -> Response:
    gw = gateway(request)
    page = await gw.catalog.conversations(viewer.principal, PAGE, cursor, agent_id)
    agents = await gw.catalog.agents(viewer.principal, 100, None)
    return render(request, "conversations/list.html", page=page, agent_id=agent_id,
                  agent_names={a.id: a.spec["name"] for a in agents.data})


@router.get("/conversations/{conversation_id}")
async def conversation(request: Request, viewer: CurrentViewer, conversation_id: str) -> Response:
    detail = await gateway(request).catalog.conversation(viewer.principal, conversation_id)
    return render(request, "conversations/detail.html", conversation=detail)


@router.get("/conversations/{conversation_id}/calls")
async def conversation_calls(request: Request, viewer: CurrentViewer, conversation_id: str) -> Response:
    """The conversation's calls, fetched by the page after it loads: voice-media answers them, and a
    conversation stays readable while it does not."""
    try:
        calls = (await gateway(request).calls.list(viewer.principal, 20, None, None, conversation_id)).data
    except Unavailable:
        return render(request, "conversations/calls.html", calls=[], unavailable=True)
    return render(request, "conversations/calls.html", calls=calls, unavailable=False)


@router.get("/calls")
async def calls(request: Request, viewer: CurrentViewer, cursor: str | None = None) -> Response:
    page = await gateway(request).calls.list(viewer.principal, PAGE, cursor, None)
    return render(request, "calls/list.html", page=page)


@router.get("/calls/{call_id}")
async def call(request: Request, viewer: CurrentViewer, call_id: str) -> Response:
    detail = await gateway(request).calls.get(viewer.principal, call_id)
    return render(request, "calls/detail.html", call=detail)


@router.get("/leads")
async def leads(request: Request, viewer: CurrentViewer, cursor: str | None = None,
                qualified: bool | None = None) -> Response:
    page = await gateway(request).catalog.leads(viewer.principal, PAGE, cursor, qualified)
    return render(request, "leads.html", page=page, qualified=qualified)


@router.get("/meetings")
async def meetings(request: Request, viewer: CurrentViewer, cursor: str | None = None) -> Response:
    page = await gateway(request).meetings.meetings(viewer.principal, PAGE, cursor, None, None, None)
    return render(request, "meetings.html", page=page)
