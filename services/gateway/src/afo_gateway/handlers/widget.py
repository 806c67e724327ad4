"""The chat widget's use cases: its configuration for a publishable key (the template of the agent's published
version, which is what the widget's conversations pin), and the embed code for the people who build the agent.

The configuration is asked on every page view of every site that embeds the widget, so it is kept for
``CONFIG_TTL_S`` per agent: a newly published template reaches visitors within that."""

from __future__ import annotations

from cachetools import TTLCache

from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import agent_runtime_channels as ch
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Conflict, Forbidden, NotFound
from afo_gateway.domain.widget import (
    Embed,
    EmbedKey,
    WidgetConfig,
    phone_setup,
    script_url,
    snippet,
    widget_config,
)
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store

CONFIG_TTL_S = 10.0
CONFIG_CACHE_SIZE = 10_000


class Widget:
    def __init__(self, store: Store, owners: Owners, config_ttl_s: float = CONFIG_TTL_S) -> None:
        self._store = store
        self._owners = owners
        self._configs: TTLCache[tuple[str, str], WidgetConfig] = TTLCache(CONFIG_CACHE_SIZE, config_ttl_s)

    async def config(self, principal: Principal) -> WidgetConfig:
        """The widget's configuration for its publishable key (its origin was checked on the way in)."""
        if not principal.is_publishable or principal.agent_id is None:
            raise Forbidden("the widget's configuration is read with its publishable key (pk_…)")
        key = (principal.tenant_id, principal.agent_id)
        if (cached := self._configs.get(key)) is not None:
            return cached
        config = await self._published(principal.tenant_id, principal.agent_id)
        if config is None:
            raise Conflict(f"agent {principal.agent_id} is not published yet: publish it so the widget can "
                           "open conversations")
        self._configs[key] = config
        return config

    async def embed(self, principal: Principal, agent_id: str, base_url: str) -> Embed:
        """How to put the agent on a site (the snippet and its publishable keys) and on the phone (its numbers'
        webhooks). A key's secret is not among them: it is shown once, when the key is created."""
        require(principal, Permission.READ)
        agent = await self._owners.call(ar.GET_AGENT, ar.AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))
        async with self._store.reading() as repos:
            keys = await repos.keys.publishable_for(principal.tenant_id, agent.id)
        numbers = await self._owners.call(ch.GET_PHONE_NUMBERS, ch.PhoneNumbersRef(
            tenant_id=principal.tenant_id, agent_id=agent.id))
        widget = await self._published(principal.tenant_id, agent.id, agent)
        return Embed(
            agent_id=agent.id, published=agent.published_version is not None, script_url=script_url(base_url),
            snippet=snippet(base_url), widget=widget, phone=phone_setup(base_url, numbers.numbers),
            publishable_keys=[EmbedKey(id=k.id, name=k.name, hint=k.hint, allowed_origins=k.allowed_origins,
                                       created_at=k.created_at) for k in keys])

    async def _published(self, tenant_id: str, agent_id: str, agent: ar.AgentView | None = None
                         ) -> WidgetConfig | None:
        """The configuration of the agent's published version; None while it has none."""
        if agent is None:
            agent = await self._owners.call(ar.GET_AGENT, ar.AgentRef(tenant_id=tenant_id, agent_id=agent_id))
        if agent.published_version is None:
            return None
        # Versions are listed newest first, below the cursor: the one just above names the published one.
        page = await self._owners.call(ar.LIST_VERSIONS, ar.ListVersions(
            tenant_id=tenant_id, agent_id=agent.id, limit=1, cursor=str(agent.published_version + 1)))
        if not page.data or page.data[0].version != agent.published_version:
            raise NotFound(f"agent {agent.id}'s published version {agent.published_version} not found")
        return widget_config(agent.id, page.data[0].spec)
