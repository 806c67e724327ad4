"""agent-runtime's settings: the common ones plus the operator's LLM key."""

from __future__ import annotations

from afo_common.settings import ServiceSettings


class AgentRuntimeSettings(ServiceSettings):
    llm_api_key: str | None = None
    max_deliver: int = 5
