"""Which recogniser and voice a call uses: the agent's choice (``voice.stt`` / ``voice.tts``) with the tenant's
key from the vault, or the offline engines that need none. A tenant who chose a provider but has no key for it
gets the offline engine and a warning in the log, rather than a call that cannot speak."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_voice_media.domain.speech import SpeechToText, TextToSpeech

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVICE = "voice-media"
EMBEDDED = "embedded"

# A provider's adapter made from the tenant's credential fields.
SttFactory = Callable[[dict[str, str]], SpeechToText]
TtsFactory = Callable[[dict[str, str]], TextToSpeech]


@dataclass(frozen=True)
class CallSpeech:
    stt: SpeechToText
    tts: TextToSpeech
    voice: str | None
    language: str


class SpeechEngines:
    def __init__(self, rpc: RpcClient, offline_stt: SpeechToText, offline_tts: TextToSpeech,
                 stt_providers: dict[str, SttFactory], tts_providers: dict[str, TtsFactory]) -> None:
        self._rpc = rpc
        self._offline_stt = offline_stt
        self._offline_tts = offline_tts
        self._stt_providers = stt_providers
        self._tts_providers = tts_providers

    async def for_call(self, tenant_id: str, voice: dict[str, Any]) -> CallSpeech:
        stt_name, tts_name = str(voice.get("stt", EMBEDDED)), str(voice.get("tts", EMBEDDED))
        stt = await self._provider(tenant_id, stt_name, self._stt_providers) or self._offline_stt
        tts = await self._provider(tenant_id, tts_name, self._tts_providers) or self._offline_tts
        voice_id = voice.get("voice_id") if tts is not self._offline_tts else None
        return CallSpeech(stt, tts, str(voice_id) if voice_id else None, str(voice.get("language", "en")))

    async def _provider(self, tenant_id: str, name: str, factories: dict[str, Callable[[dict[str, str]], T]]
                           ) -> T | None:
        if name == EMBEDDED:
            return None
        factory = factories.get(name)
        if factory is None:
            log.warning("tenant %s's agent asks for speech provider %r, which voice-media does not know", tenant_id,
                        name)
            return None
        try:
            fields = await resolve_credential(self._rpc, SERVICE, tenant_id, name, f"a call's speech ({name})")
        except RpcError as exc:
            log.warning("tenant %s's %s credentials are unavailable (%s): offline speech", tenant_id, name,
                        exc.message)
            return None
        if not fields:
            log.warning("tenant %s has no %s credentials: offline speech", tenant_id, name)
            return None
        return factory(fields)
