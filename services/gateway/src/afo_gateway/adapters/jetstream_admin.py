"""JetStream as the operators' admin area reads it (every stream's state and throughput, every durable consumer's
lag, the dead letters) and acts on it (a dead letter's event published again, a dead letter removed), with the
gateway's own NATS user: ``_platform_operations`` in ``afo_common.nats_security.permissions`` grants these calls
and no other (nothing is created, changed or purged; only the dead letters' stream loses messages)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.js.api import ConsumerInfo, RawStreamMsg
from nats.js.errors import APIError, NotFoundError
from pydantic import ValidationError

from afo_common.clock import Clock
from afo_common.events.streams import ADVISORIES, DEAD_LETTER, STREAM_SUBJECTS
from afo_common.messaging.connection import NatsConnection, NotConnected
from afo_common.messaging.dead_letters import DeadLetter as Letter
from afo_common.subjects import DEAD_LETTER_PREFIX
from afo_gateway.domain.dead_letters import DeadLetter, Replay, letter_id
from afo_gateway.domain.errors import Unavailable
from afo_gateway.domain.platform_state import ConsumerLag, StreamState

STREAMS: tuple[str, ...] = (*STREAM_SUBJECTS, DEAD_LETTER, ADVISORIES)
CONSUMERS_PER_PAGE = 256  # what the server answers a CONSUMER.LIST with at most
NOT_THERE = (10043, 10057)  # what STREAM.MSG.DELETE of a sequence the stream does not hold answers
TIMEOUT_S = 2.0


@contextlib.contextmanager
def _jetstream(what: str) -> Iterator[None]:
    """NATS down or slow is a 503 the operator can retry, not a 500."""
    try:
        yield
    except (nats.errors.Error, NotConnected, TimeoutError, OSError) as exc:
        raise Unavailable(f"JetStream did not answer {what}: {type(exc).__name__}") from exc


class JetStreamAdmin:
    def __init__(self, nats_connection: NatsConnection, clock: Clock) -> None:
        self._nats = nats_connection
        self._clock = clock

    async def streams(self) -> list[StreamState]:
        now = self._clock.now()
        states = []
        with _jetstream("a stream's state"):
            for name in STREAMS:
                info = await self._nats.js.stream_info(name)
                state = info.state
                minute = await self._since(name, now - timedelta(minutes=1), state.last_seq)
                hour = await self._since(name, now - timedelta(hours=1), state.last_seq)
                states.append(StreamState(name=name, messages=state.messages, bytes=state.bytes,
                                          last_seq=state.last_seq, consumers=state.consumer_count,
                                          last_minute=minute, last_hour=hour))
        return states

    async def _since(self, stream: str, since: datetime, last_seq: int) -> int:
        """How many messages the stream took since ``since``: nats-py's get_msg has no ``start_time``, so the
        JetStream API is asked as it documents it (``$JS.API.STREAM.MSG.GET.<stream>``)."""
        request = json.dumps({"start_time": since.astimezone(UTC).isoformat()}).encode()
        reply = await self._nats.client.request(f"$JS.API.STREAM.MSG.GET.{stream}", request, timeout=TIMEOUT_S)
        body = json.loads(reply.data)
        if "message" not in body:
            return 0  # nothing stored since then (the server answers "no message found")
        return max(0, last_seq - int(body["message"]["seq"]) + 1)

    async def consumers(self) -> list[ConsumerLag]:
        """Every durable consumer of every stream, by stream and name (ephemeral ones, such as an object store
        read's, are left out: they are nobody's lag)."""
        lags = []
        with _jetstream("a consumer's state"):
            for stream in STREAMS:
                offset = 0
                while True:
                    infos = await self._nats.js.consumers_info(stream, offset)
                    lags += [_lag(stream, info) for info in infos if info.config.durable_name]
                    if len(infos) < CONSUMERS_PER_PAGE:
                        break
                    offset += len(infos)
        return sorted(lags, key=lambda lag: (lag.stream, lag.name))

    async def dead_letters(self, after: int, limit: int, service: str | None) -> list[DeadLetter]:
        """Oldest first, from the sequence after ``after``; ``service``'s only when given."""
        subject = f"{DEAD_LETTER_PREFIX}.{service}.>" if service else f"{DEAD_LETTER_PREFIX}.>"
        letters: list[DeadLetter] = []
        sequence = after + 1
        with _jetstream("the dead letters"):
            while len(letters) < limit:
                try:
                    message = await self._nats.js.get_msg(DEAD_LETTER, seq=sequence, subject=subject, next=True)
                except NotFoundError:
                    break
                letters.append(_letter(message))
                sequence = (message.seq or sequence) + 1
        return letters

    async def dead_letter(self, sequence: int) -> DeadLetter | None:
        with _jetstream("a dead letter"):
            try:
                return _letter(await self._nats.js.get_msg(DEAD_LETTER, seq=sequence))
            except NotFoundError:
                return None

    async def republish(self, replay: Replay) -> None:
        """Published to its stream and acknowledged by it (or an exception)."""
        with _jetstream("the replayed event"):
            await self._nats.js.publish(replay.subject, replay.payload, headers=replay.headers)

    async def remove(self, sequence: int) -> bool:
        """Whether it was there to remove."""
        with _jetstream("the dead letter's removal"):
            try:
                return bool(await self._nats.js.delete_msg(DEAD_LETTER, sequence))
            except APIError as exc:
                # The server words "not there" by where the sequence was (10043 inside the stream, 10057 before
                # its first or past its last message); 10057 is also any other failed delete, so look.
                if exc.err_code in NOT_THERE and await self.dead_letter(sequence) is None:
                    return False
                raise


def _lag(stream: str, info: ConsumerInfo) -> ConsumerLag:
    delivered = info.delivered
    return ConsumerLag(stream=stream, name=info.name, pending=info.num_pending or 0,
                       ack_pending=info.num_ack_pending or 0, redelivered=info.num_redelivered or 0,
                       max_deliver=info.config.max_deliver or -1,
                       delivered_seq=delivered.stream_seq if delivered else 0,
                       last_active=delivered.last_active if delivered else None)


def _letter(message: RawStreamMsg) -> DeadLetter:
    sequence = int(message.seq or 0)
    try:
        letter = Letter.model_validate_json(message.data or b"")
    except ValidationError:
        # Something else on a dead-letter subject: shown as it is, never replayed (it names no event subject).
        _, _, service, stream = [*(message.subject or "").split("."), "", "", "", ""][:4]
        return DeadLetter(id=letter_id(sequence), sequence=sequence, service=service, stream=stream, consumer="",
                          subject="", stream_seq=0, num_delivered=0, reason="not a dead letter the platform wrote",
                          failed_at=message.time or datetime.now(UTC), payload=message.data or b"")
    payload = base64.b64decode(letter.payload) if letter.payload_encoding == "base64" else letter.payload.encode()
    return DeadLetter(id=letter_id(sequence), sequence=sequence, service=letter.service, stream=letter.stream,
                      consumer=letter.consumer, subject=letter.subject, stream_seq=letter.stream_seq,
                      num_delivered=letter.num_delivered, reason=letter.reason, failed_at=letter.failed_at,
                      payload=payload, headers=letter.headers)
