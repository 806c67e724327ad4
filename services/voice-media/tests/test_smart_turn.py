"""Smart Turn v3 through its adapter, on espeak-ng speech at 8 kHz: it gives a judgement for real speech, is not
queued for when busy, and is not asked about a click. (Whether it judges well is the model's published accuracy on
people's speech; on espeak's flat prosody it is no better than a coin, so no test here rests on its verdict.)"""

import asyncio

from afo_voice_media.adapters.espeak_tts import EspeakTts
from afo_voice_media.adapters.smart_turn import SmartTurn


async def spoken(text: str) -> bytes:
    return b"".join([chunk async for chunk in EspeakTts().speak(text, 8000, None)])


async def test_speech_gets_a_judgement_from_the_model() -> None:
    model = SmartTurn()
    try:
        verdicts = {await model.finished(await spoken(text), 8000)
                    for text in ("How much does the professional plan cost per month?", "Thank you, that is all.")}
        assert verdicts <= {True, False} and model.runs == 2
    finally:
        model.close()


async def test_a_busy_model_is_not_waited_for_and_too_little_voice_is_not_asked() -> None:
    model = SmartTurn()
    try:
        speech = await spoken("Can we meet on Tuesday?")
        first = asyncio.ensure_future(model.finished(speech, 8000))
        await asyncio.sleep(0)
        assert await model.finished(speech, 8000) is None
        assert await first is not None
        assert await model.finished(b"\x00\x01" * 100, 8000) is None
        assert model.runs == 1 and model.skipped == 1
    finally:
        model.close()
