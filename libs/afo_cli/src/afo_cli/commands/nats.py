"""``afo nats``: the NATS credentials and server configuration for running AFO on a NATS of your own.

    afo nats config               the accounts/users/auth-callout block, with this home's public keys
    afo nats config --variables   the same with $AFO_NATS_<USER>_NKEY variables (what deploy/ ships)
    afo nats env                  seeds and public keys as KEY=value lines (compose's .env)
    afo nats k8s-secrets          the Secrets and the ConfigMap deploy/k8s expects, with real values
    afo nats k8s-secrets --env-dir DIR   the same as env files for an overlay's generators (mode 0600)

Credentials come from ``$AFO_HOME/nats/credentials.json`` (created on first use, mode 0600)."""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path

from afo_cli.nats_auth import CALLOUT_ISSUER_VARIABLE, KICKER_VARIABLE, SEED_VARIABLE, load_credentials
from afo_cli.platform_config import home_from_env
from afo_cli.services import GATEWAY, SERVICES
from afo_common.nats_security.credentials import CALLOUT_ISSUER, NatsCredentials
from afo_common.nats_security.permissions import ADMIN, KICKER
from afo_common.nats_security.server_config import HEADER, authorization_block, key_variable, variable_keys


def run_config(args: argparse.Namespace) -> int:
    keys = variable_keys() if args.variables else load_credentials(home_from_env()).public_keys()
    sys.stdout.write(HEADER + authorization_block(keys))
    return 0


def run_env(_args: argparse.Namespace) -> int:
    credentials = load_credentials(home_from_env())
    for user, seed in credentials.seeds.items():
        print(f"{key_variable(user)}={credentials.public_key(user)}")
        print(f"{key_variable(user)}_SEED={seed}")
    return 0


def secret_manifest(name: str, values: dict[str, str], namespace: str) -> str:
    data = "\n".join(f"  {key}: {base64.b64encode(value.encode()).decode()}" for key, value in values.items())
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
            f"type: Opaque\ndata:\n{data}\n")


def kubernetes_secrets(credentials: NatsCredentials) -> dict[str, dict[str, str]]:
    """One Secret per service (its seed; the gateway's also the callout issuer's and its system user's) and
    one for the admin (the streams Job)."""
    secrets = {}
    for service in SERVICES:
        values = {SEED_VARIABLE: credentials.seed(service)}
        if service == GATEWAY:
            values[CALLOUT_ISSUER_VARIABLE] = credentials.seed(CALLOUT_ISSUER)
            values[KICKER_VARIABLE] = credentials.seed(KICKER)
        secrets[f"afo-nats-{service}"] = values
    secrets["afo-nats-admin"] = {SEED_VARIABLE: credentials.seed(ADMIN)}
    return secrets


def public_keys(credentials: NatsCredentials) -> dict[str, str]:
    """The afo-nats-keys ConfigMap the NATS servers read auth.conf's variables from."""
    return {key_variable(user): key for user, key in credentials.public_keys().items()}


def kubernetes_manifests(credentials: NatsCredentials, namespace: str) -> str:
    documents = [secret_manifest(name, values, namespace) for name, values in kubernetes_secrets(credentials).items()]
    keys = "\n".join(f"  {name}: {key}" for name, key in public_keys(credentials).items())
    documents.append(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: afo-nats-keys\n"
                     f"  namespace: {namespace}\ndata:\n{keys}\n")
    return "---\n".join(documents)


def write_env_files(credentials: NatsCredentials, folder: Path) -> str:
    """``<name>.env`` per Secret and for the keys ConfigMap; the kustomization lines that use them."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = {**kubernetes_secrets(credentials), "afo-nats-keys": public_keys(credentials)}
    for name, values in files.items():
        descriptor = os.open(folder / f"{name}.env", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.writelines(f"{key}={value}\n" for key, value in values.items())
    secrets = "".join(f"  - name: {name}\n    behavior: replace\n    options: {{disableNameSuffixHash: true}}\n"
                      f"    envs: [{folder.name}/{name}.env]\n" for name in files if name != "afo-nats-keys")
    return ("# add to your overlay's kustomization.yaml:\nsecretGenerator:\n" + secrets
            + f"configMapGenerator:\n  - name: afo-nats-keys\n    behavior: replace\n"
              f"    envs: [{folder.name}/afo-nats-keys.env]\n")


def run_k8s_secrets(args: argparse.Namespace) -> int:
    credentials = load_credentials(home_from_env())
    if args.env_dir:
        sys.stdout.write(write_env_files(credentials, Path(args.env_dir)))
    else:
        sys.stdout.write(kubernetes_manifests(credentials, args.namespace))
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    nats = commands.add_parser("nats", help="NATS credentials and server configuration").add_subparsers(
        metavar="ACTION", required=True)
    config = nats.add_parser("config", help="print the nats-server accounts, users and auth callout block")
    config.add_argument("--variables", action="store_true",
                        help="public keys as $AFO_NATS_<USER>_NKEY variables instead of this home's keys")
    config.set_defaults(command=run_config)
    env = nats.add_parser("env", help="print every NATS seed and public key as KEY=value lines (for .env)")
    env.set_defaults(command=run_env)
    k8s = nats.add_parser("k8s-secrets", help="print the Secrets and ConfigMap deploy/k8s expects")
    k8s.add_argument("--namespace", default="afo")
    k8s.add_argument("--env-dir", metavar="DIR", help="write env files for your overlay's generators instead")
    k8s.set_defaults(command=run_k8s_secrets)
