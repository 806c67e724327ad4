"""Which engine answers for an agent: its own OpenAI-compatible endpoint when configured, else none
(the embedded engine answers)."""

from __future__ import annotations

from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.knowledge import NoKnowledgeSearch
from afo_agent_runtime.adapters.llm_analysis import LlmAnalyzer
from afo_agent_runtime.adapters.llm_engine import LlmEngine
from afo_agent_runtime.adapters.openai_chat import OpenAIChatClient, http_client
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.knowledge import KnowledgeSearch


class LlmEngines:
    def __init__(self, api_key: str | None, knowledge: KnowledgeSearch | None = None) -> None:
        # Until the credential vault (issue 12) resolves a tenant's key, one operator key serves all agents.
        self._api_key = api_key
        self._knowledge = knowledge or NoKnowledgeSearch()
        self._http: DefaultAsyncHttpxClient | None = None

    async def start(self) -> None:
        self._http = http_client()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _client(self, spec: AgentSpec) -> OpenAIChatClient | None:
        if spec.llm.provider != "openai" or not spec.llm.base_url or self._http is None:
            return None
        return OpenAIChatClient(self._http, base_url=spec.llm.base_url, api_key=self._api_key)

    def engine_for(self, spec: AgentSpec) -> LlmEngine | None:
        client = self._client(spec)
        return LlmEngine(client, self._knowledge) if client is not None else None

    def analyzer_for(self, spec: AgentSpec) -> LlmAnalyzer | None:
        """The agent's model analyses its finished conversations, when it has one."""
        client = self._client(spec)
        return LlmAnalyzer(client, spec.llm.model) if client is not None and spec.llm.model else None
