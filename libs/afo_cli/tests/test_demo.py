import json
import shlex
from typing import Any

import httpx
import pytest

from afo_cli.commands.demo import (
    FIRST_MESSAGE,
    MEETING_MESSAGE,
    SECOND_MESSAGE,
    DemoError,
    gateway_url_from_env,
    meetings_curl,
    message_curl,
    render,
    seed_demo,
    stream_curl,
)

GATEWAY = "http://127.0.0.1:8123"


def fake_gateway(requests: list[httpx.Request], fail_on: str | None = None,
                 document_states: list[dict[str, Any]] | None = None) -> httpx.MockTransport:
    states = list(document_states or [{"status": "parsing"}, {"status": "ready"}])
    answers: dict[str, tuple[int, dict[str, Any]]] = {
        "/v1/knowledge-bases": (201, {"id": "kb_1", "name": "Acme Demo Co handbook"}),
        "/v1/knowledge-bases/kb_1/documents": (202, {"id": "doc_1", "status": "queued"}),
        "/v1/signup": (201, {
            "tenant": {"id": "ten_1", "name": "Acme Demo Co"},
            "user": {"id": "usr_1", "email": "x", "role": "owner"},
            "api_key": {"id": "key_1", "kind": "secret", "secret": "sk_test"},
        }),
        "/v1/agents": (201, {"id": "agt_1", "name": "Ava"}),
        "/v1/agents/agt_1/publish": (200, {"agent_id": "agt_1", "version": 1}),
        "/v1/api-keys": (201, {"id": "key_2", "kind": "publishable", "secret": "pk_test"}),
        "/v1/conversations": (201, {"id": "conv_1"}),
        "/v1/conversations/conv_1/messages": (200, {"message_id": "msg_1", "reply": {"text": "Yes."}}),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path == fail_on:
            problem = {
                "type": "https://afo.dev/problems/validation", "title": "Unprocessable Content", "status": 422,
                "detail": "the agent is not valid", "errors": [{"loc": ["body", "timezone"], "msg": "unknown zone"}],
            }
            return httpx.Response(422, json=problem, headers={"content-type": "application/problem+json"})
        if request.url.path == "/v1/knowledge-bases/kb_1/documents/doc_1":
            return httpx.Response(200, json={"id": "doc_1", **states.pop(0)})
        status, body = answers[request.url.path]
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def test_seeds_through_the_public_api_with_the_secret_key() -> None:
    requests: list[httpx.Request] = []
    with httpx.Client(base_url=GATEWAY, transport=fake_gateway(requests)) as client:
        demo = seed_demo(client)
    document = "/v1/knowledge-bases/kb_1/documents"
    assert [r.url.path for r in requests] == [
        "/v1/signup", "/v1/knowledge-bases", document, f"{document}/doc_1", f"{document}/doc_1", "/v1/agents",
        "/v1/agents/agt_1/publish", "/v1/api-keys", "/v1/conversations", "/v1/conversations",
        "/v1/conversations/conv_1/messages", "/v1/conversations/conv_1/messages",
    ]
    signup = json.loads(requests[0].content)
    assert signup["company"] == "Acme Demo Co" and signup["email"].startswith("demo+")
    assert len(signup["password"]) == 16
    assert all(r.headers["authorization"] == "Bearer sk_test" for r in requests[1:])
    upload = requests[2]
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b"## Plans and pricing" in upload.content and b'filename="acme-plans-and-policies.md"' in upload.content
    assert json.loads(requests[5].content)["knowledge_base_ids"] == ["kb_1"]
    assert json.loads(requests[7].content)["allowed_origins"] == ["http://localhost:8123"]
    assert (demo.agent_id, demo.publishable_key, demo.conversation_id) == ("agt_1", "pk_test", "conv_1")
    held = json.loads(requests[9].content)
    assert (held["channel"], held["contact"]) == ("web", {"name": "Sam"})
    assert all(r.url.params["wait"] == "true" for r in requests[10:])
    assert (demo.knowledge_base_id, demo.document_id) == ("kb_1", "doc_1")


def test_a_document_that_fails_to_ingest_stops_the_demo_with_its_reason() -> None:
    failed = [{"status": "failed", "error": {"code": "embedding_failed", "reason": "model missing"}}]
    transport = fake_gateway([], document_states=failed)
    with httpx.Client(base_url=GATEWAY, transport=transport) as client, pytest.raises(DemoError) as raised:
        seed_demo(client)
    assert "failed to ingest" in str(raised.value) and "model missing" in str(raised.value)


def test_the_printed_curl_lines_are_valid_shell() -> None:
    requests: list[httpx.Request] = []
    with httpx.Client(base_url=GATEWAY, transport=fake_gateway(requests)) as client:
        demo = seed_demo(client)
    output = render(GATEWAY, demo, ("operator+1@example.com", "pw-123"))
    curls = [line for line in output.splitlines() if line.startswith("curl ")]
    assert curls == [message_curl(GATEWAY, demo), message_curl(GATEWAY, demo, SECOND_MESSAGE),
                     message_curl(GATEWAY, demo, MEETING_MESSAGE), meetings_curl(GATEWAY, demo),
                     stream_curl(GATEWAY, demo)]
    args = shlex.split(curls[0])
    assert args[:4] == ["curl", "-sS", "-X", "POST"]
    assert args[4] == f"{GATEWAY}/v1/conversations/conv_1/messages?wait=true"
    assert "Authorization: Bearer sk_test" in args and "Content-Type: application/json" in args
    assert json.loads(args[args.index("-d") + 1]) == {"text": FIRST_MESSAGE}
    assert curls[0].startswith(f"curl -sS -X POST '{GATEWAY}/v1/conversations/conv_1/messages?wait=true'")
    assert json.loads(shlex.split(curls[1])[-1]) == {"text": SECOND_MESSAGE}
    assert json.loads(shlex.split(curls[2])[-1]) == {"text": MEETING_MESSAGE}
    assert shlex.split(curls[3]) == ["curl", "-sS", f"{GATEWAY}/v1/meetings", "-H", "Authorization: Bearer sk_test"]
    assert shlex.split(curls[4])[-3:] == [f"{GATEWAY}/v1/conversations/conv_1/stream", "-H",
                                          "Authorization: Bearer sk_test"]


def test_the_operator_login_is_printed_or_why_there_is_none() -> None:
    with httpx.Client(base_url=GATEWAY, transport=fake_gateway([])) as client:
        demo = seed_demo(client)

    given = render(GATEWAY, demo, ("operator+1@example.com", "pw-123"))
    missing = render(GATEWAY, demo, "no gateway is answering on NATS: is the platform running?")

    assert (f"  Operator         operator+1@example.com / pw-123   (the platform's admin area: "
            f"{GATEWAY}/console/admin)") in given.splitlines()
    assert "  Operator         none: no gateway is answering on NATS: is the platform running? (`afo operator add " \
           "EMAIL` adds one)" in missing.splitlines()


def test_a_problem_answer_is_reported_clearly() -> None:
    transport = fake_gateway([], fail_on="/v1/agents")
    with httpx.Client(base_url=GATEWAY, transport=transport) as client, pytest.raises(DemoError) as raised:
        seed_demo(client)
    message = str(raised.value)
    assert message.startswith("POST /v1/agents failed: 422 Unprocessable Content: the agent is not valid")
    assert "body.timezone: unknown zone" in message


def test_gateway_url_comes_from_the_environment() -> None:
    assert gateway_url_from_env({}) == "http://127.0.0.1:8000"
    assert gateway_url_from_env({"AFO_HTTP_PORT": "9000"}) == "http://127.0.0.1:9000"
    assert gateway_url_from_env({"AFO_GATEWAY_URL": "https://afo.example.com/", "AFO_HTTP_PORT": "1"}) == (
        "https://afo.example.com"
    )
