"""An agent's tests: scripted conversations with what must hold after them, written here (the lead's turns one
per line, the expectations as simple inputs), run against the agent's current settings, and the latest run's
results with each test's transcript. Publishing waits for them (``agents.py``)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request, Response

from afo_common.rpcs.agent_tests import MAX_TURN_CHARS, MAX_TURNS, AgentTestSpec
from afo_gateway.console.forms import lines, posted, text, validated
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.errors import ApiProblem
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
PAGE = 100
_LIST = re.compile(r"[\s,]+")


def _expectations(form: Any) -> list[dict[str, Any]]:
    """The form's inputs as expectations: a filled text input or a ticked box each adds one."""
    expected: list[dict[str, Any]] = []
    if fields := [f for f in _LIST.split(text(form, "fields_filled", max_length=1000)) if f]:
        expected.append({"type": "fields_filled", "fields": fields})
    for box in ("meeting_requested", "handoff_offered", "opt_out_respected"):
        if text(form, box, max_length=8) == "on":
            expected.append({"type": box})
    if document := text(form, "cites_document", max_length=200):
        expected.append({"type": "cites_document", "document": document})
    if needle := text(form, "reply_contains", max_length=200):
        expected.append({"type": "reply_contains", "text": needle})
    return expected


async def _page(request: Request, viewer: Viewer, agent_id: str, status: int = 200, **extra: Any) -> Response:
    gw = gateway(request)
    agent = await gw.catalog.agent(viewer.principal, agent_id)
    tests = await gw.agent_tests.tests(viewer.principal, agent_id, PAGE, None)
    runs = await gw.agent_tests.runs(viewer.principal, agent_id, 1, None)
    run = await gw.agent_tests.run_detail(viewer.principal, agent_id, runs.data[0].id) if runs.data else None
    extra.setdefault("form", {})
    extra.setdefault("request_id", str(uuid.uuid4()))
    return render(request, "agents/tests.html", status, agent=agent, spec=agent.spec, tests=tests.data, run=run,
                  max_turns=MAX_TURNS, max_turn_chars=MAX_TURN_CHARS, **extra)


@router.get("/agents/{agent_id}/tests")
async def tests_page(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    return await _page(request, viewer, agent_id)


@router.post("/agents/{agent_id}/tests")
async def add_test(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    form = await posted(request)
    values = {name: text(form, name, max_length=20_000) for name in (
        "name", "channel", "turns", "fields_filled", "cites_document", "reply_contains")}
    values.update({box: text(form, box, max_length=8) for box in (
        "meeting_requested", "handoff_offered", "opt_out_respected")})
    try:
        test = validated(AgentTestSpec, name=values["name"], channel=values["channel"] or "text",
                         turns=lines(form, "turns", max_length=20_000), expectations=_expectations(form))
        await gateway(request).agent_tests.create(viewer.principal, agent_id, test,
                                                  text(form, "request_id", max_length=64) or str(uuid.uuid4()))
    except ApiProblem as problem:
        return await _page(request, viewer, agent_id, problem.status, form=values, error=problem.detail,
                           request_id=text(form, "request_id", max_length=64) or str(uuid.uuid4()))
    return redirect(request, f"/console/agents/{agent_id}/tests")


@router.post("/agents/{agent_id}/tests/run")
async def run_tests(request: Request, viewer: CurrentViewer, agent_id: str) -> Response:
    try:
        await gateway(request).agent_tests.run(viewer.principal, agent_id)
    except ApiProblem as problem:
        return await _page(request, viewer, agent_id, problem.status, error=problem.detail)
    return redirect(request, f"/console/agents/{agent_id}/tests#results")


@router.post("/agents/{agent_id}/tests/{test_id}/delete")
async def delete_test(request: Request, viewer: CurrentViewer, agent_id: str, test_id: str) -> Response:
    await gateway(request).agent_tests.delete(viewer.principal, agent_id, test_id)
    return redirect(request, f"/console/agents/{agent_id}/tests")
