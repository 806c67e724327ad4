"""Creates that carry a request id happen once: a retry (after the caller timed out) answers with what the
first attempt made. Inside the create's transaction the handler looks the id up first; two attempts that
race past that lookup (PostgreSQL) meet the unique (tenant, request id) constraint, which the repository
reports as ``AlreadyCreated``, and the loser answers with the winner's row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from afo_agent_runtime.domain.errors import AlreadyCreated

T = TypeVar("T")


async def created_once(request_id: str | None, create: Callable[[], Awaitable[T]],
                       made_by_request: Callable[[str], Awaitable[T | None]]) -> T:
    try:
        return await create()
    except AlreadyCreated:
        if not request_id:
            raise
        made = await made_by_request(request_id)
        if made is None:
            raise
        return made
