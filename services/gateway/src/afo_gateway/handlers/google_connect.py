"""Connecting a tenant's Google Calendar: the consent URL, then the callback that stores the tokens in the
vault (``domain/google_oauth.py`` has the flow and why the ``state`` is what it is)."""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol

from afo_common.clock import Clock
from afo_gateway.adapters.oauth_states_repository import OAuthStateRow
from afo_gateway.domain.access import Permission, Principal, hash_secret, require
from afo_gateway.domain.errors import OAuthNotConfigured, OAuthRefused, OAuthStateInvalid, ProviderFailed
from afo_gateway.domain.google_oauth import (
    CONSENT_URL,
    STATE_TTL,
    OAuthClient,
    connected_fields,
    consent_url,
    grants_calendar,
)
from afo_gateway.handlers.integrations import Integrations, IntegrationView
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)
PROVIDER = "google"


class TokenExchange(Protocol):
    async def exchange(self, client: OAuthClient, code: str, redirect_uri: str) -> dict[str, Any]: ...


class GoogleConnect:
    def __init__(self, store: Store, integrations: Integrations, tokens: TokenExchange, clock: Clock,
                 platform_client: OAuthClient | None = None, consent_base: str = CONSENT_URL) -> None:
        self._store = store
        self._integrations = integrations
        self._tokens = tokens
        self._clock = clock
        self._platform_client = platform_client
        self._consent_base = consent_base

    async def _client(self, tenant_id: str) -> OAuthClient:
        """The tenant's own OAuth client when its google record has one, else the platform's."""
        stored = await self._integrations.fields(tenant_id, PROVIDER) or {}
        if stored.get("client_id") and stored.get("client_secret"):
            return OAuthClient(str(stored["client_id"]), str(stored["client_secret"]))
        if self._platform_client is None:
            raise OAuthNotConfigured("no Google OAuth client: the platform sets AFO_GOOGLE_CLIENT_ID and "
                                     "AFO_GOOGLE_CLIENT_SECRET, or PUT /v1/integrations/google {client_id, "
                                     "client_secret} first")
        return self._platform_client

    async def start(self, principal: Principal, redirect_uri: str) -> str:
        """Google's consent URL, with a new single-use ``state`` for the principal's tenant."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        client = await self._client(principal.tenant_id)
        state = secrets.token_urlsafe(32)
        row = OAuthStateRow(hash_secret(state), principal.tenant_id, PROVIDER, principal.subject_id, redirect_uri,
                            self._clock.now() + STATE_TTL)
        async with self._store() as uow:
            await uow.oauth_states.add(row)
        return consent_url(client, redirect_uri, state, self._consent_base)

    async def finish(self, state: str | None, code: str | None, error: str | None) -> IntegrationView:
        """Google's redirect back: the ``state`` names the tenant (once, and for 10 minutes); the code becomes
        tokens in the tenant's google record."""
        async with self._store() as uow:
            row = await uow.oauth_states.take(hash_secret(state)) if state else None
        if row is None or row.provider != PROVIDER or row.expires_at <= self._clock.now():
            raise OAuthStateInvalid("the connection link is unknown, used or expired: start again from "
                                    "GET /v1/integrations/google/connect")
        if error or not code:
            raise OAuthRefused(f"Google did not grant access ({(error or 'no code')[:60]})")
        client = await self._client(row.tenant_id)
        tokens = await self._tokens.exchange(client, code, row.redirect_uri)
        if not grants_calendar(tokens):
            raise OAuthRefused("access to Google Calendar was not granted: connect again and allow it")
        existing = await self._integrations.fields(row.tenant_id, PROVIDER) or {}
        fields = connected_fields(existing, client, tokens, self._clock.now())
        if not fields.get("refresh_token"):
            raise ProviderFailed("Google issued no refresh token: connect again")
        view = await self._integrations.write(row.tenant_id, row.subject_id, PROVIDER, fields, "integration.connect")
        log.info("google connected for %s", row.tenant_id)
        return view

    async def purge(self) -> None:
        async with self._store() as uow:
            purged = await uow.oauth_states.purge(self._clock.now())
        if purged:
            log.info("purged %d unfinished OAuth consents", purged)
