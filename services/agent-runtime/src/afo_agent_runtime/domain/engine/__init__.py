"""The embedded conversation engine: offline, keyless and deterministic."""

from afo_agent_runtime.domain.engine.answers import Answer, AnswerPolicy, compose_answer
from afo_agent_runtime.domain.engine.engine import EmbeddedEngine
from afo_agent_runtime.domain.engine.fields import Extraction, FieldInvalid, extract_fields, validate_field
from afo_agent_runtime.domain.engine.intents import Intent, IntentResult, classify
from afo_agent_runtime.domain.engine.replies import Register, Replies, register_for
from afo_agent_runtime.domain.engine.scheduling import MeetingTime, parse_meeting, parse_meeting_time
from afo_agent_runtime.domain.turn import ConversationMemory, MeetingRequest, TurnDecision

__all__ = [
    "Answer",
    "AnswerPolicy",
    "ConversationMemory",
    "EmbeddedEngine",
    "Extraction",
    "FieldInvalid",
    "Intent",
    "IntentResult",
    "MeetingRequest",
    "MeetingTime",
    "Register",
    "Replies",
    "TurnDecision",
    "classify",
    "compose_answer",
    "extract_fields",
    "parse_meeting",
    "parse_meeting_time",
    "register_for",
    "validate_field",
]
