"""The answers of booking requests that failed, by request id. Every method is scoped to one tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_workflow_executor.adapters.tables import meeting_failures


class FailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, request_id: str) -> dict[str, Any] | None:
        result = await self._session.execute(
            select(meeting_failures.c.answer).where(meeting_failures.c.tenant_id == tenant_id,
                                                    meeting_failures.c.request_id == request_id))
        answer = result.scalar_one_or_none()
        return dict(answer) if answer is not None else None

    async def add(self, tenant_id: str, request_id: str, answer: dict[str, Any], now: datetime) -> None:
        await self._session.execute(insert(meeting_failures).values(
            tenant_id=tenant_id, request_id=request_id, answer=answer, created_at=now))
