"""Event entrypoints: the durable consumers agent-runtime reads."""

from __future__ import annotations

from afo_agent_runtime.handlers.turns import TurnHandler
from afo_agent_runtime.settings import AgentRuntimeSettings
from afo_common.events.conversation import MessageReceived
from afo_common.events.streams import CONVERSATION
from afo_common.messaging.consumer import ConsumerSpec
from afo_common.service import Service


def message_received_consumer(settings: AgentRuntimeSettings) -> ConsumerSpec:
    return ConsumerSpec(durable="agent-runtime-message-received", stream=CONVERSATION, event=MessageReceived,
                        max_deliver=settings.max_deliver, ack_wait_s=settings.turn_ack_wait_s,
                        max_handle_s=settings.turn_max_s, max_workers=32)


def register_subscribers(service: Service, turns: TurnHandler, spec: ConsumerSpec) -> None:
    service.consume(spec, turns)
