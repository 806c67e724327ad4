"""RPC contracts of analytics: each number is computed by the service that owns its facts, from its own
records, and the gateway merges the answers (``GET /v1/analytics/summary``).

- agent-runtime (``analytics.summary``): the funnel — conversations started in the period, how many of them
  qualified their lead, booked a meeting, were handed off to a person — per day or week, per channel and per
  agent; its reply latency (the lead's message accepted → the reply committed); the questions its documents
  did not answer, normalised and counted.
- voice-media (``analytics.summary``): calls started in the period and the latency of their turns, per
  component, from the end of the caller's speech.

A period is ``[start, end)``, at most ``MAX_RANGE_DAYS`` long; its days are those of ``time_zone`` (the tenant's,
unless the caller asks for another), a week starts on Monday. Both requests are the same model; a channel other
than ``voice`` leaves voice-media's answer empty."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from afo_common.events.conversation import Channel
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.time_zones import zone_named

MAX_RANGE_DAYS = 366
UNANSWERED_LIMIT = 10
Granularity = Literal["day", "week"]
VoiceComponent = Literal["turn_decision", "stt_final", "first_reply_delta", "first_tts_audio", "first_audio_out"]
VOICE_COMPONENTS: tuple[VoiceComponent, ...] = (
    "turn_decision", "stt_final", "first_reply_delta", "first_tts_audio", "first_audio_out")


class AnalyticsQuery(TenantRequest):
    start: datetime = Field(description="inclusive, with a time zone")
    end: datetime = Field(description="exclusive, with a time zone; at most 366 days after start")
    agent_id: str | None = Field(default=None, max_length=64)
    channel: Channel | None = None
    granularity: Granularity = "day"
    time_zone: str = Field(default="UTC", max_length=64, description="an IANA name: the days periods are made of")

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.time_zone)

    @model_validator(mode="after")
    def _bounded(self) -> AnalyticsQuery:
        zone_named(self.time_zone)  # UnknownTimeZone is a ValueError: the request is invalid
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must carry a time zone")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > timedelta(days=MAX_RANGE_DAYS):
            raise ValueError(f"the period is at most {MAX_RANGE_DAYS} days")
        return self


class FunnelCounts(BaseModel):
    conversations: int = 0
    qualified: int = 0  # of those conversations, the ones whose lead qualified
    booked: int = 0  # ... that booked a meeting (counted once, even if later moved or cancelled)
    handed_off: int = 0  # ... that were handed off to a person (the rest were contained)


class FunnelPeriod(FunnelCounts):
    start: date  # the period's first day (a Monday for weeks)


class FunnelSlice(FunnelCounts):
    key: str  # the channel, or the agent's id
    label: str  # the channel, or the agent's name


class LatencyStats(BaseModel):
    count: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


class UnansweredQuestion(BaseModel):
    question: str  # normalised: lower case, no punctuation, single spaces
    count: int
    last_asked_at: datetime


class ConversationAnalytics(BaseModel):
    totals: FunnelCounts
    series: list[FunnelPeriod]  # every period of the range, oldest first, empty ones included
    by_channel: list[FunnelSlice]  # most conversations first
    by_agent: list[FunnelSlice]
    reply_latency: LatencyStats
    unanswered: list[UnansweredQuestion]  # most asked first, at most UNANSWERED_LIMIT


class ComponentLatency(LatencyStats):
    component: VoiceComponent


class VoiceAnalytics(BaseModel):
    calls: int = 0  # calls created in the period (inbound, outbound, browser)
    turns: int = 0  # their turns in the period
    latency: list[ComponentLatency] = []  # one per VOICE_COMPONENTS, in that order


CONVERSATION_SUMMARY: RpcOperation[AnalyticsQuery, ConversationAnalytics] = RpcOperation(
    "agent-runtime", "analytics.summary", AnalyticsQuery, ConversationAnalytics)
VOICE_SUMMARY: RpcOperation[AnalyticsQuery, VoiceAnalytics] = RpcOperation(
    "voice-media", "analytics.summary", AnalyticsQuery, VoiceAnalytics)

AGENT_RUNTIME_OPERATIONS: list[RpcOperation[Any, Any]] = [CONVERSATION_SUMMARY]
VOICE_MEDIA_OPERATIONS: list[RpcOperation[Any, Any]] = [VOICE_SUMMARY]
OPERATIONS: list[RpcOperation[Any, Any]] = [*AGENT_RUNTIME_OPERATIONS, *VOICE_MEDIA_OPERATIONS]
