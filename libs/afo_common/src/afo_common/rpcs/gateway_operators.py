"""RPC contract of the platform's operators, served by the gateway (which owns users and sessions): ``afo operator
add|list|remove`` sends these on ``afo.rpc.gateway.operators.*`` as the NATS admin user. No service's NATS user may
publish there (``nats_security.permissions``: a service calls only the services it names, and none names the
gateway), so whoever can reach these holds the admin credential: the people who run the platform.

An operator is a user of the platform's own operations tenant with the ``operator`` role; no tenant can grant it
(docs/architecture.md, "Operators and the admin area")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs.pages import Page

SERVICE = "gateway"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddOperator(_Request):
    email: str = Field(min_length=3, max_length=254)


class RemoveOperator(_Request):
    email: str = Field(min_length=3, max_length=254)


class ListOperators(_Request):
    limit: int = Field(default=100, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=64)


class OperatorView(BaseModel):
    id: str
    email: str
    created_at: datetime


class OperatorAdded(BaseModel):
    operator: OperatorView
    password: str = Field(description="the operator's first password, generated: shown once, stored hashed")


ADD_OPERATOR = RpcOperation(SERVICE, "operators.add", AddOperator, OperatorAdded)
LIST_OPERATORS = RpcOperation(SERVICE, "operators.list", ListOperators, Page[OperatorView])
REMOVE_OPERATOR = RpcOperation(SERVICE, "operators.remove", RemoveOperator, OperatorView)

OPERATIONS: list[RpcOperation[Any, Any]] = [ADD_OPERATOR, LIST_OPERATORS, REMOVE_OPERATOR]
