"""E2E fixtures: a real nats-server and real service processes.

- ``shared_platform`` (session): every service, started the first time a test asks for it and stopped when the
  pytest process ends (each pytest-xdist worker has its own). Its environment (``SHARED_ENVIRONMENT`` and the
  stand-ins below) suits every module that shares it, and changes nothing another module checks.
- ``platform`` (module): the shared platform. A module that kills, drains, restarts or replicates a service,
  leaves one out on purpose, or needs settings of its own (timing, PostgreSQL) defines its own ``platform``.
- ``api`` (module): an HTTP client on the gateway of the module's ``platform``.
- ``twilio`` and ``google_server`` (session): the Twilio and Google stand-ins the shared platform points at.

A module on the shared platform is not alone on it: it looks at its own tenants, numbers and ids only, never at
counts or lists of the whole platform.

Every e2e test and async fixture runs on the session's event loop: the shared platform and its stand-ins live on
it, and a stand-in answers only while its loop runs. Tests are put on it here (a module's
``pytest.mark.asyncio(loop_scope="session")`` says so too); an async fixture says ``loop_scope="session"``, and
collection stops, naming it, when one does not.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from afo_testkit.calendar_servers import FakeGoogle
from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.twilio_server import FakeTwilio
from tests.e2e.phone import PUBLIC

HERE = Path(__file__).parent
# The operator's model key (AFO_LLM_API_KEY): used only for an agent whose model has a base_url (a FakeOpenAI
# accepting this key) and whose tenant stored no key of its own.
OPERATOR_LLM_KEY = "sk-operator-e2e"
SHARED_ENVIRONMENT = {
    # Webhook receivers listen on 127.0.0.1 (notifier's SSRF refusals are proved in its own tests).
    "AFO_WEBHOOK_ALLOW_PRIVATE": "1",
    # The address Twilio signs and calls back (tests/e2e/phone.py).
    "AFO_PUBLIC_URL": PUBLIC,
    "AFO_LLM_API_KEY": OPERATOR_LLM_KEY,
    # Every test signs up and logs in from 127.0.0.1: the per-address limits (20 sign-ups an hour) are for
    # strangers on the internet, not for a worker's hundreds of tenants. Per-email limits stay.
    "AFO_RATE_LIMIT_SIGNUP_PER_IP": "100000/hour",
    "AFO_RATE_LIMIT_LOGIN_PER_IP": "100000/minute",
}
GOOGLE_REFRESH_TOKEN = "1//0e2e-google-refresh-token-4242"  # the Google account's, which every tenant connects


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.e2e)
        item.add_marker(session_loop, append=False)  # the closest asyncio mark decides the test's loop
        _refuse_fixtures_off_the_session_loop(item)


def _refuse_fixtures_off_the_session_loop(item: pytest.Item) -> None:
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return
    default = item.config.getini("asyncio_default_fixture_loop_scope")
    for name, definitions in fixture_info.name2fixturedefs.items():
        function = definitions[-1].func  # the definition the test gets
        if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
            continue
        if (getattr(function, "_loop_scope", None) or default) != "session":
            raise pytest.UsageError(
                f"{item.nodeid}: the async fixture {name!r} ({inspect.getsourcefile(function)}) must run on the "
                'session\'s event loop, as every e2e test does: @pytest_asyncio.fixture(..., loop_scope="session")')


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def twilio() -> AsyncIterator[FakeTwilio]:
    """Twilio's REST API and its signing: one account for every tenant that phones or texts leads."""
    async with FakeTwilio() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def google_server() -> AsyncIterator[FakeGoogle]:
    """Google's OAuth and Calendar v3, the platform's own OAuth client registered with it."""
    async with FakeGoogle(secret=GOOGLE_REFRESH_TOKEN) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_platform(tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio,
                          google_server: FakeGoogle) -> AsyncIterator[Platform]:
    google = {"AFO_GOOGLE_CLIENT_ID": google_server.client_id,
              "AFO_GOOGLE_CLIENT_SECRET": google_server.client_secret,
              "AFO_GOOGLE_CONSENT_URL": f"{google_server.base_url}/o/oauth2/v2/auth",
              "AFO_GOOGLE_OAUTH_BASE_URL": google_server.base_url,
              "AFO_GOOGLE_API_BASE_URL": google_server.base_url}
    async with running_platform(tmp_path_factory.mktemp("shared-platform"), supervise=False,
                                environment={**SHARED_ENVIRONMENT, **google,
                                             "AFO_TWILIO_API_BASE_URL": twilio.base_url}) as running:
        yield running


@pytest.fixture(scope="module")
def platform(shared_platform: Platform) -> Platform:
    return shared_platform


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as client:
        yield client
