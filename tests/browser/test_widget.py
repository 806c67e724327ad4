"""The chat widget in headless Chromium against the real platform (gateway, agent-runtime, knowledge-ingest,
voice-media). A tenant builds an agent over a handbook (a PDF) with a widget template and takes the embed code
from ``GET /v1/agents/{id}/embed``; the code, with a publishable key for the site, is pasted into pages of a
website on another localhost origin that sends a strict Content-Security-Policy. A visitor then chats: the reply
streams in with its citation; a reload keeps the conversation; going offline and back loses and repeats nothing,
nor does an answer lost on the way; a page on an origin not on the key's allow-list shows no widget and tells
the site owner why; a visitor over the gateway's rate limit gets a friendly notice; the voice button calls the
agent over WebRTC. Screenshots of each state go to artifacts/browser/."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, Route, expect

from afo_testkit.documents import pdf_bytes
from afo_testkit.platform import Platform
from tests.browser.conftest import Screenshot, Sites
from tests.browser.pages import Site, Watched, eventually, strict_csp
from tests.e2e.journey import Tenant, published_agent, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLATFORM_SERVICES = ("gateway", "agent-runtime", "knowledge-ingest", "voice-media")
# The gateway's real rate limit, low enough for one test to run a key out of it (each test has its own key).
RATE_LIMIT = 120
PLATFORM_ENV = {"AFO_RATE_LIMIT_API_PER_PRINCIPAL": f"{RATE_LIMIT}/minute"}

HANDBOOK = [
    ["Harbor Bikes handbook", "Harbor Bikes sells, repairs and rents bicycles in Portland since 1998."],
    ["Repairs", "A standard tune-up costs $85 and takes two working days.",
     "Flat tyres are fixed while you wait for $15."],
    ["Rentals", "City bikes rent for $30 a day, helmet and lock included."],
]
QUESTION = "How much does a tune-up cost?"
TEMPLATE = {"title": "Ask Harbor Bikes", "greeting": "Hi! Ask me about repairs, rentals or anything else.",
            "colour": "#0a7b83", "position": "bottom-left", "voice_button": True}
BUSY = "We're getting a lot of messages right now — please try again in a moment."
WIDGET = "[data-afo-widget]"
# Every state the widget's shadow DOM passes through, however briefly: the typing indicator shown, a reply
# being streamed. Installed in the page by a test (page.evaluate runs outside the page's CSP).
RECORD_WIDGET_STATES = """() => {
  const root = document.querySelector("[data-afo-widget]").shadowRoot;
  window.__afoSeen = [];
  const note = (node) => {
    if (!(node instanceof Element)) return;
    if (node.classList.contains("typing") && !node.hidden) window.__afoSeen.push("typing");
    if (node.dataset.state) window.__afoSeen.push(`${node.dataset.role}:${node.dataset.state}`);
  };
  new MutationObserver((records) => {
    for (const record of records) {
      note(record.target);
      record.addedNodes.forEach(note);
    }
  }).observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ["hidden", "data-state"]});
}"""


@dataclass
class Shop:
    """The tenant, its agent and its website, with what the console's embed page gives."""

    api: httpx.AsyncClient
    tenant: Tenant
    agent_id: str
    site: Site
    snippet: str
    citation_title: str

    async def key(self, agent_id: str | None = None, origins: list[str] | None = None) -> str:
        created = await self.api.post("/v1/api-keys", headers=self.tenant.auth, json={
            "kind": "publishable", "name": "website", "agent_id": agent_id or self.agent_id,
            "allowed_origins": origins or [self.site.origin]})
        assert created.status_code == 201, created.text
        secret: str = created.json()["secret"]
        return secret

    async def page_with_widget(self, path: str, *, site: Site | None = None, agent_id: str | None = None
                               ) -> tuple[str, str]:
        """A page of ``site`` (the shop's by default) with the embed code pasted in, with a new key allowed on
        the shop's site; its URL and the key."""
        key = await self.key(agent_id)
        return (site or self.site).publish(path, self.snippet.replace("YOUR_PUBLISHABLE_KEY", key)), key

    async def history(self, conversation_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/v1/conversations/{conversation_id}", headers=self.tenant.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(platform: Platform, sites: Sites) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as api:
        tenant = await sign_up(api, "Harbor Bikes")
        kb = await api.post("/v1/knowledge-bases", headers=tenant.auth, json={"name": "Handbook"})
        assert kb.status_code == 201, kb.text
        kb_id = kb.json()["id"]
        uploaded = await api.post(f"/v1/knowledge-bases/{kb_id}/documents", headers=tenant.auth, files={
            "file": ("handbook.pdf", pdf_bytes(HANDBOOK, title="Harbor Bikes handbook"), "application/pdf")})
        assert uploaded.status_code in (200, 202), uploaded.text

        async def ingested() -> bool:
            document = (await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{uploaded.json()['id']}",
                                      headers=tenant.auth)).json()
            assert document["status"] != "failed", document
            return bool(document["status"] == "ready")

        await eventually(ingested, within_s=90, every_s=0.5)
        agent_id = await published_agent(api, tenant, name="Hana", knowledge_base_ids=[kb_id],
                                         qualification_fields=["name", "email"], channels={"web": TEMPLATE})
        # The answer the widget must show, asked over the API first (it also warms the search up).
        asked = await api.post("/v1/conversations", headers=tenant.auth, json={"agent_id": agent_id})
        reply = await api.post(f"/v1/conversations/{asked.json()['id']}/messages", params={"wait": "true"},
                               headers=tenant.auth, json={"text": QUESTION})
        citation = reply.json()["reply"]["citations"][0]
        assert "$85" in reply.json()["reply"]["text"] and citation["page"] == 2, reply.text
        site = await sites.start(strict_csp(platform.gateway_url))
        embed = await api.get(f"/v1/agents/{agent_id}/embed", headers=tenant.auth)
        assert embed.status_code == 200, embed.text
        yield Shop(api, tenant, agent_id, site, embed.json()["snippet"], citation["title"])


def widget(page: Page, selector: str) -> Any:
    return page.locator(f"{WIDGET} {selector}")


async def conversation_of(page: Page, key: str) -> str:
    """The conversation the widget opened (lazily, with the first message) and keeps in sessionStorage."""
    async def stored() -> str | None:
        value: str | None = await page.evaluate(f"sessionStorage.getItem('afo-widget:{key}:conversation')")
        return value

    conversation_id: str = json.loads(await eventually(stored))
    assert conversation_id.startswith("conv_"), conversation_id
    return conversation_id


async def shown_ids(page: Page) -> list[str]:
    ids: list[str] = await widget(page, "li[data-id]").evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    return ids


async def ask(page: Page, text: str) -> None:
    await widget(page, "textarea").fill(text)
    await widget(page, "textarea").press("Enter")


async def settled(page: Page, shop: Shop, conversation_id: str, messages: int) -> list[str]:
    """Wait until the widget and the history both hold ``messages`` messages, none pending; the ids shown."""
    seen: dict[str, Any] = {}

    async def both() -> list[str] | None:
        seen["shown"] = ids = await shown_ids(page)
        pending = await widget(page, 'li[data-state="sending"], li[data-state="streaming"]').count()
        if len(ids) != messages or pending:
            return None
        # The tenant's key has a rate limit too: the history is asked only when the page may be done.
        seen["history"] = history = [m["id"] for m in (await shop.history(conversation_id))["messages"]]
        return ids if len(history) == messages else None

    try:
        return await eventually(both, within_s=30, every_s=0.2)
    except AssertionError:
        raise AssertionError(f"expected {messages} messages, shown and recorded: {seen}") from None


async def test_a_visitor_chats_on_a_strict_csp_page_and_the_reply_streams_in_with_its_citation(
        shop: Shop, watched: Watched, screenshot: Screenshot) -> None:
    page = watched.page
    url, key = await shop.page_with_widget("/chat.html")
    await page.goto(url)

    launcher = widget(page, ".launcher")
    await expect(launcher).to_be_visible()
    assert await launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(10, 123, 131)"
    box = await launcher.bounding_box()
    assert box is not None and box["x"] < 100  # bottom-left, as the template says
    await screenshot(page, "1-closed")
    await launcher.click()
    await expect(widget(page, ".title")).to_have_text(TEMPLATE["title"])
    await expect(widget(page, ".greeting")).to_have_text(TEMPLATE["greeting"])
    await expect(widget(page, ".voice")).to_be_visible()
    await screenshot(page, "2-open")

    await page.evaluate(RECORD_WIDGET_STATES)
    await ask(page, QUESTION)
    reply = widget(page, 'li[data-role="assistant"][data-state="done"]')
    await expect(reply).to_have_count(1, timeout=20_000)
    await expect(reply.locator(".text")).to_contain_text("$85")
    await expect(reply.locator(".citation")).to_have_text([f"[1] {shop.citation_title}, p. 2"])
    await expect(widget(page, ".typing")).to_be_hidden()
    await screenshot(page, "3-replied")

    seen: list[str] = await page.evaluate("window.__afoSeen")
    assert "typing" in seen and "assistant:streaming" in seen, seen  # dots, then the reply as it streamed
    assert seen.index("typing") < seen.index("assistant:streaming")
    conversation_id = await conversation_of(page, key)
    history = await shop.history(conversation_id)
    assert (history["channel"], history["agent_id"]) == ("web", shop.agent_id)
    assert await shown_ids(page) == [m["id"] for m in history["messages"]]
    assert history["messages"][1]["citations"][0]["page"] == 2
    await watched.assert_clean()


async def test_a_reload_keeps_the_conversation(shop: Shop, watched: Watched, screenshot: Screenshot) -> None:
    page = watched.page
    url, key = await shop.page_with_widget("/reload.html")
    await page.goto(url)
    await widget(page, ".launcher").click()
    await ask(page, "Hi there!")
    conversation_id = await conversation_of(page, key)
    before = await settled(page, shop, conversation_id, 2)

    await page.reload()

    await expect(widget(page, ".panel")).to_be_visible()  # still open
    await expect(widget(page, "li[data-id]")).to_have_count(2)
    assert await shown_ids(page) == before
    assert await conversation_of(page, key) == conversation_id
    await ask(page, "Do you rent bikes?")
    after = await settled(page, shop, conversation_id, 4)
    assert after[:2] == before
    await screenshot(page, "after-reload")
    await watched.assert_clean()


async def test_offline_and_back_online_loses_nothing_and_shows_nothing_twice(
        shop: Shop, watched: Watched, screenshot: Screenshot) -> None:
    page = watched.page
    url, key = await shop.page_with_widget("/offline.html")
    await page.goto(url)
    await widget(page, ".launcher").click()
    await ask(page, "Hi there!")
    conversation_id = await conversation_of(page, key)
    await settled(page, shop, conversation_id, 2)

    await page.context.set_offline(True)
    await expect(widget(page, '.notice[data-topic="offline"]')).to_be_visible()
    # Meanwhile the visitor's other tab asks something: the widget misses the message and its reply.
    elsewhere = await shop.api.post(
        f"/v1/conversations/{conversation_id}/messages", params={"wait": "true"}, json={"text": QUESTION},
        headers={"Authorization": f"Bearer {key}", "Origin": shop.site.origin})
    assert elsewhere.status_code == 200, elsewhere.text
    await ask(page, "And how much is a city bike for a day?")
    await expect(widget(page, 'li[data-role="user"][data-state="sending"]')).to_have_count(1)
    await screenshot(page, "1-offline")

    await page.context.set_offline(False)

    ids = await settled(page, shop, conversation_id, 6)
    history = await shop.history(conversation_id)
    assert ids == [m["id"] for m in history["messages"]] and len(set(ids)) == 6
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 3
    assert history["messages"][2]["text"] == QUESTION
    await expect(widget(page, ".notice")).to_be_hidden()
    await screenshot(page, "2-back-online")
    assert await watched.csp_violations() == [] and watched.page_errors == []


async def test_a_message_whose_answer_was_lost_is_sent_again_with_its_key_and_recorded_once(
        shop: Shop, watched: Watched) -> None:
    page = watched.page
    url, key = await shop.page_with_widget("/lost.html")
    await page.goto(url)
    await widget(page, ".launcher").click()
    await ask(page, "Hi there!")
    conversation_id = await conversation_of(page, key)
    await settled(page, shop, conversation_id, 2)
    keys: list[str | None] = []

    async def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) > 1:
            await route.continue_()
            return
        recorded = await route.fetch()  # it reaches the gateway and is recorded …
        assert recorded.status == 202, await recorded.text()
        await route.abort("connectionreset")  # … but the browser never hears so

    await page.route("**/v1/conversations/*/messages", lose_the_first_answer)
    await ask(page, QUESTION)

    await settled(page, shop, conversation_id, 4)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0], keys
    texts = [m["text"] for m in (await shop.history(conversation_id))["messages"] if m["role"] == "user"]
    assert texts == ["Hi there!", QUESTION]


async def test_a_page_on_an_origin_not_allowed_shows_no_widget_and_tells_the_site_owner(
        shop: Shop, sites: Sites, watched: Watched, screenshot: Screenshot, platform: Platform) -> None:
    page = watched.page
    elsewhere = await sites.start(strict_csp(platform.gateway_url))
    url, key = await shop.page_with_widget("/foreign.html", site=elsewhere)  # a key for the shop's origin only

    await page.goto(url)

    told = await eventually(lambda: _said(watched, "[AFO widget]"))
    assert f"origin ({elsewhere.origin}) is not allowed" in told and key[:7] in told and key not in told
    assert await page.locator(WIDGET).count() == 0
    await expect(page.locator("h1")).to_have_text("Harbor Bikes")
    await screenshot(page, "no-widget")
    assert await watched.csp_violations() == [] and watched.page_errors == []


async def _said(watched: Watched, prefix: str) -> str | None:
    return next((text for text in watched.errors() if text.startswith(prefix)), None)


async def test_a_visitor_over_the_rate_limit_gets_a_friendly_notice_and_keeps_the_message(
        shop: Shop, watched: Watched, screenshot: Screenshot) -> None:
    page = watched.page
    plain = await published_agent(shop.api, shop.tenant, name="Plain")  # no template, no voice
    url, key = await shop.page_with_widget("/busy.html", agent_id=plain)
    await page.goto(url)
    await widget(page, ".launcher").click()
    await expect(widget(page, ".title")).to_have_text("Plain")
    await expect(widget(page, ".voice")).to_be_hidden()
    assert await widget(page, ".launcher").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(37, 99, 235)"
    headers = {"Authorization": f"Bearer {key}", "Origin": shop.site.origin}
    for _ in range(RATE_LIMIT + 1):  # the visitor's key runs out of the gateway's budget
        if (await shop.api.get("/v1/widget/config", headers=headers)).status_code == 429:
            break
    else:
        pytest.fail(f"the key was never limited after {RATE_LIMIT + 1} requests")

    await ask(page, "Hello, is anyone there?")

    notice = widget(page, ".notice")
    await expect(notice).to_have_text(BUSY)
    await expect(notice).to_have_attribute("data-kind", "error")
    await expect(widget(page, 'li[data-role="user"]')).to_have_count(0)
    await expect(widget(page, "textarea")).to_have_value("Hello, is anyone there?")  # ready to send again
    await screenshot(page, "busy")
    assert await watched.csp_violations() == [] and watched.page_errors == []
    assert not any(text.startswith("[AFO widget]") for text in watched.errors())


async def test_the_voice_button_calls_the_agent_in_the_browser(
        shop: Shop, watched: Watched, screenshot: Screenshot) -> None:
    page = watched.page
    url, _key = await shop.page_with_widget("/call.html")
    await page.goto(url)
    await widget(page, ".launcher").click()

    await widget(page, ".voice").click()

    await expect(widget(page, '.voice[data-call="connected"]')).to_be_visible(timeout=20_000)
    await expect(widget(page, '.notice[data-topic="voice"]')).to_have_text(
        "You're on a call. Press the red phone to hang up.")
    assert await widget(page, "audio").evaluate("a => a.srcObject instanceof MediaStream")  # the agent's voice
    calls = await eventually(lambda: _calls(shop), within_s=10)
    assert (calls[0]["transport"], calls[0]["state"]) == ("webrtc", "in_progress"), calls
    await screenshot(page, "on-call")
    await widget(page, ".voice").click()  # hang up
    await expect(widget(page, ".voice")).not_to_have_attribute("data-call", "connected")
    await expect(widget(page, ".notice")).to_be_hidden()
    ended = await eventually(lambda: _calls(shop, ended=True), within_s=20)
    assert ended[0]["id"] == calls[0]["id"]
    await watched.assert_clean()


async def _calls(shop: Shop, ended: bool = False) -> list[dict[str, Any]]:
    response = await shop.api.get("/v1/calls", params={"agent_id": shop.agent_id}, headers=shop.tenant.auth)
    assert response.status_code == 200, response.text
    calls: list[dict[str, Any]] = response.json()["data"]
    return [c for c in calls if (c["state"] == "ended") == ended]


async def test_the_csp_watch_sees_what_a_strict_policy_refuses(
        sites: Sites, watched: Watched, platform: Platform) -> None:
    """The other tests assert no violation: this shows the watch would have seen one."""
    site = await sites.start(strict_csp(platform.gateway_url))
    await watched.page.goto(site.publish("/inline.html", '<script>window.ran = true</script><p style="color: red">'
                                                         "styled</p>"))

    violations = await eventually(watched.csp_violations)
    assert {"script-src-elem", "style-src-attr"} <= {v.get("directive") for v in violations}, violations
    assert await watched.page.evaluate("window.ran === undefined")
