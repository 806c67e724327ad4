"""A lead's message, from any channel, answered: one brain for web, API, SMS, webhook and voice.

The slow part (the engine, maybe an LLM) runs outside any transaction while its deltas stream out on
core NATS; then one transaction records both messages, the lead, the conversation state, the inbox
entry and the outgoing events. A redelivery after a crash finds the inbox entry and only re-announces
the stored reply, so a reply is never produced twice."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import cast

from afo_agent_runtime.adapters.conversation_repository import ConversationRow, MessageRow
from afo_agent_runtime.adapters.knowledge import NoKnowledgeSearch
from afo_agent_runtime.adapters.llm_engine import HistoryTurn
from afo_agent_runtime.adapters.openai_chat import ChatProviderError
from afo_agent_runtime.adapters.tables import turn_tallies
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.analytics import reply_ms
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine
from afo_agent_runtime.domain.knowledge import KnowledgeSearch
from afo_agent_runtime.handlers.deciding import Produced, TurnDecider
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.realtime import DeltaStream, Realtime
from afo_agent_runtime.handlers.turn_record import record_turn
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_agent_runtime.metrics import LEADS_QUALIFIED, REPLIES, REPLY_SECONDS
from afo_common.clock import Clock
from afo_common.events.conversation import Citation, MessageReceived
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery, DuplicateDelivery, PermanentError
from afo_common.realtime import ReplyCompleted
from afo_common.tallies import Tally
from afo_common.telemetry import MESSAGES_ANSWERED_OUT_OF_ORDER, REPLY_FIRST_DELTA_SECONDS

log = logging.getLogger(__name__)

SPEC_CACHE_SIZE = 512
HISTORY_TURNS = 20
ANSWERED_CACHE_SIZE = 50_000
ORDER_POLL_FIRST_S = 0.01
ORDER_POLL_MAX_S = 0.2
TURN_TALLY = Tally.of(turn_tallies, window_s=60)


class TurnHandler:
    """The turn's own reads and write run on the driver (``TurnStore`` through the delivery's hot
    transaction); the store serves the rare reads besides (an agent version not cached yet, a stored reply
    to re-announce)."""

    def __init__(self, service: str, store: Store, clock: Clock, realtime: Realtime, llm: LlmEngines,
                 max_deliver: int, order_wait_s: float = 30.0, knowledge: KnowledgeSearch | None = None,
                 embedded: EmbeddedEngine | None = None, tally: Tally = TURN_TALLY) -> None:
        self._service = service
        self._tally = tally
        self._store = store
        self._clock = clock
        self._order_wait_s = order_wait_s
        self._realtime = realtime
        self._max_deliver = max_deliver
        self._decider = TurnDecider(llm, knowledge or NoKnowledgeSearch(), embedded or EmbeddedEngine())
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._answered: OrderedDict[str, int] = OrderedDict()
        # Published versions never change, so a spec once read can be reused for good.
        self._specs: OrderedDict[tuple[str, str, int], AgentSpec] = OrderedDict()

    async def __call__(self, delivery: Delivery) -> None:
        message = cast(MessageReceived, delivery.payload)
        await self._await_earlier_messages(delivery, message)
        async with self._conversation_lock(message.conversation_id):
            await self._answer(delivery, message)

    async def _await_earlier_messages(self, delivery: Delivery, message: MessageReceived) -> None:
        """A message that arrives before an earlier one of its conversation is answered waits for it —
        outside the conversation's lock, so the earlier one can get in, and with its delivery kept alive
        by the consumer's heartbeat. Past ``order_wait_s`` it goes ahead: an earlier message that will
        never be answered (dead-lettered) must not silence the conversation."""
        if message.sequence is None or message.sequence <= self._answered.get(message.conversation_id, 0) + 1:
            return  # the usual case: the one before it was answered here (no read needed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._order_wait_s
        pause = ORDER_POLL_FIRST_S
        while True:
            async with delivery.hot_read() as tx:
                answered = await TurnStore(tx).last_sequence(delivery.envelope.tenantid, message.conversation_id)
            if answered is None or message.sequence <= answered + 1:
                return
            if loop.time() >= deadline:
                MESSAGES_ANSWERED_OUT_OF_ORDER.labels(self._service).inc()
                log.warning("message %s (#%d of %s) answered before #%d..%d after waiting %.0f s",
                            message.message_id, message.sequence, message.conversation_id, answered + 1,
                            message.sequence - 1, self._order_wait_s)
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, ORDER_POLL_MAX_S)

    async def _answer(self, delivery: Delivery, message: MessageReceived) -> None:
        tenant_id = delivery.envelope.tenantid
        async with delivery.hot_read() as tx:
            state = await TurnStore(tx).turn_state(tenant_id, message.conversation_id, delivery.consumer,
                                                   delivery.envelope.id)
        if state is None:
            raise PermanentError(f"conversation {message.conversation_id} does not exist for this tenant")
        if state.already_processed:
            await self._announce_stored_reply(delivery, tenant_id, message)
            raise DuplicateDelivery(delivery.envelope.id)
        conversation, lead = state.conversation, state.lead
        spec = await self._spec(delivery, conversation)
        history: list[MessageRow] = []
        if spec.llm.provider == "openai":
            async with delivery.hot_read() as tx:
                history = await TurnStore(tx).recent_messages(tenant_id, conversation.id, HISTORY_TURNS)
        reply_id = new_id("msg")
        stream = DeltaStream(self._realtime, tenant_id, conversation.id, reply_id, message.message_id)
        produced = await self._produce(delivery, tenant_id, conversation, spec, history, message, stream)
        if stream.index == 0:
            await stream.text(produced.decision.reply)
        else:
            await stream.finish()
        if stream.first_delta_ms is not None:
            REPLY_FIRST_DELTA_SECONDS.labels(self._service).observe(stream.first_delta_ms / 1000)
        completed_ms = stream.elapsed_ms()
        now = self._clock.now()
        async with delivery.hot_transaction() as uow:
            await record_turn(
                uow, delivery.envelope, message, conversation, lead, produced.decision,
                reply_id=reply_id, engine=produced.engine, first_delta_ms=stream.first_delta_ms or 0.0,
                completed_ms=completed_ms, realtime=self._realtime, now=now,
                idle_after=timedelta(minutes=spec.idle_timeout_minutes), fallback=produced.fallback,
            )
            # What anomaly detection learns from (conversation.turns_tallied), counted with the turn itself.
            await self._tally.add(uow.tx, tenant_id, (conversation.agent_id, message.key_id or ""), now,
                                  (1, 1, float(reply_ms(message.sent_at, now)), int(produced.fallback)))
        self._count(conversation.channel, produced, completed_ms)
        self._note_answered(conversation, message)

    def _count(self, channel: str, produced: Produced, completed_ms: float) -> None:
        """After the commit: a turn rolled back and redelivered counts once."""
        REPLIES.labels(self._service, channel, "fallback" if produced.fallback else "ok").inc()
        REPLY_SECONDS.labels(self._service, channel).observe(completed_ms / 1000)
        if produced.decision.became_qualified:
            LEADS_QUALIFIED.labels(self._service, channel).inc()

    def _note_answered(self, conversation: ConversationRow, message: MessageReceived) -> None:
        """How far each conversation is answered, as far as this process knows (only ever too low, when
        another replica answered since: then the wait above reads the database)."""
        answered = max(conversation.last_sequence, message.sequence or 0)
        self._answered[conversation.id] = answered
        self._answered.move_to_end(conversation.id)
        if len(self._answered) > ANSWERED_CACHE_SIZE:
            self._answered.popitem(last=False)

    async def _produce(self, delivery: Delivery, tenant_id: str, conversation: ConversationRow,
                       spec: AgentSpec, history: list[MessageRow], message: MessageReceived,
                       stream: DeltaStream) -> Produced:
        memory = ConversationMemory.from_json(conversation.memory)
        turns = [HistoryTurn(role="user" if m.role == "user" else "assistant", text=m.text) for m in history]

        def retry(exc: ChatProviderError) -> bool:
            # A retryable failure before anything was streamed goes back for NAK backoff, except on the last
            # delivery: then the embedded engine answers (a lead waiting for an answer gets one).
            return exc.retryable and delivery.attempt < self._max_deliver and stream.index == 0

        return await self._decider.decide(tenant_id, spec, memory, message.text, self._clock.now(),
                                          spoken=conversation.channel == "voice", history=turns,
                                          on_delta=stream.delta, retry=retry,
                                          about=f"conversation {conversation.id}")

    async def _spec(self, delivery: Delivery, conversation: ConversationRow) -> AgentSpec:
        key = (conversation.tenant_id, conversation.agent_id, conversation.agent_version)
        spec = self._specs.get(key)
        if spec is None:
            async with self._store.reading() as repos:
                version = await repos.agents.version(*key)
            if version is None:
                raise PermanentError(f"agent {conversation.agent_id} v{conversation.agent_version} is missing")
            spec = AgentSpec.model_validate(version.spec)
            self._specs[key] = spec
            if len(self._specs) > SPEC_CACHE_SIZE:
                self._specs.popitem(last=False)
        return spec

    async def _announce_stored_reply(self, delivery: Delivery, tenant_id: str, message: MessageReceived) -> None:
        """A redelivered message was answered before a crash; waiting clients still hear the answer."""
        async with self._store.reading() as repos:
            reply = await repos.conversations.reply_to(tenant_id, message.message_id)
        if reply is not None:
            await self._realtime.send(tenant_id, message.conversation_id, ReplyCompleted(
                message_id=reply.id, in_reply_to=message.message_id, text=reply.text, intent=reply.intent,
                engine=reply.engine, citations=[Citation.model_validate(c) for c in reply.citations]))

    @asynccontextmanager
    async def _conversation_lock(self, conversation_id: str) -> AsyncIterator[None]:
        # Turns of one conversation run one at a time in this process; the lock lives while anyone holds
        # or awaits it, so the table does not grow with every conversation ever seen.
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._lock_users[conversation_id] = self._lock_users.get(conversation_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[conversation_id] -= 1
            if self._lock_users[conversation_id] == 0:
                del self._lock_users[conversation_id]
                del self._locks[conversation_id]
