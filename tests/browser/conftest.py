"""Browser tests: Debian's headless Chromium driven by Playwright (Python) against the real platform.

- ``chromium_path`` (session): ``/usr/bin/chromium``; where it is missing it is installed once with apt-get
  (as root), else every browser test is skipped, saying how to install it. Playwright's own browser download
  (``playwright install``) is never used: Playwright launches this one through ``executable_path``.
- ``browser`` (session): one headless Chromium for all browser tests of a pytest process. It fakes a
  microphone (a beep) and grants it without asking, so voice can be driven too.
- ``platform`` (module): the real platform on free ports, started once per module; a module chooses its
  services and environment with ``PLATFORM_SERVICES`` and ``PLATFORM_ENV`` (module attributes).
- ``watched`` (function): a page in a fresh browser context whose console messages, uncaught errors and
  Content-Security-Policy violations are collected (``Watched``).
- ``sites`` (module): static pages served on other localhost origins (other ports) with a strict CSP
  (``Site``): the tenant's website into which a test pastes the embed code.
- ``artifacts``: screenshots go to ``artifacts/browser/`` at the repository root (git-ignored).

Every fixture runs on the session's event loop (a session browser cannot cross loops): a browser test module
says ``pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from afo_testkit.local_server import HOST, serving
from afo_testkit.platform import Platform, running_platform
from tests.browser.pages import RECORD_CSP_VIOLATIONS, SITE_CSS, Site, Watched

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
INSTALL_LOCK = Path("/tmp/afo-chromium-install.lock")
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",    # getUserMedia gets a test tone, not a real microphone
    "--use-fake-ui-for-media-stream",        # and the permission prompt says yes
    "--autoplay-policy=no-user-gesture-required",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _install_chromium() -> str | None:
    """apt-get install chromium (apt-get update first when the package is unknown); why it failed, or None."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "not root, or no apt-get"
    INSTALL_LOCK.touch(exist_ok=True)
    with INSTALL_LOCK.open() as lock:  # one pytest-xdist worker installs, the other waits for it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return None
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "chromium"]
        try:
            if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
                subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=300)
                done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
                if done.returncode != 0:
                    return done.stderr.strip()[-300:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
    return None if CHROMIUM.exists() else f"apt-get ran but {CHROMIUM} is still missing"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        why = _install_chromium()
        if why is not None:
            pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}: run `apt-get install chromium` "
                        f"(automatic install not possible: {why})")
    return str(CHROMIUM)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                                    args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[Platform]:
    services: tuple[str, ...] = getattr(request.module, "PLATFORM_SERVICES", ("gateway", "agent-runtime"))
    environment: dict[str, str] = getattr(request.module, "PLATFORM_ENV", {})
    async with running_platform(tmp_path_factory.mktemp("browser-platform"), services=services,
                                supervise=False, environment=environment) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def watched(browser: Browser) -> AsyncIterator[Watched]:
    context = await browser.new_context(viewport={"width": 1100, "height": 760}, permissions=["microphone"])
    await context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = await context.new_page()
    seen = Watched(page)
    page.on("console", lambda message: seen.console.append(message))
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    try:
        yield seen
    finally:
        await context.close()


class Sites:
    """Websites started for a module, each on a free port of its own: another origin than the gateway's."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def start(self, csp: str) -> Site:
        site = Site("", csp)

        async def serve(request: Request) -> Response:
            if request.url.path == "/site.css":
                return PlainTextResponse(SITE_CSS, media_type="text/css")
            html = site.pages.get(request.url.path)
            if html is None:
                return PlainTextResponse("not found", status_code=404)
            return HTMLResponse(html, headers={"Content-Security-Policy": site.csp, "Cache-Control": "no-store"})

        port = await self._stack.enter_async_context(serving(Starlette(routes=[Route("/{path:path}", serve)])))
        site.origin = f"http://{HOST}:{port}"
        return site


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sites() -> AsyncIterator[Sites]:
    async with AsyncExitStack() as stack:
        yield Sites(stack)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


Screenshot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
def screenshot(artifacts: Path, request: pytest.FixtureRequest) -> Screenshot:
    """``await screenshot(page, "state")`` writes ``artifacts/browser/<module>-<test>-<state>.png``."""
    stem = f"{request.module.__name__.rsplit('.', 1)[-1]}-{request.node.name}"

    async def take(page: Page, state: str) -> Path:
        path = artifacts / re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{stem}-{state}.png")
        await page.screenshot(path=str(path))
        return path

    return take
