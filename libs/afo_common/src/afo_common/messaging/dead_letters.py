"""Dead letters: a message no handler will ever accept goes to ``dlq.afo.<service>.<stream>`` with why.

Two paths lead there: the consumer policy (schema-invalid, a permanent error, or the last delivery
failing) and the server's MAX_DELIVERIES advisory, which catches a crash or hang on the last delivery."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import NotFoundError
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import advisory_durable, dead_letter_subject, max_deliveries_advisory
from afo_common.telemetry import DEAD_LETTERS

log = logging.getLogger(__name__)


class DeadLetter(BaseModel):
    service: str
    stream: str
    consumer: str
    subject: str
    stream_seq: int
    num_delivered: int
    reason: str
    failed_at: datetime
    payload: str
    payload_encoding: str = "utf-8"
    headers: dict[str, str] = {}


def _payload_text(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


async def publish_dead_letter(
    nats: NatsConnection,
    *,
    service: str,
    stream: str,
    consumer: str,
    subject: str,
    stream_seq: int,
    num_delivered: int,
    reason: str,
    data: bytes,
    headers: dict[str, str] | None,
    reason_label: str,
) -> None:
    payload, encoding = _payload_text(data)
    letter = DeadLetter(
        service=service,
        stream=stream,
        consumer=consumer,
        subject=subject,
        stream_seq=stream_seq,
        num_delivered=num_delivered,
        reason=reason,
        failed_at=datetime.now(UTC),
        payload=payload,
        payload_encoding=encoding,
        headers=headers or {},
    )
    # One dead letter per stream message, whichever path (policy or advisory) gets there first.
    await nats.js.publish(
        dead_letter_subject(service, stream),
        letter.model_dump_json().encode(),
        headers={"Nats-Msg-Id": f"dlq-{stream}-{consumer}-{stream_seq}"},
    )
    DEAD_LETTERS.labels(service, reason_label).inc()
    log.warning("dead-lettered %s seq %s from %s: %s", subject, stream_seq, consumer, reason)


class MaxDeliveriesAdvisories:
    """Dead-letters the messages the server gave up redelivering to one consumer without our verdict
    (the handler crashed or hung on the last delivery). The advisories are read from the ADVISORIES
    stream through a durable consumer, so one sent while the service was down is still acted on."""

    def __init__(self, nats: NatsConnection, *, service: str, stream: str, consumer: str) -> None:
        self._nats = nats
        self.service = service
        self.stream = stream
        self.consumer = consumer

    @property
    def durable(self) -> str:
        return advisory_durable(self.consumer)

    @property
    def subject(self) -> str:
        return max_deliveries_advisory(self.stream, self.consumer)

    async def handle(self, data: bytes) -> None:
        """Raises when the dead letter could not be published (the caller retries the advisory)."""
        advisory: dict[str, Any] = json.loads(data)
        seq = int(advisory["stream_seq"])
        try:
            original = await self._nats.js.get_msg(self.stream, seq)
            subject, payload, headers = original.subject or "", original.data or b"", dict(original.headers or {})
            reason = "max_deliver reached without a verdict (the handler crashed or timed out)"
        except NotFoundError:
            subject, payload, headers = "", b"", {}
            reason = ("max_deliver reached without a verdict (the handler crashed or timed out); the message "
                      "had already left the stream")
        await publish_dead_letter(
            self._nats,
            service=self.service,
            stream=self.stream,
            consumer=self.consumer,
            subject=subject,
            stream_seq=seq,
            num_delivered=int(advisory.get("deliveries", 0)),
            reason=reason,
            data=payload,
            headers=headers,
            reason_label="max_deliver",
        )
