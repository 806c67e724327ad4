"""Which way a notification leaves, per tenant: with the tenant's vault credentials when it has them, under the
names the gateway stores them (``twilio``: account_sid, auth_token, from_number; ``smtp``: host, port,
username?, password?, from_address, security: starttls, tls or none), else the local default. Twilio's API is
the service's own setting (``AFO_TWILIO_API_BASE_URL``), never a tenant's.

The local SMS default is the ``sink``: the message is recorded as sent, with ``provider: sink``, in notifier's
own store, where ``GET /v1/notifications`` shows it. Chosen over a Twilio stand-in process that ``afo up``
would start: the row already holds everything a stand-in would keep (to, body, time), and a stand-in would add
a process and a port to prove nothing the Twilio adapter's tests (against a local server speaking the Messages
API) do not. The local email default is the SMTP relay ``afo up`` starts (``AFO_SMTP_RELAY_PORT``); with no
relay configured either, email goes to the sink too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.twilio_rest import TWILIO_API
from afo_notifier.adapters.smtp import SmtpServer, send_email
from afo_notifier.adapters.twilio import TwilioMessages, TwilioRetry
from afo_notifier.domain.channels import SMTP_SECURITIES, SendError, Sent
from afo_notifier.domain.records import NotificationRow

SERVICE = "notifier"


class Credentials(Protocol):
    async def resolve(self, tenant_id: str, provider: str) -> Mapping[str, str] | None: ...


class VaultCredentials:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def resolve(self, tenant_id: str, provider: str) -> Mapping[str, str] | None:
        try:
            return await resolve_credential(self._rpc, SERVICE, tenant_id, provider, "lead notification")
        except RpcError as exc:
            raise SendError(provider, None, f"the vault did not answer: {exc.code}") from exc


def _need(provider: str, fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise SendError(provider, None, f"the stored credential has no {name}")
    return value


class TenantChannels:
    def __init__(self, credentials: Credentials, *, relay: SmtpServer | None, twilio_api: str = TWILIO_API,
                 twilio_retry: TwilioRetry | None = None, public_url: str | None = None) -> None:
        self._credentials = credentials
        # AFO_PUBLIC_URL: with it, Twilio reports each SMS's delivery to the gateway's /twilio/status.
        self._public_url = public_url.rstrip("/") if public_url else None
        self._relay = relay
        self._twilio_api = twilio_api
        self._twilio_retry = twilio_retry

    async def send(self, row: NotificationRow) -> Sent:
        if row.channel == "sms":
            return await self._sms(row)
        return await self._email(row)

    async def _sms(self, row: NotificationRow) -> Sent:
        fields = await self._credentials.resolve(row.tenant_id, "twilio")
        if fields is None:
            return Sent("sink", None)
        from_number = row.sender or _need("twilio", fields, "from_number")
        twilio = TwilioMessages(_need("twilio", fields, "account_sid"), _need("twilio", fields, "auth_token"),
                                from_number, base_url=self._twilio_api, retry=self._twilio_retry)
        callback = f"{self._public_url}/twilio/status?tenant={row.tenant_id}" if self._public_url else None
        return Sent("twilio", await twilio.send(row.to, row.body, status_callback=callback))

    async def _email(self, row: NotificationRow) -> Sent:
        fields = await self._credentials.resolve(row.tenant_id, "smtp")
        if fields is not None:
            port = _need("smtp", fields, "port")
            if not port.isdigit():
                raise SendError("smtp", None, "the stored credential's port is not a number")
            # An unknown value must not fall back to sending the password in clear.
            security = next((s for s in SMTP_SECURITIES if s == (fields.get("security") or "starttls")), None)
            if security is None:
                raise SendError("smtp", None, "the stored credential's security is not starttls, tls or none")
            server = SmtpServer(host=_need("smtp", fields, "host"), port=int(port),
                                from_email=_need("smtp", fields, "from_address"), username=fields.get("username"),
                                password=fields.get("password"), security=security)
            provider = "smtp"
        elif self._relay is not None:
            server, provider = self._relay, "relay"
        else:
            return Sent("sink", None)
        return Sent(provider, await send_email(server, row.to, row.subject or "", row.body, row.ics,
                                               provider=provider))
