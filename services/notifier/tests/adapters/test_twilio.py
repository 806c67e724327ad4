"""TwilioMessages against a local server speaking Twilio's Messages API: the message sent as a form with basic
auth, a wrong credential (401), a bad number (400 with Twilio's error JSON), 429 with Retry-After retried."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from afo_notifier.adapters.twilio import TwilioMessages, TwilioRetry
from afo_notifier.domain.channels import SendError
from afo_testkit.twilio_server import Failure, FakeTwilio

FAST = TwilioRetry(attempts=3, backoff_s=0.01, max_retry_after_s=0.05)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as server:
        yield server


def client(twilio: FakeTwilio, token: str | None = None) -> TwilioMessages:
    return TwilioMessages(twilio.account_sid, token or twilio.auth_token, "+15005550006", base_url=twilio.base_url,
                          retry=FAST)


async def test_sends_the_message(twilio: FakeTwilio) -> None:
    sid = await client(twilio).send("+33612345678", "Reminder: your meeting is in 1 hour.")
    assert sid.startswith("SM") and [m["sid"] for m in twilio.messages] == [sid]
    message = twilio.messages[0]
    assert (message["to"], message["from"], message["body"]) == (
        "+33612345678", "+15005550006", "Reminder: your meeting is in 1 hour.")


async def test_wrong_credential_is_final_and_does_not_leak_the_token(twilio: FakeTwilio) -> None:
    with pytest.raises(SendError) as caught:
        await client(twilio, token="wrong-token-value").send("+33612345678", "hi")
    assert caught.value.status == 401 and "20003" in caught.value.reason
    assert "wrong-token-value" not in str(caught.value) and len(twilio.requests) == 1 and not twilio.messages


async def test_invalid_number_is_final_with_twilios_reason(twilio: FakeTwilio) -> None:
    with pytest.raises(SendError) as caught:
        await client(twilio).send("0612", "hi")
    assert caught.value.status == 400
    assert caught.value.reason == "HTTP 400 (Twilio 21211): The 'To' number 0612 is not a valid phone number."
    assert len(twilio.requests) == 1


async def test_too_many_requests_is_retried_after_the_wait_asked(twilio: FakeTwilio) -> None:
    twilio.fail_next.append(Failure(429, 20429, "Too Many Requests", retry_after="1"))
    sid = await client(twilio).send("+33612345678", "hi")
    assert [m["sid"] for m in twilio.messages] == [sid] and len(twilio.requests) == 2
    # Retry-After: 1 capped at the policy's 0.05 s: the client waited, but not past the cap.
    assert twilio.requests[1] - twilio.requests[0] >= 0.05


async def test_repeated_server_errors_fail_after_the_attempts(twilio: FakeTwilio) -> None:
    twilio.fail_next.extend([Failure(500, 20500, "Internal Server Error")] * 3)
    with pytest.raises(SendError) as caught:
        await client(twilio).send("+33612345678", "hi")
    assert caught.value.status == 500 and len(twilio.requests) == 3 and not twilio.messages


async def test_no_server_is_a_send_error() -> None:
    messages = TwilioMessages("AC1", "token", "+15005550006", base_url="http://127.0.0.1:9", retry=FAST)
    with pytest.raises(SendError) as caught:
        await messages.send("+33612345678", "hi")
    assert caught.value.status is None and "no answer" in caught.value.reason
