"""Request-scoped pieces every route takes: the gateway's handlers and the calling principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from afo_common.logs import log_tenant
from afo_gateway.domain.access import STREAM_TOKEN_PREFIX, Principal, key_kind_of
from afo_gateway.domain.errors import Forbidden, Unauthorized
from afo_gateway.handlers.accounts import SESSION_DAYS, Accounts
from afo_gateway.handlers.agent_tests import AgentTests
from afo_gateway.handlers.analytics import Analytics
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.calls import Calls
from afo_gateway.handlers.catalog import Catalog
from afo_gateway.handlers.dead_letters import DeadLetters
from afo_gateway.handlers.documents import Documents
from afo_gateway.handlers.event_credentials import EventCredentials
from afo_gateway.handlers.google_connect import GoogleConnect
from afo_gateway.handlers.inbound_sources import InboundSources
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.knowledge import KnowledgeBases
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.meetings import Meetings
from afo_gateway.handlers.messages import Messages
from afo_gateway.handlers.notifications import Notifications
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.phone_numbers import PhoneNumbers
from afo_gateway.handlers.plans import Plans
from afo_gateway.handlers.platform_admin import PlatformAdmin
from afo_gateway.handlers.replays import Replays
from afo_gateway.handlers.stream_tokens import StreamTokens
from afo_gateway.handlers.tenant_feed import TenantFeed
from afo_gateway.handlers.throttle import Throttle
from afo_gateway.handlers.twilio_webhooks import TwilioWebhooks
from afo_gateway.handlers.webhooks import Webhooks
from afo_gateway.handlers.widget import Widget

SESSION_COOKIE = "afo_session"


@dataclass(frozen=True)
class Gateway:
    accounts: Accounts
    keys: Keys
    owners: Owners
    messages: Messages
    catalog: Catalog
    auth: Authenticator
    replays: Replays
    throttle: Throttle
    stream_tokens: StreamTokens
    streams: LiveStreams
    feed: TenantFeed
    event_credentials: EventCredentials
    integrations: Integrations
    knowledge: KnowledgeBases
    documents: Documents
    max_upload_bytes: int
    google: GoogleConnect
    meetings: Meetings
    notifications: Notifications
    calls: Calls
    webhooks: Webhooks
    phone_numbers: PhoneNumbers
    twilio: TwilioWebhooks
    inbound: InboundSources
    widget: Widget
    analytics: Analytics
    agent_tests: AgentTests
    plans: Plans
    admin: PlatformAdmin
    dead_letters: DeadLetters
    audit: AuditTrail
    google_redirect_uri: str | None = None


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def set_session_cookie(request: Request, response: Response, token: str) -> Response:
    """The console session's cookie, as long-lived as the session: a login over the API or the console's form."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=SESSION_DAYS * 86400)
    return response


def public_base_url(request: Request) -> str:
    """Where browsers and providers reach this gateway: ``AFO_PUBLIC_URL``, else the address of this request."""
    configured: str | None = request.app.state.public_url
    return configured or str(request.base_url)


def client_address(request: Request) -> str:
    """The caller's address; behind a proxy listed in AFO_FORWARDED_ALLOW_IPS, the one it forwarded."""
    return request.client.host if request.client else "unknown"


async def _admit(request: Request, principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("the key or session is not valid")
    if principal.is_publishable and not principal.may_use_origin(request.headers.get("origin")):
        raise Forbidden("this publishable key is not allowed from this origin")
    await gateway(request).throttle.request(principal)
    log_tenant(principal.tenant_id)
    return principal


async def current_principal(request: Request) -> Principal:
    auth = gateway(request).auth
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        return await _admit(request, await auth.by_key(credential.strip()))
    if cookie := request.cookies.get(SESSION_COOKIE):
        return await _admit(request, await auth.by_session(cookie))
    raise Unauthorized("send 'Authorization: Bearer <key>' or log in")


# Ids in a path that go on to another service's RPC, bounded as its request is (a longer one is a 422 here,
# not a request the RPC's own model refuses: a 500).
ConversationId = Annotated[str, Path(max_length=64)]
LeadId = Annotated[str, Path(max_length=64)]


async def stream_principal(
    request: Request,
    conversation_id: ConversationId,
    access_token: Annotated[str | None, Query(
        description="for EventSource, which cannot set headers: a publishable key (pk_…) or a stream token "
                    "(st_…) from POST /v1/conversations/{id}/stream-token; never a secret key or session")] = None,
) -> Principal:
    if access_token is None:
        return await current_principal(request)
    gw = gateway(request)
    if access_token.startswith(STREAM_TOKEN_PREFIX):
        return await _admit(request, await gw.stream_tokens.redeem(access_token, conversation_id))
    if key_kind_of(access_token) == "publishable":
        return await _admit(request, await gw.auth.by_key(access_token))
    raise Unauthorized("a secret key or session token does not belong in a URL: send it in the Authorization "
                       "header or the session cookie, or get a stream token from "
                       "POST /v1/conversations/{id}/stream-token and pass that as ?access_token=")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
StreamPrincipal = Annotated[Principal, Depends(stream_principal)]
async def _gateway(request: Request) -> Gateway:
    # Dependencies are coroutines on purpose: FastAPI runs a plain function in a worker thread, a thread
    # hop on every request (measured: about a tenth of the gateway's CPU per message).
    return gateway(request)


GatewayDep = Annotated[Gateway, Depends(_gateway)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64)]
