"""Analytics: the page a sales lead opens on Monday — the funnel as numbers and a chart, containment, latency,
the questions the documents did not answer — for a period, an agent and a channel; the same summary as the
API's (``handlers/analytics.py``), and its CSV from ``/v1/analytics/summary.csv`` with the same filters.

The chart is drawn by ``static/analytics.js`` (uPlot) from a JSON data block, which the page's CSP allows as it
is never executed; a table holds the same numbers for screen readers and without scripts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, cast, get_args
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from afo_common.events.conversation import Channel
from afo_common.rpcs.analytics import Granularity
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router
from afo_gateway.console.session import CurrentViewer
from afo_gateway.domain.analytics import AnalyticsSummary
from afo_gateway.domain.errors import Invalid
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
CHANNELS: tuple[str, ...] = get_args(Channel)
GRANULARITIES: tuple[str, ...] = get_args(Granularity)
Field = Annotated[str, Query(max_length=64)]


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    """A select's value: blank is "all", anything else one of ``allowed``."""
    if not value:
        return None
    if value not in allowed:
        raise Invalid(f"{name} is one of {', '.join(allowed)}")
    return value


def chart_data(summary: AnalyticsSummary) -> dict[str, Any]:
    series = summary.funnel.series
    return {"periods": [p.start.isoformat() for p in series], "conversations": [p.conversations for p in series],
            "qualified": [p.qualified for p in series], "booked": [p.booked for p in series]}


@router.get("/analytics")
async def analytics(request: Request, viewer: CurrentViewer,
                    start: Annotated[str, Query(alias="from", max_length=40)] = "",
                    end: Annotated[str, Query(alias="to", max_length=40)] = "",
                    agent_id: Field = "", channel: Field = "", granularity: Field = "day") -> Response:
    gw = gateway(request)
    agents = await gw.catalog.agents(viewer.principal, 100, None)
    form = {"from": start, "to": end, "agent_id": agent_id, "channel": channel, "granularity": granularity}
    context: dict[str, Any] = {"agents": agents.data, "channels": CHANNELS, "granularities": GRANULARITIES,
                               "form": form}
    try:
        summary = await gw.analytics.summary(
            viewer.principal, start or None, end or None, agent_id or None,
            cast(Channel | None, _choice("channel", channel, CHANNELS)),
            cast(Granularity, _choice("granularity", granularity, GRANULARITIES) or "day"))
    except Invalid as problem:
        return render(request, "analytics.html", problem.status, error=problem.detail, summary=None, **context)
    csv_query = urlencode({k: v for k, v in form.items() if v})
    # The form shows the period it shows, also when it was the default one.
    form["from"] = form["from"] or summary.period.start.date().isoformat()
    form["to"] = form["to"] or (summary.period.end - timedelta(microseconds=1)).date().isoformat()
    return render(request, "analytics.html", summary=summary, chart=chart_data(summary),
                  csv_url=f"/v1/analytics/summary.csv{'?' + csv_query if csv_query else ''}", **context)
