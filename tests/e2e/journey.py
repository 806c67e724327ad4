"""What an e2e test does again and again: sign a tenant up, build and publish an agent, chat."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from afo_testkit.platform import Platform

# A lead who gives every default qualification field in five turns: the agent qualifies them on the last.
LEAD_EMAIL = "dana@northwind.example"
FIVE_TURNS = [
    "Hi there!",
    f"I'm Dana from Northwind Traders, you can reach me at {LEAD_EMAIL}",
    "We need an assistant that answers questions on our website",
    "Our budget is about $20k",
    "We'd like to launch next quarter",
]


@dataclass(frozen=True)
class Tenant:
    id: str
    secret: str
    email: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


async def sign_up(api: httpx.AsyncClient, company: str = "Acme Test") -> Tenant:
    email = f"owner+{secrets.token_hex(4)}@example.com"
    response = await api.post("/v1/signup", json={"email": email, "password": "correct horse battery",
                                                   "company": company, "timezone": "America/New_York"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(body["tenant"]["id"], body["api_key"]["secret"], email)


async def published_agent(api: httpx.AsyncClient, tenant: Tenant, **spec: Any) -> str:
    response = await api.post("/v1/agents", headers=tenant.auth, json={"name": "Ava", **spec})
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    published = await api.post(f"/v1/agents/{agent_id}/publish", headers=tenant.auth)
    assert published.status_code == 200, published.text
    return agent_id


async def conversation(api: httpx.AsyncClient, tenant: Tenant, agent_id: str, channel: str = "api") -> str:
    response = await api.post("/v1/conversations", headers=tenant.auth,
                              json={"agent_id": agent_id, "channel": channel})
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


async def say(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, text: str) -> dict[str, Any]:
    response = await api.post(f"/v1/conversations/{conversation_id}/messages", params={"wait": "true"},
                              headers=tenant.auth, json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "replied"
    return body


async def llm_agent(api: httpx.AsyncClient, tenant: Tenant, base_url: str) -> str:
    """A published agent whose model is the OpenAI-compatible server at ``base_url`` (a FakeOpenAI)."""
    return await published_agent(api, tenant, llm={"provider": "openai", "model": "gpt-test", "base_url": base_url})


async def exited(platform: Platform, service: str, within_s: float = 30.0) -> float:
    """Wait for ``service``'s process to be gone; how long that took (AssertionError past ``within_s``)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while platform.pids[service] is not None:
        assert loop.time() - started < within_s, f"{service} did not exit within {within_s:.0f} s"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def eventually(api: httpx.AsyncClient, tenant: Tenant, path: str, holds: Callable[[Any], bool], *,
                     params: Mapping[str, str] | None = None, within_s: float = 15.0) -> Any:
    """GET ``path`` until ``holds(body)``; the body that held (AssertionError with the last one past
    ``within_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        response = await api.get(path, headers=tenant.auth, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        if holds(body):
            return body
        assert loop.time() < deadline, f"{path} never came to the expected state within {within_s:.0f} s: {body}"
        await asyncio.sleep(0.1)
