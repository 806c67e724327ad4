"""Which engine answers for an agent: its own OpenAI-compatible endpoint when configured, else none
(the embedded engine answers).

The key sent to the endpoint is the tenant's own from the credential vault when it has connected one, else
the operator's ``AFO_LLM_API_KEY`` (an endpoint of the operator's, or a local one that needs none). When the
vault cannot be asked, the agent answers with the embedded engine rather than bill the operator's key for a
tenant that may have its own — and the lead still gets an answer."""

from __future__ import annotations

import logging
from typing import Protocol

from openai import DefaultAsyncHttpxClient

from afo_agent_runtime.adapters.knowledge import NoKnowledgeSearch
from afo_agent_runtime.adapters.llm_engine import LlmEngine
from afo_agent_runtime.adapters.openai_chat import OpenAIChatClient, http_client
from afo_agent_runtime.adapters.tenant_keys import KeyUnavailable, NoTenantKeys
from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.knowledge import KnowledgeSearch

log = logging.getLogger(__name__)


class TenantKeys(Protocol):
    async def openai_key(self, tenant_id: str) -> str | None: ...


class LlmEngines:
    def __init__(self, api_key: str | None, knowledge: KnowledgeSearch | None = None,
                 tenant_keys: TenantKeys | None = None) -> None:
        self._api_key = api_key
        self._knowledge = knowledge or NoKnowledgeSearch()
        self._tenant_keys = tenant_keys or NoTenantKeys()
        self._http: DefaultAsyncHttpxClient | None = None

    async def start(self) -> None:
        self._http = http_client()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def engine_for(self, tenant_id: str, spec: AgentSpec) -> LlmEngine | None:
        if spec.llm.provider != "openai" or not spec.llm.base_url or self._http is None:
            return None
        try:
            key = await self._tenant_keys.openai_key(tenant_id) or self._api_key
        except KeyUnavailable as exc:
            log.warning("tenant %s: %s; answering with the embedded engine", tenant_id, exc)
            return None
        client = OpenAIChatClient(self._http, base_url=spec.llm.base_url, api_key=key)
        return LlmEngine(client, self._knowledge)
