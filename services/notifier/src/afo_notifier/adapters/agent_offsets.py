"""When an agent's leads are reminded: the ``reminder_offsets_minutes`` of the agent's configuration, read from
agent-runtime (which owns agents) at the moment a meeting is booked, or the platform's default when the agent
sets none or no longer exists.

Read per booking rather than cached: a booking is rare next to the messages around it, and a cache would keep
an agent's old offsets for its lifetime after the tenant changed them. agent-runtime not answering raises, so
the ``meeting.booked`` delivery is retried rather than reminded on the wrong schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef


class AgentReminderOffsets:
    def __init__(self, rpc: RpcClient, default: Sequence[timedelta]) -> None:
        self._rpc, self._default = rpc, tuple(default)

    async def of(self, tenant_id: str, agent_id: str) -> tuple[timedelta, ...]:
        try:
            agent = await self._rpc.call(GET_AGENT, AgentRef(tenant_id=tenant_id, agent_id=agent_id))
        except RpcError as exc:
            if exc.code == "not_found":
                return self._default
            raise
        minutes = agent.spec.get("reminder_offsets_minutes")
        if minutes is None:
            return self._default
        return tuple(timedelta(minutes=int(value)) for value in minutes)
