"""AFO / Conversations funnel: conversations started → replies → leads qualified → meetings booked, by channel,
and how long replies take."""

from __future__ import annotations

from typing import Any

from panels import RATE, SVC, Layout, dashboard, quantiles, ratio, stat, targets, timeseries

# The funnel's steps count over the dashboard's time range, so the stats read as "in this period".
RANGE = "$__range"


def build() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = [lay.row("Funnel (time range)")]
    panels += [
        stat(lay, "Conversations started", f"sum(increase(afo_conversations_started_total[{RANGE}]))", "short",
             ((None, "blue"),)),
        stat(lay, "Messages answered", f"sum(increase(afo_replies_total[{RANGE}]))", "short", ((None, "blue"),)),
        stat(lay, "Leads qualified", f"sum(increase(afo_leads_qualified_total[{RANGE}]))", "short",
             ((None, "blue"),)),
        stat(lay, "Meetings booked", f'sum(increase(afo_bookings_total{{outcome=~"booked|rescheduled"}}[{RANGE}]))',
             "short", ((None, "blue"),)),
        stat(lay, "Qualified / started",
             f"sum(increase(afo_leads_qualified_total[{RANGE}])) / "
             f"clamp_min(sum(increase(afo_conversations_started_total[{RANGE}])), 1)",
             "percentunit", ((None, "blue"),),
             "Leads qualified over conversations started in the time range (a lead may qualify in a later period)."),
        stat(lay, "Model fallback ratio", ratio('afo_replies_total{outcome="fallback"}', "afo_replies_total"),
             "percentunit", ((None, "green"), (0.01, "orange"), (0.1, "red")),
             "Replies the embedded engine gave because the agent's model failed."),
    ]
    panels.append(lay.row("By channel"))
    panels += [
        timeseries(lay, "Conversations started / s by channel",
                   targets((f"sum by (channel) (rate(afo_conversations_started_total[{RATE}]))", "{{channel}}")),
                   "ops", w=8, stack=True),
        timeseries(lay, "Replies / s by channel and outcome",
                   targets((f"sum by (channel, outcome) (rate(afo_replies_total[{RATE}]))",
                            "{{channel}} {{outcome}}")),
                   "ops", w=8, stack=True,
                   description="outcome=fallback: the embedded engine answered because the agent's model failed."),
        timeseries(lay, "Leads qualified / s by channel",
                   targets((f"sum by (channel) (rate(afo_leads_qualified_total[{RATE}]))", "{{channel}}")),
                   "ops", w=8, stack=True),
        timeseries(lay, "Meeting requests by outcome",
                   targets((f"sum by (outcome) (increase(afo_bookings_total[{RATE}]))", "{{outcome}}")),
                   "short", w=12, stack=True,
                   description="booked, rescheduled, or the reason a request failed (slot_taken, outside_hours...)."),
        timeseries(lay, "Reply time p50 / p95 / p99 by channel",
                   quantiles("afo_reply_seconds_bucket", "channel", "{{channel}}", ""),
                   "s", w=12,
                   description="From a message reaching agent-runtime to its whole reply streamed."),
    ]
    panels.append(lay.row("First reply delta"))
    panels += [
        timeseries(lay, "First reply delta p95 by service",
                   targets((f"histogram_quantile(0.95, sum by (le, service) "
                            f"(rate(afo_reply_first_delta_seconds_bucket{{{SVC}}}[{RATE}])))", "{{service}}")),
                   "s", w=24, threshold=0.25),
    ]
    return dashboard(
        "afo-funnel",
        "AFO / Conversations funnel",
        "Conversations started, replies, leads qualified and meetings booked, by channel.",
        panels,
    )
