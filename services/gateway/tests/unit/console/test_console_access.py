"""The console's pages on a gateway built by the composition root: sign-up and login through forms, the
login redirect, the form token and origin checks, and the pages each role may open."""

import re
from typing import Any

import httpx
import pytest

from afo_gateway.console.pages.integrations import GROUPS, LABELS
from afo_gateway.console.session import safe_next
from afo_gateway.domain.integrations import PROVIDERS

ORIGIN = {"Origin": "http://gateway.test"}


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def console_signup(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/console/signup", headers=ORIGIN, data={
        "company": "Acme Dental", "email": email, "password": password, "timezone": "Europe/Paris"})


async def test_signing_up_in_the_console_logs_in_and_shows_the_key_once(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())

    page = await console_signup(client, "ana@example.com", gateways.password)

    assert page.status_code == 200
    assert re.search(r'value="sk_[A-Za-z0-9]+"', page.text)
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["content-security-policy"]
    keys = await client.get("/console/keys")
    assert keys.status_code == 200
    assert "Acme Dental" in keys.text and "ana@example.com" in keys.text


async def test_a_bad_signup_keeps_what_was_typed_and_says_what_is_wrong(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())

    page = await console_signup(client, "not-an-email", "short")

    assert page.status_code == 422
    assert 'role="alert"' in page.text and 'value="not-an-email"' in page.text
    assert "afo_session" not in page.headers.get("set-cookie", "")


async def test_a_page_without_a_session_goes_to_the_login_and_back(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.client(gateway)

    first = await client.get("/console/conversations?agent_id=agt_1")
    assert first.status_code == 303
    assert first.headers["location"] == "/console/login?next=/console/conversations%3Fagent_id%3Dagt_1"

    login = await client.post("/console/login", headers=ORIGIN, data={
        "email": owner.email, "password": gateways.password, "next": "/console/keys"})
    assert login.status_code == 303 and login.headers["location"] == "/console/keys"
    assert (await client.get("/console/keys")).status_code == 200


async def test_a_wrong_password_is_a_401_page_with_the_email_kept(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.client(gateway)

    page = await client.post("/console/login", headers=ORIGIN,
                             data={"email": owner.email, "password": "wrong password!"})

    assert page.status_code == 401
    assert "email or password is wrong" in page.text and owner.email in page.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/v1/agents", "/console\\@evil",
                                    None])
def test_after_login_only_a_console_path_is_followed(target: str | None) -> None:
    assert safe_next(target) == "/console"


async def test_a_form_without_its_token_or_from_another_site_is_refused(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    token = csrf_of(await client.get("/console/keys"))

    no_token = await client.post("/console/keys", headers=ORIGIN, data={"name": "x"})
    wrong_token = await client.post("/console/keys", headers=ORIGIN, data={"name": "x", "csrf": "0" * 64})
    other_site = await client.post("/console/keys", headers={"Origin": "https://evil.example"},
                                   data={"name": "x", "csrf": token})
    good = await client.post("/console/keys", headers=ORIGIN, data={"name": "ci", "csrf": token})

    assert [no_token.status_code, wrong_token.status_code, other_site.status_code] == [403, 403, 403]
    assert good.status_code == 200 and re.search(r'value="sk_[A-Za-z0-9]+"', good.text)
    listed = (await client.get("/v1/api-keys")).json()["data"]
    assert [k["name"] for k in listed].count("ci") == 1 and "x" not in [k["name"] for k in listed]


async def test_htmx_carries_the_token_in_a_header(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    token = csrf_of(await client.get("/console/keys"))

    response = await client.post("/console/keys", data={"name": "by-htmx"},
                                 headers={**ORIGIN, "HX-Request": "true", "X-CSRF-Token": token})

    assert response.status_code == 200


async def add_person(gateways: Any, gateway: Any, owner_email: str, email: str, role: str) -> None:
    """People are added by a person (a secret key may not manage them)."""
    owner = await gateways.login(gateway, owner_email)
    added = await owner.post("/v1/users", json={"email": email, "password": gateways.password, "role": role})
    assert added.status_code == 201, added.text


ADMIN_PAGES = ["/console/team", "/console/keys", "/console/integrations"]


@pytest.mark.parametrize(("role", "allowed"), [
    ("owner", {"/console/team", "/console/keys", "/console/integrations"}),
    ("admin", {"/console/team", "/console/keys", "/console/integrations"}),
    ("member", {"/console/integrations"}),
    ("operator", {"/console/integrations"}),
])
async def test_each_role_opens_only_its_pages_and_sees_only_its_links(gateways: Any, role: str,
                                                                      allowed: set[str]) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    email = owner.email
    if role != "owner":
        email = f"{role}@example.com"
        await add_person(gateways, gateway, owner.email, email, role)
    client = await gateways.login(gateway, email)

    statuses = {page: (await client.get(page)).status_code for page in ADMIN_PAGES}

    assert {page for page, status in statuses.items() if status == 200} == allowed
    assert all(status == 403 for page, status in statuses.items() if page not in allowed)
    nav = (await client.get("/console/integrations")).text.split("</nav>")[0]
    assert ('href="/console/team"' in nav) == ("/console/team" in allowed)
    assert ('href="/console/keys"' in nav) == ("/console/keys" in allowed)


async def test_a_member_sees_the_integrations_but_cannot_save_them(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    await add_person(gateways, gateway, owner.email, "m@example.com", "member")
    client = await gateways.login(gateway, "m@example.com")
    page = await client.get("/console/integrations")

    saved = await client.post("/console/integrations/openai", headers=ORIGIN,
                              data={"api_key": "sk-test-123456789", "csrf": csrf_of(page)})

    assert saved.status_code == 403
    assert (await client.get("/v1/integrations")).json()["data"] == []


async def test_an_integration_form_keeps_a_blank_secret_and_never_shows_it(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    token = csrf_of(await client.get("/console/integrations"))

    first = await client.post("/console/integrations/openai", headers=ORIGIN,
                              data={"api_key": "sk-secret-abcdefgh1234", "base_url": "", "csrf": token})
    again = await client.post("/console/integrations/openai", headers=ORIGIN,
                              data={"api_key": "", "base_url": "http://llm.internal/v1", "csrf": token})
    bad = await client.post("/console/integrations/openai", headers=ORIGIN,
                            data={"api_key": "", "base_url": "ftp://nope", "csrf": token})

    assert first.status_code == 303 and again.status_code == 303
    stored = (await client.get("/v1/integrations/openai")).json()
    assert stored["fields"] == {"api_key": "••••1234", "base_url": "http://llm.internal/v1"}
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    page = (await client.get("/console/integrations")).text
    assert "sk-secret-abcdefgh1234" not in page and "••••1234" in page


async def test_adding_a_member_and_changing_a_role_through_the_team_page(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    token = csrf_of(await client.get("/console/team"))

    added = await client.post("/console/team", headers=ORIGIN, data={
        "email": "new@example.com", "password": gateways.password, "role": "member", "csrf": token})
    users = (await client.get("/v1/users")).json()["data"]
    new = next(u for u in users if u["email"] == "new@example.com")
    changed = await client.post(f"/console/team/{new['id']}/role", headers=ORIGIN,
                                data={"role": "admin", "csrf": token})
    invalid = await client.post(f"/console/team/{new['id']}/role", headers=ORIGIN,
                                data={"role": "superuser", "csrf": token})

    assert added.status_code == 303 and changed.status_code == 303
    assert next(u for u in (await client.get("/v1/users")).json()["data"] if u["id"] == new["id"])["role"] == "admin"
    assert invalid.status_code == 422


async def test_logging_out_ends_the_session(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)

    out = await client.post("/console/logout", headers=ORIGIN)

    assert out.status_code == 303
    assert (await client.get("/console/keys")).status_code == 303
    assert (await client.get("/v1/users")).status_code == 401


async def test_assets_are_served_with_a_long_cache_when_versioned(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())
    login = await client.get("/console/login")
    script = re.search(r'src="(/console/static/console\.js\?v=[0-9a-f]+)"', login.text)
    assert script

    asset = await client.get(script.group(1))
    missing = await client.get("/console/static/nope.js")

    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert missing.status_code == 404


def test_every_vault_provider_has_a_place_and_a_name_on_the_integrations_page() -> None:
    placed = [name for _, names in GROUPS for name in names]

    assert sorted(placed) == sorted(PROVIDERS) and len(placed) == len(set(placed))
    assert set(LABELS) == set(PROVIDERS)
