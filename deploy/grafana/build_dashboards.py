"""Build the Grafana dashboards in this folder from Python (standard library only).

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if a JSON file is out of date

One module per dashboard (overview, funnel, voice, knowledge, workflows_deliveries, jetstream), each with a
``build()``; panels.py holds the layout helpers they share. Edit those, not the JSON: tests/deploy checks that
the JSON is what this script produces and that every PromQL expression uses only the metrics the services
export (afo_common.telemetry and each service's metrics module) or the NATS exporter's; tests/e2e checks the
services' names against a real scrape.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import funnel
import jetstream
import knowledge
import overview
import voice
import workflows_deliveries

HERE = Path(__file__).resolve().parent
DASHBOARDS = {
    "afo-overview.json": overview.build,
    "afo-funnel.json": funnel.build,
    "afo-voice.json": voice.build,
    "afo-knowledge.json": knowledge.build,
    "afo-workflows-deliveries.json": workflows_deliveries.build,
    "afo-jetstream.json": jetstream.build,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python deploy/grafana/build_dashboards.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
