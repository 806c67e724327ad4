"""The gateway's settings: the common ones plus its HTTP security limits and what it needs to admit
integrators to NATS (``AFO_<NAME>``)."""

from __future__ import annotations

from typing import Literal

from limits import parse_many
from pydantic import SecretStr, field_validator

from afo_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    # Rate limits in the `limits` notation ("10/minute", "5/minute;30/hour"). They are counted in each
    # replica's memory: N replicas behind a load balancer let through up to N times as much.
    rate_limit_login_per_ip: str = "30/minute"
    rate_limit_login_per_email: str = "10/minute"
    rate_limit_signup_per_ip: str = "20/hour"
    rate_limit_signup_per_email: str = "5/hour"
    # Generous on purpose: one server-side integration may carry all of a tenant's traffic on one key
    # (the benchmark drives 500 messages/s through one secret key).
    rate_limit_api_per_principal: str = "2000/second"
    # The plan a new tenant starts on (free, pro or enterprise: ``domain/plans.py``); operators move it later.
    default_plan: Literal["free", "pro", "enterprise"] = "free"
    # Each argon2id hash or check takes 64 MiB and tens of milliseconds of a core.
    password_hashing_concurrency: int = 2
    # Argon2id's cost: RFC 9106's second recommended option (64 MiB, three passes, four lanes). Tests lower it to
    # save their time; in production do not go below OWASP's minimum (19 MiB, two passes).
    password_hash_memory_kib: int = 65536
    password_hash_time_cost: int = 3
    password_hash_parallelism: int = 4
    idempotency_ttl_s: float = 86_400.0
    # How long a request waits for a concurrent one with the same Idempotency-Key before a 409.
    idempotency_wait_s: float = 10.0
    # A running request renews its reservation every third of this; one whose request died with its process
    # is taken over once this much time passed without a renewal.
    idempotency_lease_s: float = 15.0
    stream_token_ttl_s: float = 300.0
    # GET /v1/realtime: frames waiting for one WebSocket client; one more and it is closed (4008, slow consumer).
    realtime_backlog: int = 1024
    # The close frame to a client that stopped reading waits for room this long; past it the connection is dropped.
    realtime_close_wait_s: float = 2.0
    purge_interval_s: float = 600.0
    # POST /v1/agents/{id}/tests/run waits this long for agent-runtime's run (which gives up on a test after its
    # own AFO_AGENT_TESTS_RUN_TIMEOUT_S, 60 s by default).
    agent_tests_run_wait_s: float = 90.0

    @field_validator("rate_limit_login_per_ip", "rate_limit_login_per_email", "rate_limit_signup_per_ip",
                     "rate_limit_signup_per_email", "rate_limit_api_per_principal")
    @classmethod
    def _is_a_limit(cls, value: str) -> str:
        parse_many(value)  # raises ValueError on a malformed limit, so a typo stops the start
        return value

    # The account seed that signs the auth callout's user JWTs; without it the gateway answers no callout.
    nats_callout_issuer_seed: SecretStr | None = None
    # The gateway's system-account user, to close a revoked integrator's connections at once.
    nats_system_nkey_seed: SecretStr | None = None
    # How long an integrator's user JWT lives: the longest a revoked credential keeps its connection when it
    # cannot be kicked; the connection is then closed and must authenticate again.
    event_credential_ttl_s: float = 3600.0
    # The NATS address integrators are given (AFO_NATS_URL when unset).
    nats_public_url: str | None = None

    # Documents added to knowledge bases: an upload or a fetched page larger than this is refused (413)
    # while it arrives. The rest of the API keeps AFO_MAX_BODY_BYTES.
    max_upload_bytes: int = 20 * 1024 * 1024
    # Fetching a page for a knowledge base: one deadline for the whole fetch, redirects included.
    fetch_timeout_s: float = 10.0
    # Lets pages on loopback and private addresses be fetched: for development and tests only, since it
    # lets any tenant make the gateway request internal services.
    fetch_allow_private: bool = False

    # The credential vault's keys (``AFO_VAULT_KEY``): ``id1:base64,id2:base64`` of 32 bytes each, the first
    # current. ``afo up`` makes one in $AFO_HOME/vault.key; ``afo vault rotate`` adds a new current one.
    vault_key: SecretStr | None = None
    # AFO_PUBLIC_URL: the address Twilio (and widgets) reach the gateway at, e.g. https://afo.example.com. Twilio
    # signs the URL it called; behind a proxy that rewrites the host or scheme, the request's own URL differs,
    # so Twilio's signatures are checked against this base plus the path. Unset: the request's URL.
    public_url: str | None = None
    # Where connection tests reach Twilio: overridden by tests only.
    twilio_api_base_url: str = "https://api.twilio.com"
    # How often records still sealed under an older vault key are sealed again (also once at start).
    vault_reseal_interval_s: float = 3600.0
    # Google Calendar connections (GET /v1/integrations/google/connect): the platform's OAuth client, used for
    # a tenant that has not stored its own; the callback URL registered with it (derived from the request
    # when unset: set it behind a proxy that rewrites hosts); and where Google is (overridden by tests only).
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_redirect_uri: str | None = None
    google_consent_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_oauth_base_url: str = "https://oauth2.googleapis.com"
