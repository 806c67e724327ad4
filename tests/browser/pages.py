"""What browser tests share besides fixtures: a watched page, a website on another origin with a strict
Content-Security-Policy, and waiting for a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playwright.async_api import ConsoleMessage, Page

T = TypeVar("T")

# Recorded in every page before its own scripts run (an init script is not subject to the page's CSP).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile}), true);
"""


@dataclass
class Watched:
    """A page and what it said: console messages, uncaught errors, CSP violations."""

    page: Page
    console: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        """What was logged as an error, with where from when it was a resource that failed to load."""
        return [m.text + (f" ({m.location['url']})" if m.text.startswith("Failed to load") else "")
                for m in self.console if m.type == "error"]

    async def csp_violations(self) -> list[dict[str, Any]]:
        """Violations the page reported (securitypolicyviolation events) and Chromium logged ("Refused to …")."""
        reported: list[dict[str, Any]] = await self.page.evaluate("window.__cspViolations || []")
        logged = [{"console": m.text} for m in self.console
                  if "Content Security Policy" in m.text or m.text.startswith("Refused to")]
        return reported + logged

    async def assert_clean(self) -> None:
        """No CSP violation, no uncaught error, nothing logged as an error."""
        violations = await self.csp_violations()
        assert violations == [], violations
        assert self.page_errors == [], self.page_errors
        assert self.errors() == [], self.errors()


def strict_csp(api_origin: str) -> str:
    """What a careful site sends: scripts from itself and the widget's host only, nothing inline, no eval."""
    return (f"default-src 'self'; script-src 'self' {api_origin}; connect-src 'self' {api_origin}; "
            "style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


SITE_CSS = "body { font-family: Georgia, serif; margin: 40px; background: #fdfcf7; }"


@dataclass
class Site:
    """A website on an origin of its own (a port of its own): pages by path, each served with ``csp``."""

    origin: str
    csp: str
    pages: dict[str, str] = field(default_factory=dict)

    def publish(self, path: str, body_html: str, title: str = "Harbor Bikes") -> str:
        """Serves a page whose body ends with ``body_html`` (the embed code, pasted as is); its URL."""
        self.pages[path] = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                            '<link rel="icon" href="data:,"><link rel="stylesheet" href="/site.css"></head>'
                            f"<body><main><h1>{title}</h1><p>Bikes, repairs and rentals since 1998.</p></main>"
                            f"{body_html}</body></html>")
        return self.origin + path


async def eventually(check: Callable[[], Awaitable[T | None]], *, within_s: float = 15.0,
                     every_s: float = 0.1) -> T:
    """Await ``check()`` until it returns something truthy; that value (AssertionError past ``within_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        value = await check()
        if value:
            return value
        assert loop.time() < deadline, f"never held within {within_s:.0f} s (last: {value!r})"
        await asyncio.sleep(every_s)
