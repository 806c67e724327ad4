"""The gateway's RPC operations: credentials resolved for platform services, one subject per caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from afo_common.messaging.rpc import RpcError
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential, ResolvedCredential
from afo_common.service import Service
from afo_gateway.domain.errors import ApiProblem, Forbidden, NotFound, VaultUnavailable
from afo_gateway.handlers.integrations import Integrations


def _resolver(integrations: Integrations, caller: str) -> Callable[[ResolveCredential],
                                                                  Awaitable[ResolvedCredential]]:
    async def resolve(request: ResolveCredential) -> ResolvedCredential:
        try:
            return await integrations.resolve(caller, request)
        except Forbidden as exc:
            raise RpcError("forbidden", exc.detail) from None
        except NotFound as exc:
            raise RpcError("not_found", exc.detail) from None
        except VaultUnavailable as exc:
            raise RpcError("unavailable", exc.detail) from None
        except ApiProblem as exc:
            raise RpcError("internal", exc.detail) from None

    return resolve


def register_rpc(service: Service, integrations: Integrations) -> None:
    for caller, op in RESOLVE_CREDENTIAL.items():
        service.serve_rpc(op, _resolver(integrations, caller))
