"""The chat widget: its script (``GET /widget.js``, no auth, cacheable), its configuration for a publishable key
(``GET /v1/widget/config``), and the embed code of an agent (``GET /v1/agents/{id}/embed``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from afo_gateway.domain.widget import Embed, WidgetConfig
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep, public_base_url
from afo_gateway.widget import WidgetScript

router = APIRouter()

AgentId = Annotated[str, Path(max_length=64)]
# Not versioned in its URL (the snippet never changes): caches ask again after five minutes, and an
# unchanged script is a 304.
SCRIPT_CACHE_CONTROL = "public, max-age=300"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get("/widget.js", tags=["widget"], response_class=Response,
            responses={200: {"content": {"text/javascript": {}}}, 304: {"description": "not modified"}})
async def widget_script(request: Request) -> Response:
    """The widget, for ``<script src="…/widget.js" data-afo-key="pk_…" async></script>``: dependency-free, it
    needs no inline script, inline style or eval, so it runs under a strict Content-Security-Policy."""
    script: WidgetScript = request.app.state.widget_script
    headers = {"ETag": script.etag, "Cache-Control": SCRIPT_CACHE_CONTROL, "X-Content-Type-Options": "nosniff",
               # Any site may load it, also with crossorigin="anonymous" or under Cross-Origin-Embedder-Policy.
               "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
    if _matches(request.headers.get("if-none-match"), script.etag):
        return Response(status_code=304, headers=headers)
    return Response(script.body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/v1/widget/config", response_model=WidgetConfig, tags=["widget"])
async def widget_config(principal: CurrentPrincipal, gw: GatewayDep) -> WidgetConfig:
    """What the widget shows, read with its publishable key from an allowed origin: the template
    (``channels.web``) of the agent's published version, with the agent's name and greeting where it has
    none. 409 while the agent is not published."""
    return await gw.widget.config(principal)


@router.get("/v1/agents/{agent_id}/embed", response_model=Embed, tags=["agents"])
async def agent_embed(agent_id: AgentId, request: Request, principal: CurrentPrincipal, gw: GatewayDep) -> Embed:
    """The snippet that puts the agent's widget on a site, the agent's publishable keys (by hint: a key's secret
    is shown once, when it is created) and, when it has numbers, where to point them in Twilio."""
    return await gw.widget.embed(principal, agent_id, public_base_url(request))
