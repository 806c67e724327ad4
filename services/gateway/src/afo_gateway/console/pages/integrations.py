"""The credential vault as forms: one per provider, secrets write-only (a blank secret keeps the stored one),
and "test connection", which asks the provider with what is stored."""

from __future__ import annotations

from fastapi import Request, Response

from afo_gateway.console.forms import posted, text
from afo_gateway.console.pages.agents import STEPS
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.errors import ApiProblem
from afo_gateway.domain.integrations import form_fields
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
# What each provider is for, in the order a tenant meets them; every provider of the vault is in one group.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Language model", ("openai",)),
    ("Phone and SMS", ("twilio",)),
    ("Voice", ("deepgram", "elevenlabs")),
    ("Calendar", ("google", "calendly")),
    ("CRM", ("hubspot", "salesforce", "pipedrive")),
    ("Email", ("smtp",)),
)
LABELS = {"openai": "OpenAI-compatible model", "twilio": "Twilio", "deepgram": "Deepgram (speech to text)",
          "elevenlabs": "ElevenLabs (text to speech)", "google": "Google Calendar", "calendly": "Calendly",
          "hubspot": "HubSpot", "salesforce": "Salesforce", "pipedrive": "Pipedrive", "smtp": "SMTP relay"}


async def _page(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    stored = {view.provider: view for view in await gateway(request).integrations.list(viewer.principal)}
    groups = [(group, [(name, LABELS[name], form_fields(name), stored.get(name)) for name in names])
              for group, names in GROUPS]
    return render(request, "integrations.html", status, groups=groups, **extra)


@router.get("/integrations")
async def integrations(request: Request, viewer: CurrentViewer) -> Response:
    return await _page(request, viewer)


@router.get("/agents/{agent_id}/integrations")
async def agent_integrations(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    """The wizard's step: the same vault, between the agent's knowledge and its widget."""
    agent = await gateway(request).catalog.agent(viewer.principal, agent_id)
    return await _page(request, viewer, agent=agent, steps=STEPS, step="integrations")


@router.post("/integrations/{provider}")
async def save(request: Request, viewer: CurrentViewer, provider: str) -> Response:
    form = await posted(request)
    sent = {field.name: ("true" if form.get(field.name) else "false") if field.kind == "checkbox"
            else text(form, field.name, max_length=4000) for field in form_fields(provider)}
    try:
        await gateway(request).integrations.put_form(viewer.principal, provider, sent)
    except ApiProblem as problem:
        return await _page(request, viewer, problem.status, error=(provider, problem.detail))
    return redirect(request, f"/console/integrations#{provider}")


@router.post("/integrations/{provider}/remove")
async def remove(request: Request, viewer: CurrentViewer, provider: str) -> Response:
    await gateway(request).integrations.remove(viewer.principal, provider)
    return redirect(request, "/console/integrations")


@router.post("/integrations/{provider}/test")
async def test_connection(request: Request, viewer: CurrentViewer, provider: str) -> Response:
    """Answers the part of the page that shows the result (htmx), or the whole page without JavaScript."""
    try:
        result = await gateway(request).integrations.test(viewer.principal, provider)
        outcome = ("ok", "Connected.") if result.ok else ("failed", result.error or "The provider refused.")
    except ApiProblem as problem:
        outcome = ("failed", problem.detail)
    if "HX-Request" in request.headers:
        return render(request, "partials/test_result.html", outcome=outcome)
    return await _page(request, viewer, tested=(provider, *outcome))
