"""Inbound lead sources (speed to lead): ``POST/GET /v1/inbound-sources``, ``DELETE …/{id}``, and the endpoint
a form or a lead-ads tool posts to, ``POST /v1/inbound/{source_id}`` (JSON or form-encoded; authenticated by
the source's token or its Standard Webhooks signature, not by an API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from afo_common.rpcs.agent_runtime_channels import InboundLeadView
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.entrypoints.http.openapi import problem_responses
from afo_gateway.handlers.inbound_sources import SourceView

router = APIRouter(prefix="/v1", tags=["inbound"])
SourceId = Annotated[str, Path(max_length=64)]


class SourceBody(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    agent_id: str = Field(min_length=1, max_length=64)
    channel: Literal["sms", "email"] = Field(
        default="sms", description="how the agent reaches out first: sms (when the lead gave a phone) or email")
    auth: Literal["token", "signature"] = Field(
        default="token", description="token: Authorization: Bearer <secret> or ?token=; signature: Standard "
                                     "Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the secret")
    field_map: dict[str, Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=dict, max_length=20,
        description="our field -> the payload's key (dotted for nested JSON): name, first_name, last_name, email, "
                    "phone, company, message, external_id; unmapped ones are looked up under their common names")
    phone_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$",
                                     description="where a phone number without + is read (ISO 3166-1 alpha-2)")


class SourceOut(BaseModel):
    id: str
    name: str
    agent_id: str
    channel: str
    auth: str
    field_map: dict[str, str]
    phone_region: str | None
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, on create")


def _out(view: SourceView) -> SourceOut:
    return SourceOut.model_validate(view.__dict__)


@router.post("/inbound-sources", status_code=201, response_model=SourceOut)
async def create_source(body: SourceBody, principal: CurrentPrincipal, gw: GatewayDep) -> SourceOut:
    return _out(await gw.inbound.create(principal, body.name, body.agent_id, body.channel, body.auth,
                                        body.field_map, body.phone_region))


@router.get("/inbound-sources", response_model=Page[SourceOut])
async def list_sources(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                       cursor: Cursor = None) -> Page[SourceOut]:
    views, next_cursor = await gw.inbound.list(principal, limit, cursor)
    return Page[SourceOut](data=[_out(v) for v in views], next_cursor=next_cursor)


@router.delete("/inbound-sources/{source_id}", status_code=204)
async def delete_source(source_id: SourceId, principal: CurrentPrincipal, gw: GatewayDep) -> Response:
    await gw.inbound.delete(principal, source_id)
    return Response(status_code=204)


@router.post("/inbound/{source_id}", status_code=202, response_model=InboundLeadView,
             responses=problem_responses(401, 404, 415, 429, 503, 504))
async def submit_lead(source_id: SourceId, request: Request, gw: GatewayDep,
                      token: Annotated[str | None, Query(max_length=200)] = None) -> InboundLeadView:
    """A lead from a form: the conversation and lead are created and the agent writes to the lead first (by SMS,
    or email). The same lead again (same external id, or the same payload) answers with the first one
    (``created: false``)."""
    return await gw.inbound.submit(source_id, headers=request.headers, token=token, body=await request.body(),
                                   content_type=request.headers.get("content-type", ""))
