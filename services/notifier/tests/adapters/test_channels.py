"""Which way a notification leaves: the tenant's Twilio credentials (to a local Messages API stand-in), the SMS
sink without them; the tenant's SMTP record, the local relay without it, the sink with neither; a stored
credential missing a field is a send error naming it (never its values). The records use the gateway's field
names; tests/contract/test_credential_fields.py stores them through the gateway's own models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from afo_cli.smtp_sink import SmtpSink
from afo_notifier.adapters.channels import TenantChannels
from afo_notifier.adapters.smtp import SmtpServer
from afo_notifier.adapters.twilio import TwilioRetry
from afo_notifier.domain.channels import SendError, Sent
from afo_notifier.domain.records import NotificationRow
from afo_testkit.twilio_server import FakeTwilio

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SMS = NotificationRow(id="ntf_1", tenant_id="ten_a", meeting_id="mtg_1", lead_id="lead_1", kind="reminder",
                      channel="sms", to="+33612345678", subject=None, body="Reminder", ics=None, send_at=NOW,
                      status="sending", error=None, provider=None, provider_id=None, claimed_by="s",
                      claimed_until=NOW, sent_at=None, created_at=NOW, updated_at=NOW)
EMAIL = replace(SMS, channel="email", to="lee@example.com", subject="Reminder")


class Vault:
    def __init__(self, records: dict[tuple[str, str], dict[str, str]]) -> None:
        self.records = records

    async def resolve(self, tenant_id: str, provider: str) -> Mapping[str, str] | None:
        return self.records.get((tenant_id, provider))


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as server:
        yield server


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[SmtpSink]:
    async with SmtpSink(tmp_path / "mail") as server:
        yield server


async def test_sms_goes_through_the_tenants_twilio_else_the_sink(twilio: FakeTwilio) -> None:
    vault = Vault({("ten_a", "twilio"): {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                                         "from_number": "+15005550006"}})
    channels = TenantChannels(vault, relay=None, twilio_api=twilio.base_url, twilio_retry=TwilioRetry(attempts=1))
    sent = await channels.send(SMS)
    assert sent.provider == "twilio" and [m["sid"] for m in twilio.messages] == [sent.provider_id]
    assert await channels.send(replace(SMS, tenant_id="ten_b")) == Sent("sink", None)
    assert len(twilio.messages) == 1


async def test_email_goes_through_the_tenants_smtp_else_the_relay_else_the_sink(sink: SmtpSink) -> None:
    vault = Vault({("ten_a", "smtp"): {"host": "127.0.0.1", "port": str(sink.port), "from_address": "a@ten-a.example",
                                       "security": "none"}})
    relay = SmtpServer("127.0.0.1", sink.port, "meetings@afo.local")
    assert (await TenantChannels(vault, relay=relay).send(EMAIL)).provider == "smtp"
    assert (await TenantChannels(vault, relay=relay).send(replace(EMAIL, tenant_id="ten_b"))).provider == "relay"
    assert await TenantChannels(vault, relay=None).send(replace(EMAIL, tenant_id="ten_b")) == Sent("sink", None)
    assert [sender for sender, _, _ in sink.received] == ["a@ten-a.example", "meetings@afo.local"]


async def test_a_stored_credential_missing_a_field_is_a_send_error() -> None:
    vault = Vault({("ten_a", "twilio"): {"account_sid": "AC1", "auth_token": "secret-token-value"},
                   ("ten_a", "smtp"): {"host": "127.0.0.1", "port": "twenty-five", "from_address": "a@b.example"}})
    with pytest.raises(SendError) as sms:
        await TenantChannels(vault, relay=None).send(SMS)
    assert sms.value.reason == "the stored credential has no from_number" and "secret" not in str(sms.value)
    with pytest.raises(SendError) as email:
        await TenantChannels(vault, relay=None).send(EMAIL)
    assert email.value.reason == "the stored credential's port is not a number"


async def test_a_reply_goes_from_the_agents_number_and_asks_for_delivery_reports(twilio: FakeTwilio) -> None:
    vault = Vault({("ten_a", "twilio"): {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                                         "from_number": "+15005550006"}})
    channels = TenantChannels(vault, relay=None, twilio_api=twilio.base_url, twilio_retry=TwilioRetry(attempts=1),
                              public_url="https://afo.example.com/")
    await channels.send(replace(SMS, kind="reply", sender="+14155550100"))
    await TenantChannels(vault, relay=None, twilio_api=twilio.base_url,
                         twilio_retry=TwilioRetry(attempts=1)).send(SMS)
    first, second = twilio.messages
    assert (first["from"], first["status_callback"]) == ("+14155550100",
                                                         "https://afo.example.com/twilio/status?tenant=ten_a")
    assert second["from"] == "+15005550006" and "status_callback" not in second


async def test_a_stored_security_notifier_does_not_know_is_a_send_error_not_a_connection_in_clear(
        sink: SmtpSink) -> None:
    vault = Vault({("ten_a", "smtp"): {"host": "127.0.0.1", "port": str(sink.port), "from_address": "a@b.example",
                                       "username": "a", "password": "secret-password-value", "security": "ssl"}})
    with pytest.raises(SendError) as email:
        await TenantChannels(vault, relay=None).send(EMAIL)
    assert email.value.reason == "the stored credential's security is not starttls, tls or none"
    assert not sink.received
