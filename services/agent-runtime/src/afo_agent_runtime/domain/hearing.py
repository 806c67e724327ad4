"""What a caller's words become on the way to the engine: a voice test's lines as the agent's recogniser hears
them (the port; ``adapters/speech.py`` asks voice-media)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from afo_agent_runtime.domain.agent import AgentSpec


class SpeechUnavailable(Exception):
    """The lines could not be spoken and recognised (voice-media not answering, or its engines failing)."""


class Hearing(Protocol):
    async def heard(self, tenant_id: str, agent: AgentSpec, lines: Sequence[str]) -> list[str]:
        """Each line as the agent's recogniser hears a caller say it, in order; raises ``SpeechUnavailable``."""
        ...


class NoHearing:
    """A runtime wired without voice-media (tests, tools): voice tests cannot be played."""

    async def heard(self, tenant_id: str, agent: AgentSpec, lines: Sequence[str]) -> list[str]:
        raise SpeechUnavailable("no speech service is configured")
