"""The gateway's settings beyond the common ones: what it needs to admit integrators to NATS."""

from __future__ import annotations

from pydantic import SecretStr

from afo_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    # The account seed that signs the auth callout's user JWTs; without it the gateway answers no callout.
    nats_callout_issuer_seed: SecretStr | None = None
    # The gateway's system-account user, to close a revoked integrator's connections at once.
    nats_system_nkey_seed: SecretStr | None = None
    # How long an integrator's user JWT lives: the longest a revoked credential keeps its connection when it
    # cannot be kicked; the connection is then closed and must authenticate again.
    event_credential_ttl_s: float = 3600.0
    # The NATS address integrators are given (AFO_NATS_URL when unset).
    nats_public_url: str | None = None
