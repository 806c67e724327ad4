"""Workflow proposals from the tenant's own LLM (any OpenAI-compatible endpoint, on the openai SDK).

The tenant's ``openai`` credential (``api_key``, optional ``base_url``) is resolved from the gateway's vault at
the moment of use (``afo_common.credentials.resolve_credential``). The model, ``DEFAULT_MODEL``, is asked to
call one tool, ``propose_workflow``, whose parameters are ``WorkflowSpec``'s JSON schema; its arguments are
validated against the same model, and a proposal that does not fit — not JSON, no tool call, a field or
value the schema does not allow — is refused with the reasons (nothing is created). A tenant without the
credential, or an LLM that cannot be reached, gives None: the embedded compiler compiles instead. The LLM is
given 3.5 s (no retry): the create is one RPC, and the gateway waits for it ``rpc_timeout_s`` (5 s)."""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from pydantic import ValidationError

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_common.telemetry import answered, provider_span
from afo_workflow_executor.domain.workflows_compiler import Refused

log = logging.getLogger(__name__)
DEFAULT_MODEL = "gpt-4o-mini"
TOOL = "propose_workflow"
SYSTEM = (
    "You turn a sales team's instruction into a workflow for the AFO platform. Call propose_workflow once with "
    "the trigger (the event that starts it), the conditions (fields: event.<name> for the event's own fields, "
    "lead.<name> for the lead's qualification fields such as lead.budget; amounts as plain numbers) and the "
    "actions in order. 'me' is the tenant's own notification contact; 'lead' is the lead. Never invent a "
    "trigger, action or field the schema does not allow.")


def tool_schema() -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": TOOL, "description": "The workflow the instruction describes.",
        "parameters": WorkflowSpec.model_json_schema()}}


def validated(arguments: str) -> WorkflowSpec | Refused:
    """The proposal as a ``WorkflowSpec``, or refused with what does not fit."""
    try:
        return WorkflowSpec.model_validate_json(arguments)
    except ValidationError as exc:
        reasons = tuple(f"{'.'.join(str(p) for p in e['loc']) or 'proposal'}: {e['msg']}"
                        for e in exc.errors())[:10]
        return Refused((), tuple(f"the LLM's proposal is invalid: {r}" for r in reasons))


class OpenAIProposals:
    def __init__(self, rpc: RpcClient, *, timeout_s: float = 3.5, resolve_timeout_s: float = 1.0) -> None:
        self._rpc = rpc
        self._resolve_timeout_s = resolve_timeout_s
        self._http = DefaultAsyncHttpxClient(timeout=openai.Timeout(timeout_s, connect=5.0), follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fields(self, tenant_id: str) -> dict[str, str] | None:
        try:
            return await resolve_credential(self._rpc, "workflow-executor", tenant_id, "openai",
                                            "compiling workflows", self._resolve_timeout_s)
        except RpcError as exc:
            log.warning("the vault did not resolve tenant %s's openai key (%s): embedded compiler", tenant_id,
                        exc.code)
            return None

    async def propose(self, tenant_id: str, instruction: str) -> WorkflowSpec | Refused | None:
        fields = await self._fields(tenant_id)
        if not fields or not fields.get("api_key"):
            return None
        return await propose_with(self._http, fields, instruction)


async def propose_with(http: DefaultAsyncHttpxClient, fields: dict[str, str],
                       instruction: str) -> WorkflowSpec | Refused | None:
    """One proposal from the endpoint ``fields`` name; None when it cannot be reached."""
    client = AsyncOpenAI(api_key=fields["api_key"], base_url=fields.get("base_url") or None, http_client=http,
                         max_retries=0)
    try:
        request: dict[str, Any] = {
            "model": DEFAULT_MODEL, "temperature": 0,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": instruction}],
            "tools": [tool_schema()], "tool_choice": {"type": "function", "function": {"name": TOOL}}}
        with provider_span("llm", "POST", str(client.base_url)) as span:
            try:
                completion = await client.chat.completions.create(**request)
            except openai.APIStatusError as exc:
                answered(span, exc.status_code)
                raise
            answered(span, 200)
    except openai.APIError as exc:
        log.warning("the tenant's LLM did not propose a workflow (%s): embedded compiler", type(exc).__name__)
        return None
    message = completion.choices[0].message if completion.choices else None
    calls = [c for c in (message.tool_calls or []) if c.type == "function"] if message else []
    if not calls or calls[0].function.name != TOOL:
        return Refused((), ("the LLM's proposal is invalid: it did not call propose_workflow",))
    arguments = calls[0].function.arguments
    try:
        json.loads(arguments)
    except ValueError:
        return Refused((), ("the LLM's proposal is invalid: its arguments are not JSON",))
    return validated(arguments)
