"""The console's pages on a gateway built by the composition root: sign-up and login through forms, the
login redirect, the form token and origin checks, and every page for each role (owner, admin, member, operator,
nobody): who gets it, who gets the 403 page, who is sent to the login, and which links the menu shows; a tenant
cannot make anyone an operator."""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import all_operations
from afo_gateway.console.pages.integrations import GROUPS, LABELS
from afo_gateway.console.session import safe_next
from afo_gateway.domain.integrations import PROVIDERS
from afo_testkit.rpc_stand_ins import answer_rpcs

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


def blank(annotation: Any) -> Any:
    """The least a model's type accepts: empty lists, zeros, the first literal; what a stand-in answers with."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return None if type(None) in args else blank(args[0])
    if origin is Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset, dict):
        return {} if origin is dict else []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: blank(f.annotation) for name, f in annotation.model_fields.items() if f.is_required()}
    return {int: 0, float: 0.0, str: "x", bool: False, datetime: datetime(2026, 1, 1, tzinfo=UTC),
            date: date(2026, 1, 1)}.get(annotation)


@pytest.fixture
async def owners_answer(connection: NatsConnection) -> None:
    """Every other service's RPC answered with an empty page or the least its reply may be, so each page renders
    for whoever may open it (the health RPCs stay unanswered: those services show as not ready)."""
    def answer(op: RpcOperation[Any, Any]) -> Callable[[Any], Awaitable[Any]]:
        async def respond(_request: Any) -> Any:
            return op.response.model_validate(blank(op.response))

        return respond

    await answer_rpcs(connection, {op: answer(op) for op in all_operations()
                                   if op.service != "gateway" and op.name != "health"})


TENANT_PAGES = ["/console", "/console/agents", "/console/agents/new", "/console/conversations", "/console/calls",
                "/console/leads", "/console/meetings", "/console/analytics", "/console/anomalies", "/console/knowledge",
                "/console/workflows", "/console/webhooks", "/console/integrations", "/console/keys", "/console/team",
                "/console/audit"]
ADMIN_AREA = ["/console/admin", "/console/admin/health", "/console/admin/tenants", "/console/admin/consumers",
              "/console/admin/dead-letters", "/console/admin/anomalies"]
MANAGERS_ONLY = {"/console/keys", "/console/team", "/console/webhooks", "/console/audit"}
TO_ADMIN = "/console/admin/health"  # where an operator's console starts
EXPECTED: dict[str, dict[str, int | str]] = {
    "owner": {**{p: 200 for p in TENANT_PAGES}, **{p: 403 for p in ADMIN_AREA}},
    "admin": {**{p: 200 for p in TENANT_PAGES}, **{p: 403 for p in ADMIN_AREA}},
    "member": {**{p: 403 if p in MANAGERS_ONLY else 200 for p in TENANT_PAGES}, **{p: 403 for p in ADMIN_AREA}},
    "operator": {**{p: 403 for p in TENANT_PAGES}, "/console": TO_ADMIN,
                 **{p: 200 for p in ADMIN_AREA}, "/console/admin": TO_ADMIN},
    "nobody": {p: "login" for p in TENANT_PAGES + ADMIN_AREA},
}


async def console_of(gateways: Any, gateway: Any, role: str) -> httpx.AsyncClient:
    owner = await gateways.sign_up(await gateways.client(gateway))
    if role == "nobody":
        return await gateways.client(gateway)  # type: ignore[no-any-return]
    if role == "operator":
        return await gateways.operator(gateway)  # type: ignore[no-any-return]
    if role != "owner":
        await add_person(gateways, gateway, owner.email, f"{role}@example.com", role)
    return await gateways.login(gateway, owner.email if role == "owner" else f"{role}@example.com")  # type: ignore[no-any-return]


def outcome(page: httpx.Response) -> int | str:
    if page.status_code == 303:
        target = page.headers["location"]
        return "login" if target.startswith("/console/login?next=") else target
    return page.status_code


@pytest.mark.parametrize("role", list(EXPECTED))
async def test_each_role_opens_only_its_pages_and_sees_only_its_links(gateways: Any, owners_answer: None,
                                                                      role: str) -> None:
    gateway = await gateways.start()
    client = await console_of(gateways, gateway, role)

    seen = {page: outcome(await client.get(page)) for page in TENANT_PAGES + ADMIN_AREA}

    assert seen == EXPECTED[role]
    if role == "nobody":
        assert (await client.get("/console/admin/tenants")).headers["location"] == (
            "/console/login?next=/console/admin/tenants")
        return
    opened = next(page for page, status in seen.items() if status == 200)
    forbidden = next(page for page, status in seen.items() if status == 403)
    refused = await client.get(forbidden)
    assert "Not allowed" in refused.text and refused.headers["content-type"].startswith("text/html")
    nav = (await client.get(opened)).text.split("</nav>")[0]
    linked = {page for page in NAV_LINKS if f'href="{page}"' in nav}
    # The menu links every page the role opens and no other; a member reads the integrations (masked) but
    # has nothing to do there, so the menu leaves them out.
    assert linked == {page for page in NAV_LINKS if seen[page] == 200} - (
        {"/console/integrations"} if role == "member" else set())


# The pages the side menu links to (the others are reached from them).
NAV_LINKS = {"/console/agents", "/console/conversations", "/console/calls", "/console/leads", "/console/meetings",
             "/console/analytics", "/console/anomalies", "/console/knowledge", "/console/workflows",
             "/console/webhooks", "/console/integrations", "/console/keys", "/console/team", "/console/audit",
             *ADMIN_AREA[1:]}


async def test_a_tenant_admin_cannot_make_anyone_an_operator_on_the_team_page(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    page = await client.get("/console/team")
    token = csrf_of(page)
    me = (await client.get("/v1/users")).json()["data"][0]

    added = await client.post("/console/team", headers=ORIGIN, data={
        "email": "sneaky@example.com", "password": gateways.password, "role": "operator", "csrf": token})
    promoted = await client.post(f"/console/team/{me['id']}/role", headers=ORIGIN,
                                 data={"role": "operator", "csrf": token})

    assert 'value="operator"' not in page.text  # not offered
    assert added.status_code == 403 and 'role="alert"' in added.text and "afo operator add" in added.text
    assert promoted.status_code == 403
    assert {u["email"]: u["role"] for u in (await client.get("/v1/users")).json()["data"]} == {owner.email: "owner"}


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


async def test_behind_a_proxy_a_form_from_the_public_url_is_accepted(gateways: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_PUBLIC_URL", "https://afo.example.com")
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    client = await gateways.login(gateway, owner.email)
    token = csrf_of(await client.get("/console/keys"))

    # The proxy ends TLS and speaks plain HTTP to the gateway under its own host name.
    proxied = await client.post("/console/keys", headers={"Origin": "https://afo.example.com"},
                                data={"name": "proxied", "csrf": token})
    other_site = await client.post("/console/keys", headers={"Origin": "https://evil.example"},
                                   data={"name": "x", "csrf": token})

    assert proxied.status_code == 200 and other_site.status_code == 403
