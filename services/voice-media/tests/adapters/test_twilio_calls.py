"""TwilioCalls against ``FakeTwilio`` (Twilio's Calls REST API over real HTTP) and against nothing: Twilio's own
words in every failure, the auth token in none, and one request each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from afo_testkit.twilio_server import FakeTwilio
from afo_voice_media.adapters.twilio_calls import OutboundCall, TwilioCallError, TwilioCalls

CALL = OutboundCall(to="+14155550199", sender="+14155550123", twiml_url="https://afo.example.com/twilio/voice",
                    status_callback="https://afo.example.com/twilio/status?tenant=ten_a")


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as server:
        yield server


async def test_a_placed_call_can_be_given_new_twiml(twilio: FakeTwilio) -> None:
    calls = TwilioCalls(twilio.account_sid, twilio.auth_token, base_url=twilio.base_url)
    sid = await calls.place(CALL)
    await calls.run_twiml(sid, "<Response><Hangup/></Response>")
    assert sid.startswith("CA") and twilio.updates == [(sid, {"Twiml": "<Response><Hangup/></Response>"})]


async def test_twilios_refusals_carry_its_code_and_never_the_token(twilio: FakeTwilio) -> None:
    wrong = TwilioCalls(twilio.account_sid, "wrong-token-value", base_url=twilio.base_url)
    with pytest.raises(TwilioCallError) as refused:
        await wrong.place(CALL)
    assert refused.value.status == 401 and refused.value.reason == "HTTP 401 (Twilio 20003): Authenticate"
    assert "wrong-token-value" not in str(refused.value)
    calls = TwilioCalls(twilio.account_sid, twilio.auth_token, base_url=twilio.base_url)
    with pytest.raises(TwilioCallError) as unknown:
        await calls.run_twiml("CA" + "0" * 32, "<Response/>")
    assert unknown.value.status == 404 and "20404" in unknown.value.reason
    with pytest.raises(TwilioCallError) as bad_to:
        await calls.place(OutboundCall(to="0612", sender=CALL.sender, twiml_url=CALL.twiml_url,
                                       status_callback=CALL.status_callback))
    assert bad_to.value.status == 400 and "21211" in bad_to.value.reason
    assert len(twilio.requests) == 3 and not twilio.calls


async def test_no_twilio_is_a_call_error_without_a_status() -> None:
    calls = TwilioCalls("AC1", "token", base_url="http://127.0.0.1:9")
    with pytest.raises(TwilioCallError) as caught:
        await calls.place(CALL)
    assert caught.value.status is None and caught.value.reason.startswith("no answer")
