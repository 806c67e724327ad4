"""A voice test's lines as the agent's recogniser hears them, through voice-media's ``speech.hear`` RPC (offline
voice for the caller, the agent's recogniser and hints). Any failure — no voice-media answering, a timeout, an
error — is ``SpeechUnavailable``: the test fails saying so, the run goes on."""

from __future__ import annotations

from collections.abc import Sequence

from afo_agent_runtime.domain.agent import AgentSpec
from afo_agent_runtime.domain.hearing import SpeechUnavailable
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.rpcs.voice_media_speech import HEAR_LINES, HearLines

# About half a second of recognition per line on the offline recogniser, one request at a time in voice-media.
HEAR_TIMEOUT_S = 45.0


class RpcHearing:
    def __init__(self, rpc: RpcClient, timeout_s: float = HEAR_TIMEOUT_S) -> None:
        self._rpc = rpc
        self._timeout_s = timeout_s

    async def heard(self, tenant_id: str, agent: AgentSpec, lines: Sequence[str]) -> list[str]:
        request = HearLines(tenant_id=tenant_id, lines=list(lines), voice=agent.voice.model_dump(mode="json"),
                            hints=list(dict.fromkeys([agent.name, *agent.voice.vocabulary])))
        try:
            result = await self._rpc.call(HEAR_LINES, request, timeout_s=self._timeout_s)
        except RpcError as exc:
            raise SpeechUnavailable(f"{exc.code}: {exc.message}") from exc
        if len(result.heard) != len(lines):
            raise SpeechUnavailable(f"voice-media heard {len(result.heard)} lines of {len(lines)}")
        return result.heard
