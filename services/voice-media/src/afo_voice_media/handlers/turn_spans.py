"""A call's turns as traces: each turn, from the caller's first word to the agent's answer heard (or cut off), is a
trace of its own, rooted at voice-media's ``voice turn`` span.

- The caller's message is posted under the root, so agent-runtime's handling of it (the event's ``traceparent``)
  and whatever that causes (RPCs, provider calls, later events) are in the turn's trace; the answer is synthesised
  under it too (a speech provider's request is its child), and the turn's record is emitted under it.
- When the turn is recorded, its stages become child spans, from the times the session noted: ``stt`` (the caller
  stopped speaking → their words), ``agent`` (the message posted → the reply complete, its first words an event),
  ``tts`` (the first sentence asked → its first audio); the root carries every ``TurnLatency`` figure.
- A turn is not the call's child, or a call of minutes would be one trace holding every turn: the root links to the
  call's span (the media WebSocket's) instead.

Spans hold ids and timings, never what was said."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, StatusCode

if TYPE_CHECKING:
    from afo_voice_media.handlers.call_session import CallContext, TurnTrace

_tracer = trace.get_tracer("afo.voice-media")


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class TurnSpans:
    """The spans of one call's turns. Made while the call's own span is current, which each turn's root links to."""

    def __init__(self, call: CallContext, clock: Callable[[], float]) -> None:
        self._call = call
        self._clock = clock
        call_span = trace.get_current_span().get_span_context()
        self._links = [Link(call_span)] if call_span.is_valid else []

    def begin(self, turn: TurnTrace) -> Span:
        """The turn's root, started when the caller started speaking: a new trace, whatever is current."""
        return _tracer.start_span("voice turn", context=otel_context.Context(), links=self._links,
                                  start_time=_ns(turn.started_wall), attributes={
                                      "afo.tenant_id": self._call.tenant_id, "afo.call_id": self._call.call_id,
                                      "afo.conversation_id": self._call.conversation_id,
                                      "afo.turn_index": turn.index})

    def end(self, turn: TurnTrace, failed: bool = False) -> None:
        """The stages as the root's children, its latencies as its attributes, and the root ended now."""
        root = turn.span
        if root is None:
            return
        # The session's times are its clock's (monotonic), placed on the wall clock as the turn's start was.
        offset = turn.started_wall - turn.speech_started_at

        def wall(at: float) -> int:
            return _ns(at + offset)

        parent = trace.set_span_in_context(root)
        if turn.stt_final_at is not None and turn.stt_final_at > turn.speech_ended_at:
            stt = _tracer.start_span("stt", context=parent, start_time=wall(turn.speech_ended_at), attributes={
                "afo.voice.stt_provider_ms": round(turn.stt_provider_s * 1000.0, 1),
                "afo.voice.endpoint_wait_ms": round(turn.endpoint_wait_s * 1000.0, 1)})
            stt.add_event("turn decided", timestamp=wall(turn.decided_at))
            stt.end(end_time=wall(turn.stt_final_at))
        answered_at = turn.reply_done_at or turn.first_delta_at
        if turn.stt_final_at is not None and answered_at is not None:
            agent = _tracer.start_span("agent", context=parent, start_time=wall(turn.stt_final_at))
            if turn.first_delta_at is not None:
                agent.add_event("first reply delta", timestamp=wall(turn.first_delta_at))
            agent.end(end_time=wall(answered_at))
        if turn.first_tts_at is not None:
            tts = _tracer.start_span("tts", context=parent, start_time=wall(turn.first_tts_at - turn.tts_provider_s),
                                     attributes={"afo.voice.tts_provider_ms": round(turn.tts_provider_s * 1000.0, 1)})
            tts.end(end_time=wall(turn.first_tts_at))
        if turn.message_id is not None:
            root.set_attribute("afo.message_id", turn.message_id)
        root.set_attribute("afo.turn_interrupted", turn.interrupted)
        for name, value in turn.latency().model_dump().items():
            if value is not None:
                root.set_attribute(f"afo.voice.{name}", value)
        if failed:
            root.set_status(StatusCode.ERROR)
        root.end(end_time=wall(self._clock()))
