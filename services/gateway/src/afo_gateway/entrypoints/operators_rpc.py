"""The operators' RPC (``afo_common.rpcs.gateway_operators``): what ``afo operator add|list|remove`` asks, each
answered by ``handlers/operators.py``, its domain errors turned into typed RPC errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs.gateway_operators import (
    ADD_OPERATOR,
    LIST_OPERATORS,
    OPERATIONS,
    REMOVE_OPERATOR,
    AddOperator,
    ListOperators,
    OperatorAdded,
    OperatorView,
    RemoveOperator,
)
from afo_common.rpcs.pages import Page
from afo_common.service import Service
from afo_gateway.adapters.accounts_repository import UserRow
from afo_gateway.domain.errors import ApiProblem, Conflict, Invalid, NotFound
from afo_gateway.handlers.operators import Operators


def operator_view(user: UserRow) -> OperatorView:
    return OperatorView(id=user.id, email=user.email, created_at=user.created_at)


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except Invalid as exc:
            raise RpcError("invalid", exc.detail, exc.errors) from None
        except NotFound as exc:
            raise RpcError("not_found", exc.detail) from None
        except Conflict as exc:
            raise RpcError("conflict", exc.detail) from None
        except ApiProblem as exc:
            raise RpcError("internal", exc.detail) from None

    return call


def register_operators_rpc(service: Service, operators: Operators) -> None:
    async def add(request: AddOperator) -> OperatorAdded:
        user, password = await operators.add(request.email)
        return OperatorAdded(operator=operator_view(user), password=password)

    async def listed(request: ListOperators) -> Page[OperatorView]:
        rows = await operators.list(request.limit, request.cursor)
        return Page[OperatorView](data=[operator_view(r) for r in rows],
                                  next_cursor=rows[-1].id if len(rows) == request.limit else None)

    async def remove(request: RemoveOperator) -> OperatorView:
        return operator_view(await operators.remove(request.email))

    routes: list[RpcRoute] = [(ADD_OPERATOR, add), (LIST_OPERATORS, listed), (REMOVE_OPERATOR, remove)]
    service.serve_rpcs(OPERATIONS, routes, wrap=_mapped)
