"""AFO / Workflows and deliveries: bookings and CRM syncs (workflow-executor), webhook deliveries (notifier)."""

from __future__ import annotations

from typing import Any

from panels import RATE, Layout, dashboard, quantiles, ratio, stat, targets, timeseries


def build() -> dict[str, Any]:
    lay = Layout()
    panels: list[dict[str, Any]] = [lay.row("At a glance")]
    panels += [
        stat(lay, "Meetings booked (time range)",
             'sum(increase(afo_bookings_total{outcome=~"booked|rescheduled"}[$__range]))', "short",
             ((None, "blue"),)),
        stat(lay, "Booking provider errors (time range)",
             'sum(increase(afo_bookings_total{outcome="provider_error"}[$__range]))', "short",
             ((None, "green"), (1, "red"))),
        stat(lay, "CRM syncs failed ratio",
             ratio('afo_crm_syncs_total{outcome="failed"}', 'afo_crm_syncs_total{outcome!="retrying"}'),
             "percentunit", ((None, "green"), (0.01, "orange"), (0.05, "red")),
             "Syncs that gave up over syncs that ended (retries left out)."),
        stat(lay, "Webhook success ratio",
             ratio('afo_webhook_deliveries_total{outcome="delivered"}', "afo_webhook_deliveries_total"),
             "percentunit", ((None, "red"), (0.9, "orange"), (0.99, "green")),
             "Attempts answered 2xx over all attempts (a failed attempt is retried on the schedule)."),
        stat(lay, "Webhook response p95",
             f"histogram_quantile(0.95, sum by (le) (rate(afo_webhook_response_seconds_bucket[{RATE}])))", "s",
             ((None, "green"), (2, "orange"), (5, "red"))),
        stat(lay, "Notifier outbox oldest event", 'max(afo_outbox_oldest_age_seconds{service="notifier"})', "s",
             ((None, "green"), (10, "orange"), (60, "red"))),
    ]
    panels.append(lay.row("Bookings and CRM (workflow-executor)"))
    panels += [
        timeseries(lay, "Meeting requests / s by outcome",
                   targets((f"sum by (outcome) (rate(afo_bookings_total[{RATE}]))", "{{outcome}}")),
                   "ops", w=12, stack=True,
                   description="booked, rescheduled, or the failure reason (slot_taken, outside_hours, too_soon, "
                   "beyond_horizon, no_calendar, provider_error)."),
        timeseries(lay, "CRM syncs / s by provider and outcome",
                   targets((f"sum by (provider, outcome) (rate(afo_crm_syncs_total[{RATE}]))",
                            "{{provider}} {{outcome}}")),
                   "ops", w=12, stack=True,
                   description="synced, skipped (no email), retrying (the provider may answer later) or failed."),
    ]
    panels.append(lay.row("Webhook deliveries (notifier)"))
    panels += [
        timeseries(lay, "Webhook attempts / s by outcome",
                   targets((f"sum by (outcome) (rate(afo_webhook_deliveries_total[{RATE}]))", "{{outcome}}")),
                   "ops", w=12, stack=True,
                   description="delivered (2xx), failed (retried later) or gone (410: the subscription is disabled)."),
        timeseries(lay, "Webhook endpoint response p50 / p95 / p99",
                   quantiles("afo_webhook_response_seconds_bucket", "service", "{{service}}", ""), "s", w=12),
        timeseries(lay, "workflow-executor and notifier events consumed / s by outcome",
                   targets((f'sum by (service, outcome) (rate(afo_events_consumed_total'
                            f'{{service=~"workflow-executor|notifier"}}[{RATE}]))', "{{service}} {{outcome}}")),
                   "ops", w=24, stack=True),
    ]
    return dashboard(
        "afo-workflows-deliveries",
        "AFO / Workflows and deliveries",
        "Bookings and CRM syncs (workflow-executor) and webhook deliveries (notifier).",
        panels,
        variables=[],
    )
