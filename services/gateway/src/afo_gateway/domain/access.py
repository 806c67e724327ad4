"""Who is calling and what they may do. Plain Python: the HTTP edge builds a Principal and asks."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from afo_gateway.domain.errors import Forbidden

Role = Literal["owner", "admin", "member", "operator"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member", "operator")
# What a tenant's people may be made by one another. ``operator`` is the platform's: its holders are users of the
# platform's own operations tenant, made by ``afo operator add`` (``handlers/operators.py``), never by a tenant.
TENANT_ROLES: tuple[Role, ...] = ("owner", "admin", "member")
OPERATOR: Role = "operator"
# The platform's own operations tenant: its users are the operators. A fixed id, which no generated one
# (``ten_`` and 26 characters) can be; created with the first operator.
PLATFORM_TENANT_ID = "ten_platform"
PLATFORM_TENANT_NAME = "Platform operations"
KeyKind = Literal["secret", "publishable"]
KEY_PREFIX: dict[KeyKind, str] = {"secret": "sk_", "publishable": "pk_"}
# Stream tokens open one conversation's SSE stream for a few minutes; they are meant for URLs.
STREAM_TOKEN_PREFIX = "st_"


class Permission(StrEnum):
    READ = "read"                  # agents, conversations, leads
    WRITE = "write"                # agents, conversations, messages
    MANAGE_KEYS = "manage_keys"
    MANAGE_USERS = "manage_users"
    MANAGE_TENANT = "manage_tenant"
    MANAGE_INTEGRATIONS = "manage_integrations"  # providers' credentials in the vault
    READ_AUDIT = "read_audit"      # the tenant's audit log: who changed what
    VIEW_PLATFORM = "view_platform"  # the platform's own state (its services' health): not the tenant's
    MANAGE_PLATFORM = "manage_platform"  # every tenant's plan, the plans themselves, dead letters


# Everything about the tenant; the platform's own state is the operators' alone.
TENANT_PERMISSIONS = frozenset(Permission) - {Permission.VIEW_PLATFORM, Permission.MANAGE_PLATFORM}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "owner": TENANT_PERMISSIONS,
    "admin": TENANT_PERMISSIONS,
    "member": frozenset({Permission.READ, Permission.WRITE}),
    # The platform's state through the admin area, and nothing of a tenant's: the operations tenant has no data.
    "operator": frozenset({Permission.VIEW_PLATFORM, Permission.MANAGE_PLATFORM}),
}
# A secret key acts for the whole tenant, like an admin, but cannot manage people. It may read the audit log:
# an integrator exporting it to a SIEM uses a key, and the key could make the changes logged anyway.
SECRET_KEY_PERMISSIONS = frozenset({Permission.READ, Permission.WRITE, Permission.MANAGE_KEYS,
                                    Permission.MANAGE_TENANT, Permission.MANAGE_INTEGRATIONS,
                                    Permission.READ_AUDIT})


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    kind: Literal["user", "secret_key", "publishable_key"]
    subject_id: str                          # user id or key id, for the audit log
    permissions: frozenset[Permission]
    agent_id: str | None = None              # publishable keys: the one agent they open
    allowed_origins: tuple[str, ...] = field(default=())
    # The digest of the key or session token this principal came from: what a logout or a revocation
    # names, and what a stream token is bound to. Not part of who the principal is.
    credential: str = field(default="", compare=False, repr=False)

    @property
    def is_publishable(self) -> bool:
        return self.kind == "publishable_key"

    @property
    def identity(self) -> str:
        """One key or one user, whatever session it uses: what rate limits and Idempotency-Keys count by."""
        return f"{self.kind}:{self.subject_id}"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def may_use_origin(self, origin: str | None) -> bool:
        return origin is not None and normalise_origin(origin) in self.allowed_origins


def require(principal: Principal, permission: Permission, *, publishable: bool = False) -> None:
    """Forbidden unless the principal holds ``permission``. A publishable key holds none: it passes only
    where ``publishable`` says the widget may act (its own agent's web conversations, checked there)."""
    if principal.is_publishable:
        if publishable:
            return
        raise Forbidden("a publishable key may only open and use its agent's web conversations")
    if not principal.can(permission):
        raise Forbidden(f"this needs the {permission.value} permission")


@dataclass(frozen=True)
class NewKey:
    secret: str
    secret_hash: str
    hint: str


def new_key(kind: KeyKind) -> NewKey:
    secret = KEY_PREFIX[kind] + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    return NewKey(secret=secret, secret_hash=hash_secret(secret), hint=secret[:7] + "…" + secret[-4:])


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_stream_token() -> str:
    return STREAM_TOKEN_PREFIX + secrets.token_urlsafe(30)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_kind_of(secret: str) -> KeyKind | None:
    for kind, prefix in KEY_PREFIX.items():
        if secret.startswith(prefix):
            return kind
    return None


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def is_own_origin(origin: str, *, host: str, scheme: str, public_url: str | None) -> bool:
    """An ``Origin`` header naming this gateway: the origin of its public URL (``AFO_PUBLIC_URL``, what browsers
    see behind a proxy), or the scheme and host the request came to. The console's forms and its live feed ask
    this before they act on a session cookie."""
    normal = normalise_origin(origin)
    if public_url:
        public = urlsplit(public_url.strip().lower())
        if normal == f"{public.scheme}://{public.netloc}":
            return True
    parts = urlsplit(normal)
    return bool(parts.netloc) and parts.netloc == host.lower() and parts.scheme == scheme
