"""Layout and panel helpers every dashboard module uses (standard library only): Grafana's 24-column grid,
timeseries and stat panels, PromQL snippets, and the dashboard's frame with its variables."""

from __future__ import annotations

from typing import Any

DS = {"type": "prometheus", "uid": "${datasource}"}
SVC = 'service=~"$service"'
RATE = "$__rate_interval"
# Operational routes every service serves; left out of the API latency panels.
OPS_ROUTES = 'route!~"/healthz|/readyz|/metrics"'
# API traffic only: a /readyz 503 while a pod starts or drains is not an error.
HTTP = f"{SVC}, {OPS_ROUTES}"
FIRST_DELTA_BUDGET_S = 0.25


class Layout:
    """Places panels left to right on Grafana's 24-column grid, starting a new line when full."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w: int, h: int) -> tuple[int, dict[str, int]]:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        panel_id, self.next_id = self.next_id, self.next_id + 1
        return panel_id, pos

    def row(self, title: str) -> dict[str, Any]:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel_id, pos = self.place(24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0
        return {
            "type": "row",
            "id": panel_id,
            "title": title,
            "gridPos": pos,
            "collapsed": False,
            "panels": [],
        }


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref, "range": True}


def targets(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def timeseries(
    layout: Layout,
    title: str,
    tgts: list[dict[str, Any]],
    unit: str,
    *,
    w: int = 12,
    h: int = 8,
    description: str = "",
    stack: bool = False,
    threshold: float | None = None,
) -> dict[str, Any]:
    panel_id, pos = layout.place(w, h)
    custom: dict[str, Any] = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    defaults: dict[str, Any] = {"unit": unit, "custom": custom}
    if threshold is not None:
        custom["thresholdsStyle"] = {"mode": "line+area"}
        defaults["thresholds"] = thresholds((None, "transparent"), (threshold, "red"))
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": pos,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    layout: Layout,
    title: str,
    expr: str,
    unit: str,
    steps: tuple[tuple[float | None, str], ...],
    description: str = "",
) -> dict[str, Any]:
    panel_id, pos = layout.place(4, 4)
    return {
        "type": "stat",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": pos,
        "targets": [target(expr)],
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": thresholds(*steps), "color": {"mode": "thresholds"}},
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        },
    }


def quantiles(metric: str, by: str, legend: str, matchers: str = SVC) -> list[dict[str, Any]]:
    selector = f"{metric}{{{matchers}}}" if matchers else metric
    return targets(
        *[
            (
                f"histogram_quantile({q}, sum by (le, {by}) (rate({selector}[{RATE}])))",
                f"p{int(q * 100)} {legend}",
            )
            for q in (0.5, 0.95, 0.99)
        ]
    )


def ratio(numerator: str, denominator: str, by: str = "") -> str:
    group = f" by ({by})" if by else ""
    return (
        f"sum{group} (rate({numerator}[{RATE}])) / clamp_min(sum{group} (rate({denominator}[{RATE}])), 1e-9)"
    )


def variable(name: str, label: str, metric: str, label_name: str) -> dict[str, Any]:
    """A multi-select filter whose values are one label's values on one metric."""
    query = f"label_values({metric}, {label_name})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": name},
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {},
        "hide": 0,
        "refresh": 2,
        "sort": 1,
        "regex": "",
        "options": [],
    }


DATASOURCE_VARIABLE: dict[str, Any] = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
    "current": {},
    "hide": 0,
    "refresh": 1,
    "regex": "",
    "options": [],
}
SERVICE_VARIABLE = variable("service", "Service", "afo_http_requests_total", "service")


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[dict[str, Any]],
    variables: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The frame every AFO dashboard shares: data source and service filters, 6 hours, 30 s refresh."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["afo"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["afo"], "asDropdown": True, "title": "AFO dashboards"}],
        "templating": {"list": [DATASOURCE_VARIABLE, *(variables if variables is not None else [SERVICE_VARIABLE])]},
        "panels": panels,
    }
