"""Event entrypoints: one durable consumer per stream integrators may subscribe to, each taking every event
its stream captures (``ConsumerSpec.whole_stream``)."""

from __future__ import annotations

from afo_common.messaging.consumer import ConsumerSpec
from afo_notifier.domain.webhooks import SUBSCRIBABLE_STREAMS


def durable(stream: str) -> str:
    return f"notifier-webhooks-{stream.lower()}"


WEBHOOK_SOURCES: tuple[ConsumerSpec, ...] = tuple(
    ConsumerSpec.whole_stream(durable(stream), stream, max_deliver=10) for stream in SUBSCRIBABLE_STREAMS)
