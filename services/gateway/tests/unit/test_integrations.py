"""The credential vault as its handler keeps it, on every backend (``conftest.py``): in memory, SQLite,
PostgreSQL. Secrets are sealed at rest, masked on read, resolved only for the services that use them, and
sealed again under a new key after a rotation."""

import base64
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from afo_common.events import Envelope
from afo_common.rpcs.gateway import ResolveCredential
from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Permission, Principal
from afo_gateway.domain.errors import Forbidden, Invalid, NoConnectionTest, NotFound, VaultLocked
from afo_gateway.domain.vault import Keyring
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import SteppingClock

Committed = Callable[[], Awaitable[list[Envelope]]]
TWILIO = {"account_sid": "AC0123456789abcdef", "auth_token": "twilio-secret-token-9876", "from_number": "+15550001"}
OPENAI = {"api_key": "sk-openai-very-secret-4321"}


def key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def principal(tenant_id: str = "ten_a", kind: Any = "secret_key",
              permissions: frozenset[Permission] = SECRET_KEY_PERMISSIONS) -> Principal:
    return Principal(tenant_id, kind, f"sub_{tenant_id}", permissions)


def member(tenant_id: str = "ten_a") -> Principal:
    return principal(tenant_id, "user", ROLE_PERMISSIONS["member"])


async def test_credentials_are_stored_sealed_shown_masked_and_announced_without_values(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    view = await vault.put(principal(), "twilio", {**TWILIO, "account_sid": " AC0123456789abcdef "})

    assert view.fields == {"account_sid": "AC0123456789abcdef", "auth_token": "••••9876", "from_number": "+15550001"}
    assert (view.provider, view.key_id, view.secret_fields) == ("twilio", "k1", ["auth_token"])
    assert await vault.get(principal(), "twilio") == view
    assert [v.provider for v in await vault.list(principal())] == ["twilio"]
    async with store.reading() as repos:
        row = await repos.integrations.get("ten_a", "twilio")
    assert row is not None and b"twilio-secret" not in row.ciphertext and len(row.nonce) == 12
    event = (await committed())[-1]
    assert (event.type, event.tenantid, event.data) == (
        "afo.integration.connected.v1", "ten_a",
        {"provider": "twilio", "key_id": "k1", "fields": ["account_sid", "auth_token", "from_number"]})


async def test_a_replaced_record_keeps_its_creation_and_a_removed_one_is_gone(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    first = await vault.put(principal(), "openai", OPENAI)

    second = await vault.put(principal(), "openai", {"api_key": "sk-another-secret-0000", "base_url": "http://x/v1"})

    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert second.fields == {"api_key": "••••0000", "base_url": "http://x/v1"}
    await vault.remove(principal(), "openai")
    with pytest.raises(NotFound):
        await vault.get(principal(), "openai")
    with pytest.raises(NotFound):
        await vault.remove(principal(), "openai")
    assert (await committed())[-1].type == "afo.integration.removed.v1"


@pytest.mark.parametrize(("provider", "body", "field"), [
    ("twilio", {"account_sid": "AC0123456789abcdef"}, "auth_token"),
    ("twilio", {**TWILIO, "account_sid": "nope"}, "account_sid"),
    ("openai", {**OPENAI, "colour": "red"}, "colour"),
    ("smtp", {"host": "mail", "port": 70000, "username": "u", "password": "p", "from_address": "a@b.c"}, "port"),
    ("calendly", {"access_token": "calendly-token-1", "event_type_uri": "https://evil.test/event_types/X"},
     "event_type_uri"),
    ("google", {"calendar_id": ""}, "calendar_id"),
])
async def test_fields_are_checked_by_the_providers_model(store: Store, clock: SteppingClock, provider: str,
                                                         body: dict[str, Any], field: str) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    with pytest.raises(Invalid) as raised:
        await vault.put(principal(), provider, body)

    assert ["body", field] in [e["loc"] for e in raised.value.errors]
    assert "secret" not in str(raised.value.errors)


async def test_a_google_record_holds_a_whole_client_and_calendly_an_event_type(
    store: Store, clock: SteppingClock
) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    for half in ({"client_id": "id.apps.googleusercontent.com"}, {"refresh_token": "1//0g-refresh-secret"}):
        with pytest.raises(Invalid):
            await vault.put(principal(), "google", half)
    view = await vault.put(principal(), "google", {"client_id": "id.apps.googleusercontent.com",
                                                   "client_secret": "GOCSPX-client-secret-1234"})
    assert view.fields == {"client_id": "id.apps.googleusercontent.com", "client_secret": "••••1234"}
    uri = "https://api.calendly.com/event_types/ET0001"
    shown = await vault.put(principal(), "calendly", {"access_token": "calendly-token-5678", "event_type_uri": uri})
    assert shown.fields == {"access_token": "••••5678", "event_type_uri": uri}


SMTP = {"host": "mail.example", "port": 587, "from_address": "bookings@example.com"}
LOGIN = {"username": "bookings", "password": "smtp-password-1"}


@pytest.mark.parametrize("body", [
    {**SMTP, **LOGIN},  # STARTTLS unless told otherwise
    {**SMTP, **LOGIN, "port": 465, "security": "tls"},
    {**SMTP, "port": 25, "security": "none"},  # a relay that needs no login
])
async def test_an_smtp_record_says_how_its_connection_is_secured(store: Store, clock: SteppingClock,
                                                                 body: dict[str, Any]) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    await vault.put(principal(), "smtp", body)

    resolved = await vault.resolve("notifier", ResolveCredential(tenant_id="ten_a", provider="smtp"))

    assert resolved.fields == {name: str(value) for name, value in {"security": "starttls", **body}.items()}


@pytest.mark.parametrize(("body", "message"), [
    ({**SMTP, **LOGIN, "security": "none"}, "with none the password would travel in clear"),
    ({**SMTP, "username": "bookings"}, "username and password go together"),
    ({**SMTP, "password": "smtp-password-1", "security": "tls"}, "username and password go together"),
])
async def test_an_smtp_login_is_whole_and_never_in_clear(store: Store, clock: SteppingClock, body: dict[str, Any],
                                                         message: str) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    with pytest.raises(Invalid) as raised:
        await vault.put(principal(), "smtp", body)

    assert [(e["loc"], message in e["msg"]) for e in raised.value.errors] == [(["body"], True)]
    assert "smtp-password" not in str(raised.value.errors)


async def test_smtp_says_security_not_starttls(store: Store, clock: SteppingClock) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    for body, field in (({**SMTP, **LOGIN, "starttls": True}, "starttls"),
                        ({**SMTP, **LOGIN, "security": "ssl"}, "security")):
        with pytest.raises(Invalid) as raised:
            await vault.put(principal(), "smtp", body)
        assert ["body", field] in [e["loc"] for e in raised.value.errors]


async def test_a_form_saved_over_a_record_of_an_older_model_drops_the_fields_it_no_longer_has(
    store: Store, clock: SteppingClock
) -> None:
    """A record stored before ``starttls`` became ``security`` still holds ``starttls``: the console's form,
    which shows only the model's fields, must still save (the stored password kept, as a blank secret does)."""
    keyring = Keyring.from_setting(key("k1"))
    vault = Integrations(store, keyring, clock)
    await vault.put(principal(), "smtp", {**SMTP, **LOGIN})
    async with store.reading() as repos:
        row = await repos.integrations.get("ten_a", "smtp")
    assert row is not None
    older = keyring.seal("ten_a", "smtp", {**SMTP, **LOGIN, "starttls": True})
    async with store() as uow:
        await uow.integrations.put(replace(row, key_id=older.key_id, nonce=older.nonce, ciphertext=older.ciphertext))

    view = await vault.put_form(principal(), "smtp", {"host": "mail.example", "port": "465", "username": "bookings",
                                                      "password": "", "from_address": "bookings@example.com",
                                                      "security": "tls"})

    assert view.fields == {**SMTP, "port": 465, "username": "bookings", "password": "••••rd-1", "security": "tls"}
    resolved = await vault.resolve("notifier", ResolveCredential(tenant_id="ten_a", provider="smtp"))
    assert resolved.fields["password"] == "smtp-password-1" and "starttls" not in resolved.fields


async def test_an_unknown_provider_is_not_found(store: Store, clock: SteppingClock) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    with pytest.raises(NotFound):
        await vault.put(principal(), "myspace", {"api_key": "x" * 20})


async def test_only_admins_and_secret_keys_write_members_read_publishable_keys_do_nothing(
    store: Store, clock: SteppingClock
) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    await vault.put(principal("ten_a", "user", ROLE_PERMISSIONS["admin"]), "openai", OPENAI)

    with pytest.raises(Forbidden):
        await vault.put(member(), "openai", OPENAI)
    with pytest.raises(Forbidden):
        await vault.remove(principal("ten_a", "user", ROLE_PERMISSIONS["operator"]), "openai")
    assert (await vault.get(member(), "openai")).fields["api_key"] == "••••4321"
    with pytest.raises(Forbidden):
        await vault.get(principal("ten_a", "publishable_key", frozenset()), "openai")


async def test_another_tenant_never_sees_or_resolves_yours(store: Store, clock: SteppingClock) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    await vault.put(principal("ten_a"), "openai", OPENAI)

    assert await vault.list(principal("ten_b")) == []
    with pytest.raises(NotFound):
        await vault.get(principal("ten_b"), "openai")
    with pytest.raises(NotFound):
        await vault.remove(principal("ten_b"), "openai")
    with pytest.raises(NotFound):
        await vault.resolve("agent-runtime", ResolveCredential(tenant_id="ten_b", provider="openai"))


async def test_a_service_resolves_only_its_own_providers(store: Store, clock: SteppingClock) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    await vault.put(principal(), "openai", OPENAI)
    await vault.put(principal(), "smtp", {"host": "mail.example", "port": 587, "username": "u",
                                          "password": "smtp-password-1", "from_address": "a@b.example"})

    resolved = await vault.resolve("agent-runtime", ResolveCredential(tenant_id="ten_a", provider="openai"))
    smtp = await vault.resolve("notifier", ResolveCredential(tenant_id="ten_a", provider="smtp"))

    assert (resolved.provider, resolved.fields, resolved.key_id) == ("openai", OPENAI, "k1")
    assert smtp.fields["port"] == "587" and smtp.fields["security"] == "starttls"
    with pytest.raises(Forbidden):
        await vault.resolve("agent-runtime", ResolveCredential(tenant_id="ten_a", provider="smtp"))
    with pytest.raises(Forbidden):
        await vault.resolve("gateway", ResolveCredential(tenant_id="ten_a", provider="openai"))
    with pytest.raises(NotFound):
        await vault.resolve("notifier", ResolveCredential(tenant_id="ten_a", provider="twilio"))


async def test_after_a_rotation_every_record_is_sealed_again_and_the_old_key_can_go(
    store: Store, clock: SteppingClock
) -> None:
    old = key("k1")
    vault = Integrations(store, Keyring.from_setting(old), clock)
    for tenant in ("ten_a", "ten_b", "ten_c"):
        await vault.put(principal(tenant), "openai", {"api_key": f"sk-secret-of-{tenant}"})
        await vault.put(principal(tenant), "twilio", TWILIO)
    new = key("k2")
    rotated = Integrations(store, Keyring.from_setting(f"{new},{old}"), clock)
    assert (await rotated.get(principal("ten_a"), "openai")).key_id == "k1"  # still opens under the old key

    assert await rotated.reseal_all() == 6
    assert await rotated.reseal_all() == 0

    new_only = Integrations(store, Keyring.from_setting(new), clock)  # the old key removed
    for tenant in ("ten_a", "ten_b", "ten_c"):
        resolved = await new_only.resolve("agent-runtime", ResolveCredential(tenant_id=tenant, provider="openai"))
        assert (resolved.key_id, resolved.fields["api_key"]) == ("k2", f"sk-secret-of-{tenant}")


async def test_without_the_sealing_key_or_moved_to_another_tenant_a_record_does_not_open(
    store: Store, clock: SteppingClock
) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)
    await vault.put(principal("ten_a"), "openai", OPENAI)
    async with store.reading() as repos:
        row = await repos.integrations.get("ten_a", "openai")
    assert row is not None
    async with store() as uow:
        await uow.integrations.put(replace(row, tenant_id="ten_b"))

    with pytest.raises(VaultLocked):
        await vault.get(principal("ten_b"), "openai")
    with pytest.raises(VaultLocked):
        await Integrations(store, Keyring.from_setting(key("k9")), clock).get(principal("ten_a"), "openai")
    assert await Integrations(store, Keyring.from_setting(key("k9")), clock).reseal_all() == 0


async def test_a_provider_without_a_connection_test_says_so(store: Store, clock: SteppingClock) -> None:
    vault = Integrations(store, Keyring.from_setting(key("k1")), clock)

    with pytest.raises(NoConnectionTest):
        await vault.test(principal(), "hubspot")
