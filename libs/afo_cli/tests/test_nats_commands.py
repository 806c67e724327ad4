"""``afo nats`` and the platform's NATS credentials: generated once into AFO_HOME (0600), each service gets
only its own seed, and the printed configuration and Kubernetes material carry the same keys."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from afo_cli.commands.nats import kubernetes_manifests, write_env_files
from afo_cli.errors import PlatformError
from afo_cli.nats_admin import ensure_streams_at
from afo_cli.nats_auth import env_auth, load_credentials, service_environment
from afo_cli.services import SERVICES
from afo_common.nats_security.credentials import NatsCredentials
from afo_testkit.nats import nats_server

AFO = str(Path(sys.executable).parent / "afo")


def afo(*args: str, home: Path) -> str:
    done = subprocess.run([AFO, *args], env={**os.environ, "AFO_HOME": str(home)}, capture_output=True, text=True,
                          check=True, timeout=60)
    return done.stdout


def test_config_prints_this_homes_public_keys_and_never_a_seed(tmp_path: Path) -> None:
    printed = afo("nats", "config", home=tmp_path)
    credentials = load_credentials(tmp_path)
    assert all(key in printed for key in credentials.public_keys().values())
    assert not any(seed in printed for seed in credentials.seeds.values())
    assert stat.S_IMODE((tmp_path / "nats" / "credentials.json").stat().st_mode) == 0o600
    assert "$AFO_NATS_GATEWAY_NKEY" in afo("nats", "config", "--variables", home=tmp_path)


def test_each_service_is_given_only_its_own_seed() -> None:
    credentials = NatsCredentials.generate()
    for service in SERVICES:
        env = service_environment(credentials, service)
        assert env["AFO_NATS_NKEY_SEED"] == credentials.seed(service)
        others = {credentials.seed(o) for o in SERVICES if o != service} | {credentials.seed("admin")}
        assert not others & set(env.values())
    assert set(service_environment(credentials, "gateway")) == {
        "AFO_NATS_NKEY_SEED", "AFO_NATS_CALLOUT_ISSUER_SEED", "AFO_NATS_SYSTEM_NKEY_SEED"}


def test_kubernetes_material_carries_each_seed_in_its_own_secret(tmp_path: Path) -> None:
    credentials = NatsCredentials.generate()
    manifests = kubernetes_manifests(credentials, "afo")
    for service in SERVICES:
        encoded = base64.b64encode(credentials.seed(service).encode()).decode()
        assert f"name: afo-nats-{service}\n" in manifests and encoded in manifests
    snippet = write_env_files(credentials, tmp_path / "nats-credentials")
    files = sorted((tmp_path / "nats-credentials").iterdir())
    assert {f.name for f in files} == {f"afo-nats-{s}.env" for s in [*SERVICES, "admin", "keys"]}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert (tmp_path / "nats-credentials" / "afo-nats-notifier.env").read_text() == (
        f"AFO_NATS_NKEY_SEED={credentials.seed('notifier')}\n")
    assert "behavior: replace" in snippet and "nats-credentials/afo-nats-keys.env" in snippet


async def test_streams_are_provisioned_only_with_the_admin_credential(tmp_path: Path) -> None:
    credentials = load_credentials(tmp_path / "home")
    async with nats_server(tmp_path, credentials=credentials) as server:
        names = await ensure_streams_at(server.url, 1, env_auth({}, tmp_path / "home"))
        assert "CONVERSATION" in [info.config.name for info in names]
        notifier = env_auth({"AFO_NATS_NKEY_SEED": credentials.seed("notifier")}, tmp_path / "home")
        with pytest.raises(PlatformError, match="cannot provision"):
            await ensure_streams_at(server.url, 1, notifier)
