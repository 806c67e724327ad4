"""The wizard's last steps: how the widget looks, and the code and phone numbers that reach the agent."""

from __future__ import annotations

from fastapi import Request, Response

from afo_common.rpcs.agent_spec import AgentPatch
from afo_gateway.console.forms import lines, posted, text, validated
from afo_gateway.console.pages.agents import STEPS
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.errors import ApiProblem
from afo_gateway.domain.widget import snippet, template_of
from afo_gateway.entrypoints.http.dependencies import gateway, public_base_url

router = console_router()
WEB = "web"
TEMPLATE_FIELDS = ("title", "colour", "position", "greeting")


@router.get("/agents/{agent_id}/channels")
async def channels_step(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    agent = await gateway(request).catalog.agent(viewer.principal, agent_id)
    return render(request, "agents/channels.html", agent=agent, template=template_of(agent.spec).model_dump(),
                  steps=STEPS, step="channels")


@router.post("/agents/{agent_id}/channels")
async def save_channels(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    gw = gateway(request)
    form = await posted(request)
    template: dict[str, object] = {name: text(form, name, max_length=500) for name in TEMPLATE_FIELDS}
    template["voice_button"] = form.get("voice_button") == "true"
    agent = await gw.catalog.agent(viewer.principal, agent_id)
    channels = {**agent.spec.get("channels", {}), WEB: {k: v for k, v in template.items() if v != ""}}
    try:
        await gw.catalog.update_agent(viewer.principal, agent_id, validated(AgentPatch, channels=channels))
    except ApiProblem as problem:
        return render(request, "agents/channels.html", problem.status, agent=agent, template=template,
                      steps=STEPS, step="channels", error=problem.detail)
    return redirect(request, f"/console/agents/{agent_id}/embed")


async def _embed_page(request: Request, viewer: Viewer, agent_id: str, status: int = 200, **extra: object
                      ) -> Response:
    gw = gateway(request)
    agent = await gw.catalog.agent(viewer.principal, agent_id)
    embed = await gw.widget.embed(viewer.principal, agent_id, public_base_url(request))
    return render(request, "agents/embed.html", status, agent=agent, embed=embed,
                  public_url=public_base_url(request).rstrip("/"), steps=STEPS, step="embed", **extra)


@router.get("/agents/{agent_id}/embed")
async def embed_step(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    return await _embed_page(request, viewer, agent_id)


@router.post("/agents/{agent_id}/embed/keys")
async def create_publishable_key(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    form = await posted(request)
    origins = lines(form, "allowed_origins", max_length=4000)
    name = text(form, "name", max_length=80) or "website"
    try:
        _, secret = await gateway(request).keys.create(viewer.principal, "publishable", name, agent_id, origins)
    except ApiProblem as problem:
        return await _embed_page(request, viewer, agent_id, problem.status, error=problem.detail,
                                 origins="\n".join(origins))
    return await _embed_page(request, viewer, agent_id, new_snippet=snippet(public_base_url(request), secret))


@router.post("/agents/{agent_id}/phone-numbers")
async def save_phone_numbers(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    form = await posted(request)
    numbers = lines(form, "numbers", max_length=2000)
    try:
        await gateway(request).phone_numbers.put(viewer.principal, agent_id, numbers)
    except ApiProblem as problem:
        return await _embed_page(request, viewer, agent_id, problem.status, error=problem.detail)
    return redirect(request, f"/console/agents/{agent_id}/embed")
