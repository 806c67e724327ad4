"""Integrator credentials for NATS: a random secret (shown once, stored hashed) that lets an integrator
subscribe to one tenant's events. Plain Python; the permissions themselves are afo_common's."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from afo_gateway.domain.access import hash_secret

SECRET_PREFIX = "evs_"


@dataclass(frozen=True)
class NewEventSecret:
    secret: str
    secret_hash: str
    hint: str


def new_event_secret() -> NewEventSecret:
    secret = SECRET_PREFIX + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    return NewEventSecret(secret, hash_secret(secret), secret[:8] + "…" + secret[-4:])


def looks_like_event_secret(secret: str) -> bool:
    return secret.startswith(SECRET_PREFIX) and len(secret) < 200
