"""RPC contracts of the gateway, the owner of the credential vault.

A service resolves a tenant's provider credentials on its own subject,
``afo.rpc.gateway.credentials.resolve.<service>``: requests carry no trustworthy caller, so the caller is the
subject, and NATS permissions (``nats_security.permissions``) let each service publish only its own. The
gateway answers a provider outside ``PROVIDERS_OF[service]`` with ``forbidden``, and a provider the tenant has
not configured with ``not_found``. The plaintext exists only in the reply, never in an event or a log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.vault import PROVIDERS_OF, VAULT_OWNER, resolve_operation_name

SERVICE = VAULT_OWNER
__all__ = ["OPERATIONS", "PROVIDERS_OF", "RESOLVE_CREDENTIAL", "ResolveCredential", "ResolvedCredential",
           "resolve_operation_name"]


class ResolveCredential(TenantRequest):
    provider: str = Field(min_length=1, max_length=40)
    purpose: str | None = Field(default=None, max_length=200)  # for the gateway's audit, free text


class ResolvedCredential(BaseModel):
    provider: str
    fields: dict[str, str]
    key_id: str


# One operation per calling service, each on its own subject.
RESOLVE_CREDENTIAL: dict[str, RpcOperation[ResolveCredential, ResolvedCredential]] = {
    caller: RpcOperation(SERVICE, resolve_operation_name(caller), ResolveCredential, ResolvedCredential)
    for caller in PROVIDERS_OF
}

OPERATIONS: list[RpcOperation[Any, Any]] = list(RESOLVE_CREDENTIAL.values())
