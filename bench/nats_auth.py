"""How much the auth callout adds to an integrator's NATS connect (docs/architecture.md, "NATS security").

    uv run python -m bench.nats_auth [--connects 200]

Starts the gateway and its nats-server as ``afo up`` does (generated configuration, auth callout on),
issues an event credential through the API, then times connect + first round trip (``flush``) for a
platform user authenticated by the server alone (nkey, no callout) and for the integrator, whose every
connect is a round trip to the gateway (decode the request JWT, look the secret up, sign two JWTs)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats

from afo_testkit.platform import running_platform


async def timed_connects(url: str, count: int, **options: Any) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client = await nats.connect(url, allow_reconnect=False, **options)
        await client.flush()
        times.append((time.perf_counter() - started) * 1000)
        await client.close()
    return sorted(times)


def summary(times: list[float]) -> str:
    return f"p50 {statistics.median(times):.2f} ms  p95 {times[int(len(times) * 0.95) - 1]:.2f} ms"


async def run(connects: int) -> None:
    with tempfile.TemporaryDirectory(prefix="afo-bench-auth-") as home:
        async with running_platform(Path(home), services=("gateway",), log_level="WARNING") as platform:
            async with httpx.AsyncClient(base_url=platform.api_url, timeout=30) as api:
                signup = (await api.post("/signup", json={"email": "bench@example.com", "company": "Bench",
                                                          "password": "correct horse battery"})).json()
                auth = {"Authorization": f"Bearer {signup['api_key']['secret']}"}
                credential = (await api.post("/event-credentials", headers=auth, json={"name": "bench"})).json()
            await timed_connects(platform.nats_url, 20, **platform.nats_auth().connect_options())  # warm-up
            service = await timed_connects(platform.nats_url, connects, **platform.nats_auth().connect_options())
            integrator = await timed_connects(platform.nats_url, connects, user=credential["id"],
                                              password=credential["secret"])
    print(f"{connects} connects each (connect + flush):")
    print(f"  platform user, nkey, no callout   {summary(service)}")
    print(f"  integrator through auth callout   {summary(integrator)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connects", type=int, default=200)
    asyncio.run(run(parser.parse_args().connects))


if __name__ == "__main__":
    main()
