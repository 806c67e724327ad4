"""Roles, keys and origins: the rules every request is checked against."""

import hashlib
import re

import pytest

from afo_gateway.domain.access import (
    KEY_PREFIX,
    ROLE_PERMISSIONS,
    ROLES,
    SECRET_KEY_PERMISSIONS,
    STREAM_TOKEN_PREFIX,
    TENANT_ROLES,
    Permission,
    Principal,
    hash_secret,
    is_own_origin,
    key_kind_of,
    new_key,
    new_session_token,
    new_stream_token,
    normalise_origin,
    require,
)
from afo_gateway.domain.errors import Forbidden


def test_owners_and_admins_may_do_everything_with_their_tenant_but_not_see_the_platform() -> None:
    assert ROLE_PERMISSIONS["owner"] == frozenset(Permission) - {Permission.VIEW_PLATFORM, Permission.MANAGE_PLATFORM}
    assert ROLE_PERMISSIONS["admin"] == ROLE_PERMISSIONS["owner"]


def test_members_read_and_write_but_manage_nothing() -> None:
    assert ROLE_PERMISSIONS["member"] == {Permission.READ, Permission.WRITE}


def test_operators_see_and_manage_the_platform_and_read_no_tenants_data() -> None:
    assert ROLE_PERMISSIONS["operator"] == {Permission.VIEW_PLATFORM, Permission.MANAGE_PLATFORM}
    assert not {Permission.VIEW_PLATFORM, Permission.MANAGE_PLATFORM} & SECRET_KEY_PERMISSIONS
    assert "operator" not in TENANT_ROLES and set(TENANT_ROLES) | {"operator"} == set(ROLES)


def test_every_role_has_permissions() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)


def test_a_secret_key_acts_for_the_tenant_but_cannot_manage_people() -> None:
    assert Permission.MANAGE_USERS not in SECRET_KEY_PERMISSIONS
    assert {Permission.READ, Permission.WRITE, Permission.MANAGE_KEYS, Permission.MANAGE_TENANT} <= (
        SECRET_KEY_PERMISSIONS
    )


def test_a_principal_can_only_what_its_permissions_say() -> None:
    member = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["member"])
    assert member.can(Permission.WRITE)
    assert not member.can(Permission.MANAGE_KEYS)
    assert not member.is_publishable


@pytest.mark.parametrize(("kind", "prefix"), [("secret", "sk_"), ("publishable", "pk_")])
def test_a_new_key_has_its_prefix_a_digest_and_a_hint(kind: str, prefix: str) -> None:
    key = new_key(kind)  # type: ignore[arg-type]
    assert key.secret.startswith(prefix)
    # URL-safe alphabet without - and _, so a key double-clicks as one word; 30 random bytes → 40 chars.
    assert re.fullmatch(r"[A-Za-z0-9]{40}", key.secret.removeprefix(prefix)), key.secret
    assert key.secret_hash == hashlib.sha256(key.secret.encode()).hexdigest()
    assert key.hint == f"{key.secret[:7]}…{key.secret[-4:]}"
    assert key.secret not in key.hint


def test_new_keys_and_session_tokens_are_never_repeated() -> None:
    assert len({new_key("secret").secret for _ in range(200)}) == 200
    assert len({new_session_token() for _ in range(200)}) == 200
    assert len(new_session_token()) >= 40


def test_hash_secret_is_the_sha256_hex_digest() -> None:
    # FIPS 180-2's test vector for "abc".
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_secret("sk_a") != hash_secret("sk_b")


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("sk_abc", "secret"),
        ("pk_abc", "publishable"),
        ("sk_", "secret"),
        ("SK_abc", None),
        ("xk_abc", None),
        ("abc", None),
        ("", None),
        (" sk_abc", None),
    ],
)
def test_key_kind_of_reads_the_prefix(secret: str, kind: str | None) -> None:
    assert key_kind_of(secret) == kind


def test_key_prefixes_are_the_documented_ones() -> None:
    assert KEY_PREFIX == {"secret": "sk_", "publishable": "pk_"}


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("  HTTPS://App.Example.COM/ ", "https://app.example.com"),
        ("http://localhost:3000//", "http://localhost:3000"),
    ],
)
def test_origins_are_normalised(raw: str, normal: str) -> None:
    assert normalise_origin(raw) == normal


def widget(*origins: str) -> Principal:
    return Principal("ten_1", "publishable_key", "key_1", frozenset(), "agt_1",
                     tuple(normalise_origin(o) for o in origins))


def test_a_publishable_key_may_be_used_from_its_allowed_origins() -> None:
    principal = widget("https://App.Example.com/", "http://localhost:3000")
    assert principal.is_publishable
    assert principal.may_use_origin("https://app.example.com")
    assert principal.may_use_origin("https://app.example.com/")
    assert principal.may_use_origin("http://localhost:3000")


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "https://evil.example.com",
        "http://app.example.com",  # another scheme is another origin
        "https://app.example.com:8443",  # and so is another port
        "https://app.example.com.evil.com",
        "https://sub.app.example.com",
    ],
)
def test_a_publishable_key_is_refused_from_any_other_origin(origin: str | None) -> None:
    assert not widget("https://app.example.com").may_use_origin(origin)


def test_a_key_without_origins_is_refused_everywhere() -> None:
    assert not widget().may_use_origin("https://app.example.com")


@pytest.mark.parametrize(("principal", "permission", "publishable", "allowed"), [
    (Principal("ten_platform", "user", "usr_1", ROLE_PERMISSIONS["operator"]), Permission.READ, False, False),
    (Principal("ten_platform", "user", "usr_1", ROLE_PERMISSIONS["operator"]), Permission.MANAGE_PLATFORM, False,
     True),
    (Principal("ten_1", "secret_key", "key_1", SECRET_KEY_PERMISSIONS), Permission.MANAGE_USERS, False, False),
    (widget("https://app.example.com"), Permission.WRITE, False, False),
    (widget("https://app.example.com"), Permission.WRITE, True, True),
    (widget("https://app.example.com"), Permission.MANAGE_KEYS, False, False),
])
def test_require_lets_through_only_what_the_principal_may_do(principal: Principal, permission: Permission,
                                                             publishable: bool, allowed: bool) -> None:
    if allowed:
        require(principal, permission, publishable=publishable)
    else:
        with pytest.raises(Forbidden):
            require(principal, permission, publishable=publishable)


def test_a_principals_identity_is_its_key_or_user_whatever_the_session() -> None:
    laptop = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-a")
    phone = Principal("ten_1", "user", "usr_1", ROLE_PERMISSIONS["admin"], credential="digest-b")
    key = Principal("ten_1", "secret_key", "usr_1", SECRET_KEY_PERMISSIONS, credential="digest-c")

    assert laptop.identity == phone.identity == "user:usr_1"
    assert key.identity == "secret_key:usr_1"
    assert laptop == phone  # the credential says where a principal came from, not who it is


def test_stream_tokens_have_their_own_prefix_and_are_never_keys() -> None:
    token = new_stream_token()
    assert token.startswith(STREAM_TOKEN_PREFIX) and len(token) >= 40
    assert key_kind_of(token) is None
    assert len({new_stream_token() for _ in range(200)}) == 200


@pytest.mark.parametrize(("origin", "own"), [
    ("http://gateway.test", True),  # the host and scheme the request came to
    ("HTTP://Gateway.Test/", True),
    ("https://afo.example.com", True),  # the public URL, behind a proxy that speaks plain HTTP to the gateway
    ("https://gateway.test", False),  # the same host on another scheme is another origin
    ("http://gateway.test:8080", False),
    ("http://evil.example", False),
    ("http://afo.example.com", False),
    ("null", False),  # a sandboxed frame or a file
    ("", False),
])
def test_an_origin_is_ours_when_it_names_the_public_url_or_the_host_and_scheme_asked(origin: str, own: bool) -> None:
    assert is_own_origin(origin, host="gateway.test", scheme="http", public_url="https://afo.example.com/") is own
