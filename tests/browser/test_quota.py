"""A tenant over its real message quota, in headless Chromium against the real platform (gateway, agent-runtime):
an operator made by ``afo operator add`` gives the pro plan two messages a month and puts the tenant on it. A
visitor chats through the widget on the tenant's site (another origin, a strict CSP); once the month's two
messages are counted from their events, the visitor's next message is refused by the gateway (429) and the
widget says so kindly, keeping what was typed, naming no plan. The tenant's "Usage and plan" page and the
operator's "Plans" page show it, with no serious axe-core violation. Screenshots go to artifacts/browser/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform
from tests.browser.conftest import Screenshot, Sites
from tests.browser.pages import Watched, eventually, strict_csp
from tests.e2e.journey import Tenant, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLATFORM_SERVICES = ("gateway", "agent-runtime")
QUOTA = 2
PRO = {"agents": 3, "knowledge_bytes": 1_000_000, "messages_per_month": QUOTA, "voice_minutes_per_month": None,
       "concurrent_calls": None, "requests_per_minute": None}
PAUSED = "This chat can't take new messages right now. Please try again later."
PASSWORD = "correct horse battery"
WIDGET = "[data-afo-widget]"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


@dataclass
class Quota:
    api: httpx.AsyncClient
    tenant: Tenant
    agent_id: str
    operator: tuple[str, str]  # email, password


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def quota(platform: Platform) -> AsyncIterator[Quota]:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as api:
        tenant = await sign_up(api, "Quota Bikes")
        added = await add_operator(platform.nats_url, platform.nats_auth(), f"ops+{tenant.id}@example.com")
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as operator:
            assert (await operator.post("/v1/login", json={"email": added.operator.email,
                                                           "password": added.password})).status_code == 200
            assert (await operator.put("/v1/admin/plans/pro", json=PRO)).status_code == 200
            assert (await operator.put(f"/v1/admin/tenants/{tenant.id}/plan",
                                       json={"plan": "pro"})).status_code == 200
        agent_id = await published_agent(api, tenant, name="Quinn")
        yield Quota(api, tenant, agent_id, (added.operator.email, added.password))


def widget(page: Page, selector: str) -> Any:
    return page.locator(f"{WIDGET} {selector}")


async def messages_used(quota: Quota) -> int:
    body = (await quota.api.get("/v1/usage", headers=quota.tenant.auth)).json()
    return int(next(line["used"] for line in body["usage"] if line["limit"] == "messages_per_month"))


async def test_a_visitor_over_the_tenants_message_quota_gets_a_friendly_notice(
        quota: Quota, sites: Sites, platform: Platform, watched: Watched, screenshot: Screenshot) -> None:
    site = await sites.start(strict_csp(platform.gateway_url))
    embed = await quota.api.get(f"/v1/agents/{quota.agent_id}/embed", headers=quota.tenant.auth)
    created = await quota.api.post("/v1/api-keys", headers=quota.tenant.auth, json={
        "kind": "publishable", "name": "website", "agent_id": quota.agent_id, "allowed_origins": [site.origin]})
    assert embed.status_code == 200 and created.status_code == 201, (embed.text, created.text)
    url = site.publish("/chat.html", embed.json()["snippet"].replace("YOUR_PUBLISHABLE_KEY", created.json()["secret"]))
    page = watched.page
    await page.goto(url)
    await widget(page, ".launcher").click()

    await widget(page, "textarea").fill("Hi! Do you rent bikes?")
    await widget(page, "textarea").press("Enter")
    await expect(widget(page, 'li[data-role="assistant"][data-state="done"]')).to_have_count(1, timeout=20_000)
    # The month's second message, over the API: the quota is the tenant's, whatever the channel.
    await say(quota.api, quota.tenant, await conversation(quota.api, quota.tenant, quota.agent_id), "Hello")
    await eventually(lambda: _counted(quota), within_s=30, every_s=0.3)

    await widget(page, "textarea").fill("And how much is a day?")
    await widget(page, "textarea").press("Enter")

    notice = widget(page, ".notice")
    await expect(notice).to_have_text(PAUSED)
    await expect(notice).to_have_attribute("data-kind", "error")
    await expect(widget(page, 'li[data-role="user"]')).to_have_count(1)  # the refused one left the list
    await expect(widget(page, "textarea")).to_have_value("And how much is a day?")  # ready to send later
    assert "pro" not in (await notice.text_content() or "")
    await screenshot(page, "over-quota")
    assert await watched.csp_violations() == [] and watched.page_errors == []
    assert await messages_used(quota) == QUOTA  # the refused message was never recorded


async def _counted(quota: Quota) -> bool | None:
    return True if await messages_used(quota) == QUOTA else None


async def test_the_usage_and_plans_pages_show_the_quota_and_pass_axe(
        quota: Quota, platform: Platform, browser: Browser, screenshot: Screenshot) -> None:
    base = platform.gateway_url
    # axe is injected as the test's own script: this context lets it past the pages' CSP.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    try:
        page = await context.new_page()
        await _log_in(page, base, quota.tenant.email, PASSWORD)
        await page.goto(f"{base}/console/usage")
        await expect(page.get_by_role("heading", name="Usage and plan")).to_be_visible()
        await expect(page.locator("main strong").first).to_have_text("pro")
        row = page.get_by_role("row", name="Messages this month")
        await expect(row).to_contain_text(str(QUOTA))
        await expect(row.locator("meter")).to_have_attribute("max", str(QUOTA))
        await screenshot(page, "usage")
        usage_violations = await _axe(page)
        await context.clear_cookies()

        email, password = quota.operator
        await _log_in(page, base, email, password)
        await page.goto(f"{base}/console/admin/plans")
        await expect(page.get_by_role("heading", name="Plans", exact=True)).to_be_visible()
        await expect(page.locator("#pro-messages_per_month")).to_have_value(str(QUOTA))
        await screenshot(page, "plans")
        plans_violations = await _axe(page)
    finally:
        await context.close()
    assert usage_violations == [] and plans_violations == []


async def _log_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.locator("main button[type=submit]").click()
    await page.wait_for_load_state()


async def _axe(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
