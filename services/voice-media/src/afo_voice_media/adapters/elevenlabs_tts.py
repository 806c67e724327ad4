"""ElevenLabs streaming text-to-speech as the engine's ``TextToSpeech``, on the official ``elevenlabs`` SDK:
``POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>`` with the ``xi-api-key`` header, the body
raw 16-bit little-endian mono PCM that the SDK yields as it arrives (it does not retry a stream).

This module asks for the engine's rate (ElevenLabs offers every rate the engine uses: a phone call's 8 kHz
and WebRTC's 16, 24 and 48 kHz; another is refused before any request); bounds each wait on the network
(``timeout_s``: connecting, and each gap between chunks, so a stream that stalls fails instead of leaving the
caller in silence); and turns the SDK's and httpx's errors into ``SpeechError`` carrying ElevenLabs' own
message."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, cast

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from afo_common.telemetry import answered, provider_span
from afo_voice_media.domain.speech import SpeechError

# The rates ElevenLabs streams raw PCM at (44.1 and 48 kHz on its paid tiers only).
PCM_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
# George, a premade voice every account has (ElevenLabs' API reference speaks its examples with it): the voice
# of an agent that names none.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"
# Chunks of 40 ms: whole samples, and whole 20 ms frames at every rate ElevenLabs offers.
_CHUNK_S = 0.04


def _provider_message(body: Any) -> str:
    """ElevenLabs' reason from its error body: ``{"detail": {"status", "message"}}``, or FastAPI's list of
    ``{"loc", "msg"}`` for a request it could not validate."""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or detail)
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" if isinstance(d, dict) else str(d)
                         for d in detail)
    return str(detail)[:300]


class ElevenLabsTts:
    def __init__(self, api_key: str, base_url: str = "https://api.elevenlabs.io", model: str = "eleven_flash_v2_5",
                 *, http: httpx.AsyncClient | None = None, timeout_s: float = 10.0) -> None:
        """``http``: a connection pool shared by every tenant's adapter; without one this adapter opens its own,
        which ``aclose`` closes. Redirects are not followed: speech goes where the tenant configured it."""
        self.name = "elevenlabs"
        self.model = model
        self._own_http = http is None
        self._base_url = base_url
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._client = AsyncElevenLabs(api_key=api_key, base_url=base_url.rstrip("/"), timeout=timeout_s,
                                       httpx_client=self._http)

    async def speak(self, text: str, sample_rate: int, voice: str | None) -> AsyncIterator[bytes]:
        if sample_rate not in PCM_RATES:
            raise SpeechError(f"ElevenLabs does not stream PCM at {sample_rate} Hz (it does at {PCM_RATES})")
        if not text.strip():
            return
        # An async generator, though typed as an iterator: closed here when the engine stops listening (the
        # caller spoke over the agent), so the response is dropped then, not when the garbage collector gets to it.
        chunks = cast(AsyncGenerator[bytes, None], self._client.text_to_speech.stream(
            voice or DEFAULT_VOICE, text=text, model_id=self.model, output_format=f"pcm_{sample_rate}",
            request_options={"chunk_size": 2 * round(sample_rate * _CHUNK_S)}))
        # The span lasts the whole stream: synthesis is only done when its last chunk is in.
        with provider_span(self.name, "POST", self._base_url) as span:
            try:
                async with aclosing(chunks):
                    async for chunk in chunks:
                        yield chunk
            except ApiError as exc:
                if exc.status_code is not None:
                    answered(span, exc.status_code)
                reason = _provider_message(exc.body)
                raise SpeechError(f"ElevenLabs refused to speak ({exc.status_code}): {reason}") from exc
            except httpx.HTTPError as exc:
                raise SpeechError(f"ElevenLabs' stream failed: {exc!r}") from exc
            answered(span, 200)

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()
