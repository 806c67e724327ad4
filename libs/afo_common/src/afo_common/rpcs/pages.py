"""Cursor pagination shared by every list RPC and the public API: ``{data, next_cursor}``."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from afo_common.messaging.rpc import TenantRequest

T = TypeVar("T")


class PageRequest(TenantRequest):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=64)


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
