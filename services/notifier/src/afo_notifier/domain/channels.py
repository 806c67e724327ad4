"""The port a notification leaves through, and how a send fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from afo_notifier.domain.records import NotificationRow


@dataclass(frozen=True)
class Sent:
    # "twilio" / "smtp" (the tenant's credentials), "relay" (the local SMTP relay), "sink" (recorded only).
    provider: str
    provider_id: str | None


class SendError(Exception):
    """A send that failed; ``reason`` never holds a credential."""

    def __init__(self, provider: str, status: int | None, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.status = status
        self.reason = reason[:500]


class Channels(Protocol):
    async def send(self, row: NotificationRow) -> Sent: ...
