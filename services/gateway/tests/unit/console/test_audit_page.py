"""The console's "Audit log" page on a gateway built by the composition root: the tenant's entries newest first with
who made them, the filters (action prefix, who, days in UTC), older entries a page at a time, a bad day a 422 page,
and its "Export CSV" link, which the console's session opens. (Who may open it: ``test_console_access.py``.)"""

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from afo_gateway.console.pages import audit as audit_page


async def test_the_log_shows_who_changed_what_and_filters_it(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    made = await client.post("/v1/api-keys", headers=owner.auth, json={"name": "siem", "kind": "secret"})
    assert made.status_code == 201, made.text
    today = datetime.now(UTC).date().isoformat()

    page = await client.get("/console/audit")
    keys_only = await client.get("/console/audit", params={"action": "apikey.", "since": today, "until": today})
    yesterday = await client.get("/console/audit", params={"until": "2020-01-01"})

    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.index("apikey.create") < rows.index("tenant.signup")  # newest first
    assert "API key default" in rows and owner.email in rows
    assert 'aria-current="page"' in page.text.split("</nav>")[0].split('href="/console/audit"')[1][:30]
    assert keys_only.status_code == 200
    key_rows = keys_only.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "apikey.create" in key_rows and "tenant.signup" not in key_rows
    assert "No entries match these filters." in yesterday.text


async def test_older_entries_come_a_page_at_a_time_with_the_filters_kept(gateways: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_page, "PAGE", 2)
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    for name in ("a", "b", "c"):
        await client.post("/v1/api-keys", headers=owner.auth, json={"name": name, "kind": "secret"})

    first = await client.get("/console/audit", params={"action": "apikey."})
    more = re.search(r'href="(/console/audit\?[^"]+)">Older entries', first.text)
    assert more, first.text
    second = await client.get(html.unescape(more.group(1)))

    assert first.text.count("<code>apikey.create</code>") == 2
    assert "action=apikey." in more.group(1)
    assert second.status_code == 200 and second.text.count("<code>apikey.create</code>") == 1
    assert "Older entries" not in second.text


async def test_a_bad_day_is_a_422_page(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)

    bad = await client.get("/console/audit", params={"since": "someday"})
    reversed_period = await client.get("/console/audit", params={"since": "2026-12-02", "until": "2026-12-01"})

    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert reversed_period.status_code == 422


async def test_the_export_link_downloads_the_filtered_csv_with_the_session(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    await client.post("/v1/api-keys", headers=owner.auth, json={"name": "siem", "kind": "secret"})

    page = await client.get("/console/audit", params={"action": "apikey.", "since": "2026-01-01"})
    link = re.search(r'<a href="([^"]+)" download>Export CSV</a>', page.text)
    assert link, page.text
    exported = await client.get(html.unescape(link.group(1)))

    assert html.unescape(link.group(1)) == "/v1/audit/export?action=apikey.&since=2026-01-01T00%3A00%3A00Z"
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert len(lines) == 2 and ",apikey.create," in lines[1] and "API key default" in lines[1]
