"""Which engine answers for an agent: its own OpenAI-compatible endpoint when configured, else none
(the embedded engine answers). The key sent there is the tenant's own from the vault when it has one
(``TenantKeys``), else the operator's."""

from __future__ import annotations

from typing import Protocol

from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.credentials import OpenAIKey
from afo_agent_runtime.adapters.knowledge import NoKnowledgeSearch
from afo_agent_runtime.adapters.llm_analysis import LlmAnalyzer
from afo_agent_runtime.adapters.llm_engine import LlmEngine
from afo_agent_runtime.adapters.llm_opening import LlmOpener
from afo_agent_runtime.adapters.openai_chat import OpenAIChatClient, http_client
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.knowledge import KnowledgeSearch


class TenantKeys(Protocol):
    async def openai(self, tenant_id: str) -> OpenAIKey | None:
        """The tenant's own key, or None (then the operator's serves)."""
        ...


class LlmEngines:
    def __init__(self, api_key: str | None, knowledge: KnowledgeSearch | None = None,
                 keys: TenantKeys | None = None) -> None:
        self._api_key = api_key  # the operator's, for tenants without a key of their own
        self._knowledge = knowledge or NoKnowledgeSearch()
        self._keys = keys
        self._http: DefaultAsyncHttpxClient | None = None

    async def start(self) -> None:
        self._http = http_client()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def _client(self, spec: AgentSpec, tenant_id: str) -> OpenAIChatClient | None:
        if spec.llm.provider != "openai" or self._http is None:
            return None
        own = await self._keys.openai(tenant_id) if self._keys is not None else None
        # The agent's endpoint; without one, the endpoint stored with the tenant's key.
        base_url = spec.llm.base_url or (own.base_url if own else None)
        if not base_url:
            return None
        return OpenAIChatClient(self._http, base_url=base_url, api_key=own.api_key if own else self._api_key)

    async def engine_for(self, spec: AgentSpec, tenant_id: str) -> LlmEngine | None:
        client = await self._client(spec, tenant_id)
        return LlmEngine(client, self._knowledge) if client is not None else None

    async def analyzer_for(self, spec: AgentSpec, tenant_id: str) -> LlmAnalyzer | None:
        """The agent's model analyses its finished conversations, when it has one."""
        if not spec.llm.model:
            return None
        client = await self._client(spec, tenant_id)
        return LlmAnalyzer(client, spec.llm.model) if client is not None else None

    async def opener_for(self, spec: AgentSpec, tenant_id: str) -> LlmOpener | None:
        """The agent's model writes its first message to an inbound lead, when it has one."""
        if not spec.llm.model:
            return None
        client = await self._client(spec, tenant_id)
        return LlmOpener(client, spec.llm.model) if client is not None else None
