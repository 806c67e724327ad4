"""Composition root of agent-runtime: the one brain for every channel."""

from __future__ import annotations

from afo_agent_runtime.adapters.credentials import VaultOpenAIKeys
from afo_agent_runtime.adapters.knowledge import RpcKnowledgeSearch
from afo_agent_runtime.adapters.speech import RpcHearing
from afo_agent_runtime.adapters.store import sql_store
from afo_agent_runtime.adapters.tables import messaging, turn_tallies
from afo_agent_runtime.domain.engine import EmbeddedEngine
from afo_agent_runtime.entrypoints.rpc import register_rpc
from afo_agent_runtime.entrypoints.subscribers import message_received_consumer, register_subscribers
from afo_agent_runtime.handlers.agent_test_runs import AgentTestRunner
from afo_agent_runtime.handlers.agent_tests import AgentTestHandlers
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.analyses import ConversationAnalyses
from afo_agent_runtime.handlers.analytics import AnalyticsHandlers
from afo_agent_runtime.handlers.booking_offers import BookingOffers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.deciding import TurnDecider
from afo_agent_runtime.handlers.endings import ConversationEndings
from afo_agent_runtime.handlers.handoffs import Handoffs
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.meeting_results import MeetingResults
from afo_agent_runtime.handlers.realtime import Realtime
from afo_agent_runtime.handlers.turn_tallies import turn_tally_closer
from afo_agent_runtime.handlers.turns import TurnHandler
from afo_agent_runtime.settings import AgentRuntimeSettings
from afo_common.clock import SystemClock
from afo_common.service import Service
from afo_common.tallies import Tally


def build(settings: AgentRuntimeSettings | None = None) -> Service:
    settings = settings or AgentRuntimeSettings.for_service("agent-runtime")  # type: ignore[assignment]
    assert isinstance(settings, AgentRuntimeSettings)
    service = Service(settings, messaging, "afo_agent_runtime.migrations")
    knowledge = RpcKnowledgeSearch(service.rpc, settings.knowledge_search_timeout_s)
    llm = LlmEngines(settings.llm_api_key, knowledge, VaultOpenAIKeys(service.rpc))
    service.on_start(llm.start)
    service.on_stop(llm.stop)
    realtime = Realtime(service.nats.publish)
    consumer = message_received_consumer(settings)
    store, clock = sql_store(service.unit_of_work), SystemClock()
    endings = ConversationEndings(store, clock)
    # Agent tests play their turns through the same decision as a real turn, writing and sending nothing.
    test_runner = AgentTestRunner(TurnDecider(llm, knowledge, EmbeddedEngine()), clock,
                                  RpcHearing(service.rpc), settings.agent_tests_run_timeout_s)
    register_rpc(service, AgentHandlers(store, clock), ConversationHandlers(store, clock), endings,
                 ChannelHandlers(store, clock, llm), AnalyticsHandlers(store),
                 AgentTestHandlers(store, clock, test_runner))
    tally = Tally.of(turn_tallies, settings.turn_tally_window_s)
    turns = TurnHandler(service.name, store, clock, realtime, llm, consumer.max_deliver,
                        settings.turn_order_wait_s, knowledge, tally=tally)
    register_subscribers(service, turns, consumer, MeetingResults(store, clock, realtime),
                         BookingOffers(store, clock, realtime), ConversationAnalyses(store, llm),
                         Handoffs(clock, realtime))
    # Every replica runs the check; each conversation is claimed by a conditional update, so ended once.
    service.every(settings.idle_check_interval_s, endings.check_idle, "close-idle-conversations")
    # Every replica closes windows too: a window's rows are taken by the statement that deletes them, so once.
    service.every(settings.turn_tally_close_s,
                  turn_tally_closer(tally, service.unit_of_work, clock, settings.turn_tally_grace_s),
                  "send-turn-tallies")
    return service
