"""Dead letters: a message no handler will ever accept goes to ``afo.dlq.<service>.<stream>`` with why.

Two paths lead there: the consumer policy (schema-invalid, a permanent error, or the last delivery
failing) and the server's MAX_DELIVERIES advisory, which catches a crash or hang on the last delivery."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from pydantic import BaseModel

from afo_common.messaging.connection import NatsConnection
from afo_common.subjects import dead_letter_subject
from afo_common.telemetry import DEAD_LETTERS

log = logging.getLogger(__name__)

ADVISORY_MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"


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


async def watch_max_deliveries(nats: NatsConnection, *, service: str, stream: str, consumer: str) -> None:
    """Dead-letter messages the server gave up redelivering to ``consumer`` without our verdict."""

    async def on_advisory(msg: Msg) -> None:
        try:
            advisory: dict[str, Any] = json.loads(msg.data)
            seq = int(advisory["stream_seq"])
            original = await nats.js.get_msg(stream, seq)
            await publish_dead_letter(
                nats,
                service=service,
                stream=stream,
                consumer=consumer,
                subject=original.subject or "",
                stream_seq=seq,
                num_delivered=int(advisory.get("deliveries", 0)),
                reason="max_deliver reached without a verdict (the handler crashed or timed out)",
                data=original.data or b"",
                headers=dict(original.headers or {}),
                reason_label="max_deliver",
            )
        except Exception:
            log.exception("could not dead-letter after a max-deliveries advisory")

    await nats.client.subscribe(f"{ADVISORY_MAX_DELIVERIES}.{stream}.{consumer}", cb=on_advisory)
