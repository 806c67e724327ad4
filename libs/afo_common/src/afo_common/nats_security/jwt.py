"""The JWTs of nats-server's auth callout, encoded on ``nkeys``: the server's authorization request, our
authorization response, and the user JWT it wraps.

A NATS JWT is ``base64url(header).base64url(claims).base64url(ed25519 signature)`` with the header
``{"typ": "JWT", "alg": "ed25519-nkey"}``; the claims are plain JSON with the NATS-specific part under
``nats``. Written here rather than taken from PyPI: ``nats-jwt`` 0.2.2 marks the authorization claims
unsupported, and ``nats-callout`` fixes the user JWT's lifetime and brings three more dependencies for what
is these few functions (docs/architecture.md, "NATS security").
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from afo_common.nats_security.keys import public_key, role_of, sign, verify
from afo_common.nats_security.permissions import Permissions

HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
REQUEST_AUDIENCE = "nats-authorization-request"


class InvalidJwt(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def encode(claims: dict[str, Any], issuer_seed: str, now: float | None = None) -> str:
    """Sign ``claims`` with the issuer's seed; ``iss``, ``iat`` and ``jti`` are filled in."""
    body = {**claims, "iss": public_key(issuer_seed), "iat": int(now if now is not None else time.time())}
    body.pop("jti", None)
    body["jti"] = base64.b32encode(hashlib.sha256(_json(body)).digest()).decode().rstrip("=")
    signed = f"{_b64(_json(HEADER))}.{_b64(_json(body))}"
    return f"{signed}.{_b64(sign(issuer_seed, signed.encode()))}"


def decode(token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a JWT whose signature verifies against its own issuer key, and that has not expired.
    Who may issue it is the caller's check."""
    try:
        header, body, signature = token.split(".")
        if json.loads(_unb64(header)).get("alg") != HEADER["alg"]:
            raise InvalidJwt("not an ed25519-nkey JWT")
        claims: dict[str, Any] = json.loads(_unb64(body))
        issuer = str(claims.get("iss", ""))
        if not verify(issuer, f"{header}.{body}".encode(), _unb64(signature)):
            raise InvalidJwt("the signature does not verify")
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidJwt(str(exc) or "malformed JWT") from exc
    expires = claims.get("exp")
    if expires is not None and int(expires) < (now if now is not None else time.time()):
        raise InvalidJwt("expired")
    return claims


@dataclass(frozen=True)
class AuthorizationRequest:
    """What nats-server tells the callout about a connecting client."""

    server_id: str
    user_nkey: str
    client_id: int
    client_host: str
    user: str
    password: str
    token: str

    @classmethod
    def from_jwt(cls, token: str, now: float | None = None) -> AuthorizationRequest:
        claims = decode(token, now)
        nats = claims.get("nats") or {}
        if nats.get("type") != "authorization_request" or claims.get("aud") != REQUEST_AUDIENCE:
            raise InvalidJwt("not an authorization request")
        if role_of(str(claims.get("iss"))) != "server":
            raise InvalidJwt("an authorization request is issued by a server")
        user_nkey = str(nats.get("user_nkey", ""))
        if role_of(user_nkey) != "user":
            raise InvalidJwt("the request names no user key")
        connect = nats.get("connect_opts") or {}
        client = nats.get("client_info") or {}
        return cls(server_id=str((nats.get("server_id") or {}).get("id", "")), user_nkey=user_nkey,
                   client_id=int(client.get("id", 0)), client_host=str(client.get("host", "")),
                   user=str(connect.get("user", "")), password=str(connect.get("pass", "")),
                   token=str(connect.get("auth_token", "")))


def _permission_claims(permissions: Permissions) -> dict[str, Any]:
    def side(allow: tuple[str, ...], deny: tuple[str, ...]) -> dict[str, list[str]]:
        return {k: list(v) for k, v in (("allow", allow), ("deny", deny)) if v}

    return {"pub": side(permissions.publish_allow, permissions.publish_deny),
            "sub": side(permissions.subscribe_allow, permissions.subscribe_deny)}


def user_jwt(request: AuthorizationRequest, name: str, permissions: Permissions, issuer_seed: str,
             expires_at: float, tags: tuple[str, ...] = ()) -> str:
    """The user JWT the server gives the connection: its name, account (``aud``), permissions and expiry."""
    claims = {"sub": request.user_nkey, "aud": permissions.account, "name": name, "exp": int(expires_at),
              "nats": {**_permission_claims(permissions), "subs": -1, "data": -1, "payload": -1,
                       "tags": list(tags), "type": "user", "version": 2}}
    return encode(claims, issuer_seed)


def authorization_response(request: AuthorizationRequest, issuer_seed: str, *, user: str | None = None,
                           error: str | None = None) -> bytes:
    """Admit the connection with ``user`` (a user JWT) or refuse it with ``error``."""
    nats: dict[str, Any] = {"type": "authorization_response", "version": 2}
    if user is not None:
        nats["jwt"] = user
    else:
        nats["error"] = error or "not authorized"
    claims = {"sub": request.user_nkey, "aud": request.server_id, "nats": nats}
    return encode(claims, issuer_seed).encode()
