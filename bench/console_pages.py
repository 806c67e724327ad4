"""Benchmark of the console: how long each main page takes to render, seen from the browser's side of the
socket, and how big the widget's script is.

    uv run python -m bench.console_pages [--conversations 200] [--requests 100]

Starts the platform as ``afo up`` does (all six services, embedded engines, SQLite), signs a tenant up through
the console's own form, builds an agent with a knowledge base holding one document, holds ``--conversations``
conversations of two turns each through the API (so lists and the overview have rows to render), then requests
each page ``--requests`` times one after another with the session cookie: time from sending the request to the
whole body read (httpx over loopback), p50/p95/p99 per page. A page that calls other services (agents,
conversations, documents) pays their RPCs in that time; that is what a tenant waits for."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from afo_gateway.widget import WidgetScript
from afo_testkit.platform import running_platform

PASSWORD = "correct horse battery"
DOCUMENT = b"# Opening hours\n\nWe are open Monday to Friday, 8am to 6pm.\n\n# Prices\n\nA check-up costs 80 euros.\n"


async def seed(client: httpx.AsyncClient, conversations: int) -> dict[str, str]:
    signup = {"company": "Bench Dental", "email": "bench@example.com", "password": PASSWORD, "timezone": "UTC"}
    page = await client.post("/console/signup", data=signup, headers={"Origin": str(client.base_url)})
    page.raise_for_status()
    key = (await client.post("/v1/api-keys", json={"kind": "secret", "name": "bench"})).json()["secret"]
    auth = {"Authorization": f"Bearer {key}"}
    base = (await client.post("/v1/knowledge-bases", json={"name": "FAQ"}, headers=auth)).json()["id"]
    document = (await client.post(f"/v1/knowledge-bases/{base}/documents", headers=auth,
                                  files={"file": ("faq.md", DOCUMENT, "text/markdown")})).json()["id"]
    for _ in range(600):
        status = (await client.get(f"/v1/knowledge-bases/{base}/documents/{document}", headers=auth)).json()
        if status["status"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.2)
    agent = (await client.post("/v1/agents", json={"name": "Ava", "knowledge_base_ids": [base]},
                               headers=auth)).json()["id"]
    await client.post(f"/v1/agents/{agent}/publish", headers=auth)
    conversation = ""
    for n in range(conversations):
        conversation = (await client.post("/v1/conversations", headers=auth, json={
            "agent_id": agent, "channel": "web", "contact": {"name": f"Lead {n}"}})).json()["id"]
        for text in ("When are you open?", f"I'm Lead {n} from Firm {n}, lead{n}@example.com"):
            await client.post(f"/v1/conversations/{conversation}/messages?wait=true", json={"text": text},
                              headers=auth)
    return {"agent": agent, "base": base, "conversation": conversation}


def pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("overview", "/console"),
        ("agents", "/console/agents"),
        ("agent", f"/console/agents/{ids['agent']}"),
        ("agent: knowledge step", f"/console/agents/{ids['agent']}/knowledge"),
        ("agent: embed step", f"/console/agents/{ids['agent']}/embed"),
        ("conversations", "/console/conversations"),
        ("conversation", f"/console/conversations/{ids['conversation']}"),
        ("leads", "/console/leads"),
        ("knowledge base", f"/console/knowledge/{ids['base']}"),
        ("integrations", "/console/integrations"),
        ("login (no session)", "/console/login"),
    ]


async def measure(client: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        await response.aread()
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(conversations: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        async with running_platform(Path(home), supervise=False) as platform, \
                httpx.AsyncClient(base_url=platform.gateway_url, timeout=60) as client:
            ids = await seed(client, conversations)
            rows = [(label, await measure(client, path, requests)) for label, path in pages(ids)]
    print(f"\nconsole pages: all six services, SQLite, {conversations} conversations of two turns held, "
          f"{requests} requests per page one at a time")
    print(f"{'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for label, timings in rows:
        print(f"{label:<24} {percentile(timings, .5):>8.1f} {percentile(timings, .95):>8.1f} "
              f"{percentile(timings, .99):>8.1f} {statistics.fmean(timings):>8.1f}")
    script = WidgetScript.load().body
    print(f"\nwidget.js: {len(script):,} bytes, {len(gzip.compress(script, 9)):,} gzipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.conversations, args.requests))


if __name__ == "__main__":
    main()
