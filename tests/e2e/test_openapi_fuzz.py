"""Schemathesis over the OpenAPI document the gateway serves, against every service running as real processes:
no generated request gets a 5xx, and every response conforms to its operation in the document — its status
documented, its body matching the response's schema, its content type and headers the documented ones; bad input
is refused with a documented 4xx, an RFC 9457 problem (``application/problem+json``, the ``Problem`` schema).

Each pass is one ``st run`` (schemathesis's CLI, in a process of its own, so this test's event loop stays free)
with its own credential, and together they cover every operation in the document:

- ``tenant``: every operation but those below, with a tenant owner's secret key. The operations that take no key
  (sign-up, login, Twilio's and inbound leads' webhooks, the widget script, Google's callback) are fuzzed here too,
  and schemathesis's ``ignored_auth`` check sends each authenticated operation that succeeded again without the
  key and with a wrong one.
- ``key revocation``: ``DELETE /v1/api-keys/{key_id}``, with another tenant's key: schemathesis reuses ids it saw in
  answers, and revoking the key every other pass uses would leave them nothing but 401s.
- ``widget``: ``GET /v1/widget/config``, with a publishable key from its allowed origin (a secret key is a 403).
- ``operator``: the admin area, with an operator's session (``afo operator add``, then a login). Last, since it
  may change the plan every tenant is on (to limits of 0, say).

The module starts a platform of its own: the operator pass changes plans and dead letters that other modules on
the shared platform check. ``make test`` runs a bounded pass: schemathesis's examples and fuzzing phases, 3
generated cases per operation (``AFO_FUZZ_EXAMPLES``), positive and negative, from a fixed seed
(``AFO_FUZZ_SEED``). A longer run raises the count and adds the coverage phase (``AFO_FUZZ_PHASES``), e.g.
``AFO_FUZZ_EXAMPLES=100 AFO_FUZZ_PHASES=examples,coverage,fuzzing pytest tests/e2e/test_openapi_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform, free_port, running_platform
from tests.e2e.conftest import SHARED_ENVIRONMENT
from tests.e2e.journey import Tenant, sign_up

EXAMPLES = int(os.environ.get("AFO_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("AFO_FUZZ_SEED", "20261204"))
# The coverage phase (every parameter's boundary and wrong-type values, undeclared methods) sends some 3,600
# requests: 40 to 80 s on two loaded cores, so the bounded run leaves it to the longer one.
PHASES = os.environ.get("AFO_FUZZ_PHASES", "examples,fuzzing")
# What one pass may take: a ceiling for a hung run, far above what the bounded run needs (tens of seconds).
PASS_TIMEOUT_S = 120 + 30 * EXAMPLES
ST = Path(sys.executable).with_name("st")
ORIGIN = "https://shop.example"
KEY_REVOCATION = "/v1/api-keys/{key_id}"
WIDGET_CONFIG = "/v1/widget/config"
ADMIN = r"^/v1/admin/"

# Checks schemathesis runs that cannot hold here, each for its reason. Every other check runs.
CHECKS = """
[checks]
# "A request the schema allows must be accepted": the API checks more than a JSON Schema can say — a publishable
# key needs an agent and an origin, a time zone must exist, calendar ranges must not overlap, an agent's field
# names follow a pattern of their own — and refuses the rest with a documented 422 problem, as it should.
positive_data_acceptance.enabled = false
"""
# A conversation's event stream never ends by itself: read for a second (": connected", then silence), not for
# schemathesis's default of ten.
STREAM = "/v1/conversations/{conversation_id}/stream"


@dataclass(frozen=True)
class Pass:
    name: str
    filters: tuple[str, ...]
    auth: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    report: dict[str, Any]
    output: str

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(self.report["failures"]) + list(self.report["errors"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    # Sign-ups and logins all come from 127.0.0.1 (the shared platform's limits, for the same reason), and Twilio's
    # API is a port nobody listens on: a connection test of fuzzed credentials never leaves the machine. Webhooks
    # to private addresses stay refused (unlike the shared platform), so no fuzzed URL reaches a local port.
    limits = {name: SHARED_ENVIRONMENT[name]
              for name in ("AFO_RATE_LIMIT_SIGNUP_PER_IP", "AFO_RATE_LIMIT_LOGIN_PER_IP")}
    async with running_platform(tmp_path_factory.mktemp("fuzz-platform"), supervise=False,
                                environment={**limits,
                                             "AFO_TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}"}) as running:
        yield running


# Four passes, each within its ceiling, and the set-up (sign-ups, an operator, a warm-up search) besides.
@pytest.mark.timeout(4 * PASS_TIMEOUT_S + 120)
async def test_every_operation_answers_as_documented_and_never_with_a_5xx(
        api: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> None:
    document = (await api.get("/openapi.json")).json()
    owner = await sign_up(api)
    await _warm_up_search(api, owner)
    passes = await _passes(api, platform, owner)

    outcomes = {p.name: await _run(p, platform.gateway_url, tmp_path) for p in passes}

    failing = {name: outcome for name, outcome in outcomes.items() if outcome.failures}
    assert not failing, "\n\n".join(f"pass {name}:\n{_failures_section(o.output)}" for name, o in failing.items())
    documented = sum(len(item) for item in document["paths"].values())
    tested = {name: outcome.report["operations"]["tested"] for name, outcome in outcomes.items()}
    assert sum(tested.values()) == documented, tested
    for name, outcome in outcomes.items():
        assert outcome.report["complete"] and outcome.report["operations"]["errored"] == 0, (name, outcome.output)


async def _passes(api: httpx.AsyncClient, platform: Platform, owner: Tenant) -> list[Pass]:
    other = await sign_up(api, company="Revoked Keys Inc")
    agent = await api.post("/v1/agents", headers=owner.auth, json={"name": "Ava"})
    assert agent.status_code == 201, agent.text
    publishable = await api.post("/v1/api-keys", headers=owner.auth, json={
        "kind": "publishable", "name": "widget", "agent_id": agent.json()["id"], "allowed_origins": [ORIGIN]})
    assert publishable.status_code == 201, publishable.text
    added = await add_operator(platform.nats_url, platform.nats_auth(), "fuzz-ops@example.com")
    login = await api.post("/v1/login", json={"email": added.operator.email, "password": added.password})
    assert login.status_code == 200, login.text
    session = login.cookies["afo_session"]
    return [
        Pass("tenant", ("--exclude-path", KEY_REVOCATION, "--exclude-path", WIDGET_CONFIG,
                        "--exclude-path-regex", ADMIN), _bearer(owner.secret)),
        Pass("key revocation", ("--include-path", KEY_REVOCATION), _bearer(other.secret)),
        Pass("widget", ("--include-path", WIDGET_CONFIG), _bearer(publishable.json()["secret"]), {"Origin": ORIGIN}),
        Pass("operator", ("--include-path-regex", ADMIN), f"[auth.openapi.session]\napi_key = {json.dumps(session)}\n"),
    ]


def _bearer(key: str) -> str:
    return f"[auth.openapi.key]\nbearer = {json.dumps(key)}\n"


async def _warm_up_search(api: httpx.AsyncClient, owner: Tenant) -> None:
    """knowledge-ingest loads its embedding model on the first dense search; on a loaded machine that first one can
    outlast the gateway's 5-second RPC timeout (a 504, which is the load's doing, not the request's)."""
    headers = owner.auth
    created = await api.post("/v1/knowledge-bases", headers=headers, json={"name": "warm-up"})
    assert created.status_code == 201, created.text
    for _ in range(6):
        searched = await api.post(f"/v1/knowledge-bases/{created.json()['id']}/search", headers=headers,
                                  json={"query": "warm up", "mode": "dense"})
        if searched.status_code == 200:
            return
    raise AssertionError(f"knowledge search never answered: {searched.status_code} {searched.text}")


async def _run(fuzz: Pass, base_url: str, tmp_path: Path) -> Outcome:
    slug = fuzz.name.replace(" ", "-")
    config = tmp_path / f"{slug}.toml"
    headers = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in fuzz.headers.items())
    config.write_text("\n".join([
        # No example database: a run leaves nothing behind in the working tree.
        'generation.database = "none"',
        # Only the pass's credential is sent; schemathesis does not make up keys and session cookies of its own.
        "generation.with-security-parameters = false",
        f"headers = {{ {headers} }}" if headers else "",
        fuzz.auth,
        CHECKS,
        "[[operations]]",
        f"include-path = {json.dumps(STREAM)}",
        "request-timeout = 1",
    ]) + "\n")
    report = tmp_path / f"{slug}.json"
    process = await asyncio.create_subprocess_exec(
        str(ST), "--config-file", str(config), "--no-color", "run", f"{base_url}/openapi.json", *fuzz.filters,
        "--phases", PHASES, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
        "--workers", "1", "--report", "json", "--report-json-path", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), PASS_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stdout.decode(errors="replace")
    assert report.exists(), f"{fuzz.name}: schemathesis wrote no report (exit {process.returncode}):\n{output}"
    return Outcome(json.loads(report.read_text()), output)


def _failures_section(output: str) -> str:
    """What schemathesis printed about each failure: the case, the response and a curl to reproduce it."""
    start = output.find("FAILURES")
    return output[start if start >= 0 else 0:][-20_000:]
