"""The audit log: who changed what in the tenant, newest first, filtered by action (a prefix), person or key and
days (UTC), a page at a time, with a link to the same entries as CSV (``GET /v1/audit/export``, which takes the
console's session). Owners and admins only (``Permission.READ_AUDIT``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router
from afo_gateway.console.session import CurrentViewer
from afo_gateway.domain.audit import EXPORT_MAX_ROWS, AuditQuery
from afo_gateway.domain.errors import Invalid
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
PAGE = 50
# What the action filter offers; any other prefix may be typed.
ACTIONS = ("agent.", "workflow.", "knowledge_base.", "document.", "webhook.", "apikey.", "user.", "integration.",
           "inbound_source.", "tenant.", "meeting.")
Text = Annotated[str, Query(max_length=80)]


def _day(value: str, name: str, *, after: bool = False) -> datetime | None:
    """A day of the form as the start of that day in UTC, or of the next one for ``until`` (its whole day counts)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not a date", [{"loc": ["query", name], "msg": "a date (YYYY-MM-DD)",
                                                  "type": "date_parsing"}]) from None
    return datetime.combine(day + timedelta(days=1 if after else 0), time(), UTC)


@router.get("/audit")
async def audit(request: Request, viewer: CurrentViewer, action: Text = "", actor: Text = "", since: Text = "",
                until: Text = "", cursor: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    query = AuditQuery(action=action or None, actor=actor or None, since=_day(since, "since"),
                       until=_day(until, "until", after=True))
    page = await gateway(request).audit.page(viewer.principal, query, PAGE, cursor)
    filters = {k: v for k, v in (("action", action), ("actor", actor), ("since", since), ("until", until)) if v}
    exported = {k: v for k, v in (("action", query.action), ("actor", query.actor),
                                  ("since", query.since and query.since.isoformat().replace("+00:00", "Z")),
                                  ("until", query.until and query.until.isoformat().replace("+00:00", "Z"))) if v}
    return render(request, "audit.html", page=page, form={"action": action, "actor": actor, "since": since,
                                                          "until": until},
                  actions=ACTIONS, more=urlencode({**filters, "cursor": page.next_cursor or ""}),
                  export_url="/v1/audit/export" + (f"?{urlencode(exported)}" if exported else ""),
                  export_max=EXPORT_MAX_ROWS)
