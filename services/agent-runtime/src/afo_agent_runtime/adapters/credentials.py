"""A tenant's own OpenAI-compatible key, resolved from the gateway's credential vault over RPC
(``afo.rpc.gateway.credentials.resolve.agent-runtime``, the one subject NATS lets agent-runtime ask on).

Asked at the moment of use and kept ``ttl_s`` in this process (a key rotated in the vault reaches the
turns within that), a tenant without one too: then the operator's key (``AFO_LLM_API_KEY``) serves, as
before the vault. A vault that does not answer gives None for this call only (not cached): the operator's
key serves this turn. The key lives in memory only; it is never logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT_S = 1.0
TTL_S = 60.0
MAX_TENANTS = 10_000


@dataclass(frozen=True)
class OpenAIKey:
    api_key: str
    base_url: str | None = None

    def __repr__(self) -> str:  # never print the key
        return f"OpenAIKey(base_url={self.base_url!r})"


class VaultOpenAIKeys:
    def __init__(self, rpc: RpcClient, *, timeout_s: float = RESOLVE_TIMEOUT_S, ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rpc = rpc
        self._timeout_s = timeout_s
        self._cache: TTLCache[str, OpenAIKey | None] = TTLCache(MAX_TENANTS, ttl_s, timer=clock)

    async def openai(self, tenant_id: str) -> OpenAIKey | None:
        if tenant_id in self._cache:
            return self._cache[tenant_id]
        try:
            fields = await resolve_credential(self._rpc, "agent-runtime", tenant_id, "openai",
                                              "agent replies and analysis", self._timeout_s)
            key = OpenAIKey(fields["api_key"], fields.get("base_url") or None) if fields is not None else None
        except RpcError as exc:
            log.warning("the vault did not resolve tenant %s's openai key (%s); the operator's key serves",
                        tenant_id, exc.code)
            return None
        except KeyError:
            log.warning("tenant %s's openai credential has no api_key; the operator's key serves", tenant_id)
            key = None
        self._cache[tenant_id] = key
        return key
