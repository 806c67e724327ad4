"""Configuration from environment variables, the same in every mode (see README: Configuration)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from afo_common.logs import LogFormat
from afo_common.nats_security.client import NatsAuth

S = TypeVar("S", bound="ServiceSettings")


class ServiceSettings(BaseSettings):
    """What every service reads. ``AFO_<SERVICE>_DATABASE_URL`` and the HTTP port are per service."""

    # An empty variable counts as unset: a `.env` line `AFO_SMTP_RELAY_PORT=` that compose passes through, or a
    # blank ConfigMap value, gives "", which an optional number setting cannot parse: the service would not start.
    # A refused setting is named without its value: a check across settings would otherwise print them all,
    # seeds and passwords among them, in the error that stops the service.
    model_config = SettingsConfigDict(env_prefix="AFO_", extra="ignore", env_ignore_empty=True,
                                      hide_input_in_errors=True)

    service: str = Field(default="", exclude=True)
    home: Path = Path("var")
    nats_url: str = "nats://127.0.0.1:4222"
    # This process's own NATS user (docs/architecture.md, "NATS security"): its nkey seed, and TLS when the
    # server asks for it (a CA to trust, and a client certificate when the server verifies clients).
    nats_nkey_seed: SecretStr | None = None
    nats_tls_ca_file: Path | None = None
    nats_tls_cert_file: Path | None = None
    nats_tls_key_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 0
    database_url: str = ""
    stream_replicas: int = 1
    log_level: str = "INFO"
    # "json" for a log pipeline (one object per line, with trace and tenant ids: afo_common.logs), "text" to read.
    log_format: LogFormat = "text"
    rpc_timeout_s: float = 5.0
    drain_timeout_s: float = 20.0
    # Proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses, or "*" behind an
    # ingress that always sets them): the client address that rate limits key on and the scheme that
    # decides the session cookie's Secure flag come from them.
    forwarded_allow_ips: str = "127.0.0.1"
    # Processed event ids are kept this long (redeliveries come within minutes), then pruned hourly.
    inbox_retention_days: float = 7.0
    # JSON bodies of the API are small; routes that take uploads set their own, larger limits.
    max_body_bytes: int = 1_048_576

    def nats_auth(self, user: str | None = None) -> NatsAuth:
        """How this process authenticates to NATS; ``user`` names its inbox prefix (the service by default)."""
        return NatsAuth(
            user=user or self.service,
            nkey_seed=self.nats_nkey_seed.get_secret_value() if self.nats_nkey_seed else None,
            tls_ca_file=self.nats_tls_ca_file,
            tls_cert_file=self.nats_tls_cert_file,
            tls_key_file=self.nats_tls_key_file,
        )

    @classmethod
    def of(cls: type[S], settings: ServiceSettings | None, service: str) -> S:
        """A service's own settings class from what its composition root was given: ``settings`` itself when
        it is one, its values (and the service's defaults for the rest) when it is plain ``ServiceSettings``,
        the environment's for ``service`` when None."""
        if settings is None:
            settings = cls.for_service(service)
        if isinstance(settings, cls):
            return settings
        return cls.model_validate({**settings.model_dump(), "service": settings.service})

    @classmethod
    def for_service(cls, service: str, **overrides: object) -> ServiceSettings:
        env_name = service.upper().replace("-", "_")
        settings = cls(service=service, **overrides)  # type: ignore[arg-type]
        updates: dict[str, object] = {}
        if "database_url" not in overrides:
            default_db = f"sqlite+aiosqlite:///{settings.home / (service + '.db')}"
            updates["database_url"] = os.environ.get(f"AFO_{env_name}_DATABASE_URL") or default_db
        if "http_port" not in overrides:
            port_var = "AFO_HTTP_PORT" if service == "gateway" else f"AFO_{env_name}_HTTP_PORT"
            updates["http_port"] = int(os.environ.get(port_var) or ("8000" if service == "gateway" else "0"))
        return settings.model_copy(update=updates)
