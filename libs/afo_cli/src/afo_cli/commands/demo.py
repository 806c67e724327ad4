"""``afo demo``: seed a demo tenant through the public API (sign-up, a knowledge base with one document, an
agent that answers from it, its keys, a conversation already held on the web for the console to show, and
an empty one) and print the console's login and curl commands that talk to the agent, so a first-time user
sees a reply citing the document within a minute. It also adds an operator (``afo operator add``, over NATS)
and prints their login, which opens the console's admin area."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import string
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import httpx

from afo_cli.commands import operator
from afo_cli.errors import PlatformError
from afo_cli.nats_auth import env_auth
from afo_cli.operators import OperatorRefused, add_operator
from afo_cli.platform_config import home_from_env

COMPANY = "Acme Demo Co"
FIRST_MESSAGE = "Hi! How much does the Growth plan cost?"
SECOND_MESSAGE = "I am Dana from Acme Corp. We need an AI assistant for our website."
MEETING_MESSAGE = "Can we meet next Wednesday at 10am?"
# The conversation the console shows at once: a visitor on the website asked and said who they are.
HELD_CONVERSATION = ({"name": "Sam"}, ("How long is the free trial?",
                                       "I'm Sam Lee from Birch Dental, sam@birchdental.example. We need a chat "
                                       "assistant for bookings."))
KNOWLEDGE_DOCUMENT = "acme-plans-and-policies.md"
# Ingesting the demo's one page takes a second or two; the model loads on the first document.
INGEST_TIMEOUT_S = 120.0
AGENT = {
    "name": "Ava",
    "role": "sales assistant",
    "persona": "friendly, concise",
    "greeting": f"Hi! I'm Ava from {COMPANY}.",
    "goals": ["qualify the lead", "book a demo"],
    "timezone": "America/New_York",
}


class DemoError(Exception):
    pass


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    tenant_name: str
    email: str
    password: str
    secret_key: str
    agent_id: str
    agent_version: int
    publishable_key: str
    conversation_id: str
    knowledge_base_id: str
    document_id: str


def gateway_url_from_env(environ: Mapping[str, str] = os.environ) -> str:
    url = environ.get("AFO_GATEWAY_URL") or f"http://127.0.0.1:{environ.get('AFO_HTTP_PORT') or 8000}"
    return url.rstrip("/")


def random_password(length: int = 16) -> str:
    """Letters and digits, at least one of each kind, so any reasonable password policy accepts it."""
    kinds = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    alphabet = "".join(kinds)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in kind for c in password) for kind in kinds):
            return password


def seed_demo(client: httpx.Client) -> DemoTenant:
    """``client`` has the gateway as its base URL."""
    email, password = f"demo+{secrets.token_hex(4)}@example.com", random_password()
    signup = _call(client, "/v1/signup", {"email": email, "password": password, "company": COMPANY})
    tenant_id, tenant_name = _field(signup, "tenant", "id"), _field(signup, "tenant", "name")
    secret_key = _field(signup, "api_key", "secret")
    # The widget's page in the demo is served by the gateway itself.
    origin = f"http://localhost:{urlsplit(str(client.base_url)).port or 80}"
    knowledge_base_id, document_id = seed_knowledge(client, secret_key)
    agent = {**AGENT, "knowledge_base_ids": [knowledge_base_id]}
    agent_id = _field(_call(client, "/v1/agents", agent, secret_key), "id")
    published = _call(client, f"/v1/agents/{agent_id}/publish", None, secret_key)
    widget_key = {"kind": "publishable", "agent_id": agent_id, "allowed_origins": [origin]}
    key = _call(client, "/v1/api-keys", widget_key, secret_key)
    contact = {"agent_id": agent_id, "channel": "api", "contact": {"name": "Dana"}}
    conversation = _call(client, "/v1/conversations", contact, secret_key)
    hold_conversation(client, secret_key, agent_id)
    return DemoTenant(
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        email=email,
        password=password,
        secret_key=secret_key,
        agent_id=agent_id,
        agent_version=int(_field(published, "version")),
        publishable_key=_field(key, "secret"),
        conversation_id=_field(conversation, "id"),
        knowledge_base_id=knowledge_base_id,
        document_id=document_id,
    )


def seed_knowledge(client: httpx.Client, secret_key: str, timeout_s: float = INGEST_TIMEOUT_S) -> tuple[str, str]:
    """A knowledge base holding the demo's page, ingested: its id and the document's."""
    base = {"name": f"{COMPANY} handbook", "description": "Plans, onboarding and policies"}
    knowledge_base_id = _field(_call(client, "/v1/knowledge-bases", base, secret_key), "id")
    page = resources.files("afo_cli.demo").joinpath(KNOWLEDGE_DOCUMENT).read_bytes()
    path = f"/v1/knowledge-bases/{knowledge_base_id}/documents"
    response = client.post(path, files={"file": (KNOWLEDGE_DOCUMENT, page, "text/markdown")},
                           headers={"Authorization": f"Bearer {secret_key}"})
    if response.status_code not in (200, 202):
        raise DemoError(f"POST {path} failed: {problem_text(response)}")
    document_id = _field(response.json(), "id")
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get(f"{path}/{document_id}", headers={"Authorization": f"Bearer {secret_key}"})
        document = status.json() if status.status_code == 200 else {}
        if document.get("status") == "ready":
            return knowledge_base_id, document_id
        if document.get("status") == "failed":
            raise DemoError(f"the demo document failed to ingest: {document.get('error')}")
        if time.monotonic() > deadline:
            raise DemoError(f"the demo document was not ingested after {timeout_s:.0f} s: {status.text[:300]}")
        time.sleep(0.25)


def hold_conversation(client: httpx.Client, secret_key: str, agent_id: str) -> str:
    """A web conversation with a few turns answered, so the console has a transcript, citations and a lead."""
    contact, messages = HELD_CONVERSATION
    conversation_id = _field(_call(client, "/v1/conversations",
                                   {"agent_id": agent_id, "channel": "web", "contact": contact}, secret_key), "id")
    for text in messages:
        _call(client, f"/v1/conversations/{conversation_id}/messages?wait=true", {"text": text}, secret_key)
    return str(conversation_id)


def message_curl(gateway_url: str, demo: DemoTenant, text: str = FIRST_MESSAGE) -> str:
    """One line that works as printed when pasted into bash: every argument shell-quoted."""
    url = f"{gateway_url}/v1/conversations/{demo.conversation_id}/messages?wait=true"
    body = json.dumps({"text": text})
    auth = f"Authorization: Bearer {demo.secret_key}"
    return _curl("-sS", "-X", "POST", url, "-H", auth, "-H", "Content-Type: application/json", "-d", body)


def stream_curl(gateway_url: str, demo: DemoTenant) -> str:
    url = f"{gateway_url}/v1/conversations/{demo.conversation_id}/stream"
    return _curl("-sS", "-N", url, "-H", f"Authorization: Bearer {demo.secret_key}")


def meetings_curl(gateway_url: str, demo: DemoTenant) -> str:
    return _curl("-sS", f"{gateway_url}/v1/meetings", "-H", f"Authorization: Bearer {demo.secret_key}")


def demo_operator() -> tuple[str, str] | str:
    """A new operator's login (email, password); or, when the gateway could not be asked, why."""
    email = f"operator+{secrets.token_hex(4)}@example.com"
    try:
        added = asyncio.run(add_operator(operator.nats_url(), env_auth(os.environ, home_from_env()), email))
    except (PlatformError, OperatorRefused) as exc:
        return str(exc)
    return added.operator.email, added.password


def operator_line(gateway_url: str, login: tuple[str, str] | str) -> str:
    if isinstance(login, str):
        return f"  Operator         none: {login} (`afo operator add EMAIL` adds one)"
    return f"  Operator         {login[0]} / {login[1]}   (the platform's admin area: {gateway_url}/console/admin)"


def render(gateway_url: str, demo: DemoTenant, operator_login: tuple[str, str] | str) -> str:
    return "\n".join([
        f"Demo tenant created on {gateway_url}",
        "",
        f"  Tenant           {demo.tenant_name} ({demo.tenant_id})",
        f"  Console          {gateway_url}/console   (log in as below: a conversation is there to look at)",
        f"  Login            {demo.email} / {demo.password}",
        operator_line(gateway_url, operator_login),
        f"  Secret key       {demo.secret_key}   (tenant-wide, shown only now: keep it)",
        f"  Agent            Ava ({demo.agent_id}), published version {demo.agent_version}",
        f"  Publishable key  {demo.publishable_key}   (widget key for {demo.agent_id})",
        f"  Conversation     {demo.conversation_id}   (channel api, contact Dana)",
        f"  Knowledge base   {demo.knowledge_base_id}   (one page: {KNOWLEDGE_DOCUMENT}, {demo.document_id})",
        "",
        "Ask Ava a question her knowledge base answers (her reply cites the page):",
        "",
        message_curl(gateway_url, demo),
        "",
        "Then tell her who you are (she qualifies you as a lead):",
        "",
        message_curl(gateway_url, demo, SECOND_MESSAGE),
        "",
        "Ask her for a meeting (booked on her calendar, or she offers the nearest free times), then see it:",
        "",
        message_curl(gateway_url, demo, MEETING_MESSAGE),
        meetings_curl(gateway_url, demo),
        "",
        "Watch replies stream (reply.delta, reply.completed, lead.updated) in a second terminal:",
        "",
        stream_curl(gateway_url, demo),
        "",
        "Note: without ?wait=true a message is accepted at once (202) and the reply arrives on the stream.",
        f"Everything else is in the API: {gateway_url}/docs",
    ])


def run(_args: argparse.Namespace) -> int:
    gateway_url = gateway_url_from_env()
    try:
        with httpx.Client(base_url=gateway_url, timeout=30.0) as client:
            demo = seed_demo(client)
    except DemoError as exc:
        print(f"afo demo: {exc}", file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(
            f"afo demo: cannot reach the gateway at {gateway_url} ({exc or type(exc).__name__}): is `afo up` "
            "running? Set AFO_GATEWAY_URL (or AFO_HTTP_PORT) if it listens elsewhere.",
            file=sys.stderr,
        )
        return 1
    print(render(gateway_url, demo, demo_operator()))
    return 0


def _curl(*args: str) -> str:
    return " ".join(["curl", *(shlex.quote(arg) for arg in args)])


def _call(client: httpx.Client, path: str, body: dict[str, Any] | None, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(path, json=body, headers=headers)
    if response.status_code not in (200, 201):
        raise DemoError(f"POST {path} failed: {problem_text(response)}")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise DemoError(f"POST {path} answered {response.status_code} without a JSON object")
    return payload


def problem_text(response: httpx.Response) -> str:
    """An RFC 9457 problem as one readable paragraph; any other error body as its first 500 characters."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict) or "title" not in problem:
        return f"{response.status_code} {response.reason_phrase}: {response.text[:500]}".rstrip(": ")
    text = f"{problem.get('status', response.status_code)} {problem['title']}"
    if problem.get("detail"):
        text += f": {problem['detail']}"
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            where = ".".join(str(part) for part in error.get("loc", [])) or error.get("field", "")
            text += f"\n  - {where}: {error.get('msg') or error.get('message') or error}"
    return text + (f"\n  ({problem['type']})" if problem.get("type") not in (None, "about:blank") else "")


def _field(payload: dict[str, Any], *path: str) -> Any:
    value: Any = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise DemoError(f"unexpected answer from the gateway: no {'.'.join(path)} in {json.dumps(payload)[:300]}")
        value = value[key]
    return value
