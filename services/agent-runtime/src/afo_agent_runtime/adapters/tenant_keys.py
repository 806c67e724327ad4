"""A tenant's own LLM key, resolved from the gateway's credential vault at the moment of use.

The vault answers over RPC on agent-runtime's own subject (``RESOLVE_CREDENTIAL["agent-runtime"]``). A
resolved key, or the absence of one, is kept for ``ttl_s`` so a turn does not pay a round trip: a key the
tenant changes or removes is used by every replica within that time. The key lives only in this cache and in
the request to the provider; it is never logged or put in an event."""

from __future__ import annotations

import logging

from cachetools import TTLCache

from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential

log = logging.getLogger(__name__)

SERVICE = "agent-runtime"
RESOLVE_TIMEOUT_S = 1.0


class KeyUnavailable(Exception):
    """The vault could not be asked (not answering, timed out, failed): whether the tenant has a key is unknown."""


class VaultTenantKeys:
    def __init__(self, rpc: RpcClient, ttl_s: float = 30.0, max_tenants: int = 10_000) -> None:
        self._rpc = rpc
        self._cache: TTLCache[str, str | None] = TTLCache(maxsize=max_tenants, ttl=ttl_s)

    async def openai_key(self, tenant_id: str) -> str | None:
        """The tenant's OpenAI-compatible API key, None when it has connected none."""
        if tenant_id in self._cache:
            return self._cache[tenant_id]
        request = ResolveCredential(tenant_id=tenant_id, provider="openai", purpose="agent reply")
        try:
            resolved = await self._rpc.call(RESOLVE_CREDENTIAL[SERVICE], request, timeout_s=RESOLVE_TIMEOUT_S)
            key: str | None = resolved.fields.get("api_key")
        except RpcError as exc:
            if exc.code != "not_found":
                raise KeyUnavailable(f"credential vault: {exc.code}") from exc
            key = None
        self._cache[tenant_id] = key
        return key


class NoTenantKeys:
    """No vault: every agent uses the operator's key (tests and tools wired without a gateway)."""

    async def openai_key(self, tenant_id: str) -> str | None:
        return None
