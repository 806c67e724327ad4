"""The NATS auth callout: nats-server asks, on ``$SYS.REQ.USER.AUTH``, about every connection that is not
one of the platform's own users; the gateway answers with a user JWT that may only subscribe to the
credential's tenant's events, or with a refusal."""

from __future__ import annotations

import logging
import time

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from afo_common.messaging.connection import NatsConnection
from afo_common.nats_security.jwt import AuthorizationRequest, InvalidJwt, authorization_response, user_jwt
from afo_common.nats_security.permissions import AUTH_CALLOUT_SUBJECT, integrator_permissions
from afo_gateway.handlers.event_credentials import EventCredentials

log = logging.getLogger(__name__)


class AuthCallout:
    def __init__(self, nats: NatsConnection, credentials: EventCredentials, issuer_seed: str, ttl_s: float) -> None:
        self._nats = nats
        self._credentials = credentials
        self._issuer_seed = issuer_seed
        self._ttl_s = ttl_s
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        # One queue group: each request is answered by one gateway replica.
        self._subscription = await self._nats.client.subscribe(AUTH_CALLOUT_SUBJECT, queue="gateway",
                                                                cb=self._on_request)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _on_request(self, msg: Msg) -> None:
        try:
            request = AuthorizationRequest.from_jwt(msg.data.decode())
        except (InvalidJwt, UnicodeDecodeError) as exc:
            log.warning("ignored an auth callout request that is not a valid server JWT: %s", exc)
            return  # unanswered, the server refuses the connection when its auth timeout passes
        try:
            admission = await self._credentials.admit(request.user, request.password)
        except Exception:
            log.exception("auth callout failed for %r", request.user)
            admission = None
        if admission is None:
            log.info("NATS connection from %s as %r refused", request.client_host, request.user)
            reply = authorization_response(request, self._issuer_seed, error="unknown or revoked credential")
        else:
            token = user_jwt(request, admission.credential_id, integrator_permissions(admission.tenant_id),
                             self._issuer_seed, time.time() + self._ttl_s, tags=(f"tenant:{admission.tenant_id}",))
            reply = authorization_response(request, self._issuer_seed, user=token)
        await msg.respond(reply)
