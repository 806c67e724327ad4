"""The sender against local receivers: Standard Webhooks signatures a receiver verifies, and the SSRF guard
on the URL, after resolution (a fake resolver answers for names) and on every redirect."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common import telemetry
from afo_common.ssrf import IpAddress
from afo_notifier.adapters.webhook_sender import WebhookSender
from afo_notifier.domain.webhooks import new_secret
from afo_testkit.local_server import serving
from afo_testkit.spans import exported as exported
from afo_testkit.webhook_receiver import Receiver, public_loopback

BODY = '{"id":"evt_1","type":"afo.lead.qualified.v1"}'


def answering(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[IpAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


async def test_a_webhook_is_signed_so_the_receiver_verifies_it() -> None:
    secret = new_secret()
    receiver = Receiver(secret=secret)
    sender = WebhookSender(allow_private=True)
    # The receiver checks the timestamp is within five minutes of its own clock, as Standard Webhooks asks: taken
    # now, not when the module was collected (a whole suite's run earlier, under pytest-xdist).
    now = datetime.now(UTC)
    async with serving(receiver.app()) as port:
        outcome = await sender.send(f"http://127.0.0.1:{port}/hook", secret, "evt_1", BODY, now)
    await sender.aclose()

    assert (outcome.status_code, outcome.error, outcome.delivered) == (200, None, True)
    [got] = receiver.received
    assert got.signature_valid
    assert got.headers["webhook-id"] == "evt_1" and got.body == BODY.encode()
    assert got.headers["webhook-timestamp"] == str(int(now.timestamp()))


async def test_a_signature_made_with_another_secret_does_not_verify() -> None:
    receiver = Receiver(secret=new_secret())
    sender = WebhookSender(allow_private=True)
    async with serving(receiver.app()) as port:
        await sender.send(f"http://127.0.0.1:{port}/hook", new_secret(), "evt_1", BODY, datetime.now(UTC))
    await sender.aclose()
    assert [r.signature_valid for r in receiver.received] == [False]


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("ftp://example.com/hook", "only http and https"),
    ("http://user:pw@example.com/hook", "user name or password"),
])
async def test_a_url_to_an_address_that_is_not_public_is_refused_without_a_request(url: str, why: str) -> None:
    sender = WebhookSender(resolver=answering("93.184.216.34"))
    outcome = await sender.send(url, new_secret(), "evt_1", BODY, datetime.now(UTC))
    assert outcome.status_code is None and outcome.error is not None
    assert outcome.error.startswith("refused: ") and why in outcome.error


async def test_a_name_resolving_to_a_private_address_is_refused_after_resolution() -> None:
    sender = WebhookSender(resolver=answering("93.184.216.34", "10.0.0.5"))
    outcome = await sender.send("https://hooks.example.com/afo", new_secret(), "evt_1", BODY, datetime.now(UTC))
    assert outcome.error == "refused: hooks.example.com resolves to 10.0.0.5 is a private address"


async def test_a_redirect_to_a_private_address_is_refused_and_not_followed() -> None:
    receiver = Receiver(redirect_to="http://10.0.0.7/internal")
    sender = WebhookSender(judge=public_loopback, resolver=answering("127.0.0.1"))
    async with serving(receiver.app()) as port:
        outcome = await sender.send(f"http://127.0.0.1:{port}/hook", new_secret(), "evt_1", BODY, datetime.now(UTC))
    await sender.aclose()
    assert len(receiver.received) == 1
    assert outcome.error is not None and "10.0.0.7 is a private address" in outcome.error
    assert not outcome.delivered


async def test_redirects_are_followed_at_most_three_times() -> None:
    receiver = Receiver()
    sender = WebhookSender(allow_private=True)
    async with serving(receiver.app()) as port:
        receiver.redirect_to = f"http://127.0.0.1:{port}/again"
        outcome = await sender.send(f"http://127.0.0.1:{port}/hook", new_secret(), "evt_1", BODY, datetime.now(UTC))
    await sender.aclose()
    assert outcome.error == "more than 3 redirects"
    assert [r.path for r in receiver.received] == ["/hook", "/again", "/again", "/again"]


async def test_an_endpoint_that_does_not_answer_in_time_is_a_failed_attempt(exported: InMemorySpanExporter) -> None:
    receiver = Receiver(hang=True)
    sender = WebhookSender(allow_private=True, timeout_s=0.3)
    async with serving(receiver.app()) as port:
        outcome = await sender.send(f"http://127.0.0.1:{port}/hook", new_secret(), "evt_1", BODY, datetime.now(UTC))
        receiver.release.set()
    await sender.aclose()
    assert (outcome.status_code, outcome.error) == (None, "no answer within 0.3 s")
    [call] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert (call.status.status_code, dict(call.attributes or {})["error.type"]) == (StatusCode.ERROR, "TimeoutError")


@pytest.mark.parametrize("status", [200, 410, 503])
async def test_a_post_is_a_client_span_naming_the_endpoints_host_never_its_path_or_query(
        exported: InMemorySpanExporter, status: int) -> None:
    secret = new_secret()
    receiver = Receiver(secret=secret, planned=[status])
    sender = WebhookSender(allow_private=True, resolver=answering("127.0.0.1"))
    async with serving(receiver.app()) as port:
        with telemetry.span_from(None, "consume afo.lead.qualified.v1") as work:
            outcome = await sender.send(f"http://hooks.example.com:{port}/in/tok_path_4242?token=tok_query_4242",
                                        secret, "evt_1", BODY, datetime.now(UTC))
    await sender.aclose()

    assert outcome.status_code == status and len(receiver.received) == 1
    [call] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "POST webhook"
    assert call.parent is not None and call.parent.span_id == work.get_span_context().span_id
    attributes = dict(call.attributes or {})
    assert set(attributes) - {"error.type"} == {
        "afo.provider", "http.request.method", "server.address", "http.response.status_code"}
    assert (attributes["afo.provider"], attributes["server.address"]) == ("webhook", "hooks.example.com")
    assert attributes["http.response.status_code"] == status
    assert call.status.status_code is (StatusCode.ERROR if status >= 400 else StatusCode.UNSET)
    recorded = " ".join(str(value) for value in attributes.values())
    signature = receiver.received[0].headers["webhook-signature"]
    for leak in ("tok_path_4242", "tok_query_4242", "/in", "token", secret, signature, "127.0.0.1", "evt_1"):
        assert leak not in recorded
