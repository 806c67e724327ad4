"""Twilio's webhooks (form-encoded, signed with ``X-Twilio-Signature``): ``POST /twilio/sms`` answers empty
TwiML at once (the agent's reply goes out later as its own message), ``POST /twilio/voice`` answers TwiML that
streams the call to voice-media, ``POST /twilio/status`` takes delivery reports (``MessageSid``,
``MessageStatus``, ``ErrorCode``) and calls' status (``CallSid``, ``CallStatus``, ``CallDuration``). Set
``AFO_PUBLIC_URL`` to the address Twilio calls when the gateway is behind a proxy: the signature covers the URL
as Twilio saw it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from afo_gateway.entrypoints.http.dependencies import GatewayDep
from afo_gateway.entrypoints.http.openapi import problem_responses

router = APIRouter(prefix="/twilio", tags=["twilio"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# A bad or missing signature (403), a number no agent has (404), a form without what it needs (422), the
# tenant's allowance used up (429), the owning service unavailable or late.
_PROBLEMS = problem_responses(403, 404, 422, 429, 503, 504)


def called_url(request: Request) -> str:
    """The URL Twilio called: ``AFO_PUBLIC_URL`` with this path and query, else the request's own."""
    base: str | None = request.app.state.public_url
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}{request.url.path}{query}"


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/sms", response_class=Response, responses={200: {"content": {"application/xml": {}}}, **_PROBLEMS})
async def inbound_sms(request: Request, gw: GatewayDep) -> Response:
    """An SMS to one of the agents' numbers: recorded as the lead's message, answered with empty TwiML."""
    await gw.twilio.sms(called_url(request), await _form(request), request.headers.get("x-twilio-signature"))
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/voice", response_class=Response, responses={200: {"content": {"application/xml": {}}}, **_PROBLEMS})
async def inbound_call(request: Request, gw: GatewayDep) -> Response:
    """A call to one of the agents' numbers: TwiML connecting its audio to the agent."""
    twiml = await gw.twilio.voice(called_url(request), await _form(request), request.headers.get("x-twilio-signature"))
    return Response(twiml, media_type="application/xml")


@router.post("/status", status_code=204, response_class=Response, responses=_PROBLEMS)
async def delivery_status(request: Request, gw: GatewayDep,
                          tenant: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """A delivery report for a message notifier sent, or a call's status: recorded on the notification or call."""
    await gw.twilio.status(called_url(request), await _form(request), request.headers.get("x-twilio-signature"),
                           tenant)
    return Response(status_code=204)
