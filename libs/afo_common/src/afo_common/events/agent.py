"""Events of the agent context (agent-runtime owns agents and their immutable versions)."""

from __future__ import annotations

from afo_common.events.envelope import Event, event
from afo_common.events.streams import AGENT


@event("agent.created", stream=AGENT)
class AgentCreated(Event):
    agent_id: str
    name: str


@event("agent.updated", stream=AGENT)
class AgentUpdated(Event):
    agent_id: str
    changed: list[str]


@event("agent.published", stream=AGENT)
class AgentPublished(Event):
    agent_id: str
    version: int


@event("agent.deleted", stream=AGENT)
class AgentDeleted(Event):
    agent_id: str
