"""The vault key file ``afo up`` makes and ``afo vault rotate`` / ``retire`` change, and who is given it."""

import base64
import stat
from pathlib import Path

import pytest

from afo_cli import vault_keys
from afo_cli.main import main
from afo_cli.platform import Platform, PlatformConfig
from afo_cli.service_slot import ServiceSlot


def decoded(value: str) -> dict[str, bytes]:
    return {key_id: base64.b64decode(key) for key_id, _, key in (e.partition(":") for e in value.split(","))}


def test_the_key_is_made_once_private_and_of_32_bytes(tmp_path: Path) -> None:
    value = vault_keys.ensure_key(tmp_path, {})

    path = tmp_path / "vault.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [len(k) for k in decoded(value).values()] == [32]
    assert vault_keys.ensure_key(tmp_path, {}) == value
    assert vault_keys.ensure_key(tmp_path, {"AFO_VAULT_KEY": "given:xyz"}) == "given:xyz"


def test_rotation_puts_a_new_current_key_first_and_retiring_keeps_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path))
    monkeypatch.delenv("AFO_VAULT_KEY", raising=False)
    assert main(["vault", "rotate"]) == 1  # nothing to rotate before `afo up` made a key
    first = vault_keys.ensure_key(tmp_path, {})

    assert main(["vault", "rotate"]) == 0

    rotated = vault_keys.read_keys(tmp_path)
    assert rotated is not None and rotated.endswith("," + first)
    new_id, old_id = vault_keys.key_ids(rotated)
    assert new_id != old_id and new_id in capsys.readouterr().out
    assert stat.S_IMODE((tmp_path / "vault.key").stat().st_mode) == 0o600
    assert main(["vault", "retire"]) == 0
    assert vault_keys.read_keys(tmp_path) == rotated.split(",")[0]
    monkeypatch.setenv("AFO_VAULT_KEY", first)
    assert main(["vault", "rotate"]) == 1  # a key given in the environment is rotated there


def test_only_the_gateway_is_given_the_vault_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_VAULT_KEY", "leaked:into-the-environment")
    platform = Platform(PlatformConfig(home=tmp_path, nats_url="nats://127.0.0.1:4222"))
    monkeypatch.delenv("AFO_VAULT_KEY")

    gateway = platform._environment(ServiceSlot("gateway", 8000, tmp_path / "g.log"))
    monkeypatch.setenv("AFO_VAULT_KEY", "leaked:into-the-environment")
    notifier = platform._environment(ServiceSlot("notifier", 8001, tmp_path / "n.log"))

    assert gateway["AFO_VAULT_KEY"] == vault_keys.read_keys(tmp_path)
    assert "AFO_VAULT_KEY" not in notifier
