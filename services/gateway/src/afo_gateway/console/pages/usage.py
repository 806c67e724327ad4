"""Usage and plan: the tenant's plan, each of its limits with what was used this month (UTC) and a bar, and when
the monthly allowances start again. The same figures as ``GET /v1/usage``."""

from __future__ import annotations

from fastapi import Request, Response

from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router
from afo_gateway.console.session import CurrentViewer
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
LABELS = {"agents": "Agents", "knowledge_bytes": "Knowledge (stored documents)",
          "messages_per_month": "Messages this month", "voice_minutes_per_month": "Voice minutes this month",
          "concurrent_calls": "Calls at once", "requests_per_minute": "API requests per minute, per key"}
UNITS = ("bytes", "KB", "MB", "GB", "TB")


def amount(value: int | None, limit: str) -> str:
    """A figure as people read it: bytes in the largest unit that keeps it at or above one."""
    if value is None:
        return "—"
    if limit != "knowledge_bytes":
        return f"{value:,}"
    size, unit = float(value), 0
    while size >= 1024 and unit < len(UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{size:,.0f} {UNITS[unit]}" if unit == 0 else f"{size:,.1f} {UNITS[unit]}"


@router.get("/usage")
async def usage(request: Request, viewer: CurrentViewer) -> Response:
    report = await gateway(request).plans.usage(viewer.principal)
    return render(request, "usage.html", report=report, labels=LABELS, amount=amount)
