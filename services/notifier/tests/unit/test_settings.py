"""notifier's relay settings: its login both or neither, never over a connection in clear, a TLS mode it knows
(in any case), a CA file that exists and only with TLS; the password hidden in its repr and in the error that
stops the service; an empty port is no relay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from afo_notifier.app import platform_relay
from afo_notifier.settings import NotifierSettings

PASSWORD = "relay-password-not-for-logs"
RELAY = ("HOST", "PORT", "USERNAME", "PASSWORD", "TLS", "CA_FILE", "TIMEOUT_S")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in RELAY:
        monkeypatch.delenv(f"AFO_SMTP_RELAY_{name}", raising=False)
    yield monkeypatch


def settings(environment: pytest.MonkeyPatch, **variables: str) -> NotifierSettings:
    for name, value in variables.items():
        environment.setenv(f"AFO_SMTP_RELAY_{name}", value)
    return NotifierSettings.of(None, "notifier")  # as the composition root reads them


def refusal(environment: pytest.MonkeyPatch, **variables: str) -> str:
    with pytest.raises(ValidationError) as refused:
        settings(environment, **variables)
    return str(refused.value)


def test_by_default_the_relay_is_off_and_would_speak_in_clear(environment: pytest.MonkeyPatch) -> None:
    config = settings(environment)
    assert (config.smtp_relay_port, config.smtp_relay_tls, config.smtp_relay_username) == (None, "none", None)
    assert platform_relay(config) is None


def test_an_empty_port_is_no_relay_rather_than_a_service_that_does_not_start(
        environment: pytest.MonkeyPatch) -> None:
    config = settings(environment, PORT="", USERNAME="", PASSWORD="", TLS="", TIMEOUT_S="")
    assert platform_relay(config) is None and config.smtp_relay_timeout_s == 10.0


def test_the_local_relay_takes_no_login(environment: pytest.MonkeyPatch) -> None:
    server = platform_relay(settings(environment, PORT="2525"))
    assert server is not None and (server.host, server.port, server.security) == ("127.0.0.1", 2525, "none")
    assert (server.username, server.password, server.ca_file) == (None, None, None)


@pytest.mark.parametrize(("given", "missing"), [("USERNAME", "PASSWORD"), ("PASSWORD", "USERNAME")])
def test_a_login_needs_both_its_halves(environment: pytest.MonkeyPatch, given: str, missing: str) -> None:
    message = refusal(environment, PORT="587", TLS="starttls", **{given: PASSWORD if given == "PASSWORD" else "u"})
    assert f"AFO_SMTP_RELAY_{given} is set without AFO_SMTP_RELAY_{missing}" in message
    assert PASSWORD not in message


def test_a_login_over_a_connection_in_clear_is_refused(environment: pytest.MonkeyPatch) -> None:
    message = refusal(environment, PORT="25", USERNAME="apikey", PASSWORD=PASSWORD)
    assert "AFO_SMTP_RELAY_TLS=none would send the password in clear" in message and PASSWORD not in message


@pytest.mark.parametrize("mode", ["ssl", "yes", "smtps"])
def test_an_unknown_tls_mode_is_refused(environment: pytest.MonkeyPatch, mode: str) -> None:
    message = refusal(environment, PORT="465", TLS=mode)
    assert "smtp_relay_tls" in message and "'none', 'starttls' or 'tls'" in message


def test_the_tls_mode_is_read_in_any_case(environment: pytest.MonkeyPatch) -> None:
    assert settings(environment, TLS=" STARTTLS ").smtp_relay_tls == "starttls"


def test_a_ca_file_must_exist_and_needs_tls(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "smtp_relay_ca_file" in refusal(environment, TLS="tls", CA_FILE=str(tmp_path / "absent.pem"))
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    environment.delenv("AFO_SMTP_RELAY_TLS")
    assert "AFO_SMTP_RELAY_CA_FILE needs AFO_SMTP_RELAY_TLS=starttls or tls" in refusal(
        environment, CA_FILE=str(tmp_path / "ca.pem"))


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_the_timeout_is_positive(environment: pytest.MonkeyPatch, timeout: str) -> None:
    assert "smtp_relay_timeout_s" in refusal(environment, TIMEOUT_S=timeout)


def test_the_password_is_in_neither_repr_nor_dump(environment: pytest.MonkeyPatch) -> None:
    config = settings(environment, PORT="587", USERNAME="apikey", PASSWORD=PASSWORD, TLS="starttls",
                      TIMEOUT_S="30")
    assert PASSWORD not in repr(config) and PASSWORD not in str(config.model_dump())
    server = platform_relay(config)
    assert server is not None and server.password == PASSWORD and PASSWORD not in repr(server)
    assert (server.username, server.security, server.timeout_s) == ("apikey", "starttls", 30.0)
