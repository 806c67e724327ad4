"""An agent's configuration — a public contract (``afo_common.rpcs.agent_spec``) that the gateway validates
too — and what agent-runtime, its owner, does with it."""

from __future__ import annotations

from afo_common.rpcs.agent_spec import (
    DEFAULT_QUALIFICATION_FIELDS,
    AgentPatch,
    AgentSpec,
    FieldKind,
    LlmConfig,
    QualificationField,
)

__all__ = [
    "DEFAULT_QUALIFICATION_FIELDS",
    "AgentPatch",
    "AgentSpec",
    "FieldKind",
    "LlmConfig",
    "QualificationField",
    "apply_patch",
]


def apply_patch(spec: AgentSpec, patch: AgentPatch) -> AgentSpec:
    """Returns a new, re-validated spec; raises pydantic.ValidationError if the result is invalid.

    Nested objects (llm, voice, channels) are replaced whole, not merged.
    """
    merged = spec.model_dump() | patch.model_dump()
    if merged.get("idle_timeout_minutes") is None:
        merged.pop("idle_timeout_minutes", None)  # cleared: back to the default
    return AgentSpec.model_validate(merged)
