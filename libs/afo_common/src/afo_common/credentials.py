"""A tenant's provider credentials, resolved from the gateway's vault at the moment of use, the one way every
service asks: on its own subject (``rpcs.gateway.RESOLVE_CREDENTIAL[caller]``), ``not_found`` meaning the
tenant has connected none. The fields exist only in the reply and the caller's memory; never log them."""

from __future__ import annotations

from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential


async def resolve_credential(rpc: RpcClient, caller: str, tenant_id: str, provider: str, purpose: str,
                             timeout_s: float | None = None) -> dict[str, str] | None:
    """The tenant's fields for ``provider``, None when it has connected none; every other failure (no gateway
    answering, a timeout, ``forbidden``) raises the ``RpcError``."""
    request = ResolveCredential(tenant_id=tenant_id, provider=provider, purpose=purpose)
    try:
        resolved = await rpc.call(RESOLVE_CREDENTIAL[caller], request, timeout_s=timeout_s)
    except RpcError as exc:
        if exc.code == "not_found":
            return None
        raise
    return resolved.fields
