"""The platform's relay as a real one asks: a local aiosmtpd server that takes mail only after AUTH (PLAIN or
LOGIN), over STARTTLS or implicit TLS with a self-signed certificate made here, which notifier trusts through
``AFO_SMTP_RELAY_CA_FILE``. The relay is built from the settings the way the composition root builds it. A wrong
password fails the notification once, with a reason that says so; a certificate not trusted stops the send
before the password leaves."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import cast

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from afo_common.events import envelope_for
from afo_common.events.workflow_runs import NotificationRequested
from afo_common.messaging.consumer import Delivery
from afo_common.messaging.store import MemoryStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_notifications as ops
from afo_notifier.adapters.channels import TenantChannels
from afo_notifier.adapters.memory import memory_store
from afo_notifier.app import platform_relay
from afo_notifier.domain.channels import SendError, SmtpSecurity
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.scheduler import Scheduler
from afo_notifier.handlers.views import NotificationViews
from afo_notifier.handlers.workflow_steps import WorkflowNotifications
from afo_notifier.settings import NotifierSettings
from afo_testkit.clock import FixedClock

USERNAME, PASSWORD = "AKIAAFOTESTRELAY", "relay-password-not-for-logs"
NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
EMAIL = NotificationRow(id="ntf_1", tenant_id="ten_a", meeting_id=None, lead_id=None, kind="workflow",
                        channel="email", to="lee@example.com", subject="Reminder", body="See you at 10:00.",
                        ics=None, send_at=NOW, status="sending", error=None, provider=None, provider_id=None,
                        claimed_by="s", claimed_until=NOW, sent_at=None, created_at=NOW, updated_at=NOW)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: (certificate, key) PEM files."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "afo test relay")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    paths = folder / "relay.pem", folder / "relay.key"
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass(frozen=True)
class Login:
    mechanism: str
    username: str
    accepted: bool
    over_tls: bool


class LoginRelay:
    """An SMTP relay on 127.0.0.1 that refuses MAIL before a successful AUTH (530), with ``security`` TLS:
    STARTTLS (offered, required, and AUTH refused before it), or TLS from the first byte."""

    def __init__(self, certificate: tuple[Path, Path], security: SmtpSecurity, mechanism: str = "PLAIN") -> None:
        self.security, self.mechanism = security, mechanism
        self.logins: list[Login] = []
        self.received: list[tuple[str, list[str]]] = []
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(*certificate)
        self._server: asyncio.Server | None = None
        self.port = 0

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: object) -> AuthResult:
        assert isinstance(auth_data, LoginPassword) and server.transport is not None
        accepted = (auth_data.login, auth_data.password) == (USERNAME.encode(), PASSWORD.encode())
        self.logins.append(Login(mechanism, auth_data.login.decode(), accepted,
                                 server.transport.get_extra_info("sslcontext") is not None))
        return AuthResult(success=accepted, handled=False)  # not handled: aiosmtpd answers 535 itself

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from, envelope.mail_options = address, options
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    async def __aenter__(self) -> LoginRelay:
        loop = asyncio.get_running_loop()
        starttls = self.security == "starttls"
        other = "LOGIN" if self.mechanism == "PLAIN" else "PLAIN"

        def protocol() -> SMTP:
            return SMTP(self, hostname="afo-test-relay", loop=loop, authenticator=self._authenticate,
                        auth_exclude_mechanism=[other], tls_context=self._context if starttls else None,
                        require_starttls=starttls, auth_require_tls=starttls)

        self._server = await loop.create_server(protocol, "127.0.0.1", 0,
                                                ssl=self._context if self.security == "tls" else None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


class NoVault:
    async def resolve(self, tenant_id: str, provider: str) -> None:
        return None


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def relay_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("USERNAME", "PASSWORD", "TLS", "CA_FILE", "TIMEOUT_S", "HOST", "PORT"):
        monkeypatch.delenv(f"AFO_SMTP_RELAY_{name}", raising=False)
    yield monkeypatch


def channels_from(environment: pytest.MonkeyPatch, relay: LoginRelay, certificate: Path, *,
                  password: str = PASSWORD) -> TenantChannels:
    """The tenant channels notifier starts with, its relay read from the AFO_SMTP_RELAY_* variables."""
    for name, value in {"HOST": "127.0.0.1", "PORT": str(relay.port), "USERNAME": USERNAME, "PASSWORD": password,
                        "TLS": relay.security, "CA_FILE": str(certificate), "TIMEOUT_S": "5"}.items():
        environment.setenv(f"AFO_SMTP_RELAY_{name}", value)
    return TenantChannels(NoVault(), relay=platform_relay(NotifierSettings.of(None, "notifier")))


@pytest.mark.parametrize(("security", "mechanism"), [("starttls", "PLAIN"), ("starttls", "LOGIN"),
                                                     ("tls", "PLAIN"), ("tls", "LOGIN")])
async def test_the_relay_logs_in_over_tls_and_the_mail_arrives(
        security: SmtpSecurity, mechanism: str, certificate: tuple[Path, Path],
        relay_environment: pytest.MonkeyPatch) -> None:
    async with LoginRelay(certificate, security, mechanism) as relay:
        sent = await channels_from(relay_environment, relay, certificate[0]).send(EMAIL)
    assert sent.provider == "relay" and sent.provider_id
    assert relay.logins == [Login(mechanism, USERNAME, accepted=True, over_tls=True)]
    assert relay.received == [("meetings@afo.local", ["lee@example.com"])]


async def test_without_a_login_the_relay_refuses_the_mail(certificate: tuple[Path, Path],
                                                           relay_environment: pytest.MonkeyPatch) -> None:
    """The server really requires AUTH: the same relay with no credentials configured is refused."""
    async with LoginRelay(certificate, "starttls") as relay:
        for name, value in {"PORT": str(relay.port), "TLS": "starttls", "CA_FILE": str(certificate[0])}.items():
            relay_environment.setenv(f"AFO_SMTP_RELAY_{name}", value)
        channels = TenantChannels(NoVault(), relay=platform_relay(NotifierSettings.of(None, "notifier")))
        with pytest.raises(SendError) as refused:
            await channels.send(EMAIL)
    assert (refused.value.provider, refused.value.status) == ("relay", 530) and not relay.received


async def test_a_wrong_password_fails_the_notification_once_with_the_reason(
        certificate: tuple[Path, Path], relay_environment: pytest.MonkeyPatch) -> None:
    """Through the scheduler: the row ends ``failed`` with a reason naming the refused login (never the
    password), ``notification.failed`` goes out, and the next poll does not send it again."""
    store, clock = memory_store(), FixedClock(NOW)
    request = NotificationRequested(workflow_id="wfl_1", run_id="wfr_1", step=0, idempotency_key="wfr_1:0",
                                    lead_id=None, conversation_id="conv_1", channel="email", recipient="tenant",
                                    to="ops@example.com", subject="A lead qualified", body="Lee qualified.")
    envelope = envelope_for(request, tenant_id="ten_a", source="test")
    await WorkflowNotifications(store, clock)(
        Delivery(envelope, request, 1, "notifier-test", cast(UnitOfWorkFactory, None)))
    async with LoginRelay(certificate, "starttls") as relay:
        channels = channels_from(relay_environment, relay, certificate[0], password="not-the-password")
        scheduler = Scheduler(store, channels, clock, "sch_1")
        assert await scheduler.tick() == 1
        assert await scheduler.tick() == 0
    assert relay.logins == [Login("PLAIN", USERNAME, accepted=False, over_tls=True)] and not relay.received
    [row] = (await NotificationViews(store).list(ops.ListNotifications(tenant_id="ten_a"))).data
    assert (row.status, row.provider) == ("failed", "relay") and row.error is not None
    assert row.error.startswith("the SMTP server refused the username and password: SMTP 535")
    assert "not-the-password" not in row.error
    assert isinstance(store, MemoryStore)
    assert [event.type for event in store.outbox] == ["afo.notification.failed.v1"]


async def test_a_certificate_not_trusted_stops_the_send_before_the_login(
        certificate: tuple[Path, Path], relay_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The relay's certificate is verified: trusting another self-signed one is not enough."""
    (tmp_path / "other").mkdir()
    other, _ = self_signed(tmp_path / "other")
    async with LoginRelay(certificate, "tls") as relay:
        with pytest.raises(SendError) as refused:
            await channels_from(relay_environment, relay, other).send(EMAIL)
    assert refused.value.provider == "relay" and "CERTIFICATE_VERIFY_FAILED" in refused.value.reason
    assert relay.logins == [] and relay.received == []


def test_the_relay_built_from_the_settings_shows_no_password(relay_environment: pytest.MonkeyPatch,
                                                             certificate: tuple[Path, Path]) -> None:
    for name, value in {"PORT": "465", "USERNAME": USERNAME, "PASSWORD": PASSWORD, "TLS": "tls",
                        "CA_FILE": str(certificate[0])}.items():
        relay_environment.setenv(f"AFO_SMTP_RELAY_{name}", value)
    server = platform_relay(NotifierSettings.of(None, "notifier"))
    assert server is not None and (server.username, server.password) == (USERNAME, PASSWORD)
    assert (server.security, server.ca_file, server.timeout_s) == ("tls", str(certificate[0]), 10.0)
    assert PASSWORD not in repr(server)
