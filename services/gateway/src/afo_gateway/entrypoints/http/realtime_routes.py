"""``GET /v1/realtime``: a tenant's live feed over a WebSocket (``handlers/tenant_feed.py``).

Who, checked before anything is sent: ``Authorization: Bearer sk_…`` (an API client), or the console's session
cookie from a page of this gateway's own origin: the ``Origin`` header must name this gateway (its
``AFO_PUBLIC_URL``, or the host the request came to), so a page elsewhere cannot open the feed on a signed-in
user's cookie (cross-site WebSocket hijacking). A publishable key is refused: it opens one agent's web
conversations, not the tenant's feed. It needs the read permission, or the platform's (an operator).

What goes out, JSON text frames: ``{"type": "ready", "tenant_id": …}`` first, then the tenant's events as
they happen (``domain/live_feed.py``), ``keep_alive`` every 15 s when idle, ``pong`` for each
``{"type": "ping"}`` the client sends, and to operators ``health`` every 5 s and every tenant's anomalies. Nothing
else the client sends is read.

How it closes (the reason says more):
  4401  not authenticated; or, while open, the key was revoked or the session ended
  4403  not allowed (a publishable key, no read permission); or the user's role changed: connect again
  4429  too many requests with this key or session
  1008  a session cookie from a page of another origin
  4008  the client did not keep up: more than AFO_REALTIME_BACKLOG frames waited for it; connect again
        and catch up over the REST API (a client that reads nothing for AFO_REALTIME_CLOSE_WAIT_S after that
        does not get the close frame: its connection is dropped)
  1012  the gateway is restarting: connect again (another replica answers)"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from afo_gateway.domain.access import Permission, Principal, is_own_origin, require
from afo_gateway.domain.errors import ApiProblem, Forbidden, TooManyRequests, Unauthorized
from afo_gateway.domain.live_feed import PONG, ready_frame
from afo_gateway.entrypoints.http.dependencies import SESSION_COOKIE, Gateway
from afo_gateway.handlers.live_streams import DEMOTED, DRAINING, KEY_REVOKED, SESSION_ENDED, Ending
from afo_gateway.handlers.tenant_feed import OVERFLOWED, FeedSubscription

router = APIRouter(prefix="/v1")

UNAUTHENTICATED, FORBIDDEN, TOO_MANY, POLICY, SLOW_CONSUMER, RESTART = 4401, 4403, 4429, 1008, 4008, 1012
CLOSE_CODES: dict[Ending, int] = {DRAINING: RESTART, KEY_REVOKED: UNAUTHENTICATED, SESSION_ENDED: UNAUTHENTICATED,
                                  DEMOTED: FORBIDDEN, OVERFLOWED: SLOW_CONSUMER}
PING_MAX_CHARS = 256
_CLIENT_GONE = (WebSocketDisconnect, RuntimeError, OSError, TimeoutError)


class ForeignOrigin(Exception):
    """A session cookie sent from a page of another origin."""


@router.websocket("/realtime")
async def realtime(websocket: WebSocket) -> None:
    gw: Gateway = websocket.app.state.gateway
    try:
        principal = await _principal(websocket, gw)
        if not principal.can(Permission.VIEW_PLATFORM):  # an operator reads no tenant's, and listens all the same
            require(principal, Permission.READ)
    except (ApiProblem, ForeignOrigin) as refused:
        await _refuse(websocket, refused)
        return
    await websocket.accept()
    with gw.feed.open(principal) as subscription:
        await _relay(websocket, subscription)


async def _principal(websocket: WebSocket, gw: Gateway) -> Principal:
    scheme, _, credential = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        principal = await gw.auth.by_key(credential.strip())
    elif cookie := websocket.cookies.get(SESSION_COOKIE):
        if not _from_own_origin(websocket):
            raise ForeignOrigin("a session opens the feed only from a page of this gateway's origin")
        principal = await gw.auth.by_session(cookie)
    else:
        raise Unauthorized("send 'Authorization: Bearer <secret key>' or log in")
    if principal is None:
        raise Unauthorized("the key or session is not valid")
    if principal.is_publishable:
        raise Forbidden("a publishable key opens its agent's conversations, not the tenant's feed")
    await gw.throttle.request(principal)
    return principal


def _from_own_origin(websocket: WebSocket) -> bool:
    """A browser always sends Origin with a WebSocket; a page of ours is on http(s) where the socket is ws(s)."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    return is_own_origin(origin, host=websocket.headers.get("host", ""),
                         scheme="https" if websocket.url.scheme == "wss" else "http",
                         public_url=websocket.app.state.public_url)


async def _refuse(websocket: WebSocket, refused: Exception) -> None:
    """Accepted, then closed with the code that says why: a browser sees no HTTP status of a refused
    handshake, only a close code."""
    match refused:
        case ForeignOrigin():
            code = POLICY
        case Unauthorized():
            code = UNAUTHENTICATED
        case TooManyRequests():
            code = TOO_MANY
        case _:
            code = FORBIDDEN
    with contextlib.suppress(*_CLIENT_GONE):
        await websocket.accept()
        await websocket.close(code, _reason(str(refused)))


async def _relay(websocket: WebSocket, subscription: FeedSubscription) -> None:
    """Frames out as they come, until the client leaves or the subscription ends; then, in the second case,
    the close frame, even while a write to a client that stopped reading is still pending."""
    await websocket.send_text(ready_frame(subscription.principal.tenant_id).text)
    sender = asyncio.create_task(_send(websocket, subscription))
    receiver = asyncio.create_task(_receive(websocket, subscription))
    try:
        await asyncio.wait((sender, receiver, subscription.ended), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
    if subscription.ended.done():
        ending = subscription.ended.result()
        with contextlib.suppress(*_CLIENT_GONE):
            # A close frame to a client that does not read waits for room to write it; past this it is let go.
            await asyncio.wait_for(websocket.close(CLOSE_CODES.get(ending, RESTART), _reason(ending.reason)),
                                   websocket.app.state.realtime_close_wait_s)


async def _send(websocket: WebSocket, subscription: FeedSubscription) -> None:
    with contextlib.suppress(*_CLIENT_GONE):
        while True:
            for frame in await subscription.next_frames():
                await websocket.send_text(frame.text)


async def _receive(websocket: WebSocket, subscription: FeedSubscription) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is not None and len(text) <= PING_MAX_CHARS and _is_ping(text):
            subscription.deliver(PONG)


def _is_ping(text: str) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == "ping"


def _reason(text: str) -> str:
    """A close reason is at most 123 bytes."""
    return text.encode()[:123].decode(errors="ignore")
