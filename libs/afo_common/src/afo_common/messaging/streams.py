"""Provisioning of the JetStream streams: one per bounded context, the dead-letter stream and the stream of
MAX_DELIVERIES advisories."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from afo_common.events.streams import ADVISORIES, DEAD_LETTER, STREAM_SUBJECTS
from afo_common.subjects import DEAD_LETTER_PREFIX, EVENT_PREFIX, MAX_DELIVERIES_ADVISORY_PREFIX

log = logging.getLogger(__name__)

DAY_S = 86_400.0
# A relay that published a batch and died before deleting it publishes the batch again when its process
# is back: JetStream drops those copies if they come within this window. Ten minutes outlasts a restart
# under `afo up` (seconds) and Kubernetes' crash-loop backoff (capped at five minutes). The price, measured
# on nats-server 2.15: ~240 bytes of server memory per id in the window, ~70 MB at 500 events/s.
DUPLICATE_WINDOW_S = 600.0


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    configs = [
        StreamConfig(
            name=name,
            subjects=[f"{EVENT_PREFIX}.*.{suffix}" for suffix in suffixes],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=30 * DAY_S,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        for name, suffixes in STREAM_SUBJECTS.items()
    ]
    configs.append(
        StreamConfig(
            name=DEAD_LETTER,
            subjects=[f"{DEAD_LETTER_PREFIX}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=90 * DAY_S,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
    )
    # The server sends a MAX_DELIVERIES advisory once, possibly while the consumer's service is down or
    # before it has subscribed: kept here, the service reads it through a durable consumer when it can.
    configs.append(
        StreamConfig(
            name=ADVISORIES,
            subjects=[f"{MAX_DELIVERIES_ADVISORY_PREFIX}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=7 * DAY_S,
        )
    )
    return configs


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> list[str]:
    """Create every stream, or update it in place when its configuration changed. Idempotent."""
    names = []
    for config in stream_configs(replicas):
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != 10058:  # stream name already in use with a different configuration
                raise
            log.info("updating stream %s", config.name)
            await js.update_stream(config)
        names.append(str(config.name))
    return names


@dataclass(frozen=True)
class DurableSettings:
    """What the code decides about a durable consumer and must hold on a server that already has it."""

    stream: str
    durable: str
    ack_wait_s: float
    max_ack_pending: int
    max_deliver: int


async def reconcile_consumer(js: JetStreamContext, wanted: DurableSettings) -> bool:
    """Bring an existing durable consumer to the settings in code. Subscribing binds to a consumer as it
    is, so without this a changed ack_wait or max_ack_pending would never reach an upgraded deployment.
    Returns whether it changed anything (a missing consumer is created later, by subscribing)."""
    try:
        info = await js.consumer_info(wanted.stream, wanted.durable)
    except NotFoundError:
        return False
    config = info.config
    current = (config.ack_wait, config.max_ack_pending, config.max_deliver)
    if current == (wanted.ack_wait_s, wanted.max_ack_pending, wanted.max_deliver):
        return False
    config.ack_wait = wanted.ack_wait_s
    config.max_ack_pending = wanted.max_ack_pending
    config.max_deliver = wanted.max_deliver
    await js.add_consumer(wanted.stream, config)
    log.info("consumer %s on %s updated: ack_wait/max_ack_pending/max_deliver %s -> %s", wanted.durable,
             wanted.stream, current, (wanted.ack_wait_s, wanted.max_ack_pending, wanted.max_deliver))
    return True
