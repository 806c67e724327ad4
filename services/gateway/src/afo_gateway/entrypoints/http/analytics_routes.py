"""Analytics: the funnel (conversations → qualified → booked) by period, channel and agent, containment, reply
and voice latency, and the questions the documents did not answer — each computed by the service that owns
the facts; the funnel series also as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from afo_common.events.conversation import Channel
from afo_common.rpcs.analytics import Granularity
from afo_gateway.domain.analytics import AnalyticsSummary, csv_filename, funnel_csv
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

From = Annotated[str | None, Query(alias="from", max_length=40, description=(
    "first day (YYYY-MM-DD, in `tz`) or moment (ISO 8601); default: 29 days before `to`"))]
To = Annotated[str | None, Query(alias="to", max_length=40, description=(
    "last day, included (YYYY-MM-DD, in `tz`), or the exclusive end (ISO 8601); default: today; at most 366 days "
    "after `from`"))]
Tz = Annotated[str | None, Query(alias="tz", max_length=64, description=(
    "IANA time zone whose days and weeks the period and its series are made of; default: the tenant's"))]
AgentId = Annotated[str | None, Query(max_length=64)]


@router.get("/summary", response_model=AnalyticsSummary)
async def summary(principal: CurrentPrincipal, gw: GatewayDep, start: From = None, end: To = None,
                  agent_id: AgentId = None, channel: Channel | None = None,
                  granularity: Granularity = "day", time_zone: Tz = None) -> AnalyticsSummary:
    """The funnel of conversations started in the period (how many qualified, booked a meeting, were handed off),
    per day or week (the tenant's time zone unless `tz` says otherwise; weeks start on Monday), per channel and
    per agent; containment; reply latency p50/p95;
    voice latency p50/p95 per step of a call's turn; the ten questions asked most that the documents did not
    answer. A service that did not answer is named in `unavailable`, its numbers left empty."""
    return await gw.analytics.summary(principal, start, end, agent_id, channel, granularity, time_zone)


@router.get("/summary.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def summary_csv(principal: CurrentPrincipal, gw: GatewayDep, start: From = None, end: To = None,
                      agent_id: AgentId = None, channel: Channel | None = None,
                      granularity: Granularity = "day", time_zone: Tz = None) -> Response:
    """The funnel series of the same summary as CSV, one row per period: `period_start, conversations,
    qualified, booked, handed_off, contained, qualified_rate, booked_rate, containment_rate`."""
    found = await gw.analytics.summary(principal, start, end, agent_id, channel, granularity, time_zone)
    return Response(funnel_csv(found), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{csv_filename(found)}"'})
