"""What the operators' admin area shows of the platform's messaging: each stream's state and how many events it
took lately (its throughput), and each durable consumer's lag. Plain data, read from JetStream by
``adapters/jetstream_admin.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StreamState:
    name: str
    messages: int
    bytes: int
    last_seq: int
    consumers: int
    # Messages the stream took in the last minute and hour: its last sequence less the first one stored since
    # then (exact while nothing in between was deleted, which only the dead letters' stream does).
    last_minute: int
    last_hour: int


@dataclass(frozen=True)
class ConsumerLag:
    stream: str
    name: str
    pending: int  # in the stream, not delivered yet
    ack_pending: int  # delivered, not acknowledged yet
    redelivered: int  # delivered more than once, not acknowledged yet
    max_deliver: int
    delivered_seq: int  # the last stream sequence delivered
    last_active: datetime | None

    @property
    def key(self) -> str:
        """Where a page of consumers starts after this one: stream and name, as they sort."""
        return f"{self.stream}/{self.name}"
