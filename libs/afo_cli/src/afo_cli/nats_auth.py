"""The platform's side of NATS security on one machine: the credentials under ``$AFO_HOME/nats`` (created
once, mode 0600), the server configuration generated from them, and the variables that give each service
process its own credential (docs/architecture.md, "NATS security")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from afo_cli.services import GATEWAY
from afo_common.nats_security.client import NatsAuth
from afo_common.nats_security.credentials import CALLOUT_ISSUER, NatsCredentials, credentials_path
from afo_common.nats_security.permissions import ADMIN, KICKER
from afo_common.nats_security.server_config import ClusterNode, ServerTls, local_server_config

SEED_VARIABLE = "AFO_NATS_NKEY_SEED"
CALLOUT_ISSUER_VARIABLE = "AFO_NATS_CALLOUT_ISSUER_SEED"
KICKER_VARIABLE = "AFO_NATS_SYSTEM_NKEY_SEED"
CA_VARIABLE = "AFO_NATS_TLS_CA_FILE"


def load_credentials(home: Path) -> NatsCredentials:
    return NatsCredentials.load_or_create(credentials_path(home))


def write_server_config(home: Path, credentials: NatsCredentials, host: str, port: int,
                        tls: ServerTls | None = None, cluster: ClusterNode | None = None) -> Path:
    """``$AFO_HOME/nats/nats.conf`` for the nats-server ``afo up`` starts, or ``nats/<node>/nats.conf`` for
    one node of a cluster (rewritten at each start: the ports may change)."""
    folder = home / "nats" if cluster is None else home / "nats" / cluster.server_name
    path = folder / "nats.conf"
    text = local_server_config(credentials.public_keys(), host=host, port=port, store_dir=folder, tls=tls,
                               cluster=cluster)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    return path


def service_environment(credentials: NatsCredentials, service: str) -> dict[str, str]:
    """The service's own seed; the gateway also signs the callout's user JWTs and may kick connections."""
    env = {SEED_VARIABLE: credentials.seed(service)}
    if service == GATEWAY:
        env[CALLOUT_ISSUER_VARIABLE] = credentials.seed(CALLOUT_ISSUER)
        env[KICKER_VARIABLE] = credentials.seed(KICKER)
    return env


def server_tls_from_env(environ: Mapping[str, str]) -> ServerTls | None:
    """TLS for the nats-server ``afo up`` starts, when the operator gives a certificate and its key."""
    cert, key = environ.get("AFO_NATS_SERVER_CERT_FILE"), environ.get("AFO_NATS_SERVER_KEY_FILE")
    if not cert or not key:
        return None
    ca = environ.get(CA_VARIABLE)
    return ServerTls(Path(cert).resolve(), Path(key).resolve(), Path(ca).resolve() if ca else None,
                     verify_clients=environ.get("AFO_NATS_SERVER_VERIFY_CLIENTS", "") in {"1", "true", "yes"})


def env_auth(environ: Mapping[str, str], home: Path, user: str = ADMIN) -> NatsAuth:
    """A CLI command's credential: ``AFO_NATS_NKEY_SEED`` (a Job given the admin Secret), else the admin seed
    of the credentials ``afo up`` made under ``AFO_HOME``, else none (a NATS without authorization)."""
    seed = environ.get(SEED_VARIABLE) or None
    if seed is None and credentials_path(home).exists():
        seed = load_credentials(home).seed(ADMIN)
    tls = {name: Path(value) for name, value in (("ca", environ.get(CA_VARIABLE)),
                                                  ("cert", environ.get("AFO_NATS_TLS_CERT_FILE")),
                                                  ("key", environ.get("AFO_NATS_TLS_KEY_FILE"))) if value}
    return NatsAuth(user=user, nkey_seed=seed, tls_ca_file=tls.get("ca"), tls_cert_file=tls.get("cert"),
                    tls_key_file=tls.get("key"))
