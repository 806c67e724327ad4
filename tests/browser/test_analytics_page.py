"""The console's Analytics page in headless Chromium against the real platform (gateway, agent-runtime,
voice-media): after two conversations held through the API, the page shows the funnel, draws its chart (uPlot,
from the page's JSON data block) under the console's Content-Security-Policy without a single violation, and
filters by channel through its form. A screenshot goes to artifacts/browser/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import expect

from afo_testkit.platform import Platform
from tests.browser.conftest import Screenshot
from tests.browser.pages import Watched
from tests.e2e.journey import FIVE_TURNS, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLATFORM_SERVICES = ("gateway", "agent-runtime", "voice-media")
PASSWORD = "correct horse battery"


async def test_the_analytics_page_draws_the_funnel_under_its_csp_and_filters_by_channel(
        platform: Platform, watched: Watched, screenshot: Screenshot) -> None:
    base, page = platform.gateway_url, watched.page
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as api:
        tenant = await sign_up(api, "Harbor Bikes")
        agent_id = await published_agent(api, tenant)
        qualified = await conversation(api, tenant, agent_id, channel="web")
        for text in FIVE_TURNS:
            await say(api, tenant, qualified, text)
        other = await conversation(api, tenant, agent_id, channel="api")
        await say(api, tenant, other, "Do you rent tandem bikes?")

    await page.goto(f"{base}/console/login")
    await page.get_by_label("Email").fill(tenant.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.locator("main button[type=submit]").click()
    await page.get_by_role("link", name="Analytics").click()

    await expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    funnel = page.locator("dl.funnel dd")
    await expect(funnel).to_have_text(["2", "1 (50%)", "0 (0%)"])
    await expect(page.locator("#funnel-chart canvas")).to_have_count(1)  # uPlot drew it
    await expect(page.locator("#funnel-chart .u-legend")).to_contain_text("Qualified")
    await expect(page.locator("ol.unanswered")).to_contain_text("do you rent tandem bikes")
    await screenshot(page, "analytics")
    await watched.assert_clean()

    today = datetime.now(UTC).date()
    await page.get_by_label("From").fill((today - timedelta(days=1)).isoformat())
    await page.get_by_label("To").fill(today.isoformat())
    await page.get_by_label("Channel").select_option("web")
    await page.get_by_role("button", name="Show").click()

    await expect(funnel).to_have_text(["1", "1 (100%)", "0 (0%)"])
    await expect(page.locator("#funnel-chart canvas")).to_have_count(1)
    link = await page.get_by_role("link", name="Download the funnel as CSV").get_attribute("href")
    assert link is not None and "channel=web" in link and f"to={today.isoformat()}" in link
    await watched.assert_clean()
