"""A JetStream message as ``afo_common.messaging.consumer.ConsumerPolicy`` sees it, recording how it was settled:
for tests of consumers driven through the policy as in production, without a broker."""

from __future__ import annotations

from afo_common.events import Envelope
from afo_common.messaging.consumer import RawMessage


class BrokerMessage(RawMessage):
    def __init__(self, data: bytes, subject: str, num_delivered: int = 1) -> None:
        self.data, self.subject, self.headers = data, subject, {"Nats-Msg-Id": "x"}
        self.num_delivered, self.stream_seq = num_delivered, 7
        self.settled: list[str] = []

    @classmethod
    def of(cls, envelope: Envelope, num_delivered: int = 1) -> BrokerMessage:
        return cls(envelope.to_bytes(), envelope.nats_subject, num_delivered)

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, delay: float) -> None:
        self.settled.append("nak")

    async def term(self) -> None:
        self.settled.append("term")
