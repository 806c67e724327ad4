"""Every metric a Grafana panel or an alert rule names is one the services really export: the shared platform,
a little traffic (a sign-up, an agent, one chat message), then every service's ``/metrics`` scraped.

The NATS exporter's series (nats_stream_*, nats_consumer_*) come from the prometheus-nats-exporter sidecar of
the Kubernetes StatefulSet, not from a service: tests/deploy checks them against the exporter's names and the
sidecar's flags. ``up`` and kube-state-metrics' series are Prometheus' own."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from afo_testkit.platform import Platform
from tests.deploy.test_manifests import (
    DEPLOY,
    NATS_EXPORTER_METRICS,
    STANDARD_METRIC,
    load_yaml_file,
    promql_selectors,
)
from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

# What one chat message must have produced samples for (not only declared): the journey's own path.
SAMPLED_AFTER_ONE_MESSAGE = {
    "afo_http_requests_total",
    "afo_http_request_seconds_bucket",
    "afo_rpc_requests_total",
    "afo_events_consumed_total",
    "afo_events_published_total",
    "afo_conversations_started_total",
    "afo_replies_total",
    "afo_reply_seconds_bucket",
    "afo_reply_first_delta_seconds_bucket",
}
_TYPE = re.compile(r"^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$")
_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{|\s)")


def names_used() -> set[str]:
    """The metric names in every dashboard's panel queries and variables, and in every alert rule."""
    exprs: list[str] = []
    for path in sorted((DEPLOY / "grafana").glob("*.json")):
        dashboard = json.loads(path.read_text())
        stack = list(dashboard["panels"])
        while stack:
            panel = stack.pop()
            stack += panel.get("panels", [])
            exprs += [t["expr"] for t in panel.get("targets", [])]
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                exprs.append(re.sub(r"^label_values\((\w+),.*$", r"\1", variable["definition"]))
    for group in load_yaml_file(DEPLOY / "prometheus" / "alerts.yaml")["groups"]:
        exprs += [rule["expr"] for rule in group["rules"]]
    names: set[str] = set()
    for expr in exprs:
        names |= promql_selectors(expr)[0]
    return {n for n in names if n not in NATS_EXPORTER_METRICS and not STANDARD_METRIC.match(n)}


def exposition(text: str) -> tuple[set[str], set[str]]:
    """(names declared by a # TYPE line, histograms as _bucket/_sum/_count; names with at least one sample)."""
    declared: set[str] = set()
    sampled: set[str] = set()
    for line in text.splitlines():
        if match := _TYPE.match(line):
            name, kind = match.groups()
            if kind == "histogram":
                declared |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            else:
                declared.add(name)
        elif line and not line.startswith("#") and (match := _SAMPLE.match(line)):
            sampled.add(match.group(1))
    return declared, sampled


async def test_names_used_reads_panels_and_alerts() -> None:  # async: e2e tests run on the session loop
    used = names_used()
    assert {"afo_outbox_oldest_age_seconds", "afo_voice_turn_seconds_bucket", "afo_webhook_deliveries_total",
            "afo_http_requests_total"} <= used
    assert not any(n.startswith("nats_") for n in used)


async def test_every_metric_on_a_dashboard_or_alert_is_in_a_real_scrape(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    conversation_id = await conversation(api, tenant, agent_id)
    await say(api, tenant, conversation_id, "Hi there!")

    declared: dict[str, set[str]] = {}
    sampled: set[str] = set()
    async with httpx.AsyncClient(timeout=10.0) as client:
        for service, url in sorted(platform.urls.items()):
            response = await client.get(f"{url}/metrics")
            assert response.status_code == 200, f"{service}: {response.status_code}"
            names, samples = exposition(response.text)
            declared[service] = names
            sampled |= samples
    assert set(declared) >= {"gateway", "agent-runtime", "voice-media", "knowledge-ingest", "workflow-executor",
                             "notifier"}, sorted(declared)

    everywhere = set().union(*declared.values())
    missing = sorted(names_used() - everywhere)
    assert not missing, f"named by a panel or an alert but exported by no service: {missing}"
    not_sampled = sorted(SAMPLED_AFTER_ONE_MESSAGE - sampled)
    assert not not_sampled, f"no sample after a chat message: {not_sampled}"
    # Each domain metric is exported by the service that owns the fact.
    owners = {
        "agent-runtime": {"afo_replies_total", "afo_reply_seconds_bucket", "afo_conversations_started_total",
                          "afo_leads_qualified_total"},
        "voice-media": {"afo_calls_active", "afo_calls_ended_total", "afo_voice_turn_seconds_bucket",
                        "afo_voice_vad_windows_shed_total"},
        "knowledge-ingest": {"afo_documents_ingested_total", "afo_chunks_ingested_total"},
        "workflow-executor": {"afo_bookings_total", "afo_crm_syncs_total"},
        "notifier": {"afo_webhook_deliveries_total", "afo_webhook_response_seconds_bucket"},
    }
    for service, metrics in owners.items():
        assert metrics <= declared[service], f"{service} lacks {sorted(metrics - declared[service])}"
