from pathlib import Path

import pytest

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
