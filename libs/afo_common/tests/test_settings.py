from pathlib import Path

import pytest
from pydantic import ValidationError

from afo_common.settings import ServiceSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AFO_HOME", "AFO_HTTP_PORT", "AFO_DATABASE_URL", "AFO_NATS_URL", "AFO_AGENT_RUNTIME_DATABASE_URL",
                 "AFO_AGENT_RUNTIME_HTTP_PORT", "AFO_GATEWAY_DATABASE_URL", "AFO_GATEWAY_HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_default_database_is_sqlite_under_afo_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AFO_HOME", str(tmp_path / "home"))

    settings = ServiceSettings.for_service("agent-runtime")

    assert settings.service == "agent-runtime"
    assert settings.home == tmp_path / "home"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'home' / 'agent-runtime.db'}"


def test_without_afo_home_the_database_sits_in_var() -> None:
    assert ServiceSettings.for_service("notifier").database_url == "sqlite+aiosqlite:///var/notifier.db"


def test_each_service_reads_its_own_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_AGENT_RUNTIME_DATABASE_URL", "postgresql+asyncpg://db/agent_runtime")
    monkeypatch.setenv("AFO_GATEWAY_DATABASE_URL", "postgresql+asyncpg://db/gateway")

    assert ServiceSettings.for_service("agent-runtime").database_url == "postgresql+asyncpg://db/agent_runtime"
    assert ServiceSettings.for_service("gateway").database_url == "postgresql+asyncpg://db/gateway"
    assert ServiceSettings.for_service("notifier").database_url.startswith("sqlite+aiosqlite:///")


def test_a_shared_database_url_does_not_leak_into_a_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_DATABASE_URL", "postgresql+asyncpg://db/shared")

    assert ServiceSettings.for_service("notifier").database_url == "sqlite+aiosqlite:///var/notifier.db"


def test_http_ports_gateway_reads_afo_http_port_others_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings.for_service("gateway").http_port == 8000
    assert ServiceSettings.for_service("agent-runtime").http_port == 0

    monkeypatch.setenv("AFO_HTTP_PORT", "9100")
    monkeypatch.setenv("AFO_AGENT_RUNTIME_HTTP_PORT", "9101")

    assert ServiceSettings.for_service("gateway").http_port == 9100
    assert ServiceSettings.for_service("agent-runtime").http_port == 9101
    assert ServiceSettings.for_service("notifier").http_port == 0


def test_explicit_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AFO_NATS_URL", "nats://env:4222")
    monkeypatch.setenv("AFO_NOTIFIER_DATABASE_URL", "postgresql+asyncpg://db/notifier")
    monkeypatch.setenv("AFO_NOTIFIER_HTTP_PORT", "9200")

    settings = ServiceSettings.for_service("notifier", nats_url="nats://given:4222", database_url="sqlite+aiosqlite://",
                                           http_port=0, home=tmp_path)

    assert settings.nats_url == "nats://given:4222"
    assert settings.database_url == "sqlite+aiosqlite://"
    assert settings.http_port == 0


def test_shared_settings_come_from_afo_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_NATS_URL", "nats://broker:4222")
    monkeypatch.setenv("AFO_RPC_TIMEOUT_S", "2.5")

    settings = ServiceSettings.for_service("notifier")

    assert settings.nats_url == "nats://broker:4222"
    assert settings.rpc_timeout_s == 2.5


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank `.env` line or ConfigMap value must not stop a service: each empty variable takes its default."""
    for name in ("AFO_RPC_TIMEOUT_S", "AFO_MAX_BODY_BYTES", "AFO_NATS_URL", "AFO_NATS_NKEY_SEED",
                 "AFO_NATS_TLS_CA_FILE", "AFO_NOTIFIER_HTTP_PORT", "AFO_NOTIFIER_DATABASE_URL", "AFO_HTTP_PORT"):
        monkeypatch.setenv(name, "")

    notifier, gateway = ServiceSettings.for_service("notifier"), ServiceSettings.for_service("gateway")

    assert (notifier.rpc_timeout_s, notifier.max_body_bytes, notifier.nats_url) == (5.0, 1_048_576,
                                                                                   "nats://127.0.0.1:4222")
    assert notifier.nats_nkey_seed is None and notifier.nats_tls_ca_file is None
    assert (notifier.http_port, gateway.http_port) == (0, 8000)
    assert notifier.database_url == "sqlite+aiosqlite:///var/notifier.db"


def test_a_refused_setting_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The error that stops a service goes to its log: it names the setting, and shows no value (the value of a
    secret setting, or all of them for a check across settings, would be there otherwise)."""
    monkeypatch.setenv("AFO_RPC_TIMEOUT_S", "five-seconds")

    with pytest.raises(ValidationError) as refused:
        ServiceSettings.for_service("notifier")

    assert "rpc_timeout_s" in str(refused.value) and "five-seconds" not in str(refused.value)
