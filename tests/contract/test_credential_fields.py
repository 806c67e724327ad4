"""The credential fields each service reads are the ones the gateway stores.

For every provider of the gateway's vault (``afo_gateway.domain.integrations.PROVIDERS``) a tenant's record is
stored through the gateway's own handler — checked by the provider's model, sealed, opened and turned into
strings by ``Integrations.resolve`` — and answered on a real nats-server on each service's own subject. Every
service that resolves the provider then uses it with its real code against a local stand-in of the provider:
the fields it needs must arrive under the names it reads, with values it understands. Every key a service reads
is noted, present or not: one the provider's model does not have fails even when the reader has a fallback for
it, since no tenant can ever store it. voice-media reads its fields in closures of its composition root and in
handlers that need a call's database, so its reads are listed below with the line they come from, and its
source is checked to read no other key."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

import afo_agent_runtime.adapters.credentials as agent_runtime_credentials
import afo_notifier.adapters.channels as notifier_channels
import afo_workflow_executor.adapters.crm_providers as crm_providers
import afo_workflow_executor.adapters.external_calendars as external_calendars
import afo_workflow_executor.adapters.llm_workflows as llm_workflows
from afo_agent_runtime.adapters.credentials import OpenAIKey, VaultOpenAIKeys
from afo_cli.smtp_sink import SmtpSink
from afo_common.credentials import resolve_credential
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcOperation
from afo_common.rpcs.gateway import PROVIDERS_OF, RESOLVE_CREDENTIAL
from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_common.service import Service
from afo_gateway.adapters.memory import memory_store
from afo_gateway.domain.access import SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.integrations import PROVIDERS
from afo_gateway.domain.vault import Keyring
from afo_gateway.entrypoints.rpc import register_rpc
from afo_gateway.handlers.integrations import Integrations
from afo_notifier.adapters.channels import TenantChannels, VaultCredentials
from afo_notifier.adapters.twilio import TwilioRetry
from afo_notifier.domain.channels import SendError
from afo_notifier.domain.records import NotificationRow
from afo_testkit.calendar_servers import FakeCalendly, FakeGoogle
from afo_testkit.clock import SteppingClock
from afo_testkit.crm_servers import FakeHubSpot, FakePipedrive, FakeSalesforce
from afo_testkit.nats import nats_server
from afo_testkit.openai_server import Call, FakeOpenAI, ToolCalls
from afo_testkit.rpc_stand_ins import answer_rpcs
from afo_testkit.twilio_server import FakeTwilio
from afo_workflow_executor.adapters.crm_providers import CrmOpener
from afo_workflow_executor.adapters.external_calendars import CalendarEndpoints, VaultExternalCalendars
from afo_workflow_executor.adapters.llm_workflows import TOOL, OpenAIProposals
from afo_workflow_executor.adapters.providers.calendly import CalendlyCalendar
from afo_workflow_executor.adapters.providers.google_calendar import GoogleCalendar
from afo_workflow_executor.domain.crm import CrmLead
from afo_workflow_executor.domain.external_calendars import MeetingDraft, SchedulingLink

ROOT = Path(__file__).resolve().parents[2]
TENANT = "ten_a"
OWNER = Principal(TENANT, "secret_key", "sub_owner", SECRET_KEY_PERMISSIONS)
VAULT_KEY = "c1:" + base64.b64encode(bytes(range(32))).decode()
Pair = tuple[str, str]  # (the service that resolves, the provider)

# What the tests below drive with the service's real code.
DRIVEN: frozenset[Pair] = frozenset({
    ("notifier", "twilio"), ("notifier", "smtp"),
    ("workflow-executor", "hubspot"), ("workflow-executor", "pipedrive"), ("workflow-executor", "salesforce"),
    ("workflow-executor", "google"), ("workflow-executor", "calendly"), ("workflow-executor", "openai"),
    ("agent-runtime", "openai"),
})
# The modules that resolve credentials in the driven services: each module's `resolve_credential` is wrapped.
READERS: tuple[ModuleType, ...] = (notifier_channels, crm_providers, external_calendars, llm_workflows,
                                   agent_runtime_credentials)

VOICE_MEDIA = "services/voice-media/src/afo_voice_media"
# voice-media's reads: (provider, key, where it is read).
VOICE_MEDIA_READS: tuple[tuple[str, str, str], ...] = (
    ("twilio", "account_sid", "app.py:60"),
    ("twilio", "auth_token", "app.py:60"),
    ("twilio", "auth_token", "handlers/calls.py:203"),
    ("twilio", "auth_token", "handlers/calls.py:205"),
    ("twilio", "account_sid", "handlers/dialing.py:60"),
    ("twilio", "auth_token", "handlers/dialing.py:60"),
    ("twilio", "account_sid", "handlers/transfers.py:50"),
    ("twilio", "auth_token", "handlers/transfers.py:50"),
    ("deepgram", "api_key", "app.py:72"),
    ("elevenlabs", "api_key", "app.py:73"),
)
# A read of a credential's field in voice-media's source: `fields["key"]` or `fields.get("key")`.
FIELD_READ = re.compile(r"""\bfields(?:\[|\.get\()\s*["'](\w+)["']""")

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SMS = NotificationRow(id="ntf_1", tenant_id=TENANT, meeting_id="mtg_1", lead_id="lead_1", kind="reminder",
                      channel="sms", to="+33612345678", subject=None, body="Reminder", ics=None, send_at=NOW,
                      status="sending", error=None, provider=None, provider_id=None, claimed_by="s",
                      claimed_until=NOW, sent_at=None, created_at=NOW, updated_at=NOW)
EMAIL = replace(SMS, channel="email", to="lee@example.com", subject="Reminder")
LEAD = CrmLead(email="lee@example.com", name="Lee Adams", phone="+33612345678", company="Acme",
               source_conversation_id="cnv_1")
GOOGLE_REFRESH = "1//0g-refresh-token-secret-4242"
CALENDLY_TOKEN = "eyJ-calendly-personal-token-1"
OPENAI_KEY = "sk-tenant-openai-key-0042"
CRM_TOKEN = "crm-secret-token-0123"
SPEC = {"trigger": "lead.qualified", "conditions": [], "actions": [{"type": "send_sms", "to": "me"}]}


class ReadFields(Mapping[str, str]):
    """A resolved record that notes every key its reader asks for, whether the record has it or not."""

    def __init__(self, fields: dict[str, str], reads: set[str]) -> None:
        self._fields = fields
        self._reads = reads

    def __getitem__(self, key: str) -> str:
        self._reads.add(key)
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


Reads = dict[Pair, set[str]]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """The keys each service read of each provider's record, through its own `resolve_credential`."""
    noted: Reads = {}

    async def noting(rpc: RpcClient, caller: str, tenant_id: str, provider: str, purpose: str,
                     timeout_s: float | None = None) -> Mapping[str, str] | None:
        fields = await resolve_credential(rpc, caller, tenant_id, provider, purpose, timeout_s)
        return None if fields is None else ReadFields(fields, noted.setdefault((caller, provider), set()))

    for module in READERS:
        monkeypatch.setattr(module, "resolve_credential", noting)
    return noted


def assert_only_gateway_fields_read(reads: Reads, pairs: set[Pair]) -> None:
    assert set(reads) == pairs, f"resolved {sorted(reads)}, expected {sorted(pairs)}"
    for (caller, provider), keys in reads.items():
        unknown = keys - set(PROVIDERS[provider].model_fields)
        assert not unknown, (f"{caller} reads {sorted(unknown)} of the {provider} record, which the gateway's "
                             f"{PROVIDERS[provider].__name__} model never stores")


class ServedRpcs:
    """The handlers a service registers, kept to be answered on the test's nats-server (``answer_rpcs``)."""

    def __init__(self) -> None:
        self.handlers: dict[RpcOperation[Any, Any], Callable[[Any], Awaitable[Any]]] = {}

    def serve_rpc(self, op: RpcOperation[Any, Any], handler: Callable[[Any], Awaitable[Any]]) -> None:
        self.handlers[op] = handler


@dataclass
class Gateway:
    """The gateway's vault answering every service's resolve subject; ``store`` is a tenant's PUT."""

    vault: Integrations
    rpc: RpcClient

    async def store(self, provider: str, record: dict[str, Any]) -> None:
        await self.vault.put(OWNER, provider, record)


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with nats_server(tmp_path) as server:
        connection = NatsConnection(server.url, "credential-fields-test")
        await connection.connect()
        vault = Integrations(memory_store(), Keyring.from_setting(VAULT_KEY), SteppingClock())
        served = ServedRpcs()
        register_rpc(cast(Service, served), vault)  # the gateway's own handlers, on every caller's subject
        assert set(served.handlers) == set(RESOLVE_CREDENTIAL.values())
        await answer_rpcs(connection, served.handlers)
        try:
            yield Gateway(vault, RpcClient(connection, timeout_s=5.0))
        finally:
            await connection.close()


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[SmtpSink]:
    async with SmtpSink(tmp_path / "mail") as server:
        yield server


def test_every_service_that_resolves_a_provider_is_checked_here() -> None:
    assert set(PROVIDERS) == {provider for providers in PROVIDERS_OF.values() for provider in providers}
    resolved = {(caller, provider) for caller, providers in PROVIDERS_OF.items() for provider in providers}
    assert resolved == DRIVEN | {("voice-media", provider) for provider, _, _ in VOICE_MEDIA_READS}


def test_every_module_that_resolves_credentials_is_checked_here() -> None:
    """A new reader in a driven service must join ``READERS`` (and a test that drives it); voice-media's are
    found by ``test_voice_media_reads_only_fields_the_gateway_stores``."""
    resolving = {path.resolve() for path in (ROOT / "services").glob("*/src/**/*.py")
                 if "resolve_credential(" in path.read_text() and not path.is_relative_to(ROOT / VOICE_MEDIA)}
    assert resolving == {Path(str(module.__file__)).resolve() for module in READERS}


async def test_notifier_texts_with_the_stored_twilio_record(gateway: Gateway, reads: Reads) -> None:
    async with FakeTwilio() as twilio:
        await gateway.store("twilio", {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                                       "from_number": "+15005550006"})
        channels = TenantChannels(VaultCredentials(gateway.rpc), relay=None, twilio_api=twilio.base_url,
                                  twilio_retry=TwilioRetry(attempts=1))
        sent = await channels.send(SMS)
    [message] = twilio.messages
    assert sent.provider == "twilio" and sent.provider_id == message["sid"]
    assert (message["account_sid"], message["from"], message["to"]) == (twilio.account_sid, "+15005550006", SMS.to)
    assert_only_gateway_fields_read(reads, {("notifier", "twilio")})


async def test_notifier_mails_from_the_stored_smtp_record(gateway: Gateway, reads: Reads, sink: SmtpSink) -> None:
    await gateway.store("smtp", {"host": "127.0.0.1", "port": sink.port, "from_address": "bookings@ten-a.example",
                                 "security": "none"})

    sent = await TenantChannels(VaultCredentials(gateway.rpc), relay=None).send(EMAIL)

    assert sent.provider == "smtp"
    [(sender, recipients, mail)] = sink.received
    assert (sender, recipients, mail["From"]) == ("bookings@ten-a.example", [EMAIL.to], "bookings@ten-a.example")
    assert_only_gateway_fields_read(reads, {("notifier", "smtp")})


@pytest.mark.parametrize(("security", "refusal"), [
    (None, "STARTTLS"),  # the model's default
    ("starttls", "STARTTLS"),
    ("tls", "SSL"),
])
async def test_notifier_secures_the_connection_as_the_stored_smtp_record_says(
    gateway: Gateway, reads: Reads, sink: SmtpSink, security: str | None, refusal: str
) -> None:
    """The sink speaks plain SMTP only, so a record asking for STARTTLS or implicit TLS must fail before any
    login or message: proof that notifier read the record's choice rather than a default of its own."""
    record: dict[str, Any] = {"host": "127.0.0.1", "port": sink.port, "username": "bookings",
                              "password": "smtp-password-0042", "from_address": "bookings@ten-a.example"}
    await gateway.store("smtp", record if security is None else {**record, "security": security})

    with pytest.raises(SendError) as raised:
        await TenantChannels(VaultCredentials(gateway.rpc), relay=None).send(EMAIL)

    assert refusal in raised.value.reason and "smtp-password" not in str(raised.value)
    assert not sink.received
    assert_only_gateway_fields_read(reads, {("notifier", "smtp")})


async def _synced(gateway: Gateway, provider: str, record: dict[str, Any]) -> str:
    await gateway.store(provider, record)
    fields = await crm_providers.VaultCredentials(gateway.rpc).resolve(TENANT, provider)
    assert fields is not None
    crm = CrmOpener()(provider, fields)
    try:
        record_of_lead = await crm.crm.upsert_contact(LEAD)
    finally:
        await crm.close()
    assert record_of_lead.provider == provider
    return record_of_lead.url


async def test_workflow_executor_syncs_leads_to_the_stored_hubspot(gateway: Gateway, reads: Reads) -> None:
    async with FakeHubSpot(secret=CRM_TOKEN) as hubspot:
        await _synced(gateway, "hubspot", {"access_token": CRM_TOKEN, "base_url": hubspot.base_url})
    assert [contact["email"] for contact in hubspot.contacts.values()] == [LEAD.email]
    assert_only_gateway_fields_read(reads, {("workflow-executor", "hubspot")})


async def test_workflow_executor_syncs_leads_to_the_stored_pipedrive(gateway: Gateway, reads: Reads) -> None:
    async with FakePipedrive(secret=CRM_TOKEN) as pipedrive:
        url = await _synced(gateway, "pipedrive", {"api_token": CRM_TOKEN, "company_domain": "acme",
                                                   "base_url": pipedrive.base_url})
    assert len(pipedrive.persons) == 1 and url.startswith("https://acme.pipedrive.com/")
    assert_only_gateway_fields_read(reads, {("workflow-executor", "pipedrive")})


async def test_workflow_executor_syncs_leads_to_the_stored_salesforce(gateway: Gateway, reads: Reads) -> None:
    async with FakeSalesforce(secret="5Aep861-refresh-token-0123", external_id_field="AFO_Lead_Email__c") as sf:
        await _synced(gateway, "salesforce", {
            "instance_url": "https://acme.my.salesforce.com", "client_id": sf.client_id,
            "client_secret": sf.client_secret, "refresh_token": sf.secret, "login_url": sf.base_url,
            "external_id_field": sf.external_id_field})
    assert sf.tokens_issued == 1 and len(sf.leads) == 1
    assert_only_gateway_fields_read(reads, {("workflow-executor", "salesforce")})


def _draft() -> MeetingDraft:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return MeetingDraft(start=start, end=start + timedelta(minutes=30), time_zone="UTC", title="Demo",
                        description="", attendee_email=LEAD.email, attendee_name=LEAD.name, idempotency_key="m1")


async def test_workflow_executor_books_on_the_stored_google_calendar(gateway: Gateway, reads: Reads) -> None:
    async with FakeGoogle(secret=GOOGLE_REFRESH) as google:
        google.events["team"] = {}
        await gateway.store("google", {
            "client_id": google.client_id, "client_secret": google.client_secret, "refresh_token": GOOGLE_REFRESH,
            "access_token": "ya29.stale-access-token", "expires_at": "2026-01-01T00:00:00Z", "calendar_id": "team"})
        calendars = VaultExternalCalendars(gateway.rpc, endpoints=CalendarEndpoints(
            google_api=google.base_url, google_oauth=google.base_url))
        try:
            calendar = await calendars.for_tenant(TENANT)
            assert isinstance(calendar, GoogleCalendar)
            event = await calendar.book(_draft())
        finally:
            await calendars.aclose()
    assert list(google.events["team"]) == [event.external_id]
    assert_only_gateway_fields_read(reads, {("workflow-executor", "google")})


async def test_workflow_executor_links_to_the_stored_calendly_event_type(gateway: Gateway, reads: Reads) -> None:
    async with FakeCalendly(secret=CALENDLY_TOKEN) as calendly:
        calendly.add_event_type("Intro")
        discovery = calendly.add_event_type("Discovery")
        await gateway.store("calendly", {"access_token": CALENDLY_TOKEN, "event_type_uri": discovery})
        calendars = VaultExternalCalendars(gateway.rpc, endpoints=CalendarEndpoints(calendly_api=calendly.base_url))
        try:
            calendar = await calendars.for_tenant(TENANT)
            assert isinstance(calendar, CalendlyCalendar)
            link = await calendar.book(_draft())
        finally:
            await calendars.aclose()
    assert isinstance(link, SchedulingLink) and calendly.scheduling_links[0]["owner"] == discovery
    # Google is asked first and not found: only the calendly record is read.
    assert_only_gateway_fields_read(reads, {("workflow-executor", "calendly")})


async def test_workflow_executor_proposes_with_the_stored_openai_key(gateway: Gateway, reads: Reads) -> None:
    async with FakeOpenAI([ToolCalls([Call(TOOL, SPEC)])], api_key=OPENAI_KEY) as llm:
        await gateway.store("openai", {"api_key": OPENAI_KEY, "base_url": llm.base_url})
        proposals = OpenAIProposals(gateway.rpc)
        try:
            proposed = await proposals.propose(TENANT, "when a lead qualifies, text me")
        finally:
            await proposals.aclose()
    assert isinstance(proposed, WorkflowSpec) and proposed.model_dump(exclude_none=True) == SPEC
    assert_only_gateway_fields_read(reads, {("workflow-executor", "openai")})


async def test_agent_runtime_answers_with_the_stored_openai_key(gateway: Gateway, reads: Reads) -> None:
    await gateway.store("openai", {"api_key": OPENAI_KEY, "base_url": "http://127.0.0.1:9/v1"})

    key = await VaultOpenAIKeys(gateway.rpc).openai(TENANT)

    assert key == OpenAIKey(OPENAI_KEY, "http://127.0.0.1:9/v1")
    assert_only_gateway_fields_read(reads, {("agent-runtime", "openai")})


def test_voice_media_reads_only_fields_the_gateway_stores() -> None:
    listed: set[tuple[str, str]] = set()
    for provider, key, where in VOICE_MEDIA_READS:
        path, line = where.split(":")
        source = (ROOT / VOICE_MEDIA / path).read_text().splitlines()[int(line) - 1]
        assert key in FIELD_READ.findall(source), f"{VOICE_MEDIA}/{where} no longer reads {key!r}: {source.strip()}"
        assert key in PROVIDERS[provider].model_fields, f"voice-media reads {key!r}, which {provider} never stores"
        listed.add((where, key))
    found = {(f"{path.relative_to(ROOT / VOICE_MEDIA)}:{number}", key)
             for path in sorted((ROOT / VOICE_MEDIA).rglob("*.py"))
             for number, text in enumerate(path.read_text().splitlines(), start=1)
             for key in FIELD_READ.findall(text)}
    assert found == listed, f"voice-media's credential reads changed: list them above, {sorted(found - listed)}"
