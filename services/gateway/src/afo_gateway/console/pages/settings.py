"""The tenant's settings: team and roles, API keys, webhook subscriptions and their deliveries, and workflows
in plain language with their compiled steps and runs."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from afo_common.rpcs.notifier_webhooks import SubscriptionBody
from afo_gateway.console.forms import posted, text, validated
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.access import ROLES, TENANT_ROLES, Permission, Role, require
from afo_gateway.domain.errors import ApiProblem, Invalid
from afo_gateway.entrypoints.http.dependencies import gateway
from afo_gateway.handlers.workflows import WorkflowBody, Workflows

router = console_router()


async def _team_page(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    users = await gateway(request).accounts.users(viewer.principal, 100, None)
    return render(request, "settings/team.html", status, users=users, roles=TENANT_ROLES, **extra)


def _role(value: str) -> Role:
    if value not in ROLES:
        raise Invalid(f"a role is one of {', '.join(ROLES)}")
    return value


@router.get("/team")
async def team(request: Request, viewer: CurrentViewer) -> Response:
    require(viewer.principal, Permission.MANAGE_USERS)
    return await _team_page(request, viewer)


@router.post("/team")
async def add_member(request: Request, viewer: CurrentViewer) -> Response:
    form = await posted(request)
    try:
        await gateway(request).accounts.add_user(viewer.principal, text(form, "email", max_length=254),
                                                 text(form, "password", max_length=256),
                                                 _role(text(form, "role", max_length=20)))
    except ApiProblem as problem:
        return await _team_page(request, viewer, problem.status, error=problem.detail)
    return redirect(request, "/console/team")


@router.post("/team/{user_id}/role")
async def change_role(request: Request, viewer: CurrentViewer, user_id: str) -> Response:
    form = await posted(request)
    try:
        await gateway(request).accounts.change_role(viewer.principal, user_id, _role(text(form, "role")))
    except ApiProblem as problem:
        return await _team_page(request, viewer, problem.status, error=problem.detail)
    return redirect(request, "/console/team")


async def _keys_page(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    keys = await gateway(request).keys.list(viewer.principal, 100, None)
    return render(request, "settings/keys.html", status, keys=keys, **extra)


@router.get("/keys")
async def keys(request: Request, viewer: CurrentViewer) -> Response:
    return await _keys_page(request, viewer)


@router.post("/keys")
async def create_key(request: Request, viewer: CurrentViewer) -> Response:
    form = await posted(request)
    try:
        row, secret = await gateway(request).keys.create(viewer.principal, "secret",
                                                         text(form, "name", max_length=80) or "key", None, [])
    except ApiProblem as problem:
        return await _keys_page(request, viewer, problem.status, error=problem.detail)
    return await _keys_page(request, viewer, created=(row, secret))


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, viewer: CurrentViewer, key_id: str) -> Response:
    await gateway(request).keys.revoke(viewer.principal, key_id)
    return redirect(request, "/console/keys")


async def _webhooks_page(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    page = await gateway(request).webhooks.list(viewer.principal, 100, None)
    return render(request, "settings/webhooks.html", status, subscriptions=page.data, **extra)


@router.get("/webhooks")
async def webhooks(request: Request, viewer: CurrentViewer) -> Response:
    return await _webhooks_page(request, viewer)


@router.post("/webhooks")
async def subscribe(request: Request, viewer: CurrentViewer) -> Response:
    form = await posted(request)
    events = [e.strip() for e in text(form, "events", max_length=2000).replace(",", " ").split() if e.strip()]
    try:
        body = validated(SubscriptionBody, url=text(form, "url", max_length=2048), events=events)
        created = await gateway(request).webhooks.create(viewer.principal, body)
    except ApiProblem as problem:
        return await _webhooks_page(request, viewer, problem.status, error=problem.detail)
    return await _webhooks_page(request, viewer, created=created)


@router.get("/webhooks/{subscription_id}")
async def deliveries(request: Request, viewer: CurrentViewer, subscription_id: str) -> Response:
    gw = gateway(request)
    subscription = await gw.webhooks.get(viewer.principal, subscription_id)
    page = await gw.webhooks.deliveries(viewer.principal, subscription_id, 50, None)
    return render(request, "settings/deliveries.html", subscription=subscription, deliveries=page.data)


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/replay")
async def replay_delivery(request: Request, viewer: CurrentViewer, subscription_id: str,
                          delivery_id: str) -> Response:
    await gateway(request).webhooks.replay(viewer.principal, subscription_id, delivery_id)
    return redirect(request, f"/console/webhooks/{subscription_id}")


@router.post("/webhooks/{subscription_id}/delete")
async def unsubscribe(request: Request, viewer: CurrentViewer, subscription_id: str) -> Response:
    await gateway(request).webhooks.delete(viewer.principal, subscription_id)
    return redirect(request, "/console/webhooks")


def _workflows(request: Request) -> Workflows:
    gw = gateway(request)
    return Workflows(gw.owners, gw.audit)


async def _workflows_page(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    page = await _workflows(request).list(viewer.principal, 100, None)
    return render(request, "settings/workflows.html", status, workflows=page.data, request_id=str(uuid.uuid4()),
                  **extra)


@router.get("/workflows")
async def workflows(request: Request, viewer: CurrentViewer) -> Response:
    return await _workflows_page(request, viewer)


@router.post("/workflows")
async def create_workflow(request: Request, viewer: CurrentViewer) -> Response:
    form = await posted(request)
    instruction = text(form, "instruction", max_length=4000)
    try:
        body = validated(WorkflowBody, instruction=instruction)
        created = await _workflows(request).create(viewer.principal, body,
                                                          text(form, "request_id", max_length=64) or None)
    except ApiProblem as problem:
        return await _workflows_page(request, viewer, problem.status, error=problem.detail, instruction=instruction)
    return redirect(request, f"/console/workflows/{created.id}")


@router.get("/workflows/{workflow_id}")
async def workflow(request: Request, viewer: CurrentViewer, workflow_id: str) -> Response:
    flow = await _workflows(request).get(viewer.principal, workflow_id)
    runs = await _workflows(request).runs(viewer.principal, workflow_id, 50, None)
    return render(request, "settings/workflow.html", workflow=flow, spec=flow.spec.model_dump(mode="json"),
                  runs=runs.data)


@router.post("/workflows/{workflow_id}/{action}")
async def set_workflow_status(request: Request, viewer: CurrentViewer, workflow_id: str, action: str) -> Response:
    if action not in ("enable", "disable"):
        raise Invalid("a workflow is enabled or disabled")
    await _workflows(request).set_status(viewer.principal, workflow_id,
                                                "enabled" if action == "enable" else "disabled")
    return redirect(request, f"/console/workflows/{workflow_id}")

