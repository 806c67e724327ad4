"""Idempotency-Key rules, plain Python. A record belongs to one principal of one tenant on one route
(method and path template), so a key can never replay another caller's response; a record lives 24 h."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from afo_gateway.domain.access import Principal
from afo_gateway.domain.errors import Invalid

MAX_KEY_LENGTH = 255
PUBLIC = "anonymous"


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    principal: str
    method: str
    route: str

    @classmethod
    def of(cls, principal: Principal | None, method: str, route: str) -> Scope:
        """``None`` is the caller of a public route (sign-up): every such caller shares one scope, and
        only the exact same request, password included, replays."""
        if principal is None:
            return cls("", PUBLIC, method, route)
        return cls(principal.tenant_id, principal.identity, method, route)


class KeyHeld(Exception):
    """A reservation met a live record of the same key (finished, or still running)."""


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters")
    return key


def request_id(scope: Scope, key: str) -> str:
    """The id a create sent with this Idempotency-Key carries to the service that owns what it makes:
    the same key from the same caller on the same route asks for the same thing, so a retry after a
    timeout (whose first attempt may have been made after all) gets that thing back, not a second one."""
    material = "\n".join((scope.tenant_id, scope.principal, scope.method, scope.route, key))
    return "req_" + hashlib.sha256(material.encode()).hexdigest()[:40]


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What makes two requests "the same request": method, path with query, and body."""
    return hashlib.sha256(method.encode() + b" " + target.encode() + b"\n" + body).hexdigest()


@dataclass(frozen=True)
class Record:
    request_hash: str
    status_code: int | None          # None: the first request is still running
    body: bytes
