"""The port a notification leaves through, and how a send fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from afo_notifier.domain.records import NotificationRow


@dataclass(frozen=True)
class Sent:
    # "twilio" / "smtp" (the tenant's credentials), "relay" (the local SMTP relay), "sink" (recorded only).
    provider: str
    provider_id: str | None


# How an SMTP connection is secured: in clear, upgraded with STARTTLS (port 587), or TLS from the first byte
# (implicit TLS, port 465).
SmtpSecurity = Literal["none", "starttls", "tls"]
SMTP_SECURITIES: tuple[SmtpSecurity, ...] = get_args(SmtpSecurity)


class SendError(Exception):
    """A send that failed; ``reason`` never holds a credential."""

    def __init__(self, provider: str, status: int | None, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.status = status
        self.reason = reason[:500]


class Channels(Protocol):
    async def send(self, row: NotificationRow) -> Sent: ...
