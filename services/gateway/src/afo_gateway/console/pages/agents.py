"""Agents and the wizard that builds one: who it is → what it knows → the keys it uses → how leads reach it
(the widget's look) → the code to put on a site. Each step is a page of its own that saves on submit, so a
tenant can stop anywhere and come back."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from afo_common.rpcs.agent_spec import AgentPatch, AgentSpec
from afo_common.rpcs.knowledge_ingest import Embedding
from afo_gateway.console.forms import posted, text, validated
from afo_gateway.console.pages.knowledge import SETTLED
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer
from afo_gateway.domain.access import Permission, require
from afo_gateway.domain.errors import AgentTestsFailing, ApiProblem
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
PAGE = 100
STEPS = (("", "Agent"), ("knowledge", "Knowledge"), ("integrations", "Integrations"), ("channels", "Widget"),
         ("embed", "Embed"))


@router.get("/agents")
async def agents(request: Request, viewer: CurrentViewer) -> Response:
    page = await gateway(request).catalog.agents(viewer.principal, PAGE, None)
    return render(request, "agents/list.html", agents=page.data)


@router.get("/agents/new")
async def new_agent_page(request: Request, viewer: CurrentViewer) -> Response:
    require(viewer.principal, Permission.WRITE)  # the form is for who may build one
    return render(request, "agents/new.html", form={}, request_id=str(uuid.uuid4()), steps=STEPS, step="")


@router.post("/agents/new")
async def create_agent(request: Request, viewer: CurrentViewer) -> Response:
    form = await posted(request)
    fields = {name: text(form, name) for name in ("name", "role", "persona", "greeting")}
    request_id = text(form, "request_id", max_length=64) or str(uuid.uuid4())
    try:
        spec = validated(AgentSpec, name=fields["name"], role=fields["role"] or "sales assistant",
                         persona=fields["persona"], greeting=fields["greeting"] or None)
        agent = await gateway(request).catalog.create_agent(viewer.principal, spec, request_id)
    except ApiProblem as problem:
        return render(request, "agents/new.html", problem.status, form=fields, request_id=request_id,
                      error=problem.detail, steps=STEPS, step="")
    return redirect(request, f"/console/agents/{agent.id}/knowledge")


@router.get("/agents/{agent_id}")
async def agent_page(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    gw = gateway(request)
    agent = await gw.catalog.agent(viewer.principal, agent_id)
    versions = await gw.catalog.versions(viewer.principal, agent_id, 10, None)
    return render(request, "agents/agent.html", agent=agent, spec=agent.spec, versions=versions.data,
                  steps=STEPS, step="")


@router.post("/agents/{agent_id}")
async def update_agent(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    gw = gateway(request)
    form = await posted(request)
    fields = {name: text(form, name) for name in ("name", "role", "persona", "greeting")}
    try:
        patch = validated(AgentPatch, name=fields["name"], role=fields["role"], persona=fields["persona"],
                          greeting=fields["greeting"] or None)
        await gw.catalog.update_agent(viewer.principal, agent_id, patch)
    except ApiProblem as problem:
        agent = await gw.catalog.agent(viewer.principal, agent_id)
        versions = await gw.catalog.versions(viewer.principal, agent_id, 10, None)
        return render(request, "agents/agent.html", problem.status, agent=agent, spec={**agent.spec, **fields},
                      versions=versions.data, steps=STEPS, step="", error=problem.detail)
    return redirect(request, f"/console/agents/{agent_id}?saved=1")


@router.post("/agents/{agent_id}/publish")
async def publish_agent(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    """Publishes the draft; when its tests block that, back to the agent with their names and the offer to
    publish anyway (``override``)."""
    gw = gateway(request)
    override = text(await posted(request), "override", max_length=8) == "true"
    try:
        await gw.agent_tests.publish(viewer.principal, agent_id, override)
    except AgentTestsFailing as failing:
        agent = await gw.catalog.agent(viewer.principal, agent_id)
        versions = await gw.catalog.versions(viewer.principal, agent_id, 10, None)
        return render(request, "agents/agent.html", failing.status, agent=agent, spec=agent.spec,
                      versions=versions.data, steps=STEPS, step="", tests_failing=failing.failing)
    return redirect(request, f"/console/agents/{agent_id}?published=1")


@router.get("/agents/{agent_id}/knowledge")
async def knowledge_step(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    gw = gateway(request)
    agent = await gw.catalog.agent(viewer.principal, agent_id)
    bases = await gw.knowledge.knowledge_bases(viewer.principal, PAGE, None)
    attached = set(agent.spec.get("knowledge_base_ids", []))
    uploads = []
    for base in (b for b in bases.data if b.id in attached):
        documents = (await gw.knowledge.documents(viewer.principal, base.id, 100, None, None)).data
        uploads.append((base, documents, any(d.status not in SETTLED for d in documents)))
    return render(request, "agents/knowledge.html", agent=agent, bases=bases.data, attached=attached,
                  uploads=uploads, max_upload_bytes=gw.max_upload_bytes, steps=STEPS, step="knowledge")


@router.post("/agents/{agent_id}/knowledge")
async def attach_knowledge(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    """Attaches the ticked knowledge bases; with a new name, creates that one first and attaches it too."""
    gw = gateway(request)
    form = await posted(request)
    chosen = [value for value in form.getlist("knowledge_base_ids") if isinstance(value, str)]
    if new_name := text(form, "new_knowledge_base", max_length=120):
        created = await gw.knowledge.create(viewer.principal, new_name, "", Embedding(), str(uuid.uuid4()))
        chosen.append(created.id)
    await gw.catalog.update_agent(viewer.principal, agent_id, validated(AgentPatch, knowledge_base_ids=chosen))
    return redirect(request, f"/console/agents/{agent_id}/knowledge")
