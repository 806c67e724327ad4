"""What a platform run is made of: where its state lives, which NATS, which ports, which services."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from afo_cli.errors import PlatformError
from afo_cli.nats_auth import server_tls_from_env
from afo_cli.services import SERVICES, check_known
from afo_common.nats_security.server_config import ServerTls

DEFAULT_HOME = "var"
DEFAULT_HTTP_PORT = 8000
DEFAULT_NATS_PORT = 4222


@dataclass(frozen=True)
class PlatformConfig:
    home: Path
    nats_url: str | None = None  # None: start our own nats-server on nats_port
    nats_port: int = DEFAULT_NATS_PORT
    gateway_port: int = DEFAULT_HTTP_PORT
    log_level: str = "INFO"
    env: Mapping[str, str] = field(default_factory=dict)  # extra variables for every service
    services: tuple[str, ...] = SERVICES
    supervise: bool = True  # restart crashed services with backoff
    stream_replicas: int = 1
    # nats-servers to start: one, or a JetStream cluster of three (`afo up --cluster`, AFO_NATS_NODES=3) whose
    # streams are replicated on each.
    nats_nodes: int = 1
    nats_tls: ServerTls | None = None  # TLS of the nats-server we start (AFO_NATS_SERVER_CERT_FILE/_KEY_FILE)
    ready_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        check_known(self.services)
        if self.nats_nodes not in (1, 3):
            raise PlatformError(f"AFO_NATS_NODES is 1 or 3 (a JetStream cluster), not {self.nats_nodes}")
        if self.nats_nodes == 3 and self.nats_url is None and self.stream_replicas == 1:
            object.__setattr__(self, "stream_replicas", 3)
        # Absolute, because services inherit it and may run with another working directory.
        object.__setattr__(self, "home", self.home.resolve())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> PlatformConfig:
        """The variables ``afo up`` documents (README: Configuration)."""
        return cls(
            home=Path(environ.get("AFO_HOME") or DEFAULT_HOME),
            nats_url=environ.get("AFO_NATS_URL") or None,
            nats_port=_int(environ, "AFO_NATS_PORT", DEFAULT_NATS_PORT),
            gateway_port=_int(environ, "AFO_HTTP_PORT", DEFAULT_HTTP_PORT),
            log_level=environ.get("AFO_LOG_LEVEL") or "INFO",
            stream_replicas=_int(environ, "AFO_STREAM_REPLICAS", 1),
            nats_nodes=_int(environ, "AFO_NATS_NODES", 1),
            nats_tls=server_tls_from_env(environ),
        )


def home_from_env(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("AFO_HOME") or DEFAULT_HOME).resolve()


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise PlatformError(f"{name} must be a number, got {raw!r}") from None
