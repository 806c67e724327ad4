"""The console in headless Chromium against the real platform (all six services).

A new user signs up, builds an agent through the wizard (who it is → a knowledge base with a document uploaded
and read while they watch → integrations → the widget's look → the embed code for their site), publishes it,
pastes the embed code into a page of a website on another localhost origin, and chats there as a visitor while
the console, open in another window, shows the conversation arrive and its transcript fill in without a
reload. A member cannot open the admin pages; an operator signs in by keyboard to the admin area, which follows
the live feed; the pages are usable by keyboard, pass axe-core's checks with no
serious violation, and break no rule of their Content-Security-Policy. Screenshots of every main page go to
artifacts/browser/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform
from tests.browser.conftest import Screenshot, Sites
from tests.browser.pages import Watched, strict_csp

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLATFORM_SERVICES = ("gateway", "agent-runtime", "knowledge-ingest", "voice-media", "workflow-executor", "notifier")
PASSWORD = "correct horse battery"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
FAQ = (b"# Opening hours\n\nBirch Dental is open Monday to Friday, 8am to 6pm.\n\n"
       b"# Prices\n\nA check-up costs 80 euros and a cleaning 60 euros.\n")
WIDGET = "[data-afo-widget]"


def main(page: Page, selector: str) -> Any:
    """A control of the page's own content (the header has a "Log out" button too)."""
    return page.locator(f"main {selector}")


async def sign_up(page: Page, base: str, company: str, email: str) -> str:
    """Signs up through the console's form; the secret key the welcome page shows once."""
    await page.goto(f"{base}/console/signup")
    await page.get_by_label("Company").fill(company)
    await page.get_by_label("Work email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await main(page, "button[type=submit]").click()
    await expect(page.get_by_role("heading", name=f"Welcome, {company}")).to_be_visible()
    key: str = await page.get_by_label("Secret API key").input_value()
    assert key.startswith("sk_")
    return key


async def test_a_new_user_builds_an_agent_puts_it_on_a_site_and_watches_a_chat_live(
        platform: Platform, sites: Sites, browser: Browser, watched: Watched, screenshot: Screenshot,
        tmp_path: Path) -> None:
    base, page = platform.gateway_url, watched.page
    await sign_up(page, base, "Birch Dental", "owner@birch.example")
    await screenshot(page, "01-welcome")

    await page.get_by_role("link", name="Build your first agent").click()
    await page.get_by_label("Name", exact=True).fill("Ava")
    await page.get_by_label("Persona").fill("Warm and brief; helps patients book check-ups.")
    await page.get_by_label("Greeting").fill("Hi, I'm Ava from Birch Dental.")
    await screenshot(page, "02-agent")
    await main(page, "button[type=submit]").click()

    await expect(page.get_by_role("heading", name="What Ava knows")).to_be_visible()
    await page.get_by_label("New knowledge base").fill("Clinic FAQ")
    await main(page, "button:has-text('Save')").click()
    await expect(page.get_by_role("checkbox", name="Clinic FAQ")).to_be_checked()
    document = tmp_path / "clinic-faq.md"
    document.write_bytes(FAQ)
    await page.locator("input[type=file]").set_input_files(str(document))
    await main(page, "form[data-upload] button[type=submit]").click()
    await expect(page.get_by_text("clinic-faq.md uploaded")).to_be_visible()
    assert await page.locator("form[data-upload] progress").evaluate("bar => bar.value") == 1
    await expect(page.locator("tr[data-status=ready]")).to_have_count(1, timeout=60_000)
    await expect(page.locator("tr[data-status=ready] td").first).to_have_text("Opening hours")
    await screenshot(page, "03-knowledge-ready")

    await main(page, "a:has-text('Continue')").click()
    await expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    await screenshot(page, "04-integrations")
    await main(page, "a:has-text('Continue')").click()
    await page.get_by_label("Title").fill("Ask Birch Dental")
    await page.get_by_label("Colour").fill("#0a7d5a")
    await screenshot(page, "05-widget")
    await main(page, "button[type=submit]").click()

    site = await sites.start(strict_csp(base))
    await expect(page.get_by_role("heading", name="Put Ava on your site")).to_be_visible()
    await page.get_by_label("Sites allowed to use it").fill(site.origin)
    await main(page, "button:has-text('Make embed code')").click()
    agent_id = page.url.split("/agents/")[1].split("/")[0]
    snippet = await page.get_by_role("textbox", name="Embed code").input_value()
    assert snippet.startswith(f'<script src="{base}/widget.js" data-afo-key="pk_')
    await screenshot(page, "06-embed")
    await main(page, "a:has-text('publish it')").click()
    await main(page, "button:has-text('Publish')").click()
    await expect(page.get_by_text("Published: new conversations use this version.")).to_be_visible()

    await page.goto(f"{base}/console/conversations")
    await expect(page.locator("#live-status")).to_have_text("Live")
    await expect(page.get_by_text("No conversations yet.")).to_be_visible()

    visitor = await (await browser.new_context()).new_page()
    await visitor.goto(site.publish("/", snippet, title="Birch Dental"))
    await visitor.locator(f"{WIDGET} .launcher").click()
    await expect(visitor.locator(f"{WIDGET} .title")).to_have_text("Ask Birch Dental")
    await visitor.locator(f"{WIDGET} textarea").fill("How much is a check-up?")
    await visitor.locator(f"{WIDGET} textarea").press("Enter")
    reply = visitor.locator(f'{WIDGET} li[data-role="assistant"][data-state="done"]')
    await expect(reply.locator(".text")).to_contain_text("80 euros", timeout=20_000)
    await screenshot(visitor, "07-visitor")

    row = page.locator("#conversation-rows tbody tr", has_text="web")
    await expect(row).to_have_count(1, timeout=10_000)  # no reload: the live feed brought it
    await screenshot(page, "08-conversations-live")
    await row.get_by_role("link").click()
    await expect(page.locator(".message.assistant p").first).to_contain_text("80 euros")
    await expect(page.locator(".citations li").first).to_have_text("[1] Opening hours")
    await visitor.locator(f"{WIDGET} textarea").fill("I'm Kim Lee from Oak Labs, kim@oak.example")
    await visitor.locator(f"{WIDGET} textarea").press("Enter")
    await expect(page.locator(".message.user")).to_have_count(2, timeout=15_000)  # the transcript follows live
    await expect(page.locator("aside dl")).to_contain_text("kim@oak.example", timeout=15_000)
    await screenshot(page, "09-conversation")

    for path, name in (("/console", "10-overview"), ("/console/agents", "11-agents"), ("/console/leads", "12-leads"),
                       ("/console/knowledge", "13-knowledge"), ("/console/keys", "14-keys"),
                       ("/console/team", "15-team"), ("/console/workflows", "16-workflows"),
                       ("/console/webhooks", "17-webhooks"), ("/console/meetings", "18-meetings"),
                       ("/console/calls", "19-calls"), ("/console/integrations", "20-integrations"),
                       ("/console/analytics", "21-analytics"), ("/console/anomalies", "22-anomalies"),
                       (f"/console/agents/{agent_id}/tests", "23-agent-tests")):
        await page.goto(base + path)
        await expect(page.locator("main h1")).to_be_visible()
        await screenshot(page, name)
    await watched.assert_clean()
    await visitor.context.close()


async def test_a_member_cannot_open_the_admin_pages(platform: Platform, watched: Watched,
                                                    screenshot: Screenshot) -> None:
    base, page = platform.gateway_url, watched.page
    await sign_up(page, base, "Member Check Co", "owner@member-check.example")
    async with httpx.AsyncClient(base_url=base, cookies=dict(
            (c["name"], c["value"]) for c in await page.context.cookies())) as owner:
        added = await owner.post("/v1/users", json={"email": "member@member-check.example", "password": PASSWORD,
                                                    "role": "member"})
        assert added.status_code == 201, added.text
    await page.context.clear_cookies()

    await page.goto(f"{base}/console/team")
    await expect(page).to_have_url(f"{base}/console/login?next=/console/team")
    await page.get_by_label("Email").fill("member@member-check.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await main(page, "button[type=submit]").click()

    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_text("this needs the manage_users permission")
    await screenshot(page, "member-forbidden")
    nav = page.get_by_role("navigation", name="Console")
    await expect(nav.get_by_role("link", name="Agents")).to_be_visible()
    for admin in ("Team", "API keys", "Integrations"):
        await expect(nav.get_by_role("link", name=admin)).to_have_count(0)
    response = await page.goto(f"{base}/console/keys")
    assert response is not None and response.status == 403


async def test_signing_in_works_from_the_keyboard_alone(platform: Platform, watched: Watched) -> None:
    base, page = platform.gateway_url, watched.page
    async with httpx.AsyncClient(base_url=base) as api:
        await api.post("/v1/signup", json={"email": "keys@keyboard.example", "password": PASSWORD,
                                           "company": "Keyboard Co"})
    await page.goto(f"{base}/console/login")

    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type("keys@keyboard.example")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the skip link: focus moves to the page's content
    assert await page.evaluate("document.activeElement.id") == "main"


async def test_an_operator_lands_in_the_admin_area_which_goes_live_and_passes_axe(platform: Platform,
                                                                                  browser: Browser,
                                                                                  screenshot: Screenshot) -> None:
    base = platform.gateway_url
    added = await add_operator(platform.nats_url, platform.nats_auth(), "ops@browser.example")
    # axe is injected as a script of the test's own: this context lets it past the pages' CSP.
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    await page.goto(f"{base}/console/login")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.type(added.operator.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(added.password)
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", name="Platform health")).to_be_visible()
    await expect(page.locator("#live-status")).to_have_text("Live")
    # The live feed's health frame (every 5 s to an operator) makes the page fetch its part again.
    async with page.expect_request(lambda r: r.url == f"{base}/console/admin/health" and "hx-request" in r.headers,
                                   timeout=15_000):
        pass
    nav = page.get_by_role("navigation", name="Console")
    await expect(nav.get_by_role("link", name="Dead letters")).to_be_visible()
    await expect(nav.get_by_role("link", name="Agents")).to_have_count(0)
    found: dict[str, list[dict[str, Any]]] = {}
    for path, name in (("/console/admin/health", "admin-health"), ("/console/admin/tenants", "admin-tenants"),
                       ("/console/admin/consumers", "admin-consumers"),
                       ("/console/admin/dead-letters", "admin-dead-letters"),
                       ("/console/admin/anomalies", "admin-anomalies")):
        await page.goto(base + path)
        await screenshot(page, name)
        found[path] = await axe_violations(page)
    await context.close()

    assert {path: v for path, v in found.items() if v} == {}


SERIOUS = ("serious", "critical")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in SERIOUS]


async def test_the_main_pages_have_no_serious_accessibility_violation(platform: Platform, browser: Browser) -> None:
    base = platform.gateway_url
    # axe is injected as a script of the test's own: this context lets it past the pages' CSP (which the
    # other tests check is kept).
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ("/console/signup", "/console/login"):
        await page.goto(base + path)
        found[path] = await axe_violations(page)
    await page.goto(f"{base}/console/signup")
    await page.get_by_label("Company").fill("Axe Co")
    await page.get_by_label("Work email").fill("owner@axe.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.locator("main button[type=submit]").click()
    await page.goto(f"{base}/console/agents/new")
    await page.get_by_label("Name", exact=True).fill("Ava")
    await page.locator("main button[type=submit]").click()
    agent_path = page.url.rsplit("/", 1)[0]
    for path in ("/console", "/console/agents", "/console/agents/new", agent_path.removeprefix(base),
                 f"{agent_path.removeprefix(base)}/knowledge", f"{agent_path.removeprefix(base)}/channels",
                 f"{agent_path.removeprefix(base)}/embed", "/console/conversations", "/console/leads",
                 "/console/meetings", "/console/knowledge", "/console/integrations", "/console/keys",
                 "/console/team", "/console/webhooks", "/console/workflows", "/console/analytics",
                 "/console/anomalies", f"{agent_path.removeprefix(base)}/tests"):
        await page.goto(base + path)
        found[path] = await axe_violations(page)
    await context.close()

    assert {path: v for path, v in found.items() if v} == {}
